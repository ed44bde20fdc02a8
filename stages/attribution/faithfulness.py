"""ERASER faithfulness (DeYoung et al. 2020): how much of the prediction an attribution's top tokens
carry, by removing them (comprehensiveness) or keeping only them (sufficiency)."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np


class Explained(Protocol):
    """An explained example (`ig.Attribution`): its tokens, predicted class and that class's probability."""
    token_ids: np.ndarray
    predicted: int

    @property
    def probability(self) -> float: ...


def top_k_count(fraction: float, candidates: int) -> int:
    """Tokens in the top `fraction`: at least one, at most all candidates."""
    return min(candidates, max(1, math.ceil(fraction * candidates)))


def erasure_variants(token_ids: np.ndarray, scores: np.ndarray, special: np.ndarray,
                     fractions: Sequence[float]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """For each fraction k: the sequence without its top-k scored tokens (comprehensiveness)
    and the sequence of only them (sufficiency). Special tokens always stay."""
    candidates = np.flatnonzero(~special)
    ranked = candidates[np.argsort(-scores[candidates], kind="stable")]
    without, only = [], []
    for fraction in fractions:
        top = np.zeros(len(token_ids), dtype=bool)
        top[ranked[:top_k_count(fraction, len(candidates))]] = True
        without.append(token_ids[~top])
        only.append(token_ids[top | special])
    return without, only


def faithfulness(predict: Callable[[list[np.ndarray]], np.ndarray], example: Explained, scores: np.ndarray,
                 special_ids: Sequence[int], fractions: Sequence[float]) -> tuple[float, float]:
    """ERASER comprehensiveness and sufficiency of one example, each an AOPC: the mean over
    `fractions` of the drop in the predicted-class probability when the top-scored tokens are
    removed, or are all that is kept. `predict` maps id sequences to probabilities."""
    special = np.isin(example.token_ids, special_ids)
    if special.all():
        return 0.0, 0.0
    without, only = erasure_variants(example.token_ids, scores, special, fractions)
    probabilities = predict(without + only)[:, example.predicted]
    return (float(example.probability - probabilities[:len(fractions)].mean()),
            float(example.probability - probabilities[len(fractions):].mean()))
