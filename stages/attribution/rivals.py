"""Cheaper rivals of Integrated Gradients, scored on the same examples, model and layer, so that the
faithfulness table says whether IG earns its passes:

- `gradient_x_input`: the gradient at x times x, summed over the hidden dimension, signed
  (Shrikumar et al. 2016); IG with one right-Riemann step from the zero baseline is exactly this;
- `saliency`: the L2 norm of that gradient over the hidden dimension (Simonyan et al. 2014);
- `occlusion`: leave-one-out, the drop in the predicted-class probability when a token is removed
  (Li et al. 2016; ferret's `taucorr_loo` ranks against it), one batched forward pass per example;
- `random`: a seeded random ranking, the floor every method must beat.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from stages.attribution import ig
from stages.attribution.agreement import ordinary_token_correlation
from stages.attribution.batching import length_chunks, pad
from stages.attribution.layer_hooks import layer_output, path_gradients

GRADIENT_METHODS = ("gradient_x_input", "saliency")  # one gradient pass gives both


def gradient_scores(wrapper: Any, layer: Any, sequences: Sequence[np.ndarray], targets: Sequence[int], pad_id: int,
                    chunk_size: int) -> dict[str, list[np.ndarray]]:
    """Gradient x input and saliency of each sequence's target class at `layer`'s output, in chunks of
    similar length. Eager: one pass per chunk costs less than tracing a function for it."""
    import tensorflow as tf

    scores: dict[str, list[Any]] = {method: [None] * len(sequences) for method in GRADIENT_METHODS}
    for chunk in length_chunks([len(s) for s in sequences], chunk_size):
        ids, mask = (tf.constant(array) for array in pad([sequences[i] for i in chunk], pad_id))
        target = tf.constant(np.asarray(targets)[chunk], tf.int32)
        _, x, as_tuple = layer_output(wrapper, layer, ids, mask)
        gradient = path_gradients(wrapper, layer, x, as_tuple, ids, mask, target)
        values = tf.reduce_sum(gradient * x, axis=2).numpy(), tf.norm(gradient, axis=2).numpy()
        for method, per_token in zip(GRADIENT_METHODS, values):
            for row, index in enumerate(chunk):
                scores[method][index] = per_token[row, :len(sequences[index])]
    return scores


def leave_one_out(predict: Callable[[list[np.ndarray]], np.ndarray], example: ig.Attribution,
                  special_ids: Sequence[int]) -> np.ndarray:
    """The drop in the predicted-class probability when each token is removed; 0 for special tokens."""
    scores = np.zeros(len(example.token_ids))
    positions = np.flatnonzero(~np.isin(example.token_ids, special_ids))
    if len(positions):
        variants = [np.delete(example.token_ids, position) for position in positions]
        scores[positions] = example.probability - predict(variants)[:, example.predicted]
    return scores


def random_scores(seed: int, position: int, length: int) -> np.ndarray:
    """The random ranking of the example at `position` in the run: the same in a shard as unsharded."""
    return np.random.default_rng((seed, position)).random(length)


def rival_scores(methods: Sequence[str], wrapper: Any, layer: Any, results: Sequence[ig.Attribution],
                 tokens: ig.SpecialTokens, predict: Callable[[list[np.ndarray]], np.ndarray], seed: int,
                 positions: Sequence[int], chunk_size: int) -> tuple[dict[str, list[np.ndarray]], dict[str, float]]:
    """Each chosen method's per-token scores of every explained example, and the seconds it took."""
    scores: dict[str, list[np.ndarray]] = {}
    seconds: dict[str, float] = {}
    chosen_gradients = [method for method in methods if method in GRADIENT_METHODS]
    if chosen_gradients:
        started = time.perf_counter()
        both = gradient_scores(wrapper, layer, [r.token_ids for r in results], [r.predicted for r in results],
                               tokens.pad, chunk_size)
        for method in chosen_gradients:
            scores[method], seconds[method] = both[method], time.perf_counter() - started
    if "occlusion" in methods:
        started = time.perf_counter()
        scores["occlusion"] = [leave_one_out(predict, result, tokens.ids) for result in results]
        seconds["occlusion"] = time.perf_counter() - started
    if "random" in methods:
        started = time.perf_counter()
        scores["random"] = [random_scores(seed, position, len(r.token_ids)) for r, position in zip(results, positions)]
        seconds["random"] = time.perf_counter() - started
    return {method: scores[method] for method in methods}, seconds


def kendall_tau(attributions: np.ndarray, rival: np.ndarray, token_ids: np.ndarray,
                special_ids: Sequence[int]) -> float | None:
    """Rank agreement of a rival with IG over the example's ordinary tokens (None where undefined)."""
    from scipy import stats  # imported here: a second that a stage failing on its params should not wait

    return ordinary_token_correlation(stats.kendalltau, attributions, rival, token_ids, special_ids)
