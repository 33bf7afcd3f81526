"""The few distributions the spot checks need, written out so that SciPy is not a dependency.

Binomial tail probabilities go through the regularized incomplete beta function
``I_x(a, b)`` (continued fraction, modified Lentz), because
``P(X <= k; n, p) = I_{1-p}(n - k, k + 1)`` needs O(sqrt(n)) steps where summing the
probability mass needs O(k). Hypergeometric tails are summed term by term from
``lgamma``: they are only asked for small error counts. Confidence bounds are found by
bisection on those tails, which is slow next to Newton's method but cannot diverge and
is monotone by construction — the property the escalation decision leans on.
"""

from __future__ import annotations

import math

# Relative accuracy asked of the continued fraction; 1e-15 is close to what a double holds.
_EPSILON = 1e-15
# Tiny number that keeps Lentz's method away from division by zero.
_TINY = 1e-300
# The continued fraction converges in about sqrt(max(a, b)) steps; this covers samples of
# several hundred million records, far beyond anything a county draws.
_MAX_ITERATIONS = 100_000


# Tail probabilities are floating point; rational populations produce exact ties (a tail
# equal to alpha: 15/300 = 0.05), which must fall on the same side in the sample-size rule
# and in the bounds. A relative margin far below any meaningful probability difference
# but above the rounding error of the lgamma sums settles them as ties.
_TIE_MARGIN = 1e-9


def exceeds(probability: float, alpha: float) -> bool:
    """``probability > alpha``, exact ties (up to rounding) counting as not exceeding."""
    return probability > alpha * (1.0 + _TIE_MARGIN)


def falls_short(probability: float, alpha: float) -> bool:
    """``probability < alpha``, exact ties (up to rounding) counting as not falling short."""
    return probability < alpha * (1.0 - _TIE_MARGIN)


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta function ``I_x(a, b)`` for ``a, b > 0`` and ``0 <= x <= 1``."""
    if a <= 0 or b <= 0:
        raise ValueError("betainc needs a > 0 and b > 0")
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    # The fraction converges fast only on this side of the mean; use the symmetry
    # I_x(a, b) = 1 - I_{1-x}(b, a) on the other.
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, 1.0 - x) / b


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    qab = a + b
    qap = a + 1.0
    qam = a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    if abs(d) < _TINY:
        d = _TINY
    d = 1.0 / d
    h = d
    for m in range(1, _MAX_ITERATIONS + 1):
        m2 = 2 * m
        # Even step of the fraction.
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        if abs(d) < _TINY:
            d = _TINY
        c = 1.0 + aa / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1.0 / d
        h *= d * c
        # Odd step.
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        if abs(d) < _TINY:
            d = _TINY
        c = 1.0 + aa / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPSILON:
            return h
    raise ArithmeticError(f"incomplete beta did not converge for a={a}, b={b}, x={x}")


def binom_cdf(k: int, n: int, p: float) -> float:
    """``P(X <= k)`` for ``X ~ Binomial(n, p)``."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    return betainc(n - k, k + 1, 1.0 - p)


def binom_sf(k: int, n: int, p: float) -> float:
    """``P(X >= k)`` for ``X ~ Binomial(n, p)``."""
    return 1.0 - binom_cdf(k - 1, n, p) if k > 0 else 1.0


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def hypergeom_cdf(k: int, population: int, defects: int, draws: int) -> float:
    """``P(X <= k)`` for the number X of defects among ``draws`` records drawn without
    replacement from ``population`` records of which ``defects`` are defective."""
    if not 0 <= defects <= population or not 0 <= draws <= population:
        raise ValueError("hypergeometric parameters out of range")
    low = max(0, draws - (population - defects))
    high = min(draws, defects)
    if k < low:
        return 0.0
    if k >= high:
        return 1.0
    log_total = _log_comb(population, draws)

    def mass(i: int) -> float:
        return math.exp(
            _log_comb(defects, i) + _log_comb(population - defects, draws - i) - log_total
        )

    # Sum the shorter tail so that the sum stays accurate and short.
    if k - low <= high - k:
        return min(1.0, math.fsum(mass(i) for i in range(low, k + 1)))
    return max(0.0, 1.0 - math.fsum(mass(i) for i in range(k + 1, high + 1)))


def hypergeom_sf(k: int, population: int, defects: int, draws: int) -> float:
    """``P(X >= k)``, the other tail of :func:`hypergeom_cdf`."""
    return 1.0 - hypergeom_cdf(k - 1, population, defects, draws) if k > 0 else 1.0


def _bisect_decreasing(function, target: float) -> float:
    """The p in [0, 1] where a function decreasing in p crosses ``target``."""
    low, high = 0.0, 1.0
    # 200 halvings reach the spacing of doubles near any p in (0, 1); stop earlier when
    # the midpoint no longer moves.
    for _ in range(200):
        middle = (low + high) / 2.0
        if middle in (low, high):
            break
        if function(middle) > target:
            low = middle
        else:
            high = middle
    return high


def clopper_pearson_upper(k: int, n: int, alpha: float) -> float:
    """The exact upper bound p_U with ``P(X <= k; n, p_U) = alpha``: the largest rate
    that a sample of n records with k false services does not rule out at level alpha."""
    _check_counts(k, n)
    if k >= n:
        return 1.0
    if k == 0:
        # Closed form; also the value the tests compare the bisection against.
        return 1.0 - alpha ** (1.0 / n)
    return _bisect_decreasing(lambda p: binom_cdf(k, n, p), alpha)


def clopper_pearson_lower(k: int, n: int, alpha: float) -> float:
    """The exact lower bound p_L with ``P(X >= k; n, p_L) = alpha``."""
    _check_counts(k, n)
    if k <= 0:
        return 0.0
    if k == n:
        return alpha ** (1.0 / n)
    # P(X >= k) increases with p, so 1 - P(X >= k) = P(X <= k - 1) decreases.
    return _bisect_decreasing(lambda p: binom_cdf(k - 1, n, p), 1.0 - alpha)


def hypergeom_upper_defects(k: int, n: int, population: int, alpha: float) -> int:
    """The largest number of defects D in the population that k defects in n draws do not
    rule out at level alpha: ``max{D : P(X <= k; N, D, n) > alpha}``."""
    _check_counts(k, n)
    if n > population:
        raise ValueError("more draws than records in the population")
    # P(X <= k | D) decreases in D; D ranges over what the sample leaves possible.
    low, high = k, population - (n - k)
    if exceeds(hypergeom_cdf(k, population, high, n), alpha):
        return high
    # Invariant: cdf(low) > alpha (at D = k the sample's k defects are all there are,
    # so cdf = 1), cdf(high) <= alpha.
    while high - low > 1:
        middle = (low + high) // 2
        if exceeds(hypergeom_cdf(k, population, middle, n), alpha):
            low = middle
        else:
            high = middle
    return low


def hypergeom_lower_defects(k: int, n: int, population: int, alpha: float) -> int:
    """The smallest D with ``P(X >= k; N, D, n) > alpha``."""
    _check_counts(k, n)
    if n > population:
        raise ValueError("more draws than records in the population")
    if k == 0:
        return 0
    # P(X >= k | D) increases in D.
    low, high = k, population - (n - k)
    if exceeds(hypergeom_sf(k, population, low, n), alpha):
        return low
    # Invariant: sf(low) <= alpha, sf(high) > alpha (at the largest possible D every
    # record outside the sample is defective, and the sample's k are all it can hold).
    while high - low > 1:
        middle = (low + high) // 2
        if exceeds(hypergeom_sf(k, population, middle, n), alpha):
            high = middle
        else:
            low = middle
    return high


def _check_counts(k: int, n: int) -> None:
    if n <= 0:
        raise ValueError("a bound needs at least one checked record")
    if not 0 <= k <= n:
        raise ValueError("the error count must lie between 0 and the sample size")
