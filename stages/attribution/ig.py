"""Integrated Gradients with alibi on a transformer layer, at each example's real length, and the
quality figures of the result: completeness (Sundararajan et al. 2017) and ERASER faithfulness
(DeYoung et al. 2020)."""
from __future__ import annotations

import atexit
import functools
import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
from tqdm import tqdm

AUTO_FIRST_STEPS = 16  # n_steps: auto starts here and doubles up to `max_steps`
PROBABILITY_FLOOR = 1e-9  # |f(x) - f(baseline)| below this makes a relative error meaningless


@dataclass(frozen=True)
class Settings:
    """The IG knobs of params.yaml's `explain` section."""
    layer: Callable[[Any], Any]
    n_steps: int | str
    method: str
    internal_batch_size: int
    completeness_target: float
    max_steps: int
    chunk_size: int
    engine: str = "alibi"  # alibi | compiled
    baseline: str = "pad"  # pad | mask | unk: the token replacing the others; zero: 0 at the layer's output


@dataclass(frozen=True)
class SpecialTokens:
    """The tokenizer's special ids, which no baseline replaces, and the ids baselines are made of."""
    ids: tuple[int, ...]
    pad: int
    mask: int | None = None
    unk: int | None = None

    @classmethod
    def of(cls, tokenizer: Any) -> "SpecialTokens":
        return cls(tuple(sorted(tokenizer.all_special_ids)), tokenizer.pad_token_id, tokenizer.mask_token_id,
                   tokenizer.unk_token_id)

    def baselines(self, ids: np.ndarray, baseline: str) -> np.ndarray | None:
        """The baseline ids of `ids` for a token baseline; None for the zero baseline (no ids make it)."""
        if baseline == "zero":
            return None
        replacement = getattr(self, baseline)
        if replacement is None:
            raise ValueError(f"the tokenizer has no {baseline} token to build the baseline from")
        return baseline_ids(ids, self.ids, replacement)


@dataclass
class Attribution:
    """One explained example: per-token attributions to the predicted class and their bookkeeping."""
    token_ids: np.ndarray
    attributions: np.ndarray
    predicted: int
    f_x: float
    f_baseline: float
    delta: float
    n_steps: int

    @property
    def probability(self) -> float:
        """Probability of the predicted class, f(x)."""
        return self.f_x

    @property
    def completeness_error(self) -> float:
        """|sum(attributions) - (f(x) - f(baseline))| / |f(x) - f(baseline)|."""
        return abs(self.delta) / max(abs(self.f_x - self.f_baseline), PROBABILITY_FLOOR)


def baseline_ids(ids: np.ndarray, special_ids: Sequence[int], replacement_id: int) -> np.ndarray:
    """Every token replaced by `replacement_id` ([PAD] in the reference) except the special ones
    ([CLS], [SEP], [UNK], [PAD], [MASK])."""
    return np.where(np.isin(ids, special_ids), ids, replacement_id).astype(ids.dtype)


def pad(sequences: Sequence[np.ndarray], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad id sequences to the longest one; return ids and attention mask."""
    width = max(len(s) for s in sequences)
    ids = np.full((len(sequences), width), pad_id, dtype=np.int32)
    mask = np.zeros((len(sequences), width), dtype=np.int32)
    for row, sequence in enumerate(sequences):
        ids[row, :len(sequence)] = sequence
        mask[row, :len(sequence)] = 1
    return ids, mask


def length_chunks(lengths: Sequence[int], chunk_size: int) -> list[np.ndarray]:
    """Indices grouped `chunk_size` at a time, longest first, so each group pads very little.

    Longest first allocates the widest chunk's buffers first, so narrower chunks can reuse them.
    """
    order = np.argsort(-np.asarray(lengths), kind="stable")
    return [order[start:start + chunk_size] for start in range(0, len(order), chunk_size)]


def run_alibi(wrapper: Any, ids: np.ndarray, mask: np.ndarray, target: np.ndarray, baselines: np.ndarray | None,
              settings: Settings, n_steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """alibi's IntegratedGradients on one padded chunk, as the reference example configures it.

    Returns per-token attributions (summed over the hidden dimension, which keeps
    completeness), f(x) and f(baseline) of the target class, and alibi's deltas.
    alibi takes baselines in the input space only: token ids, never the zero baseline.
    """
    import tensorflow as tf
    from alibi.explainers import IntegratedGradients

    if baselines is None:
        raise ValueError("alibi's IntegratedGradients builds its baseline from token ids; the zero baseline "
                         "needs the compiled engine")
    explainer = IntegratedGradients(wrapper, layer=settings.layer, n_steps=n_steps, method=settings.method,
                                    internal_batch_size=settings.internal_batch_size)
    kwargs = {"attention_mask": tf.constant(mask)}
    explanation = explainer.explain(ids, forward_kwargs=kwargs, baselines=baselines, target=target)
    per_token = explanation.attributions[0].sum(axis=2)
    rows = np.arange(len(target))
    f_x = explanation.predictions[rows, target]
    f_baseline = wrapper(baselines, attention_mask=kwargs["attention_mask"]).numpy()[rows, target]
    return per_token, f_x, f_baseline, np.asarray(explanation.deltas)


def run_compiled(wrapper: Any, ids: np.ndarray, mask: np.ndarray, target: np.ndarray, baselines: np.ndarray | None,
                 settings: Settings, n_steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The integral `run_alibi` computes, with alibi's quadrature points and weights, as ONE call
    of a compiled `tf.function`: the layer outputs of x and of the baseline, every interpolation
    batch and the weighted sum stay in the graph (alibi builds the whole path on the host and runs
    each batch eagerly). The function is traced once per (wrapper, layer, kind of baseline) and reused.
    `baselines` None is the zero baseline: an all-zero layer output."""
    import tensorflow as tf
    from alibi.utils.approximation_methods import approximation_parameters

    weights_of, alphas_of = approximation_parameters(settings.method)
    integrate = compiled_integral(wrapper, settings.layer(wrapper), zero_baseline=baselines is None)
    per_token, f_x, f_baseline = (tensor.numpy() for tensor in integrate(
        tf.constant(ids, tf.int32), tf.constant(ids if baselines is None else baselines, tf.int32),
        tf.constant(mask, tf.int32), tf.constant(target, tf.int32),
        tf.constant(alphas_of(n_steps), tf.float32), tf.constant(weights_of(n_steps), tf.float32),
        tf.constant(settings.internal_batch_size, tf.int32)))
    return per_token, f_x, f_baseline, per_token.sum(axis=1) - (f_x - f_baseline)


@functools.cache
def compiled_integral(wrapper: Any, layer: Any, zero_baseline: bool = False) -> Callable[..., Any]:
    """The IG integral of `wrapper`'s target-class probability on `layer`'s output, compiled once
    per layer for inputs of any batch size and width. With `zero_baseline` the path starts at an
    all-zero layer output (the `baselines` ids are then ignored).

    Interpolation points are laid out step-major (row r is example r % n at step r // n, as
    alibi lays them out) and taken `batch_size` rows per forward/backward pass. Cached for the
    life of the process, which keeps the model alive with it.
    """
    import tensorflow as tf

    def integrate(ids: Any, baselines: Any, mask: Any, target: Any, alphas: Any, weights: Any,
                  batch_size: Any) -> tuple[Any, Any, Any]:
        f_x, x, as_tuple = layer_output(wrapper, layer, ids, mask, target)
        if zero_baseline:
            baseline = tf.zeros_like(x)
            f_baseline = replaced_probability(wrapper, layer, baseline, as_tuple, ids, mask, target)
        else:
            f_baseline, baseline, _ = layer_output(wrapper, layer, baselines, mask, target)
        count, difference = tf.shape(ids)[0], x - baseline
        rows = tf.size(alphas) * count

        def one_pass(start: Any, integral: Any) -> tuple[Any, Any]:
            row = tf.range(start, tf.minimum(start + batch_size, rows))
            step, example = row // count, row % count
            path = tf.gather(baseline, example) + tf.gather(alphas, step)[:, None, None] * tf.gather(difference, example)
            gradients = path_gradients(wrapper, layer, path, as_tuple, tf.gather(ids, example),
                                       tf.gather(mask, example), tf.gather(target, example))
            # weighted sum per example as a product with a one-hot matrix: deterministic on every device
            spread = tf.one_hot(example, count) * tf.gather(weights, step)[:, None]
            return start + batch_size, integral + tf.einsum("rn,rlh->nlh", spread, gradients)

        # one pass at a time: by default up to 10 iterations' passes may run at once, which made peak
        # memory grow with the number of reviews (10: 2,256 MiB, 100: 3,303; now 1,504 and 1,560)
        _, integral = tf.while_loop(lambda start, _: start < rows, one_pass, (tf.constant(0), tf.zeros_like(x)),
                                    parallel_iterations=1)
        return tf.reduce_sum(difference * integral, axis=2), f_x, f_baseline

    integers, floats = tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None], tf.float32)
    return tf.function(integrate, autograph=False, input_signature=[
        integers, integers, integers, tf.TensorSpec([None], tf.int32), floats, floats, tf.TensorSpec([], tf.int32)])


# dropped while TensorFlow is whole: a tf.function left to interpreter teardown prints errors
atexit.register(compiled_integral.cache_clear)


def layer_output(wrapper: Any, layer: Any, ids: Any, mask: Any, target: Any) -> tuple[Any, Any, bool]:
    """One forward pass: the target-class probability, what `layer` outputs (the hidden states, for
    blocks returning a 1-tuple) and whether it returns a tuple."""
    import tensorflow as tf

    original, captured = layer.call, []

    def recording(*args: Any, **kwargs: Any) -> Any:
        captured.append(original(*args, **kwargs))
        return captured[-1]

    layer.call = recording
    try:
        probabilities = wrapper(ids, attention_mask=mask)
    finally:
        layer.call = original
    output = captured[0]
    as_tuple = isinstance(output, (tuple, list))
    return tf.gather(probabilities, target, batch_dims=1), output[0] if as_tuple else output, as_tuple


def replaced_probability(wrapper: Any, layer: Any, value: Any, as_tuple: bool, ids: Any, mask: Any,
                         target: Any) -> Any:
    """The target-class probability with `layer`'s output replaced by `value`."""
    import tensorflow as tf

    original = layer.call

    def replaced(*args: Any, **kwargs: Any) -> Any:
        return (value,) if as_tuple else value

    layer.call = replaced
    try:
        probabilities = wrapper(ids, attention_mask=mask)
    finally:
        layer.call = original
    return tf.gather(probabilities, target, batch_dims=1)


def path_gradients(wrapper: Any, layer: Any, path: Any, as_tuple: bool, ids: Any, mask: Any, target: Any) -> Any:
    """Gradient of the target-class probability with respect to `layer`'s output, set to `path`."""
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(path)
        chosen = replaced_probability(wrapper, layer, path, as_tuple, ids, mask, target)
    return tape.gradient(chosen, path)


ENGINES = {"alibi": run_alibi, "compiled": run_compiled}


def explain(wrapper: Any, sequences: Sequence[np.ndarray], tokens: SpecialTokens, settings: Settings,
            progress: str | None = None, targets: Sequence[int] | None = None) -> list[Attribution]:
    """Attribute each sequence's predicted class (or its given `targets`) to its tokens, explaining
    chunks of similar length.

    Padding inside a chunk is identical in input and baseline and hidden by the
    attention mask, so it gets exactly zero attribution and is dropped again.
    With `n_steps: auto` examples whose completeness error is above the target
    are explained again with twice the steps, up to `max_steps`.
    """
    results: list[Attribution | None] = [None] * len(sequences)
    bar = tqdm(total=len(sequences), desc=progress, unit="example", disable=progress is None)
    for chunk in length_chunks([len(s) for s in sequences], settings.chunk_size):
        ids, mask = pad([sequences[i] for i in chunk], tokens.pad)
        baselines = tokens.baselines(ids, settings.baseline)
        target = (wrapper(ids, attention_mask=mask).numpy().argmax(axis=1) if targets is None
                  else np.asarray(targets)[chunk])
        pending = np.arange(len(chunk))
        n_steps = AUTO_FIRST_STEPS if settings.n_steps == "auto" else settings.n_steps
        while len(pending):
            attributions, f_x, f_baseline, deltas = ENGINES[settings.engine](
                wrapper, ids[pending], mask[pending], target[pending],
                None if baselines is None else baselines[pending], settings, n_steps)
            for row, position in enumerate(pending):
                length = len(sequences[chunk[position]])
                results[chunk[position]] = Attribution(
                    token_ids=ids[position, :length], attributions=attributions[row, :length],
                    predicted=int(target[position]), f_x=float(f_x[row]),
                    f_baseline=float(f_baseline[row]), delta=float(deltas[row]), n_steps=n_steps)
            if settings.n_steps != "auto" or n_steps >= settings.max_steps:
                break
            pending = np.array([p for p in pending
                                if results[chunk[p]].completeness_error > settings.completeness_target])
            n_steps = min(2 * n_steps, settings.max_steps)
        bar.update(len(chunk))
    bar.close()
    return results  # type: ignore[return-value]


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


def faithfulness(predict: Callable[[list[np.ndarray]], np.ndarray], example: Attribution, scores: np.ndarray,
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
