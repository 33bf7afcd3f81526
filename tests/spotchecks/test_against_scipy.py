"""Sample sizes and intervals against SciPy, computed independently of reliefsvc.stats."""

import math

import pytest
from scipy import stats as sps

from reliefsvc.spotchecks import rules


def scipy_attribute_size(confidence, rate, errors=0, population=None):
    alpha = 1 - confidence
    n = errors + 1
    while True:
        if population is None:
            tail = sps.binom.cdf(errors, n, rate)
        else:
            tail = sps.hypergeom.cdf(errors, population, math.ceil(rate * population), n)
        if tail <= alpha * (1 + 1e-9):
            return n
        n += 1


@pytest.mark.parametrize("confidence", [0.90, 0.95, 0.99])
@pytest.mark.parametrize("rate", [0.02, 0.05, 0.10])
@pytest.mark.parametrize("errors", [0, 1, 2])
def test_binomial_attribute_sizes_match_scipy(confidence, rate, errors):
    expected = scipy_attribute_size(confidence, rate, errors)
    assert rules.attribute_sample_size(confidence, rate, errors) == expected


@pytest.mark.parametrize("population", [200, 1000, 5000])
@pytest.mark.parametrize("rate", [0.02, 0.05, 0.10])
def test_hypergeometric_attribute_sizes_match_scipy(population, rate):
    expected = scipy_attribute_size(0.95, rate, 0, population)
    assert rules.attribute_sample_size(0.95, rate, 0, population) == expected


def test_the_documented_59_and_the_share_rule():
    assert rules.attribute_sample_size(0.95, 0.05) == 59 == scipy_attribute_size(0.95, 0.05)
    assert rules.sample_size_by_share(61, 10, 0.05) == 10
    assert rules.sample_size_by_share(1000, 10, 0.05) == math.ceil(0.05 * 1000) == 50


@pytest.mark.parametrize("k,n", [(0, 10), (0, 50), (1, 50), (1, 100), (3, 59), (7, 20), (10, 10), (25, 400)])
def test_clopper_pearson_interval_matches_scipy_beta(k, n):
    estimate = rules.estimate_false_rate(["not_delivered"] * k + ["confirmed"] * (n - k), confidence=0.95)
    lower = 0.0 if k == 0 else sps.beta.ppf(0.025, k, n - k + 1)
    upper = 1.0 if k == n else sps.beta.ppf(0.975, k + 1, n - k)
    one_sided = 1.0 if k == n else sps.beta.ppf(0.95, k + 1, n - k)
    assert estimate.lower == pytest.approx(lower, abs=1e-9)
    assert estimate.upper == pytest.approx(upper, abs=1e-9)
    assert estimate.upper_one_sided == pytest.approx(one_sided, abs=1e-9)
    assert estimate.rate == pytest.approx(k / n)


def test_scipy_agrees_with_the_binomial_test_interval():
    result = sps.binomtest(3, 59).proportion_ci(confidence_level=0.95, method="exact")
    estimate = rules.estimate_false_rate(["not_delivered"] * 3 + ["confirmed"] * 56)
    assert (estimate.lower, estimate.upper) == pytest.approx((result.low, result.high), abs=1e-9)
