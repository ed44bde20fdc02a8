"""Cheaper rivals of Integrated Gradients, scored on the same examples, model and layer, so that the
faithfulness table says whether IG earns its passes. Each takes the `RivalInputs` of a run and returns one
per-token score array per example; `methods.METHODS` names them.

- `gradient_x_input`: the gradient at x times x, summed over the hidden dimension, signed
  (Shrikumar et al. 2016); IG with one right-Riemann step from the zero baseline is exactly this;
- `saliency`: the L2 norm of that gradient over the hidden dimension (Simonyan et al. 2014);
- `occlusion`: leave-one-out, the drop in the predicted-class probability when a token is removed
  (Li et al. 2016; ferret's `taucorr_loo` ranks against it), one batched forward pass per example;
- `random_ranking`: a seeded random ranking, the floor every method must beat.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

import numpy as np

from stages.attribution.batching import length_chunks, pad
from stages.attribution.layer_hooks import layer_output, path_gradients

Predict = Callable[[list[np.ndarray]], np.ndarray]  # token id sequences -> class probabilities


class Explained(Protocol):
    """What a rival reads of an example IG explained (an `ig.Attribution`)."""

    token_ids: np.ndarray
    predicted: int
    probability: float


@dataclass
class RivalInputs:
    """The examples IG explained and the model and layer it explained them at: what every rival scores.
    `positions` place the examples in the whole run (they seed the random ranking)."""

    wrapper: Any
    layer: Any
    explained: Sequence[Explained]
    predict: Predict
    special_ids: Sequence[int]
    pad_id: int
    seed: int
    positions: Sequence[int]
    chunk_size: int

    @cached_property
    def gradients(self) -> dict[str, list[np.ndarray]]:
        """Gradient x input and saliency: one gradient pass gives both, run by the first that asks."""
        return gradient_scores(self.wrapper, self.layer, [e.token_ids for e in self.explained],
                               [e.predicted for e in self.explained], self.pad_id, self.chunk_size)


def gradient_scores(wrapper: Any, layer: Any, sequences: Sequence[np.ndarray], targets: Sequence[int], pad_id: int,
                    chunk_size: int) -> dict[str, list[np.ndarray]]:
    """Gradient x input and saliency of each sequence's target class at `layer`'s output, in chunks of
    similar length. Eager: one pass per chunk costs less than tracing a function for it."""
    import tensorflow as tf

    names = ("gradient_x_input", "saliency")
    scores: dict[str, list[Any]] = {name: [None] * len(sequences) for name in names}
    for chunk in length_chunks([len(s) for s in sequences], chunk_size):
        ids, mask = (tf.constant(array) for array in pad([sequences[i] for i in chunk], pad_id))
        target = tf.constant(np.asarray(targets)[chunk], tf.int32)
        _, x, as_tuple = layer_output(wrapper, layer, ids, mask)
        gradient = path_gradients(wrapper, layer, x, as_tuple, ids, mask, target)
        values = tf.reduce_sum(gradient * x, axis=2).numpy(), tf.norm(gradient, axis=2).numpy()
        for name, per_token in zip(names, values):
            for row, index in enumerate(chunk):
                scores[name][index] = per_token[row, :len(sequences[index])]
    return scores


def gradient_x_input(inputs: RivalInputs) -> list[np.ndarray]:
    return inputs.gradients["gradient_x_input"]


def saliency(inputs: RivalInputs) -> list[np.ndarray]:
    return inputs.gradients["saliency"]


def leave_one_out(predict: Predict, example: Explained, special_ids: Sequence[int]) -> np.ndarray:
    """The drop in the predicted-class probability when each token is removed; 0 for special tokens."""
    scores = np.zeros(len(example.token_ids))
    positions = np.flatnonzero(~np.isin(example.token_ids, special_ids))
    if len(positions):
        variants = [np.delete(example.token_ids, position) for position in positions]
        scores[positions] = example.probability - predict(variants)[:, example.predicted]
    return scores


def occlusion(inputs: RivalInputs) -> list[np.ndarray]:
    return [leave_one_out(inputs.predict, example, inputs.special_ids) for example in inputs.explained]


def random_scores(seed: int, position: int, length: int) -> np.ndarray:
    """The random ranking of the example at `position` in the run: the same in a shard as unsharded."""
    return np.random.default_rng((seed, position)).random(length)


def random_ranking(inputs: RivalInputs) -> list[np.ndarray]:
    return [random_scores(inputs.seed, position, len(example.token_ids))
            for example, position in zip(inputs.explained, inputs.positions)]
