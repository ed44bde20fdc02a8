"""The model-parameter randomisation test (Adebayo et al. 2018, "Sanity Checks for Saliency Maps").

The learned weights are re-initialised cascading from the top, as Quantus' MPRT does with
`layer_order="top_down"`: the classification head first, then the top transformer block, and so on
down to the embeddings; at each level the same examples are explained again with the same settings
and target class, and compared with the original attributions by Spearman rank correlation.
Attributions that stay correlated once the weights are gone explain the input, not the model.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from scipy import stats

from stages.attribution import ig
from stages.attribution.agreement import ordinary_token_correlation
from stages.attribution.layers import blocks, main_layer
from stages.attribution.settings import IGSettings

TRUNCATION = 2.0  # initial weights are a normal truncated at 2 standard deviations, as Keras' TruncatedNormal


def cascade_levels(wrapper: Any) -> list[tuple[str, list[Any]]]:
    """The levels of the cascade, top first, each with the layers it re-initialises: `head` (the
    classifier and the pooler or pre-classifier), `layer_N` down to `layer_0`, then `embeddings`."""
    transformer, body = wrapper.transformer, main_layer(wrapper)
    head = [layer for layer in transformer.layers if layer is not body and layer.weights]
    head += [body.pooler] if getattr(body, "pooler", None) is not None else []
    stack = blocks(wrapper)
    return ([("head", head)] + [(f"layer_{index}", [stack[index]]) for index in reversed(range(len(stack)))]
            + [("embeddings", [body.embeddings])])


def reinitialise(layers: Sequence[Any], rng: np.random.Generator, stddev: float) -> None:
    """Every weight of `layers` back to a fresh initial value: LayerNorm scales 1, biases and LayerNorm
    shifts 0, kernels and embedding tables from a truncated normal of `stddev` (the model's
    `initializer_range`)."""
    for layer in layers:
        for weight in layer.weights:
            name, shape = weight.name.rsplit("/", 1)[-1], tuple(weight.shape)
            if name.startswith("gamma"):
                value = np.ones(shape)
            elif name.startswith(("bias", "beta")):
                value = np.zeros(shape)
            else:
                value = stats.truncnorm.rvs(-TRUNCATION, TRUNCATION, scale=stddev, size=shape, random_state=rng)
            weight.assign(value.astype(weight.dtype.as_numpy_dtype))


def cascade(wrapper: Any, sequences: Sequence[np.ndarray], targets: Sequence[int], originals: Sequence[np.ndarray],
            tokens: ig.SpecialTokens, settings: IGSettings, seed: int) -> Iterator[tuple[str, list[float | None]]]:
    """Randomise level after level (in place: the model is spent afterwards) and yield each level's
    name with the Spearman correlation of every example's new attributions with its original ones,
    over its ordinary tokens. Level k draws its weights from the seed (seed, k): reruns are identical."""
    stddev = float(getattr(wrapper.transformer.config, "initializer_range", 0.02))
    for index, (level, layers) in enumerate(cascade_levels(wrapper)):
        reinitialise(layers, np.random.default_rng((seed, index)), stddev)
        results = ig.explain(wrapper, sequences, tokens, settings, progress=f"randomised to {level}", targets=targets)
        yield level, [ordinary_token_correlation(stats.spearmanr, original, result.attributions, result.token_ids,
                                                 tokens.ids) for original, result in zip(originals, results)]
