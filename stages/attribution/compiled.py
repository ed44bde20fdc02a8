"""The compiled engine: a subclass of alibi's `IntegratedGradients` that keeps its `explain()` and its
`Explanation`, with the eager loop over interpolation batches replaced by ONE call of a compiled
`tf.function`. Its scope is narrower than alibi's: `layer` is required, and the model is called as
`model(ids, attention_mask=...)` and attributed at that layer's output (no lists of inputs, no other
forward kwargs).

alibi builds the whole interpolation path on the host and runs each batch eagerly; here the layer
outputs of x and of the baseline, every interpolation batch and the weighted sum stay in the graph,
traced once per (model, layer, kind of baseline) for inputs of any batch size and width. The
quadrature points and weights are alibi's, so the result is alibi's integral (tested within 1e-4 of
each example's total).
"""
from __future__ import annotations

import atexit
import copy
import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf
from alibi.api.defaults import DEFAULT_DATA_INTGRAD
from alibi.api.interfaces import Explanation
from alibi.explainers import IntegratedGradients
from alibi.explainers.integrated_gradients import _format_baseline, _format_target, _get_target_from_target_fn
from alibi.utils.approximation_methods import approximation_parameters

from stages.attribution.layer_hooks import layer_output, path_gradients, replaced_probabilities


class CompiledIntegratedGradients(IntegratedGradients):
    """`IntegratedGradients` for a model called as `model(ids, attention_mask=...)`, attributing to a
    layer's output.

    `zero_baseline=True` starts the path at an all-zero layer output instead of the layer's output
    for baseline ids (which alibi cannot express: its baselines live in the input space); `explain`
    then takes no `baselines`, and the explanation's `baselines` is None.
    """

    def __init__(self, model: Any, layer: Any, target_fn: Callable | None = None, method: str = "gausslegendre",
                 n_steps: int = 50, internal_batch_size: int = 100, zero_baseline: bool = False) -> None:
        if layer is None:
            raise ValueError("the compiled engine attributes to a layer's output; give `layer`")
        super().__init__(model, layer=layer, target_fn=target_fn, method=method, n_steps=n_steps,
                         internal_batch_size=internal_batch_size)
        self.zero_baseline = zero_baseline
        self.meta["params"]["zero_baseline"] = zero_baseline

    def explain(self, X: np.ndarray, forward_kwargs: dict | None = None, baselines: Any = None,
                target: int | list | np.ndarray | None = None,
                attribute_to_layer_inputs: bool = False) -> Explanation:
        """alibi's `explain` for one array of token ids, whose only forward kwarg is `attention_mask`."""
        if not isinstance(X, np.ndarray) or attribute_to_layer_inputs:
            raise NotImplementedError("the compiled engine explains one array of ids at a layer's output; "
                                      "use alibi's IntegratedGradients for lists of inputs or layer inputs")
        forward_kwargs = dict(forward_kwargs or {})
        mask = np.asarray(forward_kwargs.pop("attention_mask", np.ones_like(X)))
        if forward_kwargs:
            raise ValueError("the compiled engine takes only attention_mask in forward_kwargs, "
                             f"not {sorted(forward_kwargs)}")
        if self.zero_baseline and baselines is not None:
            raise ValueError("a zero-baseline explainer builds its own baseline; pass no `baselines`")
        if self.target_fn is not None:
            if target is not None:
                raise ValueError("Both `target_fn` and `target` were provided. Only one of these should be provided.")
            target = _get_target_from_target_fn(self.target_fn, self.model, X, {"attention_mask": mask})
        target = _format_target(target, len(X))
        if target is None:
            raise ValueError("a classifier's explanation needs a `target` class per example, or a `target_fn`")
        baselines = None if self.zero_baseline else _format_baseline(X, baselines)

        weights_of, alphas_of = approximation_parameters(self.method)
        rules, predictions, f_baseline = integrate_rules(
            self.model, self.layer, self.zero_baseline, X, mask, target, baselines,
            np.asarray(alphas_of(self.n_steps)), np.asarray(weights_of(self.n_steps))[None], self.internal_batch_size)
        attributions = rules[0]
        f_x = predictions[np.arange(len(X)), target]
        data = copy.deepcopy(DEFAULT_DATA_INTGRAD)
        data.update(X=X, forward_kwargs={"attention_mask": mask}, baselines=baselines, target=target,
                    attributions=[attributions], predictions=predictions,
                    deltas=attributions.sum(axis=(1, 2)) - (f_x - f_baseline))
        return Explanation(meta=copy.deepcopy(self.meta), data=data)


def integrate_rules(wrapper: Any, layer: Any, zero_baseline: bool, ids: np.ndarray, mask: np.ndarray,
                    target: np.ndarray, baselines: np.ndarray | None, alphas: np.ndarray, weights: np.ndarray,
                    batch_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`compiled_integral` on numpy arrays: the attributions of each rule (a row of `weights`: rules x
    examples x tokens x hidden), the class probabilities of x and the target-class probability of
    the baseline."""
    integrate = compiled_integral(wrapper, layer, zero_baseline=zero_baseline)
    rules, predictions, f_baseline = integrate(
        tf.constant(ids, tf.int32), tf.constant(ids if baselines is None else baselines, tf.int32),
        tf.constant(mask, tf.int32), tf.constant(target, tf.int32), tf.constant(alphas, tf.float32),
        tf.constant(weights, tf.float32), tf.constant(batch_size, tf.int32))
    return rules.numpy(), predictions.numpy(), f_baseline.numpy()


@functools.cache
def compiled_integral(wrapper: Any, layer: Any, zero_baseline: bool = False) -> Callable[..., Any]:
    """The IG integrals of `wrapper`'s target-class probability on `layer`'s output, compiled once per
    layer for inputs of any batch size and width. `weights` holds one row per quadrature rule over the
    same `alphas` (a rule leaves the points it does not use at 0), so one pass serves every rule.
    Returns the attributions (rules x examples x tokens x hidden), the class probabilities of x and
    the target-class probability of the baseline. With `zero_baseline` the path starts at an
    all-zero layer output (the `baselines` ids are then ignored).

    Interpolation points are laid out step-major (row r is example r % n at step r // n, as
    alibi lays them out) and taken `batch_size` rows per forward/backward pass. Cached for the
    life of the process, which keeps the model alive with it.
    """
    def integrate(ids: Any, baselines: Any, mask: Any, target: Any, alphas: Any, weights: Any,
                  batch_size: Any) -> tuple[Any, Any, Any]:
        probabilities, x, as_tuple = layer_output(wrapper, layer, ids, mask)
        if zero_baseline:
            baseline = tf.zeros_like(x)
            baseline_probabilities = replaced_probabilities(wrapper, layer, baseline, as_tuple, ids, mask)
        else:
            baseline_probabilities, baseline, _ = layer_output(wrapper, layer, baselines, mask)
        count, difference = tf.shape(ids)[0], x - baseline
        rows = tf.size(alphas) * count

        def one_pass(start: Any, integral: Any) -> tuple[Any, Any]:
            row = tf.range(start, tf.minimum(start + batch_size, rows))
            step, example = row // count, row % count
            path = (tf.gather(baseline, example)
                    + tf.gather(alphas, step)[:, None, None] * tf.gather(difference, example))
            gradients = path_gradients(wrapper, layer, path, as_tuple, tf.gather(ids, example),
                                       tf.gather(mask, example), tf.gather(target, example))
            # weighted sums per rule and example as a product with one-hot matrices: deterministic on every device
            spread = tf.one_hot(example, count)[None] * tf.gather(weights, step, axis=1)[:, :, None]
            return start + batch_size, integral + tf.einsum("krn,rlh->knlh", spread, gradients)

        # one pass at a time: by default up to 10 iterations' passes may run at once, which made peak
        # memory grow with the number of reviews (10: 2,256 MiB, 100: 3,303; now 1,504 and 1,560)
        empty = tf.zeros(tf.concat([tf.shape(weights)[:1], tf.shape(x)], axis=0))
        _, integral = tf.while_loop(lambda start, _: start < rows, one_pass, (tf.constant(0), empty),
                                    parallel_iterations=1)
        return difference[None] * integral, probabilities, tf.gather(baseline_probabilities, target, batch_dims=1)

    integers = tf.TensorSpec([None, None], tf.int32)
    return tf.function(integrate, autograph=False, input_signature=[
        integers, integers, integers, tf.TensorSpec([None], tf.int32), tf.TensorSpec([None], tf.float32),
        tf.TensorSpec([None, None], tf.float32), tf.TensorSpec([], tf.int32)])


# dropped while TensorFlow is whole: a tf.function left to interpreter teardown prints errors
atexit.register(compiled_integral.cache_clear)
