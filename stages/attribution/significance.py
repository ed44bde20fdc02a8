"""How sure the dataset view is of a word: a one-sided test that the word's attribution toward its class is
above zero across the documents it occurs in, Benjamini-Hochberg control of the false-discovery rate over
a class's ranked words, and a percentile interval from bootstrap resamples.

The test is Student's t over the word's per-document sums (its attributions in one document added): a
word's documents are the independent units, and the t statistic needs only their count, sum and sum of
squares, three numbers per word that the streamed aggregation keeps whatever the number of records. A
sign-flip permutation test would need every per-document sum kept. With few documents the t-test leans on
the sums being roughly normal; the bootstrap interval beside it makes no such assumption.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

POWER = 0.8  # of the documents-needed estimate: the usual planning target


def moments(documents: int, total: float, squares: float) -> tuple[float, float] | None:
    """Mean and sample variance of `documents` per-document sums from their sum and sum of squares; None
    under two documents."""
    if documents < 2:
        return None
    mean = total / documents
    return mean, max(squares - documents * mean * mean, 0.0) / (documents - 1)


def p_above_zero(documents: int, total: float, squares: float) -> float | None:
    """One-sided p-value of Student's t-test that the mean of `documents` per-document sums is above 0,
    from their sum `total` and sum of squares `squares`; None under two documents (no variance)."""
    from scipy import stats  # imported here, as in `agreement`

    if (measured := moments(documents, total, squares)) is None:
        return None
    mean, variance = measured
    if variance <= (1e-12 * mean) ** 2:  # every document the same sum: the sign decides
        return 0.0 if mean > 0 else 1.0
    return float(stats.t.sf(mean / math.sqrt(variance / documents), documents - 1))


def q_values(p_values: Sequence[float | None]) -> list[float | None]:
    """Benjamini-Hochberg adjusted p-values (q) of the p-values given, m their count: a word is established
    at false-discovery rate `fdr` where q <= fdr (Benjamini & Hochberg 1995). Tied p-values share a q."""
    tested = sorted((p, index) for index, p in enumerate(p_values) if p is not None)
    q: list[float | None] = [None] * len(p_values)
    smallest = 1.0
    for rank in range(len(tested), 0, -1):
        p, index = tested[rank - 1]
        smallest = min(smallest, p * len(tested) / rank)
        q[index] = smallest
    return q


def established(q: float | None, fdr: float) -> bool:
    """Whether a word with adjusted p-value `q` is established at false-discovery rate `fdr`: at it too."""
    return q is not None and q <= fdr


def percentile_interval(values: np.ndarray, level: float) -> tuple[float, float]:
    """The central `level` interval of bootstrap `values` (Efron's percentile interval)."""
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def documents_needed(documents: int, total: float, squares: float, tests: int, fdr: float,
                     power: float = POWER) -> int | None:
    """Documents holding the word that would find its effect established with `power`, were its effect
    size d (mean / sd of its per-document sums) what this run measured: the least n at which the one-sided
    t-test at Benjamini-Hochberg's strictest threshold, fdr / tests (the one the first discovery of `tests`
    words must pass), rejects with probability `power`, from the noncentral t distribution with n - 1
    degrees of freedom and noncentrality d sqrt(n). None where the run measured no effect toward the class
    (d <= 0) or cannot measure one (under two documents)."""
    from scipy import optimize, stats

    measured = moments(documents, total, squares)
    if measured is None or measured[0] <= 0 or measured[1] <= 0:
        return None
    effect, alpha = measured[0] / math.sqrt(measured[1]), fdr / max(tests, 1)

    def shortfall(n: float) -> float:  # the power at n documents (n may be fractional) less the target
        return stats.nct.sf(stats.t.ppf(1 - alpha, n - 1), n - 1, effect * math.sqrt(n)) - power

    # the normal approximation, ((z(1 - alpha) + z(power)) / d)^2, never overshoots: the root lies above it,
    # within twice it plus a few documents; the power grows with n, so the least whole n is the root's ceiling
    low = max(2.0, ((stats.norm.ppf(1 - alpha) + stats.norm.ppf(power)) / effect) ** 2)
    if shortfall(low) >= 0:
        return math.ceil(low)
    return math.ceil(optimize.brentq(shortfall, low, 2 * low + 10))
