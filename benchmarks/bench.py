"""Benchmark of the project's Integrated Gradients and fine-tuning, side by side with their alternatives.

Usage: python -m benchmarks.bench [--model-dir models/classifier] [--tokens-dir data/tokens]
                                  [--out benchmarks/results.json] [--quick]

Measured in one run on one machine (medians of repeated, warmed-up runs):
1. IG as alibi's transformer example configures it: inputs padded to --max-len, internal_batch_size 5,
   50 Gauss-Legendre steps, all examples in one `explain` call (on the first --reference-examples);
2. IG as the `explain` stage runs it (`ig.explain` with params.yaml's `explain` settings), once with
   each engine (`compiled`, the default, and `alibi`), and with the compiled engine at `n_steps: auto`
   (1% completeness target);
3. the floor: only the time of the same gradient passes, each from one compiled `tf.function`;
4. captum's LayerIntegratedGradients on the same weights in PyTorch (skipped without torch/captum);
5. fine-tuning throughput of the `train` stage's trimmed batches against batches padded to max_len;
6. peak memory of the project's IG on few against many reviews;
7. the `evaluate` stage's inference with its token-budget batches against the 64-row batches before them.
Every configuration runs in a fresh subprocess (`--worker`), so its peak resident memory is its own.
"""
from __future__ import annotations

import argparse
import importlib.util
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.configurations import (
    AUTO,
    AUTO_TARGET,
    ENGINES,
    REFERENCE_BATCH,
    REFERENCE_MAX_LEN,
    REFERENCE_METHOD,
    REFERENCE_STEPS,
)
from benchmarks.measure import BUDGET_S
from benchmarks.report import machine_info, markdown, summarise_inference, summarise_workload, targets
from benchmarks.workers import WARMUP_EXAMPLES, WORKERS, run_worker, spawn
from stages.plumbing.artifacts import run, write_json
from stages.plumbing.errors import UserError
from stages.plumbing.params import load_section
from stages.schemas.evaluate import EvaluateParams
from stages.schemas.explain import ExplainParams
from stages.schemas.model import selected_model

PROJECT_SETTINGS = ("layer", "n_steps", "method", "engine", "internal_batch_size", "max_steps", "completeness_target")
WORKLOADS = (("sentences", "rotten_tomatoes"), ("reviews", "test"))  # name, token file; small one first
NOTES = {
    "time": "median of the timed calls (up to --repeats, fewer once they add up to --budget-s), after one "
            "warm-up call on the workload's first example with one interpolation batch's worth of steps",
    "peak_rss_mib": "high-water mark of the configuration's own process after that workload; sentences run "
                    "first, so the reviews figure is the larger of the two. TensorFlow workers run with PyTorch "
                    "hidden, as in a pipeline without it; captum's process holds PyTorch only",
    "floor": "the seconds spent in the gradient passes alone (points built beforehand), on the compiled "
             "engine's targets and step counts, in its process after its memory was read",
    "max_attribution_diff": "max over real-length tokens of |a - a_ref| / sum |a_ref|, worst example; engines "
                            "vs reference, floor and captum vs the alibi engine",
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=Path("models/classifier"))
    parser.add_argument("--tokens-dir", type=Path, default=Path("data/tokens"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results.json"))
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--quick", action="store_true", help="one timed repeat, few training steps, 2 vs 8 reviews")
    parser.add_argument("--max-len", type=int, default=REFERENCE_MAX_LEN, help="the reference's padded length")
    parser.add_argument("--n-reviews", type=int, default=10, help="held-out reviews (test.npz) to explain")
    parser.add_argument("--n-sentences", type=int, default=20, help="rotten_tomatoes.npz sentences to explain")
    parser.add_argument("--reference-examples", type=int, default=1,
                        help="examples of each workload the reference explains (about 27 s per padded review)")
    parser.add_argument("--memory-counts", type=int, nargs=2, metavar=("FEW", "MANY"),
                        help="reviews explained by the two memory runs (default 8 16, 2 8 with --quick)")
    parser.add_argument("--memory-engine", choices=ENGINES, help="engine of the memory runs (default: explain's)")
    parser.add_argument("--evaluate-counts", type=int, nargs=2, metavar=("REVIEWS", "SENTENCES"),
                        help="held-out reviews and Rotten Tomatoes sentences of the inference runs "
                             "(default 200 1700, a fifth of the stage's; 16 64 with --quick)")
    parser.add_argument("--repeats", type=int, help="timed repeats (default 2, 1 with --quick)")
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
    repeats = args.repeats or (1 if args.quick else 2)
    base = {"model_dir": str(args.model_dir.resolve()), "tokens_dir": str(args.tokens_dir.resolve()),
            "params": str(args.params.resolve())}
    workloads = [(name, file, args.n_sentences if name == "sentences" else args.n_reviews) for name, file in WORKLOADS]
    explain_params = load_section(ExplainParams, args.params)
    settings = explain_params.ig_settings()
    ig_spec = {**base, "workloads": workloads, "repeats": repeats, "budget_s": args.budget_s, "max_len": args.max_len,
               "reference_examples": args.reference_examples}

    runs = {config: spawn("ig", {**ig_spec, "config": config, "floor": config == "compiled"})
            for config in ("reference", *ENGINES, AUTO)}
    captum_available = all(importlib.util.find_spec(name) for name in ("torch", "captum"))
    captum = spawn("captum", {**ig_spec, "chunk_size": settings.chunk_size,
                              "n_steps": settings.n_steps if isinstance(settings.n_steps, int) else REFERENCE_STEPS,
                              "internal_batch_size": settings.internal_batch_size}) if captum_available else \
        {"skipped": "torch/captum not installed; `pip install -r requirements-bench.txt`"}
    memory_engine = args.memory_engine or settings.engine
    checkpoint = args.train_from or selected_model(args.params)[1].checkpoint
    training = spawn("train", {**base, "checkpoint": checkpoint, "steps": 3 if args.quick else 8,
                               "warmup_steps": 1 if args.quick else 2, "n_validation": 32 if args.quick else 200})
    reviews, sentences = args.evaluate_counts or ((16, 64) if args.quick else (200, 1700))
    batch_tokens = load_section(EvaluateParams, args.params).batch_tokens
    inference = {layout: spawn("evaluate", {**base, "layout": layout, "batch_tokens": batch_tokens,
                                            "sets": [("imdb", "test", reviews),
                                                     ("rotten_tomatoes", "rotten_tomatoes", sentences)]})
                 for layout in ("before", "after")}
    with ThreadPoolExecutor(max_workers=2) as pool:  # only peak memory is read: run both at once
        small, large = pool.map(lambda count: spawn("memory", {**base, "count": count, "engine": memory_engine}),
                                args.memory_counts or ((2, 8) if args.quick else (8, 16)))

    peer = None if captum.get("skipped") else captum
    report = {
        "machine": machine_info(),
        "settings": {"quick": args.quick, "repeats": repeats, "budget_s": args.budget_s,
                     "warmup_examples": WARMUP_EXAMPLES,
                     "reference": {"max_len": args.max_len, "n_steps": REFERENCE_STEPS, "method": REFERENCE_METHOD,
                                   "internal_batch_size": REFERENCE_BATCH, "layer": "embeddings",
                                   "examples": args.reference_examples},
                     "auto": {"engine": "compiled", "n_steps": "auto", "completeness_target": AUTO_TARGET},
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
        "evaluate": summarise_inference(inference),
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
        run_worker(args.worker, args.spec, args.result)
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
