"""How far two explanations of the same example agree (Krishna et al. 2022, "The Disagreement Problem
in Explainable Machine Learning"): rank correlation over all features beside top-k measures, which
Neely et al. 2022 found more telling.

A feature is a token where both runs tokenized the example alike, else a whole word where the word
sequences match; [CLS] and [SEP] (no attribution by construction) are left out.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from stages.attribution.record import ExplainedExample
from stages.attribution.words import SPECIAL_TOKENS, merge_wordpieces


class Features(NamedTuple):
    level: str  # "token" or "word"
    names: list[str]
    left: np.ndarray
    right: np.ndarray


def common_features(left: ExplainedExample, right: ExplainedExample) -> Features | str:
    """The two records' attributions over the same features, or why they have none in common."""
    if left.tokens == right.tokens:
        level, names = "token", list(left.tokens)
        values = [np.asarray(left.attributions, float), np.asarray(right.attributions, float)]
    else:
        words = [merge_wordpieces(record.tokens, record.attributions) for record in (left, right)]
        if [word.text for word in words[0]] != [word.text for word in words[1]]:
            return (f"tokens and words differ ({len(left.tokens)} vs {len(right.tokens)} tokens, "
                    f"{len(words[0])} vs {len(words[1])} words): another max_len, truncation or tokenizer")
        level, names = "word", [word.text for word in words[0]]
        values = [np.array([word.attribution for word in side]) for side in words]
    kept = np.array([name not in SPECIAL_TOKENS for name in names], dtype=bool)
    return Features(level, [name for name, keep in zip(names, kept) if keep], values[0][kept], values[1][kept])


def top_k(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest |values|, ties broken by position (stable)."""
    return np.argsort(-np.abs(values), kind="stable")[:k]


def correlation(method: Any, left: np.ndarray, right: np.ndarray) -> float | None:
    """A rank correlation, or None where it is undefined (fewer than two features, or a constant side)."""
    if len(left) < 2 or np.ptp(left) == 0 or np.ptp(right) == 0:
        return None
    value = float(method(left, right)[0])
    return None if math.isnan(value) else value


def ordinary_token_correlation(method: Any, left: Sequence[float], right: Sequence[float], token_ids: np.ndarray,
                               special_ids: Sequence[int]) -> float | None:
    """`correlation` of two attributions of one example over its tokens that are not special."""
    kept = ~np.isin(token_ids, special_ids)
    return correlation(method, np.asarray(left)[kept], np.asarray(right)[kept])


def kendall_tau(attributions: np.ndarray, rival: np.ndarray, token_ids: np.ndarray,
                special_ids: Sequence[int]) -> float | None:
    """Rank agreement of a rival with IG over the example's ordinary tokens (None where undefined)."""
    from scipy import stats  # imported here: a second that a stage failing on its params should not wait

    return ordinary_token_correlation(stats.kendalltau, attributions, rival, token_ids, special_ids)


def agreement(left: np.ndarray, right: np.ndarray, k: int) -> dict[str, float | None]:
    """Rank correlations, top-k feature and sign agreement, and the relative L1 difference; all undefined
    for no features (an example of [CLS] and [SEP] alone: nothing to disagree on)."""
    from scipy import stats  # imported here: a second that a stage failing on its params should not wait

    if not len(left):
        return dict.fromkeys(MEASURES)
    k = min(k, len(left))
    left_top, right_top = top_k(left, k), top_k(right, k)
    shared = np.intersect1d(left_top, right_top)
    same_sign = np.sign(left[shared]) == np.sign(right[shared])
    scale = float(np.abs(left).sum())
    return {"spearman": correlation(stats.spearmanr, left, right),
            "kendall": correlation(stats.kendalltau, left, right),
            "top_k": len(shared) / k,
            "sign_top_k": float(same_sign.sum()) / k,
            "relative_l1": float(np.abs(left - right).sum()) / scale if scale else None}


MEASURES = ("spearman", "kendall", "top_k", "sign_top_k", "relative_l1")
HIGHER_IS_CLOSER = {"spearman": True, "kendall": True, "top_k": True, "sign_top_k": True, "relative_l1": False}


def summary(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The median and the worst of each measure over the comparable examples, and the changed predictions."""
    comparable = [row for row in rows if row["comparable"]]
    result: dict[str, Any] = {"examples": len(rows), "comparable": len(comparable),
                              "prediction_changed": sum(row["prediction_changed"] for row in comparable)}
    for measure in MEASURES:
        values = [row[measure] for row in comparable if row[measure] is not None]
        worst = min if HIGHER_IS_CLOSER[measure] else max
        result[measure] = {"median": float(np.median(values)) if values else None,
                           "worst": float(worst(values)) if values else None}
    return result
