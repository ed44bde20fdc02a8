"""The benchmark's workers, each run by `spawn` in a fresh Python process (`--worker`), so that
its peak resident memory is its own: IG, memory, captum, fine-tuning and inference."""
from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.configurations import (
    AUTO,
    AUTO_TARGET,
    REFERENCE_BATCH,
    REFERENCE_METHOD,
    REFERENCE_STEPS,
    GradientFloor,
    RowBatchPredictor,
    explain_project,
    explain_reference,
)
from benchmarks.measure import (
    completeness_errors,
    hide_torch,
    load_sequences,
    peak_rss_mib,
    repeat_timed,
    timing,
    wall_clock,
)
from stages.attribution import ig
from stages.attribution.batching import length_chunks, pad
from stages.attribution.settings import IGSettings
from stages.plumbing.artifacts import read_arrays
from stages.plumbing.errors import UserError
from stages.plumbing.params import load_section
from stages.schemas.explain import ExplainParams
from stages.schemas.model import selected_model
from stages.schemas.train import TrainParams

ROOT = Path(__file__).resolve().parents[1]
# The warm-up call explains this many examples of the workload with one interpolation batch's worth
# of steps: the passes of the timed calls' shapes (and the compiled engines' one trace) at a fraction
# of an example's cost; 50 steps of the reference's padded example took 27 to 44 s here.
WARMUP_EXAMPLES = 1


def engine_settings(params: str, config: str) -> IGSettings:
    """params.yaml's `explain` settings with the engine `config` in place of its own; `auto` is the compiled
    engine with `n_steps: auto` at AUTO_TARGET."""
    settings = load_section(ExplainParams, Path(params)).ig_settings()
    if config == AUTO:
        return dataclasses.replace(settings, engine="compiled", n_steps="auto", completeness_target=AUTO_TARGET)
    return dataclasses.replace(settings, engine=config)


def load_wrapper(model_dir: str) -> tuple[Any, ig.SpecialTokens]:
    """The fine-tuned classifier in its probability wrapper, and its tokenizer's special tokens."""
    from stages.attribution.layers import probability_model
    from stages.plumbing.models import load_trained

    classifier, tokenizer = load_trained(model_dir)
    return probability_model(classifier), ig.SpecialTokens.of(tokenizer)


def ig_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """One IG configuration (`reference`, an engine of `ENGINES` or `auto`) on every workload; with `floor`,
    the worker then times the floor on the same inputs (after its own memory has been read). The
    reference explains only the first `reference_examples` of each: its cost per example is stable."""
    hide_torch()
    wrapper, tokens = load_wrapper(spec["model_dir"])
    if spec["config"] == "reference":
        def explain(sequences: Sequence[np.ndarray], warm_up: bool = False) -> dict[str, Any]:
            return explain_reference(wrapper, sequences, tokens.ids, tokens.pad, spec["max_len"],
                                     REFERENCE_BATCH if warm_up else REFERENCE_STEPS)
    else:
        settings = engine_settings(spec["params"], spec["config"])  # the floor batches as this engine
        one_batch = dataclasses.replace(settings, n_steps=settings.internal_batch_size)

        def explain(sequences: Sequence[np.ndarray], warm_up: bool = False) -> dict[str, Any]:
            return explain_project(wrapper, sequences, tokens, one_batch if warm_up else settings)

    output: dict[str, Any] = {"rss_after_load_mib": peak_rss_mib()}
    inputs = {}
    for name, file, count in spec["workloads"]:
        if spec["config"] == "reference":
            count = min(count, spec["reference_examples"])
        inputs[name] = sequences = load_sequences(spec["tokens_dir"], file, count)
        explain(sequences[:WARMUP_EXAMPLES], warm_up=True)
        times, result = repeat_timed(wall_clock(functools.partial(explain, sequences)), spec["repeats"],
                                     spec["budget_s"])
        output[name] = {**timing(times), **result, "n_examples": len(sequences),
                        "mean_length": float(np.mean([len(s) for s in sequences])),
                        "peak_rss_mib": peak_rss_mib()}  # workloads run smallest first
    if spec.get("floor"):
        floor = GradientFloor(wrapper, settings)
        for name, sequences in inputs.items():
            targets, n_steps = output[name]["predicted"], output[name]["n_steps"]
            warm = slice(0, WARMUP_EXAMPLES)
            floor.attributions(sequences[warm], tokens.ids, tokens.pad, targets[warm],
                               [settings.internal_batch_size] * WARMUP_EXAMPLES)

            def passes(sequences: Sequence[np.ndarray] = sequences, targets: Any = targets,
                       n_steps: Any = n_steps) -> tuple[float, list[np.ndarray]]:
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
        for chunk in length_chunks([len(s) for s in sequences], spec["chunk_size"]):
            ids, mask = (torch.from_numpy(a.astype(np.int64)) for a in pad([sequences[i] for i in chunk], pad_id))
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
        times, result = repeat_timed(wall_clock(functools.partial(explain, sequences)), spec["repeats"],
                                     spec["budget_s"])
        output[name] = {**timing(times), **result, "n_examples": len(sequences), "peak_rss_mib": peak_rss_mib()}
    return output


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
    from stages.train import batches, resolve_train_steps, starting_classifier

    _, model = selected_model(Path(spec["params"]))
    seed = load_section(TrainParams, Path(spec["params"])).seed
    size = model.batch_size
    classifier = starting_classifier(spec["checkpoint"], model, resolve_train_steps(model, len(train["label"])), seed)
    timer = step_timer()
    steps = spec["warmup_steps"] + spec["steps"]
    classifier.fit(batches(train, size, shuffle_seed=seed, trim=trimmed), steps_per_epoch=steps, epochs=1, verbose=0,
                   callbacks=[timer])
    timed = timer.durations[spec["warmup_steps"]:]
    widths = [int(features["input_ids"].shape[1])
              for features, _ in batches(train, size, shuffle_seed=seed, trim=trimmed).take(steps)]
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


def evaluate_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """The `evaluate` stage's inference with one batch layout (`before`: rows; `after`: the stage's
    token budget) on the first reviews and sentences, one call per set as the stage makes them, so
    each call's time includes the traces its widths cost."""
    from stages.plumbing.inference import Predictor
    from stages.plumbing.models import load_trained

    hide_torch()
    classifier, _ = load_trained(spec["model_dir"])
    predictor = Predictor(classifier, spec["batch_tokens"]) if spec["layout"] == "after" else \
        RowBatchPredictor(classifier)
    output = {}
    for name, file, count in spec["sets"]:
        arrays = read_arrays(Path(spec["tokens_dir"]) / f"{file}.npz", rebuild="tokenize")
        ids, mask = arrays["input_ids"][:count], arrays["attention_mask"][:count]
        traces_before = predictor.traces()
        seconds, probabilities = wall_clock(functools.partial(predictor.probabilities, ids, mask))()
        output[name] = {"seconds": seconds, "n_examples": len(ids), "tokens": int(mask.sum()),
                        "traces": predictor.traces() - traces_before, "probabilities": probabilities}
    return output


WORKERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "ig": ig_worker, "memory": memory_worker, "captum": captum_worker, "train": train_worker,
    "evaluate": evaluate_worker}


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


def run_worker(kind: str, spec: str, result: Path) -> None:
    """The `--worker` side of `spawn`: run worker `kind` on its JSON `spec`, write its output as JSON to `result`."""
    output = WORKERS[kind](json.loads(spec))
    result.write_text(json.dumps(jsonable(output)))


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
