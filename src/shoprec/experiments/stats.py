"""The statistics of an experiment report (scipy), each a plain function of counts or per-shopper values.

Shoppers are the unit of randomisation, so every test compares shoppers, never pooled events as if
each were independent (a shopper's clicks are correlated):

- a ratio of sums (CTR = clicks / impressions) gets its variance by the delta method over
  shoppers (Deng, Knoblich and Lu, "Applying the delta method in metric analytics", KDD 2018):
  with per-shopper clicks y_i and impressions x_i, R = sum(y) / sum(x) and
  Var(R) = Var(y - R x) / (n * mean(x)^2); the difference of two variants is a z-test;
- a share of shoppers (converted, added to cart): Wilson score interval, and the two-proportion
  z-test with a pooled proportion for the difference;
- a mean per shopper (revenue per shopper): a t interval, and Welch's t-test for the difference;
- sample-ratio mismatch: the chi-square goodness-of-fit test of shoppers per variant against the
  traffic split;
- interleaving: the two-sided binomial sign test of wins against losses.

Intervals are 95%; undefined results (no shoppers, no variance) are None.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

Z95 = 1.959963984540054  # the standard normal's 97.5% quantile


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion."""
    if n <= 0:
        return None
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (max(0.0, centre - half), min(1.0, centre + half))


def two_proportions(x1: int, n1: int, x2: int, n2: int) -> float | None:
    """Two-sided p-value of the pooled two-proportion z-test."""
    if n1 <= 0 or n2 <= 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0  # both all or none: no evidence of a difference
    return _two_sided(abs(x2 / n2 - x1 / n1) / se)


def ratio(numerators: Sequence[float], denominators: Sequence[float]) -> tuple[float | None, float | None]:
    """A ratio of sums over shoppers and its delta-method variance (None when undefined)."""
    y, x = np.asarray(numerators, dtype=np.float64), np.asarray(denominators, dtype=np.float64)
    n = len(x)
    if n == 0 or x.sum() <= 0:
        return None, None
    r = float(y.sum() / x.sum())
    if n < 2:
        return r, None
    variance = float(np.var(y - r * x, ddof=1) / (n * x.mean() ** 2))
    return r, variance


def normal_ci(value: float | None, variance: float | None) -> tuple[float, float] | None:
    if value is None or variance is None:
        return None
    half = Z95 * math.sqrt(variance)
    return (value - half, value + half)


def ratio_difference(r1: float | None, v1: float | None, r2: float | None, v2: float | None) -> float | None:
    """Two-sided p-value of the z-test of two independent delta-method ratios."""
    if None in (r1, v1, r2, v2):
        return None
    se = math.sqrt(v1 + v2)  # type: ignore[operator]
    if se == 0:
        return 1.0 if r1 == r2 else 0.0
    return _two_sided(abs(r2 - r1) / se)  # type: ignore[operator]


def mean_ci(values: Sequence[float]) -> tuple[float | None, tuple[float, float] | None]:
    """The mean and its 95% t interval."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) == 0:
        return None, None
    mean = float(v.mean())
    if len(v) < 2:
        return mean, None
    half = float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
    return mean, (mean - half, mean + half)


def welch(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Two-sided p-value of Welch's t-test (unequal variances)."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if len(x) < 2 or len(y) < 2:
        return None
    if x.var() == 0 and y.var() == 0:
        return 1.0 if x.mean() == y.mean() else 0.0
    return float(stats.ttest_ind(x, y, equal_var=False).pvalue)


def sample_ratio(observed: Sequence[int], shares: Sequence[float]) -> float | None:
    """p-value of the chi-square goodness-of-fit test of shoppers per variant against the split."""
    counts = np.asarray(observed, dtype=np.float64)
    total = counts.sum()
    if total <= 0:
        return None
    expected = np.asarray(shares, dtype=np.float64) / np.sum(shares) * total
    return float(stats.chisquare(counts, expected).pvalue)


def sign_test(wins: int, losses: int) -> float | None:
    """Two-sided p-value of the binomial sign test (ties left out)."""
    if wins + losses == 0:
        return None
    return float(stats.binomtest(wins, wins + losses, 0.5).pvalue)


def _two_sided(z: float) -> float:
    return float(2 * stats.norm.sf(z))
