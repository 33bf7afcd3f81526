"""Sample sizes, the false-service estimate, its bounds and escalation, checked against
published audit tables and against the distributions computed exactly with fractions."""

import math
import random
from fractions import Fraction

import pytest

from reliefsvc.spotchecks import rules, stats


def exact_binom_cdf(k: int, n: int, p: Fraction) -> Fraction:
    return sum((math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1)), Fraction(0))


def exact_hypergeom_cdf(k: int, big_n: int, defects: int, n: int) -> Fraction:
    total = math.comb(big_n, n)
    return sum(
        (Fraction(math.comb(defects, i) * math.comb(big_n - defects, n - i), total) for i in range(k + 1)),
        Fraction(0),
    )


def outcomes(not_delivered: int, partly: int, confirmed: int) -> list[str]:
    return ["not_delivered"] * not_delivered + ["partly"] * partly + ["confirmed"] * confirmed


# -- special functions -------------------------------------------------------------------


def test_binomial_cdf_matches_exact_sums():
    rng = random.Random(3)
    for _ in range(200):
        n = rng.randint(1, 80)
        k = rng.randint(0, n)
        p = Fraction(rng.randint(1, 999), 1000)
        assert stats.binom_cdf(k, n, float(p)) == pytest.approx(float(exact_binom_cdf(k, n, p)), rel=1e-10, abs=1e-300)


def test_incomplete_beta_known_values():
    # I_x(1, 1) = x, I_x(a, 1) = x^a, I_x(1, b) = 1 - (1 - x)^b, I_0.5(a, a) = 0.5.
    assert stats.betainc(1, 1, 0.3) == pytest.approx(0.3, rel=1e-14)
    assert stats.betainc(3.5, 1, 0.4) == pytest.approx(0.4**3.5, rel=1e-13)
    assert stats.betainc(1, 7, 0.2) == pytest.approx(1 - 0.8**7, rel=1e-13)
    assert stats.betainc(250.0, 250.0, 0.5) == pytest.approx(0.5, rel=1e-12)
    # A large sample: P(X <= 5000; 100000, 0.05) is near one half (the median of the
    # binomial is n p), well inside (0.49, 0.51).
    assert 0.49 < stats.binom_cdf(5000, 100_000, 0.05) < 0.51


def test_hypergeometric_cdf_matches_exact_sums():
    rng = random.Random(5)
    for _ in range(200):
        big_n = rng.randint(1, 60)
        defects = rng.randint(0, big_n)
        n = rng.randint(0, big_n)
        k = rng.randint(-1, n)
        expected = float(exact_hypergeom_cdf(k, big_n, defects, n)) if k >= 0 else 0.0
        assert stats.hypergeom_cdf(k, big_n, defects, n) == pytest.approx(expected, rel=1e-9, abs=1e-12)


# -- sample size by share ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("population", "min_count", "share", "expected"),
    [
        (1000, 30, 0.05, 50),
        (1000, 80, 0.05, 80),  # the minimum wins
        (100, 0, 0.07, 7),  # 0.07 * 100 is 7.000000000000001 in binary floating point
        (101, 0, 0.07, 8),  # 7.07 rounds up
        (20, 30, 0.05, 20),  # never more than the population
        (0, 30, 0.05, 0),
        (999, 0, "0.1", 100),
        (1000, 10, 0, 10),
    ],
)
def test_sample_size_by_share(population, min_count, share, expected):
    assert rules.sample_size_by_share(population, min_count, share) == expected


def test_sample_size_by_share_refuses_nonsense():
    with pytest.raises(ValueError):
        rules.sample_size_by_share(100, 5, 1.5)
    with pytest.raises(ValueError):
        rules.sample_size_by_share(-1, 5, 0.1)


# -- attribute sampling ------------------------------------------------------------------

# AICPA Audit Sampling guide, tables A-1 and A-2 (statistical sample sizes for tests of
# controls), row "expected population deviation rate 0.00 %", one column per tolerable rate.
TOLERABLE = (0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.10, 0.15, 0.20)
AICPA_95 = (149, 99, 74, 59, 49, 42, 36, 32, 29, 19, 14)
AICPA_90 = (114, 76, 57, 45, 38, 32, 28, 25, 22, 15, 11)


@pytest.mark.parametrize(("tolerable", "expected"), list(zip(TOLERABLE, AICPA_95, strict=True)))
def test_attribute_sample_size_at_95_percent_matches_aicpa(tolerable, expected):
    assert rules.attribute_sample_size(0.95, tolerable) == expected


@pytest.mark.parametrize(("tolerable", "expected"), list(zip(TOLERABLE, AICPA_90, strict=True)))
def test_attribute_sample_size_at_90_percent_matches_aicpa(tolerable, expected):
    assert rules.attribute_sample_size(0.90, tolerable) == expected


@pytest.mark.parametrize(
    ("confidence", "tolerable", "errors", "expected"),
    [
        # Acceptance numbers from the binomial: 95 % / 5 % allows one error in 93
        # records, two in 124, three in 153 (the figures of the AICPA evaluation
        # table A-3, whose upper limits cross 5 % at exactly these sizes).
        (0.95, 0.05, 1, 93),
        (0.95, 0.05, 2, 124),
        (0.95, 0.05, 3, 153),
        (0.95, 0.10, 1, 46),
        (0.90, 0.05, 1, 77),
    ],
)
def test_attribute_sample_size_with_allowed_errors(confidence, tolerable, errors, expected):
    n = rules.attribute_sample_size(confidence, tolerable, errors)
    assert n == expected
    alpha = 1 - Fraction(str(confidence))
    rate = Fraction(str(tolerable))
    assert exact_binom_cdf(errors, n, rate) <= alpha < exact_binom_cdf(errors, n - 1, rate)


def test_attribute_sample_size_zero_errors_is_the_closed_form():
    for confidence in (0.8, 0.9, 0.95, 0.99):
        for tolerable in (0.01, 0.025, 0.05, 0.1, 0.3):
            closed = math.ceil(math.log(1 - confidence) / math.log(1 - tolerable))
            assert rules.attribute_sample_size(confidence, tolerable) == closed


def test_hypergeometric_size_is_smaller_for_a_small_population_and_exact():
    assert rules.attribute_sample_size(0.95, 0.05, 0, 100_000) == 59
    assert rules.attribute_sample_size(0.95, 0.05, 0, 1000) == 57
    for big_n in (20, 60, 100, 250, 1000):
        for errors in (0, 1, 2):
            for tolerable in ("0.05", "0.1", "0.2"):
                defects = math.ceil(Fraction(tolerable) * big_n)
                if defects <= errors:
                    with pytest.raises(ValueError):
                        rules.attribute_sample_size("0.95", tolerable, errors, big_n)
                    continue
                n = rules.attribute_sample_size("0.95", tolerable, errors, big_n)
                assert n <= rules.attribute_sample_size("0.95", tolerable, errors) and n <= big_n
                assert exact_hypergeom_cdf(errors, big_n, defects, n) <= Fraction(1, 20)
                assert exact_hypergeom_cdf(errors, big_n, defects, n - 1) > Fraction(1, 20)


@pytest.mark.parametrize(
    "arguments",
    [(1.0, 0.05), (0.0, 0.05), (0.95, 0.0), (0.95, 1.0), (0.95, 0.05, -1), (0.95, 0.05, 0, 0)],
)
def test_attribute_sample_size_refuses_nonsense(arguments):
    with pytest.raises(ValueError):
        rules.attribute_sample_size(*arguments)


# -- bounds ------------------------------------------------------------------------------


def test_upper_bound_of_zero_in_fifty_is_5_8_percent():
    estimate = rules.estimate_false_rate(outcomes(0, 0, 50))
    assert estimate.upper_one_sided == pytest.approx(1 - 0.05 ** (1 / 50), rel=1e-12)
    assert estimate.upper_one_sided == pytest.approx(0.0582, abs=5e-5)
    assert estimate.rate == 0.0 and estimate.lower == 0.0
    assert estimate.upper == pytest.approx(1 - 0.025 ** (1 / 50), rel=1e-12)


@pytest.mark.parametrize(
    ("n", "k", "table"),
    [
        # AICPA table A-3: upper limits at 5 % risk, in percent to one decimal.
        (25, 0, 11.3), (50, 0, 5.8), (50, 1, 9.1), (50, 2, 12.1),
        (100, 0, 3.0), (100, 1, 4.7), (100, 2, 6.2), (100, 3, 7.6),
    ],
)
def test_one_sided_upper_bound_matches_the_aicpa_evaluation_table(n, k, table):
    upper = rules.estimate_false_rate(outcomes(k, 0, n - k)).upper_one_sided
    assert round(upper * 100, 1) == table


def test_clopper_pearson_solves_its_defining_equations():
    rng = random.Random(11)
    for _ in range(60):
        n = rng.randint(1, 120)
        k = rng.randint(0, n)
        alpha = rng.choice([0.01, 0.05, 0.1])
        upper = stats.clopper_pearson_upper(k, n, alpha)
        lower = stats.clopper_pearson_lower(k, n, alpha)
        if k < n:
            assert float(exact_binom_cdf(k, n, Fraction(upper))) == pytest.approx(alpha, rel=1e-8)
        else:
            assert upper == 1.0
        if k > 0:
            tail = 1 - exact_binom_cdf(k - 1, n, Fraction(lower))
            assert float(tail) == pytest.approx(alpha, rel=1e-8)
        else:
            assert lower == 0.0
        # The interval of k errors mirrors that of n - k successes.
        assert lower == pytest.approx(1 - stats.clopper_pearson_upper(n - k, n, alpha), abs=1e-12)


def test_two_sided_interval_known_values():
    # Textbook Clopper–Pearson 95 % intervals.
    half = rules.estimate_false_rate(outcomes(5, 0, 5))
    assert (half.lower, half.upper) == (pytest.approx(0.1871, abs=1e-4), pytest.approx(0.8129, abs=1e-4))
    none = rules.estimate_false_rate(outcomes(0, 0, 10))
    assert none.upper == pytest.approx(0.3085, abs=1e-4)
    every = rules.estimate_false_rate(outcomes(10, 0, 0))
    assert (every.lower, every.upper) == (pytest.approx(0.025 ** 0.1, rel=1e-12), 1.0)


def test_clopper_pearson_covers_at_least_the_nominal_level():
    # Exact coverage of the two-sided 95 % interval at a few true rates: never below 95 %.
    n = 40
    intervals = [
        (stats.clopper_pearson_lower(k, n, 0.025), stats.clopper_pearson_upper(k, n, 0.025))
        for k in range(n + 1)
    ]
    for p in (0.01, 0.05, 0.1, 0.25, 0.5):
        coverage = sum(
            math.comb(n, k) * p**k * (1 - p) ** (n - k)
            for k, (low, high) in enumerate(intervals)
            if low <= p <= high
        )
        assert coverage >= 0.95


def test_hypergeometric_bounds_match_a_search_over_every_defect_count():
    rng = random.Random(17)
    for _ in range(40):
        big_n = rng.randint(5, 50)
        n = rng.randint(1, big_n)
        k = rng.randint(0, n)
        alpha = 0.05
        possible = range(k, big_n - (n - k) + 1)
        upper = max(d for d in possible if exact_hypergeom_cdf(k, big_n, d, n) > alpha)
        lower_set = [d for d in possible if 1 - exact_hypergeom_cdf(k - 1, big_n, d, n) > alpha]
        assert stats.hypergeom_upper_defects(k, n, big_n, alpha) == upper
        assert stats.hypergeom_lower_defects(k, n, big_n, alpha) == (min(lower_set) if k else 0)


def test_hypergeometric_estimate_is_narrower_and_exact_at_a_census():
    sample = outcomes(2, 0, 48)
    wide = rules.estimate_false_rate(sample)
    narrow = rules.estimate_false_rate(sample, population_size=200)
    assert narrow.method == "hypergeometric" and wide.method == "clopper-pearson"
    assert narrow.upper_one_sided < wide.upper_one_sided
    census = rules.estimate_false_rate(sample, population_size=50)
    assert census.lower == census.upper == census.upper_one_sided == census.rate == 0.04


# -- the estimate ------------------------------------------------------------------------


def test_partly_counts_half_in_the_rate_and_rounds_outwards_in_the_bounds():
    estimate = rules.estimate_false_rate(outcomes(1, 1, 48))
    assert (estimate.not_delivered, estimate.partly, estimate.confirmed) == (1, 1, 48)
    assert estimate.false_count == 1.5 and estimate.rate == 0.03
    as_one = rules.estimate_false_rate(outcomes(1, 0, 49))
    as_two = rules.estimate_false_rate(outcomes(2, 0, 48))
    assert estimate.lower == as_one.lower
    assert estimate.upper == as_two.upper
    assert estimate.upper_one_sided == as_two.upper_one_sided
    # Two halves make one false service.
    two_halves = rules.estimate_false_rate(outcomes(0, 2, 48))
    assert two_halves.upper_one_sided == as_one.upper_one_sided
    assert two_halves.lower == as_one.lower


def test_partly_weight_is_a_parameter():
    sample = outcomes(0, 4, 46)
    assert rules.estimate_false_rate(sample, partly_weight=1).rate == 0.08
    assert rules.estimate_false_rate(sample, partly_weight=0).rate == 0.0
    assert rules.estimate_false_rate(sample, partly_weight=0.25).false_count == 1.0
    with pytest.raises(ValueError):
        rules.estimate_false_rate(sample, partly_weight=2)


def test_estimate_refuses_unknown_outcomes_and_empty_samples():
    with pytest.raises(ValueError):
        rules.estimate_false_rate(["confirmed", "maybe"])
    with pytest.raises(ValueError):
        rules.estimate_false_rate([])
    with pytest.raises(ValueError):
        rules.estimate_false_rate(outcomes(0, 0, 10), population_size=5)


def test_only_the_random_stratum_is_estimated():
    refs = [f"SR-{i}" for i in range(100)]
    scores = dict.fromkeys(refs[:10], 1.0)
    result = rules.draw(refs, "estimate", 20, scores, 5)
    by_ref = {row.record_ref: "confirmed" for row in result.random_rows}
    by_ref |= {row.record_ref: "not_delivered" for row in result.risk_rows}
    picked = rules.random_stratum_outcomes(result.rows, by_ref)
    assert picked == ["confirmed"] * 20
    del by_ref[result.random_rows[0].record_ref]
    with pytest.raises(ValueError, match="1 of 20 records of the random stratum"):
        rules.random_stratum_outcomes(result.rows, by_ref)


# -- escalation --------------------------------------------------------------------------


def test_sample_size_and_escalation_decision_agree():
    """The attribute sample size is exactly the smallest sample whose estimate, with the
    allowed errors found, does not call for escalation — binomial and hypergeometric."""
    rng = random.Random(2024)
    for _ in range(120):
        confidence = rng.choice(["0.9", "0.95", "0.99"])
        tolerable = rng.choice(["0.03", "0.05", "0.1", "0.2"])
        errors = rng.randint(0, 4)
        population = rng.choice([None, None, rng.randint(60, 3000)])
        try:
            n = rules.attribute_sample_size(confidence, tolerable, errors, population)
        except ValueError:
            continue
        passed = rules.estimate_false_rate(outcomes(errors, 0, n - errors), confidence, population_size=population)
        assert not rules.needs_escalation(passed.upper_one_sided, tolerable)
        if n - 1 > errors:
            short = rules.estimate_false_rate(
                outcomes(errors, 0, n - 1 - errors), confidence, population_size=population
            )
            assert rules.needs_escalation(short.upper_one_sided, tolerable)


def test_an_exact_tie_falls_the_same_way_in_size_and_decision():
    # 0.5 ** 2 == 0.25 exactly: two clean records put the 75 % bound exactly on 50 %,
    # which is not below it, so the binomial size is 3.
    assert rules.attribute_sample_size(0.75, 0.5) == 3
    assert rules.needs_escalation(rules.estimate_false_rate(outcomes(0, 0, 2), 0.75).upper_one_sided, 0.5)
    assert not rules.needs_escalation(rules.estimate_false_rate(outcomes(0, 0, 3), 0.75).upper_one_sided, 0.5)
    # C(6, 2) / C(25, 2) == 15/300 == 0.05: with 19 of 25 records false (76 %), a clean
    # pair is exactly as likely as the risk allowed; the tie passes, the bound is 18/25.
    assert stats.hypergeom_upper_defects(0, 2, 25, 0.05) == 18
    assert rules.attribute_sample_size(0.95, 0.76, 0, 25) == 2


def test_needs_escalation_compares_the_upper_bound():
    assert rules.needs_escalation(0.0582, 0.05)
    assert rules.needs_escalation(0.05, 0.05)
    assert not rules.needs_escalation(0.0499, 0.05)


def brute_force_escalation(estimate, tolerable, limit):
    false_exact = estimate.not_delivered + Fraction(str(estimate.partly_weight)) * estimate.partly
    observed = false_exact / estimate.checked
    for size in range(estimate.checked + 1, limit + 1):
        errors = math.ceil(observed * size)
        projected = rules.estimate_false_rate(
            outcomes(errors, 0, size - errors), estimate.confidence, population_size=estimate.population_size
        )
        if not rules.needs_escalation(projected.upper_one_sided, tolerable):
            return size
    return None


@pytest.mark.parametrize(
    ("sample", "population"),
    [
        (outcomes(1, 0, 49), None),
        (outcomes(1, 1, 48), None),
        (outcomes(0, 0, 30), None),
        (outcomes(2, 0, 98), None),
        (outcomes(1, 0, 49), 400),
        (outcomes(0, 1, 39), 150),
    ],
)
def test_suggested_escalation_is_the_smallest_size_that_would_do(sample, population):
    estimate = rules.estimate_false_rate(sample, population_size=population)
    assert rules.needs_escalation(estimate.upper_one_sided, 0.05)
    suggested = rules.suggest_escalation_size(estimate, 0.05)
    assert suggested == brute_force_escalation(estimate, 0.05, population or 2000)


def test_no_escalation_is_suggested_when_the_rate_found_is_already_too_high():
    estimate = rules.estimate_false_rate(outcomes(3, 0, 47))
    assert rules.suggest_escalation_size(estimate, 0.05) is None
    # ... and a rate just under the tolerable one may need more than max_size.
    close = rules.estimate_false_rate(outcomes(49, 0, 1001))
    assert rules.suggest_escalation_size(close, 0.05, max_size=5000) is None


def test_a_sample_that_already_passes_needs_no_more_records():
    estimate = rules.estimate_false_rate(outcomes(0, 0, 59))
    assert not rules.needs_escalation(estimate.upper_one_sided, 0.05)
    assert rules.suggest_escalation_size(estimate, 0.05) == 59


def test_escalation_in_a_small_population_ends_at_a_census():
    estimate = rules.estimate_false_rate(outcomes(2, 0, 48), population_size=60)
    assert rules.suggest_escalation_size(estimate, 0.05) == 60
