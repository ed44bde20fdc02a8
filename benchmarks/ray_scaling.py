"""Where the reviews' explanation runs, and whether Ray scales: in process at 1 thread and at all threads, Ray with
1 and 2 workers of 1 CPU (1 thread each), and a two-node cluster on this machine (two `ray start`, 1 CPU each).

Usage: python -m benchmarks.ray_scaling [--reviews 64] [--model-dir models/classifier]
                                        [--out benchmarks/ray_results.json]   (`make bench-ray`)
Each configuration runs the `explain` stage as `dvc repro` runs it, in a fresh process, on the first --reviews
held-out reviews (whole chunks of 8; 64 make 8 chunks, so that 2 workers get equal shares), with params.yaml's IG
settings: wall seconds of the whole process and, for Ray, the seconds to bring Ray up, for the actors to import
TensorFlow and load the model, and to explain once up, and the chunks each actor explained, as the stage prints
them. Every 1-thread configuration must write the in-process 1-thread bytes; the run stops if one does not.

The throughput model, wall = start-up + reviews x seconds per review / workers, is fitted on the 1-worker run
(seconds per review: its explaining time less the actor's start-up, over the reviews; start-up: the rest of its
wall) and checked against the 2-worker and two-node runs.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from benchmarks.report import machine_info
from stages.attribution.batching import CHUNK_SIZE
from stages.attribution.examples import from_token_file
from stages.attribution.shards import examples_payload
from stages.plumbing.artifacts import read_arrays, run, write_json
from stages.plumbing.errors import UserError
from stages.plumbing.models import load_tokenizer
from stages.plumbing.texts import read_decoded
from tools.local_ray import two_nodes

ROOT = Path(__file__).resolve().parents[1]
ONE_CPU = {"executor": "ray", "ray_cpus_per_worker": 1, "threads": "auto"}  # an actor's threads: its CPUs
CONFIGURATIONS = {"in process, all threads": {"executor": "local", "threads": "auto"},
                  "in process, 1 thread": {"executor": "local", "threads": 1},
                  "Ray, 1 worker": {**ONE_CPU, "ray_workers": 1},
                  "Ray, 2 workers": {**ONE_CPU, "ray_workers": 2},
                  "Ray, two nodes": {**ONE_CPU, "ray_workers": 2}}
TWO_NODES = "Ray, two nodes"
SAME_BYTES = "in process, 1 thread"  # every 1-thread configuration writes these


def write_shard(folder: Path, model_dir: Path, reviews: int) -> Path:
    """The first `reviews` held-out reviews as one shard's examples file, as `shard_examples` writes it."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    arrays = read_arrays(ROOT / "data" / "tokens" / "test.npz", rebuild="tokenize")
    texts = read_decoded(ROOT / "data" / "decoded" / "test.csv")
    tokenize = params["tokenize"]
    examples = from_token_file("imdb", arrays, texts, reviews, load_tokenizer(str(model_dir)), tokenize["max_len"],
                               tokenize["truncation"])
    path = folder / "shard.json"
    write_json(path, examples_payload(0, 1, {"source": "benchmark"}, examples, list(range(len(examples)))))
    return path


def run_stage(folder: Path, shard: Path, model_dir: Path, settings: dict[str, Any],
              env: dict[str, str]) -> dict[str, Any]:
    """The explain stage in a fresh process with `settings` in a copy of params.yaml: its seconds and output."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["explain"].update(settings)
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    out = folder / "explained.json"
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "stages.explain", str(shard), str(model_dir), str(out)],
                            cwd=folder, capture_output=True, text=True, env={**env, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - started
    if result.returncode:
        raise UserError(f"explain with {settings} failed: {result.stderr.strip().splitlines()[-1]}")
    figures: dict[str, Any] = {"wall_s": round(wall, 1), "output": out.read_bytes()}
    ray_times = re.search(r"Ray up in ([\d.]+) s, explained in ([\d.]+) s", result.stdout)
    if ray_times:
        figures.update(ray_up_s=float(ray_times[1]), explained_s=float(ray_times[2]))
        actors = re.search(r"actors ready in ([\d.]+) s at most; chunks per actor: ([\d, ]+)", result.stdout)
        figures.update(actor_start_s=float(actors[1]), chunks_per_actor=[int(n) for n in actors[2].split(", ")])
    ig_time = re.search(r"explained \d+ examples: ig ([\d.]+) s", result.stdout)
    if ig_time:
        figures["ig_s"] = float(ig_time[1])
    return figures


def ray_start_up() -> float:
    """Seconds to start and stop a local Ray instance the way the stage does, in a fresh process."""
    probe = "from stages.plumbing.cluster import ray_session\nwith ray_session(0):\n    pass\n"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    return round(time.perf_counter() - started, 1)


def throughput_model(runs: dict[str, dict[str, Any]], reviews: int) -> dict[str, Any]:
    """Seconds per review and start-up fitted on the 1-worker run; each multi-worker run's predicted wall and its
    error."""
    one = runs["Ray, 1 worker"]
    per_review = (one["explained_s"] - one["actor_start_s"]) / reviews
    start_up = one["wall_s"] - reviews * per_review
    checks = {}
    for name in ("Ray, 2 workers", TWO_NODES):
        predicted = start_up + reviews * per_review / 2
        checks[name] = {"predicted_wall_s": round(predicted, 1),
                        "error": round((predicted - runs[name]["wall_s"]) / runs[name]["wall_s"], 3)}
    return {"seconds_per_review_per_cpu": round(per_review, 2), "start_up_s": round(start_up, 1), "checks": checks}


def speed_ups(runs: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Throughput ratios (reviews per second, wall time included): the Ray runs against 1 worker, and 2 workers
    against the in-process run at all threads on the same cores."""
    one = runs["Ray, 1 worker"]["reviews_per_s"]
    return {"Ray, 2 workers over 1": round(runs["Ray, 2 workers"]["reviews_per_s"] / one, 3),
            "two nodes over 1 worker": round(runs[TWO_NODES]["reviews_per_s"] / one, 3),
            "Ray, 2 workers over in process, all threads": round(
                runs["Ray, 2 workers"]["reviews_per_s"] / runs["in process, all threads"]["reviews_per_s"], 3)}


def targets(speed_up: dict[str, float], model: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 37's targets, each with its figure and whether it is met."""
    worst_error = max(abs(check["error"]) for check in model["checks"].values())
    return [{"target": "2 workers over 1", "required": ">= 1.8x", "value": speed_up["Ray, 2 workers over 1"],
             "met": speed_up["Ray, 2 workers over 1"] >= 1.8},
            {"target": "2 workers over in process, all threads", "required": ">= 0.9x",
             "value": speed_up["Ray, 2 workers over in process, all threads"],
             "met": speed_up["Ray, 2 workers over in process, all threads"] >= 0.9},
            {"target": "the throughput model's worst error", "required": "<= 10%", "value": worst_error,
             "met": worst_error <= 0.1}]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviews", type=int, default=64, help="held-out reviews, whole chunks of 8 (default 64)")
    parser.add_argument("--model-dir", type=Path, default=ROOT / "models" / "classifier")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "ray_results.json")
    args = parser.parse_args()
    if args.reviews < CHUNK_SIZE or args.reviews % CHUNK_SIZE:
        raise UserError(f"--reviews {args.reviews}: expected a multiple of {CHUNK_SIZE}, the examples of a chunk")
    runs = {}
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        shard = write_shard(folder, args.model_dir.resolve(), args.reviews)
        for name, settings in CONFIGURATIONS.items():
            if name == TWO_NODES:
                with two_nodes(os.environ) as env:
                    runs[name] = run_stage(folder, shard, args.model_dir.resolve(), settings, env)
            else:
                runs[name] = run_stage(folder, shard, args.model_dir.resolve(), settings, dict(os.environ))
            print(name, {key: value for key, value in runs[name].items() if key != "output"}, flush=True)
    reference = runs[SAME_BYTES]["output"]
    for name, figures in runs.items():
        output = figures.pop("output")
        if name.startswith("Ray") and output != reference:
            raise UserError(f"{name}: the records differ from the in-process 1-thread ones")
        figures["same_bytes_as_1_thread"] = output == reference
        figures["reviews_per_s"] = round(args.reviews / figures["wall_s"], 4)
    speed_up, model = speed_ups(runs), throughput_model(runs, args.reviews)
    report = {"machine": machine_info(), "reviews": args.reviews, "chunks": args.reviews // CHUNK_SIZE,
              "ray_start_up_s": ray_start_up(), "runs": runs, "speed_up": speed_up, "model": model,
              "targets": targets(speed_up, model)}
    write_json(args.out, report)
    print(json.dumps(report, indent=2))
    for target in report["targets"]:
        print(f"{'met' if target['met'] else 'NOT MET'}: {target['target']} {target['value']} "
              f"(required {target['required']})")


if __name__ == "__main__":
    run(main)
