"""The configurations compared: for IG, alibi's transformer example (the reference), the project's
`explain` stage and the floor of gradient passes alone; for inference, the `evaluate` stage's batch
layout before and after token budgets."""
from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from benchmarks.measure import completeness_errors, gauss_legendre, pad_to
from stages.attribution import ig
from stages.attribution.batching import length_chunks, pad
from stages.attribution.layer_hooks import path_gradients
from stages.attribution.layers import layer_getter
from stages.attribution.settings import IGSettings
from stages.plumbing.inference import Predictor

# alibi's transformer example (IMDB, DistilBERT/BERT): what the project's configuration is compared with.
REFERENCE_STEPS = 50
REFERENCE_METHOD = "gausslegendre"
REFERENCE_BATCH = 5
REFERENCE_MAX_LEN = 256
ENGINES = ("alibi", "compiled")  # the project's, each run with the rest of params.yaml's explain settings
AUTO = "auto"  # the compiled engine with n_steps: auto at AUTO_TARGET, against its 50 fixed steps and captum's
AUTO_TARGET = 0.01
ROWS_BEFORE = 64  # the evaluate stage's batches before token budgets: 64 length-sorted rows, retraced per width


def reference_settings() -> IGSettings:
    return IGSettings(layer="embeddings", n_steps=REFERENCE_STEPS, method=REFERENCE_METHOD,
                       internal_batch_size=REFERENCE_BATCH, completeness_target=0.05, max_steps=REFERENCE_STEPS,
                       chunk_size=REFERENCE_BATCH, engine="alibi")


def explain_reference(wrapper: Any, sequences: Sequence[np.ndarray], special_ids: Sequence[int], pad_id: int,
                      max_len: int, n_steps: int = REFERENCE_STEPS) -> dict[str, Any]:
    """alibi's example: every input padded to `max_len`, target = predicted class, one `explain` call."""
    import tensorflow as tf

    ids, mask = pad_to(sequences, max_len, pad_id)
    target = wrapper(ids, attention_mask=tf.constant(mask)).numpy().argmax(axis=1)
    per_token, f_x, f_baseline, deltas = ig.integrate(wrapper, ids, mask, target,
                                                      ig.baseline_ids(ids, special_ids, pad_id),
                                                      reference_settings(), n_steps)
    lengths = [len(s) for s in sequences]
    return {"attributions": [per_token[i, :n] for i, n in enumerate(lengths)],
            "completeness_errors": completeness_errors(f_x, f_baseline, deltas),
            "predicted": target, "n_steps": [n_steps] * len(sequences),
            "padding_max_abs": float(max(np.abs(per_token[i, n:]).max(initial=0.0) for i, n in enumerate(lengths)))}


def explain_project(wrapper: Any, sequences: Sequence[np.ndarray], tokens: ig.SpecialTokens,
                    settings: IGSettings) -> dict[str, Any]:
    """Exactly what the `explain` stage runs."""
    results = ig.explain(wrapper, sequences, tokens, settings)
    return {"attributions": [r.attributions for r in results],
            "completeness_errors": [r.completeness_error for r in results],
            "predicted": [r.predicted for r in results], "n_steps": [r.n_steps for r in results]}


class GradientFloor:
    """The least work IG on a layer needs: gradients of the target-class probability with respect to
    the layer's output at the interpolation points, each pass from one compiled `tf.function`, batched
    as the project batches them (length-sorted chunks, `internal_batch_size` points per pass).
    `pass_seconds` is the time of the passes alone in the last `attributions` call."""

    def __init__(self, wrapper: Any, settings: IGSettings) -> None:
        import tensorflow as tf

        self.wrapper = wrapper
        self.layer = layer_getter("embeddings")(wrapper)  # the reference's layer, whose call takes `input_ids`
        self.settings = settings
        self.pass_seconds = 0.0
        hidden = wrapper.transformer.config.hidden_size
        self.gradients = tf.function(self._gradients, autograph=False, input_signature=[
            tf.TensorSpec([None, None, hidden], tf.float32), tf.TensorSpec([None, None], tf.int32),
            tf.TensorSpec([None], tf.int32)])

    def _gradients(self, points: Any, mask: Any, target: Any) -> Any:
        import tensorflow as tf

        # the embeddings return a plain tensor; the ids are never read, as the layer's output is fed
        return path_gradients(self.wrapper, self.layer, points, False, tf.zeros_like(mask), mask, target)

    def attributions(self, sequences: Sequence[np.ndarray], special_ids: Sequence[int], pad_id: int,
                     targets: Sequence[int], n_steps: Sequence[int]) -> list[np.ndarray]:
        """Per-token IG attributions; examples with the same step count share length-sorted chunks."""
        results: list[np.ndarray] = [np.zeros(0)] * len(sequences)
        self.pass_seconds = 0.0
        for steps in sorted(set(n_steps)):
            group = np.flatnonzero(np.asarray(n_steps) == steps)
            for chunk in length_chunks([len(sequences[i]) for i in group], self.settings.chunk_size):
                members = group[chunk]
                per_token = self._chunk([sequences[i] for i in members], special_ids, pad_id,
                                        np.asarray([targets[i] for i in members], dtype=np.int32), steps)
                for row, index in enumerate(members):
                    results[index] = per_token[row, :len(sequences[index])]
        return results

    def _chunk(self, sequences: Sequence[np.ndarray], special_ids: Sequence[int], pad_id: int,
               target: np.ndarray, n_steps: int) -> np.ndarray:
        import tensorflow as tf

        ids, mask = pad(sequences, pad_id)
        x = self.layer(input_ids=tf.constant(ids), training=False).numpy()
        baseline = self.layer(input_ids=tf.constant(ig.baseline_ids(ids, special_ids, pad_id)), training=False).numpy()
        alphas, weights = gauss_legendre(n_steps)
        # step-major, as alibi lays out its paths: row s * len(sequences) + j is example j at alphas[s]
        points = (baseline[None] + alphas[:, None, None, None] * (x - baseline)[None]).astype(np.float32)
        points = tf.constant(points.reshape(-1, *x.shape[1:]))
        masks, targets = tf.constant(np.tile(mask, (n_steps, 1))), tf.constant(np.tile(target, n_steps))
        size = self.settings.internal_batch_size
        started = time.perf_counter()
        grads = np.concatenate([self.gradients(points[s:s + size], masks[s:s + size], targets[s:s + size]).numpy()
                                for s in range(0, len(points), size)])
        self.pass_seconds += time.perf_counter() - started
        integral = np.tensordot(weights, grads.reshape(n_steps, *x.shape), axes=1)
        return ((x - baseline) * integral).sum(axis=2)


class RowBatchPredictor(Predictor):
    """`Predictor` as the `evaluate` stage ran it before token budgets: `rows` length-sorted examples
    per batch, each batch cut to its longest, and a `tf.function` that retraces for new widths
    (`reduce_retracing`) instead of one trace for every width."""

    def __init__(self, classifier: Any, rows: int = ROWS_BEFORE) -> None:
        import tensorflow as tf

        super().__init__(classifier, batch_tokens=0)
        self.rows = rows
        self._forward = tf.function(self._logits, autograph=False, reduce_retracing=True)  # as `Predictor`

    def logits(self, input_ids: Any, attention_mask: Any) -> Any:
        lengths = attention_mask.sum(axis=1)
        order = np.argsort(lengths, kind="stable")
        logits = np.zeros((len(lengths), self.classifier.config.num_labels), dtype=np.float32)
        for start in range(0, len(order), self.rows):
            chosen = order[start:start + self.rows]
            width = max(int(lengths[chosen].max()), 1)
            logits[chosen] = self._forward(input_ids[chosen, :width], attention_mask[chosen, :width]).numpy()
        return logits
