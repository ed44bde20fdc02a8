"""Benchmark of the project's Integrated Gradients and fine-tuning, side by side with their alternatives.

Usage: python -m benchmarks.bench [--model-dir models/classifier] [--tokens-dir data/tokens]
                                  [--out benchmarks/results.json] [--quick]

Measured in one run on one machine (medians of repeated, warmed-up runs):
1. IG as alibi's transformer example configures it: inputs padded to --max-len, internal_batch_size 5,
   50 Gauss-Legendre steps, all examples in one `explain` call;
2. IG as the `explain` stage runs it (`ig.explain` with params.yaml's `explain` settings), once with
   each engine (`alibi`, the default, and the opt-in `compiled`);
3. the floor: only the time of the same gradient passes, each from one compiled `tf.function`;
4. captum's LayerIntegratedGradients on the same weights in PyTorch (skipped without torch/captum);
5. fine-tuning throughput of the `train` stage's trimmed batches against batches padded to max_len;
6. peak memory of the project's IG on few against many reviews.
Every configuration runs in a fresh subprocess (`--worker`), so its peak resident memory is its own.
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib.abc
import importlib.machinery
import importlib.util
import itertools
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from stages.attribution import ig
from stages.attribution.explaining import settings_from
from stages.plumbing.artifacts import read_arrays, run, write_json
from stages.plumbing.models import layer_getter
from stages.plumbing.params import UserError, load_section, selected_model

ROOT = Path(__file__).resolve().parents[1]
# alibi's transformer example (IMDB, DistilBERT/BERT): what the project's configuration is compared with.
REFERENCE_STEPS = 50
REFERENCE_METHOD = "gausslegendre"
REFERENCE_BATCH = 5
REFERENCE_MAX_LEN = 256
WARMUP_EXAMPLES = 1  # the warm-up call explains this many examples of the workload (eager alibi traces nothing)
BUDGET_S = 60.0  # a configuration stops repeating once its timed calls on a workload add up to this
PROJECT_SETTINGS = ("layer", "n_steps", "method", "engine", "internal_batch_size", "max_steps", "completeness_target")
NORM_FLOOR = 1e-12  # sum |a_ref| below this: the attribution difference is taken as absolute
WORKLOADS = (("sentences", "rotten_tomatoes"), ("reviews", "test"))  # name, token file; small one first
NOTES = {
    "time": "median of the timed calls (up to --repeats, fewer once they add up to --budget-s), after one "
            "warm-up call on the workload's first example",
    "peak_rss_mib": "high-water mark of the configuration's own process after that workload; sentences run "
                    "first, so the reviews figure is the larger of the two. TensorFlow workers run with PyTorch "
                    "hidden, as in a pipeline without it; captum's process holds PyTorch only",
    "floor": "the seconds spent in the gradient passes alone (points built beforehand), on the compiled "
             "engine's targets and step counts, in its process after its memory was read",
    "max_attribution_diff": "max over real-length tokens of |a - a_ref| / sum |a_ref|, worst example; engines "
                            "vs reference, floor and captum vs the alibi engine",
}
ENGINES = ("alibi", "compiled")  # the project's, each run with the rest of params.yaml's explain settings
CONFIGURATIONS = ("reference", *ENGINES, "floor", "captum")
LABELS = {"reference": "alibi example (padded, batch 5)", "alibi": "project, engine alibi",
          "compiled": "project, engine compiled", "floor": "floor (passes only)", "captum": "captum (PyTorch)"}


# --------------------------------------------------------------------------- measurement helpers

def peak_rss_mib() -> float:
    """High-water mark of this process's resident memory, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def wall_clock(function: Callable[[], Any]) -> Callable[[], tuple[float, Any]]:
    """`function` made to return the wall-clock seconds it took beside its result."""
    def timed() -> tuple[float, Any]:
        started = time.perf_counter()
        result = function()
        return time.perf_counter() - started, result
    return timed


def repeat_timed(timed: Callable[[], tuple[float, Any]], repeats: int,
                 budget_s: float = BUDGET_S) -> tuple[list[float], Any]:
    """Call `timed` (returning seconds and a result) up to `repeats` times, and no more once the calls
    add up to `budget_s` (a minutes-long call varies little); the seconds of each and the last result."""
    times: list[float] = []
    result = None
    while len(times) < repeats and sum(times) < budget_s:
        seconds, result = timed()
        times.append(seconds)
    return times, result


def timing(times: Sequence[float]) -> dict[str, Any]:
    return {"times_s": [round(t, 4) for t in times], "median_s": statistics.median(times)}


def completeness_errors(f_x: np.ndarray, f_baseline: np.ndarray, deltas: np.ndarray) -> np.ndarray:
    """|sum(a) - (f(x) - f(baseline))| / |f(x) - f(baseline)|, as `ig.Attribution.completeness_error`."""
    gap = np.maximum(np.abs(np.asarray(f_x) - np.asarray(f_baseline)), ig.PROBABILITY_FLOOR)
    return np.abs(np.asarray(deltas)) / gap


def max_attribution_difference(candidate: Sequence[Sequence[float]], reference: Sequence[Sequence[float]]) -> float:
    """Largest over examples of max_t |a_candidate - a_reference| / sum_t |a_reference| (real-length tokens)."""
    worst = 0.0
    for a, r in zip(candidate, reference):
        a, r = np.asarray(a, dtype=np.float64), np.asarray(r, dtype=np.float64)
        if a.shape != r.shape:
            raise ValueError(f"attributions of {a.shape} and {r.shape} tokens cannot be compared")
        worst = max(worst, float(np.abs(a - r).max(initial=0.0) / max(np.abs(r).sum(), NORM_FLOOR)))
    return worst


def load_sequences(tokens_dir: Path | str, name: str, count: int) -> list[np.ndarray]:
    """The first `count` id sequences of a token file, at their real length."""
    arrays = read_arrays(Path(tokens_dir) / f"{name}.npz", rebuild="tokenize")
    lengths = arrays["attention_mask"][:count].sum(axis=1)
    return [arrays["input_ids"][i, :int(n)] for i, n in enumerate(lengths)]


def pad_to(sequences: Sequence[np.ndarray], width: int, pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad every sequence to `width` (the reference's fixed input length); ids and attention mask."""
    longest = max(len(s) for s in sequences)
    if longest > width:
        raise UserError(f"--max-len {width} is shorter than a {longest}-token input")
    ids = np.full((len(sequences), width), pad_id, dtype=np.int32)
    mask = np.zeros((len(sequences), width), dtype=np.int32)
    for row, sequence in enumerate(sequences):
        ids[row, :len(sequence)], mask[row, :len(sequence)] = sequence, 1
    return ids, mask


class TorchHidden(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """An import hook under which `import torch` fails as if PyTorch were not installed
    (`find_spec` still answers, so libraries that only look for it keep working)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        return importlib.machinery.ModuleSpec(name, self) if name.split(".")[0] == "torch" else None

    def create_module(self, spec: Any) -> Any:
        raise ModuleNotFoundError(f"No module named '{spec.name}' (hidden by benchmarks.bench)", name=spec.name)

    def exec_module(self, module: Any) -> None:
        return None


def hide_torch() -> None:
    """Keep PyTorch out of a TensorFlow worker: transformers and alibi import it whenever it is
    installed, which would add its memory and start-up to figures meant for the pipeline."""
    os.environ["USE_TF"] = "1"
    sys.meta_path.insert(0, TorchHidden())


def gauss_legendre(n_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Points in [0, 1] and weights of the n-point Gauss-Legendre rule (alibi's and captum's ordering)."""
    points, weights = np.polynomial.legendre.leggauss(n_steps)
    return 0.5 * (points + 1.0), 0.5 * weights


# --------------------------------------------------------------------------- the IG configurations

def reference_settings() -> ig.Settings:
    return ig.Settings(layer=layer_getter("embeddings"), n_steps=REFERENCE_STEPS, method=REFERENCE_METHOD,
                       internal_batch_size=REFERENCE_BATCH, completeness_target=0.05, max_steps=REFERENCE_STEPS,
                       chunk_size=REFERENCE_BATCH)


def explain_reference(wrapper: Any, sequences: Sequence[np.ndarray], special_ids: Sequence[int], pad_id: int,
                      max_len: int) -> dict[str, Any]:
    """alibi's example: every input padded to `max_len`, target = predicted class, one `explain` call."""
    import tensorflow as tf

    ids, mask = pad_to(sequences, max_len, pad_id)
    target = wrapper(ids, attention_mask=tf.constant(mask)).numpy().argmax(axis=1)
    per_token, f_x, f_baseline, deltas = ig.run_alibi(wrapper, ids, mask, target,
                                                      ig.baseline_ids(ids, special_ids, pad_id),
                                                      reference_settings(), REFERENCE_STEPS)
    lengths = [len(s) for s in sequences]
    return {"attributions": [per_token[i, :n] for i, n in enumerate(lengths)],
            "completeness_errors": completeness_errors(f_x, f_baseline, deltas),
            "predicted": target, "n_steps": [REFERENCE_STEPS] * len(sequences),
            "padding_max_abs": float(max(np.abs(per_token[i, n:]).max(initial=0.0) for i, n in enumerate(lengths)))}


def explain_project(wrapper: Any, sequences: Sequence[np.ndarray], tokens: ig.SpecialTokens,
                    settings: ig.Settings) -> dict[str, Any]:
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

    def __init__(self, wrapper: Any, settings: ig.Settings) -> None:
        import tensorflow as tf

        self.wrapper = wrapper
        self.layer = layer_getter("embeddings")(wrapper)  # the reference's layer, whose call takes `input_ids`
        self.settings = settings
        self.pass_seconds = 0.0
        hidden = wrapper.transformer.config.hidden_size
        self.gradients = tf.function(self._gradients, input_signature=[
            tf.TensorSpec([None, None, hidden], tf.float32), tf.TensorSpec([None, None], tf.int32),
            tf.TensorSpec([None], tf.int32)])

    def _gradients(self, points: Any, mask: Any, target: Any) -> Any:
        import tensorflow as tf

        # the embeddings return a plain tensor; the ids are never read, as the layer's output is fed
        return ig.path_gradients(self.wrapper, self.layer, points, False, tf.zeros_like(mask), mask, target)

    def attributions(self, sequences: Sequence[np.ndarray], special_ids: Sequence[int], pad_id: int,
                     targets: Sequence[int], n_steps: Sequence[int]) -> list[np.ndarray]:
        """Per-token IG attributions; examples with the same step count share length-sorted chunks."""
        results: list[np.ndarray] = [np.zeros(0)] * len(sequences)
        self.pass_seconds = 0.0
        for steps in sorted(set(n_steps)):
            group = np.flatnonzero(np.asarray(n_steps) == steps)
            for chunk in ig.length_chunks([len(sequences[i]) for i in group], self.settings.chunk_size):
                members = group[chunk]
                per_token = self._chunk([sequences[i] for i in members], special_ids, pad_id,
                                        np.asarray([targets[i] for i in members], dtype=np.int32), steps)
                for row, index in enumerate(members):
                    results[index] = per_token[row, :len(sequences[index])]
        return results

    def _chunk(self, sequences: Sequence[np.ndarray], special_ids: Sequence[int], pad_id: int,
               target: np.ndarray, n_steps: int) -> np.ndarray:
        import tensorflow as tf

        ids, mask = ig.pad(sequences, pad_id)
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


# --------------------------------------------------------------------------- workers (fresh processes)

def engine_settings(params: str, engine: str) -> ig.Settings:
    """params.yaml's `explain` settings with `engine` in place of its own."""
    return dataclasses.replace(settings_from(load_section("explain", Path(params))), engine=engine)


def load_wrapper(model_dir: str) -> tuple[Any, ig.SpecialTokens]:
    """The fine-tuned classifier in its probability wrapper, and its tokenizer's special tokens."""
    from stages.plumbing.models import load_trained, probability_model

    classifier, tokenizer = load_trained(model_dir)
    return probability_model(classifier), ig.SpecialTokens.of(tokenizer)


def ig_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """One IG configuration (`reference` or an engine of `ENGINES`) on every workload; with `floor`,
    the worker then times the floor on the same inputs (after its own memory has been read)."""
    hide_torch()
    wrapper, tokens = load_wrapper(spec["model_dir"])
    if spec["config"] == "reference":
        def explain(sequences: Sequence[np.ndarray]) -> dict[str, Any]:
            return explain_reference(wrapper, sequences, tokens.ids, tokens.pad, spec["max_len"])
    else:
        settings = engine_settings(spec["params"], spec["config"])  # the floor batches as this engine

        def explain(sequences: Sequence[np.ndarray]) -> dict[str, Any]:
            return explain_project(wrapper, sequences, tokens, settings)

    output: dict[str, Any] = {"rss_after_load_mib": peak_rss_mib()}
    inputs = {}
    for name, file, count in spec["workloads"]:
        inputs[name] = sequences = load_sequences(spec["tokens_dir"], file, count)
        explain(sequences[:WARMUP_EXAMPLES])
        times, result = repeat_timed(wall_clock(lambda: explain(sequences)), spec["repeats"], spec["budget_s"])
        output[name] = {**timing(times), **result, "n_examples": len(sequences),
                        "mean_length": float(np.mean([len(s) for s in sequences])),
                        "peak_rss_mib": peak_rss_mib()}  # workloads run smallest first
    if spec.get("floor"):
        floor = GradientFloor(wrapper, settings)
        for name, sequences in inputs.items():
            targets, n_steps = output[name]["predicted"], output[name]["n_steps"]
            warm = slice(0, WARMUP_EXAMPLES)
            floor.attributions(sequences[warm], tokens.ids, tokens.pad, targets[warm], n_steps[warm])

            def passes() -> tuple[float, list[np.ndarray]]:
                attributions = floor.attributions(sequences, tokens.ids, tokens.pad, targets, n_steps)
                return floor.pass_seconds, attributions

            times, attributions = repeat_timed(passes, spec["repeats"], spec["budget_s"])
            output[name]["floor"] = {**timing(times), "attributions": attributions, "passes": int(sum(n_steps))}
    return output


def memory_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """The project's configuration (with `engine`) once on the first `count` reviews: peak memory,
    before and after. (No time: the two memory workers run side by side.)"""
    hide_torch()
    wrapper, tokens = load_wrapper(spec["model_dir"])
    settings = engine_settings(spec["params"], spec["engine"])
    sequences = load_sequences(spec["tokens_dir"], "test", spec["count"])
    after_load = peak_rss_mib()
    explain_project(wrapper, sequences, tokens, settings)
    return {"n_examples": len(sequences), "rss_after_load_mib": after_load, "peak_rss_mib": peak_rss_mib()}


def keras_h5_weights(path: Path | str) -> dict[str, np.ndarray]:
    """Every weight of a Keras HDF5 save (transformers' `tf_model.h5`) by its TF name, read with h5py."""
    import h5py

    def names(node: Any, key: str) -> list[str]:
        values = list(node.attrs[key]) if key in node.attrs else [  # long lists are split into key0, key1, ...
            value for part in itertools.takewhile(lambda part: f"{key}{part}" in node.attrs, itertools.count())
            for value in node.attrs[f"{key}{part}"]]
        return [value.decode() if isinstance(value, bytes) else str(value) for value in values]

    with h5py.File(path, "r") as saved:
        return {weight: np.asarray(saved[layer][weight])
                for layer in names(saved, "layer_names") for weight in names(saved[layer], "weight_names")}


def torch_classifier(model_dir: str) -> Any:
    """The fine-tuned TF weights in the matching PyTorch class, in eval mode, without TensorFlow.

    `AutoModelForSequenceClassification.from_pretrained(model_dir, from_tf=True)` of transformers
    4.57 builds the model on the meta device and leaves every weight there (copying into a meta
    tensor is a no-op), so the model is built on the CPU from its config and filled by the
    TF-to-PyTorch name mapping that `from_tf=True` ends in.
    """
    from transformers import AutoConfig, AutoModelForSequenceClassification
    from transformers.modeling_tf_pytorch_utils import load_tf2_state_dict_in_pytorch_model

    model = AutoModelForSequenceClassification.from_config(AutoConfig.from_pretrained(model_dir))
    load_tf2_state_dict_in_pytorch_model(model, keras_h5_weights(Path(model_dir) / "tf_model.h5"),
                                         allow_missing_keys=False)
    return model.eval()


def captum_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """captum's LayerIntegratedGradients on the embeddings of the same weights loaded in PyTorch,
    chunked like the project; `skipped` if torch or captum cannot be imported."""
    try:
        import torch
        from captum.attr import LayerIntegratedGradients
    except ImportError as error:
        return {"skipped": f"torch/captum not importable ({error}); install requirements-bench.txt"}
    os.environ["USE_TORCH"] = "1"  # transformers: PyTorch classes only, TensorFlow never imported
    from transformers import AutoTokenizer

    model = torch_classifier(spec["model_dir"])
    tokenizer = AutoTokenizer.from_pretrained(spec["model_dir"])
    special_ids, pad_id = sorted(tokenizer.all_special_ids), tokenizer.pad_token_id

    def probabilities(input_ids: Any, attention_mask: Any) -> Any:
        return torch.softmax(model(input_ids=input_ids, attention_mask=attention_mask).logits, dim=-1)

    explainer = LayerIntegratedGradients(probabilities, model.base_model.embeddings)

    def explain(sequences: Sequence[np.ndarray]) -> dict[str, Any]:
        attributions: list[np.ndarray] = [np.zeros(0)] * len(sequences)
        errors = np.zeros(len(sequences))
        for chunk in ig.length_chunks([len(s) for s in sequences], spec["chunk_size"]):
            ids, mask = (torch.from_numpy(a.astype(np.int64)) for a in ig.pad([sequences[i] for i in chunk], pad_id))
            baselines = torch.from_numpy(ig.baseline_ids(ids.numpy(), special_ids, pad_id))
            with torch.no_grad():
                f_x, f_baseline = probabilities(ids, mask), probabilities(baselines, mask)
            target = f_x.argmax(dim=1)
            per_token, deltas = explainer.attribute(
                ids, baselines=baselines, target=target, additional_forward_args=(mask,), n_steps=spec["n_steps"],
                method=REFERENCE_METHOD, internal_batch_size=spec["internal_batch_size"],
                return_convergence_delta=True)
            per_token = per_token.sum(dim=-1).detach().numpy()
            rows = torch.arange(len(chunk))
            errors[chunk] = completeness_errors(f_x[rows, target].numpy(), f_baseline[rows, target].numpy(),
                                                deltas.detach().numpy())
            for row, index in enumerate(chunk):
                attributions[index] = per_token[row, :len(sequences[index])]
        return {"attributions": attributions, "completeness_errors": errors}

    output: dict[str, Any] = {"torch_threads": torch.get_num_threads()}
    for name, file, count in spec["workloads"]:
        sequences = load_sequences(spec["tokens_dir"], file, count)
        explain(sequences[:WARMUP_EXAMPLES])
        times, result = repeat_timed(wall_clock(lambda: explain(sequences)), spec["repeats"], spec["budget_s"])
        output[name] = {**timing(times), **result, "n_examples": len(sequences), "peak_rss_mib": peak_rss_mib()}
    return output


def padded_batches(arrays: dict[str, np.ndarray], batch_size: int, shuffle_seed: int) -> Any:
    """`train.batches` without the per-batch trim: every batch keeps the arrays' full width."""
    import tensorflow as tf

    from stages.train import SHUFFLE_BUFFER

    features = {"input_ids": arrays["input_ids"], "attention_mask": arrays["attention_mask"]}
    data = tf.data.Dataset.from_tensor_slices((features, arrays["label"]))
    data = data.shuffle(SHUFFLE_BUFFER, seed=shuffle_seed, reshuffle_each_iteration=True).repeat()
    return data.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def step_timer() -> Any:
    """A Keras callback recording the wall-clock seconds of every training step."""
    import tensorflow as tf

    class StepTimer(tf.keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.durations: list[float] = []

        def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
            self.started = time.perf_counter()

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            self.durations.append(time.perf_counter() - self.started)

    return StepTimer()


def train_variant(trimmed: bool, spec: dict[str, Any], train: dict[str, np.ndarray],
                  validation: dict[str, np.ndarray]) -> dict[str, Any]:
    """Fine-tune freshly loaded starting weights for warm-up + timed steps, as the `train` stage does."""
    from stages.plumbing.models import load_classifier
    from stages.train import batches, compile_classifier, learning_rate_schedule, resolve_train_steps, seed_everything

    _, model = selected_model(Path(spec["params"]))
    seed = load_section("train", Path(spec["params"])).seed
    size = model.batch_size
    seed_everything(seed)
    classifier = load_classifier(spec["checkpoint"])
    compile_classifier(classifier, learning_rate_schedule(model, resolve_train_steps(model, len(train["label"]))))
    make = batches if trimmed else padded_batches
    timer = step_timer()
    steps = spec["warmup_steps"] + spec["steps"]
    classifier.fit(make(train, size, shuffle_seed=seed), steps_per_epoch=steps, epochs=1, verbose=0,
                   callbacks=[timer])
    timed = timer.durations[spec["warmup_steps"]:]
    widths = [int(features["input_ids"].shape[1]) for features, _ in make(train, size, shuffle_seed=seed).take(steps)]
    scores = classifier.evaluate(batches(validation, size), return_dict=True, verbose=0)
    return {"batch_size": size, "steps": len(timed), "warmup_steps": spec["warmup_steps"],
            "seconds": sum(timed), "step_median_s": statistics.median(timed),
            "examples_per_s": size * len(timed) / sum(timed),
            "mean_width": float(np.mean(widths[spec["warmup_steps"]:])),
            "validation_accuracy": float(scores["accuracy"]), "validation_loss": float(scores["loss"]),
            "n_validation": len(validation["label"])}


def train_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Both batch layouts, each from the starting weights reloaded, the same seed and the same steps."""
    hide_torch()
    train = read_arrays(Path(spec["tokens_dir"]) / "train.npz", rebuild="tokenize")
    test = read_arrays(Path(spec["tokens_dir"]) / "test.npz", rebuild="tokenize")
    validation = {key: values[:spec["n_validation"]] for key, values in test.items()}
    return {"max_len": int(train["input_ids"].shape[1]), "checkpoint": spec["checkpoint"],
            "trimmed": train_variant(True, spec, train, validation),
            "padded": train_variant(False, spec, train, validation)}


WORKERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "ig": ig_worker, "memory": memory_worker, "captum": captum_worker, "train": train_worker}


def jsonable(value: Any) -> Any:
    """NumPy arrays and scalars (nested in lists and dicts) as plain JSON values."""
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def spawn(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Run one worker in a fresh Python process and return what it measured."""
    print(f"[bench] {kind}: {json.dumps({k: v for k, v in spec.items() if not k.endswith(('dir', 'params'))})}",
          file=sys.stderr, flush=True)
    started = time.perf_counter()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        result = Path(folder) / "result.json"
        command = [sys.executable, "-m", "benchmarks.bench", "--worker", kind, "--spec", json.dumps(spec),
                   "--result", str(result)]
        completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        if completed.returncode:
            sys.stderr.write(completed.stderr[-4000:])
            raise UserError(f"benchmark worker '{kind}' failed (exit {completed.returncode}); its stderr is above")
        output = json.loads(result.read_text())
    print(f"[bench] {kind}: done in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return output


# --------------------------------------------------------------------------- summary

def figures(run: dict[str, Any], rss_key: str | None = "peak_rss_mib") -> dict[str, Any]:
    """Time per example, throughput, memory and completeness of one configuration on one workload."""
    n, median = run["n_examples"], run["median_s"]
    out = {"median_s": median, "times_s": run["times_s"], "s_per_example": median / n, "examples_per_s": n / median,
           "peak_rss_mib": run.get(rss_key) if rss_key else None}
    if "completeness_errors" in run:
        out["completeness_error_median"] = float(np.median(run["completeness_errors"]))
    return out


def summarise_workload(name: str, runs: dict[str, dict[str, Any]], captum: dict[str, Any] | None,
                       same_layer: bool) -> dict[str, Any]:
    """Every configuration on one workload, with the ratios and attribution differences between them
    (None where the project explains another layer than the embeddings, so they cannot agree)."""
    ref, alibi = runs["reference"][name], runs["alibi"][name]

    def difference(candidate: dict[str, Any], baseline: dict[str, Any]) -> float | None:
        return max_attribution_difference(candidate["attributions"], baseline["attributions"]) if same_layer else None

    floor = {**runs["compiled"][name]["floor"], "n_examples": alibi["n_examples"]}
    out: dict[str, Any] = {"n_examples": alibi["n_examples"], "mean_length": alibi["mean_length"],
                           "reference": {**figures(ref), "speedup": 1.0,
                                         "padding_attribution_max_abs": ref["padding_max_abs"]}}
    for engine in ENGINES:
        run = runs[engine][name]
        out[engine] = {**figures(run), "speedup": ref["median_s"] / run["median_s"],
                       "max_attribution_diff_vs_reference": difference(run, ref),
                       "time_multiple_of_floor": run["median_s"] / floor["median_s"],
                       "predictions_agree_with_reference": run["predicted"] == ref["predicted"]}
    out["floor"] = {**figures(floor, rss_key=None), "passes": floor["passes"],
                    "speedup": ref["median_s"] / floor["median_s"], "max_attribution_diff_vs_alibi": difference(floor, alibi)}
    if captum is not None:
        peer = captum[name]
        out["captum"] = {**figures(peer), "speedup": ref["median_s"] / peer["median_s"],
                         "max_attribution_diff_vs_alibi": difference(peer, alibi)}
        for engine in ENGINES:
            out[engine]["time_ratio_vs_captum"] = runs[engine][name]["median_s"] / peer["median_s"]
    return out


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, each with the measured value per engine (or for both) and whether it is met."""
    ig_runs, rows = report["ig"], []

    def per_engine(target: str, required: str, value: Callable[[str], float | None],
                   met: Callable[[float], bool]) -> None:
        values = {engine: value(engine) for engine in ENGINES}
        rows.append({"target": target, "required": required, "values": values,
                     "met": {engine: v is not None and met(v) for engine, v in values.items()}})

    def worst(engine: str, key: str) -> float | None:
        values = [ig_runs[workload][engine].get(key) for workload in ig_runs]
        return None if None in values else max(values)

    per_engine("IG speed-up on sentences", ">= 10x", lambda e: ig_runs["sentences"][e]["speedup"], lambda v: v >= 10)
    per_engine("IG speed-up on reviews", ">= 3x", lambda e: ig_runs["reviews"][e]["speedup"], lambda v: v >= 3)
    per_engine("attribution difference vs reference", "<= 1e-4",
               lambda e: worst(e, "max_attribution_diff_vs_reference"), lambda v: v <= 1e-4)
    per_engine("median completeness error", "< 1%", lambda e: worst(e, "completeness_error_median"),
               lambda v: v < 0.01)
    per_engine("time as a multiple of the floor", "<= 1.5x", lambda e: worst(e, "time_multiple_of_floor"),
               lambda v: v <= 1.5)
    per_engine("time as a multiple of captum's", "< 1x", lambda e: worst(e, "time_ratio_vs_captum"), lambda v: v < 1)
    training, memory = report["training"], report["memory"]
    rows.append({"target": "fine-tuning speed-up (trimmed vs padded)", "required": ">= 1.5x",
                 "values": {"all": training["speedup"]}, "met": {"all": training["speedup"] >= 1.5}})
    rows.append({"target": f"peak RSS, {memory['large']['n_examples']} vs {memory['small']['n_examples']} reviews",
                 "required": "<= 1x", "values": {"all": memory["peak_ratio"]}, "met": {"all": memory["peak_ratio"] <= 1}})
    return rows


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info() -> dict[str, Any]:
    def version(package: str) -> str | None:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return None

    return {"cpu_count": os.cpu_count(), "cpu_model": cpu_model(), "platform": platform.platform(),
            "python": platform.python_version(), "tensorflow": version("tensorflow"),
            "transformers": version("transformers"), "alibi": version("alibi"), "numpy": version("numpy"),
            "torch": version("torch"), "captum": version("captum")}


def cell(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def markdown(report: dict[str, Any]) -> str:
    """The short tables printed at the end of a run."""
    explain_engine = report["settings"]["project"]["engine"]
    lines = ["| workload | configuration | s/example | examples/s | speed-up | peak RSS MiB | max attribution diff "
             "| median completeness error |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for workload, data in report["ig"].items():
        for config in CONFIGURATIONS:
            if config not in data:
                continue
            row = data[config]
            diff = next((v for k, v in row.items() if k.startswith("max_attribution_diff")), None)
            label = LABELS[config] + (" (explain's)" if config == explain_engine else "")
            lines.append(f"| {workload} ({data['n_examples']}) | {label} "
                         f"| {cell(row['s_per_example'], '.3f')} "
                         f"| {cell(row['examples_per_s'], '.3f')} | {cell(row['speedup'], '.2f')}x "
                         f"| {cell(row['peak_rss_mib'], '.0f')} | {cell(diff, '.1e')} "
                         f"| {cell(row.get('completeness_error_median'), '.2%')} |")
    lines.append("\nAttribution diff: engines vs reference; floor and captum vs the alibi engine (max over tokens "
                 "of |a - a_ref| / sum |a_ref|, worst example).")
    if report["captum"].get("skipped"):
        lines.append(f"captum: skipped ({report['captum']['skipped']}).")
    training = report["training"]
    lines += ["", "| fine-tuning | examples/s | mean tokens/row | validation accuracy |", "|---|---:|---:|---:|"]
    for variant in ("trimmed", "padded"):
        row = training[variant]
        lines.append(f"| {variant} | {row['examples_per_s']:.2f} | {row['mean_width']:.0f} "
                     f"| {row['validation_accuracy']:.3f} (n={row['n_validation']}) |")
    memory = report["memory"]
    lines.append(f"\nProject IG (engine {memory['engine']}) peak RSS: {memory['small']['peak_rss_mib']:.0f} MiB for "
                 f"{memory['small']['n_examples']} reviews, {memory['large']['peak_rss_mib']:.0f} MiB for "
                 f"{memory['large']['n_examples']}.")
    lines += ["", "| target | required | engine alibi | engine compiled |", "|---|---|---:|---:|"]
    for row in report["targets"]:
        shown = {key: f"{cell(value, '.3g')} {'met' if row['met'][key] else 'NOT met'}"
                 for key, value in row["values"].items()}
        cells = [shown["all"]] * 2 if "all" in shown else [shown[engine] for engine in ENGINES]
        lines.append(f"| {row['target']} | {row['required']} | {' | '.join(cells)} |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- command line

def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=Path("models/classifier"))
    parser.add_argument("--tokens-dir", type=Path, default=Path("data/tokens"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results.json"))
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--quick", action="store_true", help="one timed repeat, few training steps, 4 vs 20 reviews")
    parser.add_argument("--max-len", type=int, default=REFERENCE_MAX_LEN, help="the reference's padded length")
    parser.add_argument("--n-reviews", type=int, default=10, help="held-out reviews (test.npz) to explain")
    parser.add_argument("--n-sentences", type=int, default=20, help="rotten_tomatoes.npz sentences to explain")
    parser.add_argument("--memory-counts", type=int, nargs=2, metavar=("FEW", "MANY"),
                        help="reviews explained by the two memory runs (default 10 100, 4 20 with --quick)")
    parser.add_argument("--memory-engine", choices=ENGINES, help="engine of the memory runs (default: explain's)")
    parser.add_argument("--repeats", type=int, help="timed repeats (default 3, 1 with --quick)")
    parser.add_argument("--budget-s", type=float, default=BUDGET_S,
                        help="no further repeat once a configuration's timed calls on a workload add up to this")
    parser.add_argument("--train-from", help="starting weights of the fine-tuning runs (default: the checkpoint "
                                             "params.yaml selects, as the train stage)")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def check_inputs(args: argparse.Namespace) -> None:
    """Fail in one line before any worker starts if an input is missing."""
    if not (args.model_dir / "config.json").is_file():
        raise UserError(f"{args.model_dir}: no fine-tuned model; run `dvc repro train` or pass --model-dir")
    for name in ("test", "rotten_tomatoes", "train"):
        if not (args.tokens_dir / f"{name}.npz").is_file():
            raise UserError(f"{args.tokens_dir / name}.npz: missing; run `dvc repro tokenize` or pass --tokens-dir")
    if not args.params.is_file():
        raise UserError(f"{args.params}: missing; pass --params")


def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Run every worker and gather their figures into the report."""
    repeats = args.repeats or (1 if args.quick else 3)
    base = {"model_dir": str(args.model_dir.resolve()), "tokens_dir": str(args.tokens_dir.resolve()),
            "params": str(args.params.resolve())}
    workloads = [(name, file, args.n_sentences if name == "sentences" else args.n_reviews) for name, file in WORKLOADS]
    explain_params = load_section("explain", args.params)
    settings = settings_from(explain_params)
    ig_spec = {**base, "workloads": workloads, "repeats": repeats, "budget_s": args.budget_s, "max_len": args.max_len}

    runs = {config: spawn("ig", {**ig_spec, "config": config, "floor": config == "compiled"})
            for config in ("reference", *ENGINES)}
    captum_available = all(importlib.util.find_spec(name) for name in ("torch", "captum"))
    captum = spawn("captum", {**ig_spec, "chunk_size": settings.chunk_size,
                              "n_steps": settings.n_steps if isinstance(settings.n_steps, int) else REFERENCE_STEPS,
                              "internal_batch_size": settings.internal_batch_size}) if captum_available else \
        {"skipped": "torch/captum not installed; `pip install -r requirements-bench.txt`"}
    memory_engine = args.memory_engine or settings.engine
    checkpoint = args.train_from or selected_model(args.params)[1].checkpoint
    training = spawn("train", {**base, "checkpoint": checkpoint, "steps": 3 if args.quick else 20,
                               "warmup_steps": 1 if args.quick else 2, "n_validation": 32 if args.quick else 200})
    with ThreadPoolExecutor(max_workers=2) as pool:  # only peak memory is read: run both at once
        small, large = pool.map(lambda count: spawn("memory", {**base, "count": count, "engine": memory_engine}),
                                args.memory_counts or ((4, 20) if args.quick else (10, 100)))

    peer = None if captum.get("skipped") else captum
    report = {
        "machine": machine_info(),
        "settings": {"quick": args.quick, "repeats": repeats, "budget_s": args.budget_s,
                     "warmup_examples": WARMUP_EXAMPLES,
                     "reference": {"max_len": args.max_len, "n_steps": REFERENCE_STEPS, "method": REFERENCE_METHOD,
                                   "internal_batch_size": REFERENCE_BATCH, "layer": "embeddings"},
                     "project": {**{key: getattr(explain_params, key) for key in PROJECT_SETTINGS},
                                 "chunk_size": settings.chunk_size},
                     "model_dir": base["model_dir"], "tokens_dir": base["tokens_dir"]},
        "notes": NOTES,
        "ig": {name: summarise_workload(name, runs, peer, explain_params.layer == "embeddings")
               for name, _, _ in workloads[::-1]},
        "captum": {"skipped": captum["skipped"]} if peer is None else {
            "skipped": None, "torch_threads": captum["torch_threads"],
            "internal_batch_size": settings.internal_batch_size,
            "note": "captum rounds internal_batch_size down to a multiple of the chunk's examples; its peak RSS "
                    "is that of a PyTorch-only process"},
        "training": {**training,
                     "speedup": training["trimmed"]["examples_per_s"] / training["padded"]["examples_per_s"]},
        "memory": {"engine": memory_engine, "small": small, "large": large,
                   "peak_ratio": large["peak_rss_mib"] / small["peak_rss_mib"],
                   "ig_increment_mib": {"small": small["peak_rss_mib"] - small["rss_after_load_mib"],
                                        "large": large["peak_rss_mib"] - large["rss_after_load_mib"]}},
    }
    report["targets"] = targets(report)
    return report


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        output = WORKERS[args.worker](json.loads(args.spec))
        args.result.write_text(json.dumps(jsonable(output)))
        return
    check_inputs(args)
    started = time.perf_counter()
    report = benchmark(args)
    report["settings"]["wall_s"] = round(time.perf_counter() - started, 1)
    write_json(args.out, report)
    print(markdown(report))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    run(main)
