"""`n_steps: auto`: Integrated Gradients on Clenshaw-Curtis rules of 24, 48, 96, ... intervals, each
doubling reusing every pass made before it.

Gauss-Legendre points of n and 2n steps share none, so an example explained again with twice the
steps pays for both. The Clenshaw-Curtis points of n intervals, (1 - cos(k pi / n)) / 2, are among
those of 2n, and each pass is weighted for every finer rule at once: an example that needs 48
intervals costs 49 passes, not 24 + 48. On the default fine-tuned MiniLM (10 reviews, 20 sentences)
the rule is as exact as Gauss-Legendre with as many points: worst completeness error 12.8% against
11.9% at 24, 2.2% against 2.0% at 32, 0.02% at 48 for both.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from stages.attribution.batching import rows_of
from stages.attribution.compiled import integrate_rules

# Measured on the default fine-tuned MiniLM (1% target, 10 reviews / 20 sentences): 16 intervals
# leave 6 of 10 reviews and 7 of 20 sentences above 1%; 24 leave 2 reviews and no sentence.
FIRST_INTERVALS = 24


def clenshaw_curtis(intervals: int) -> tuple[np.ndarray, np.ndarray]:
    """The points (from 0, the baseline, to 1, the input) and weights of the Clenshaw-Curtis rule of
    `intervals` on [0, 1] (Trefethen 2000, Spectral Methods in MATLAB, ch. 12), exact for
    polynomials up to degree `intervals`."""
    theta = np.pi * np.arange(intervals + 1) / intervals
    weights, inner = np.zeros(intervals + 1), np.ones(intervals - 1)
    last = intervals // 2 if intervals % 2 else intervals // 2 - 1
    for k in range(1, last + 1):
        inner -= 2 * np.cos(2 * k * theta[1:-1]) / (4 * k * k - 1)
    if intervals % 2:
        weights[[0, -1]] = 1 / intervals ** 2
    else:
        weights[[0, -1]] = 1 / (intervals ** 2 - 1)
        inner -= np.cos(intervals * theta[1:-1]) / (intervals ** 2 - 1)
    weights[1:-1] = 2 * inner / intervals
    return (1 - np.cos(theta)) / 2, weights / 2


def levels(max_steps: int) -> list[int]:
    """The interval counts tried: FIRST_INTERVALS doubled while within `max_steps` (or `max_steps` alone)."""
    counts = [min(FIRST_INTERVALS, max_steps)]
    while 2 * counts[-1] <= max_steps:
        counts.append(2 * counts[-1])
    return counts


class NestedIntegral:
    """The IG integral of one padded chunk on rules of `levels(max_steps)` intervals; `refine` gives
    the next rule's attributions for the rows still pending, computing only its new points."""

    def __init__(self, wrapper: Any, layer: Any, zero_baseline: bool, batch_size: int, max_steps: int,
                 ids: np.ndarray, mask: np.ndarray, target: np.ndarray, baselines: np.ndarray | None) -> None:
        self.explained = (wrapper, layer, zero_baseline)
        self.chunk = (ids, mask, target, baselines)
        self.batch_size = batch_size
        self.levels = levels(max_steps)
        finest = self.levels[-1]
        self.alphas, _ = clenshaw_curtis(finest)
        # weights[j, p]: the weight of the finest rule's point p in rule j (0 where rule j skips it)
        self.weights = np.zeros((len(self.levels), finest + 1))
        for row, intervals in enumerate(self.levels):
            self.weights[row, ::finest // intervals] = clenshaw_curtis(intervals)[1]
        used = self.weights != 0
        self.new_points = [np.flatnonzero(used[row] & ~used[:row].any(axis=0)) for row in range(len(self.levels))]
        self.sums: np.ndarray | None = None  # every rule's weighted sum so far, per example (rules x n x L x H)
        self.level = 0

    @property
    def finished(self) -> bool:
        """Whether the finest rule within max_steps is done."""
        return self.level == len(self.levels)

    @property
    def n_steps(self) -> int:
        """The intervals of the rule the next `refine` completes."""
        return self.levels[self.level]

    def refine(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The attributions of `rows` under the next rule, as `ig.integrate` returns them: per token,
        f(x) and f(baseline) of the target class, and the deltas."""
        if self.finished:
            raise ValueError(f"no rule finer than {self.levels[-1]} intervals within max_steps")
        ids, mask, target, baselines = rows_of(self.chunk, rows)
        points = self.new_points[self.level]
        rules, predictions, f_baseline = integrate_rules(
            *self.explained, ids, mask, target, baselines, self.alphas[points],
            self.weights[self.level:, points], self.batch_size)
        if self.sums is None:
            self.sums = np.zeros((len(self.levels), len(self.chunk[0]), *rules.shape[2:]), rules.dtype)
        self.sums[self.level:, rows] += rules
        attributions = self.sums[self.level, rows]
        self.level += 1
        per_token = attributions.sum(axis=2)
        f_x = predictions[np.arange(len(rows)), target]
        return per_token, f_x, f_baseline, per_token.sum(axis=1) - (f_x - f_baseline)
