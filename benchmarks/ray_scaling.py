"""Where the reviews' explanation runs: in process against Ray with 1 and 2 workers, on this machine.

Usage: python -m benchmarks.ray_scaling [--reviews 16] [--model-dir models/classifier]
                                        [--out benchmarks/ray_results.json]   (`make bench-ray`)
Each configuration runs the `explain` stage as `dvc repro` runs it, in a fresh process, on the first
--reviews held-out reviews (whole chunks of 8), with params.yaml's IG settings: wall seconds of the
whole process, and for Ray the seconds to bring Ray up and to explain once up (actors' start-up
included), as the stage prints them. Ray's start-up alone is timed on an empty session. From these:
seconds per review in process, reviews per second of each configuration, and the throughput model
  wall = start-up + reviews x seconds per review / workers.
Every configuration must write the in-process bytes; the run stops if one does not.
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

ROOT = Path(__file__).resolve().parents[1]
CONFIGURATIONS = {"in process": {"executor": "local"}, "Ray, 1 worker": {"executor": "ray", "ray_workers": 1},
                  "Ray, 2 workers": {"executor": "ray", "ray_workers": 2}}


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


def run_stage(folder: Path, shard: Path, model_dir: Path, settings: dict[str, Any]) -> dict[str, Any]:
    """The explain stage in a fresh process with `settings` in a copy of params.yaml: its seconds and output."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["explain"].update(settings)
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    out = folder / "explained.json"
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "stages.explain", str(shard), str(model_dir), str(out)],
                            cwd=folder, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - started
    if result.returncode:
        raise UserError(f"explain with {settings} failed: {result.stderr.strip().splitlines()[-1]}")
    figures: dict[str, Any] = {"wall_s": round(wall, 1), "output": out.read_bytes()}
    ray_times = re.search(r"Ray up in ([\d.]+) s, explained in ([\d.]+) s", result.stdout)
    if ray_times:
        figures.update(ray_up_s=float(ray_times[1]), explained_s=float(ray_times[2]))
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviews", type=int, default=16, help="held-out reviews, whole chunks of 8 (default 16)")
    parser.add_argument("--model-dir", type=Path, default=ROOT / "models" / "classifier")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "ray_results.json")
    args = parser.parse_args()
    if args.reviews < CHUNK_SIZE or args.reviews % CHUNK_SIZE:
        raise UserError(f"--reviews {args.reviews}: expected a multiple of {CHUNK_SIZE}, the examples of a chunk")
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        shard = write_shard(folder, args.model_dir.resolve(), args.reviews)
        runs = {name: run_stage(folder, shard, args.model_dir.resolve(), settings)
                for name, settings in CONFIGURATIONS.items()}
    reference = runs["in process"].pop("output")
    for name, figures in runs.items():
        if name != "in process" and figures.pop("output") != reference:
            raise UserError(f"{name}: the records differ from the in-process ones")
        figures["reviews_per_s"] = round(args.reviews / figures["wall_s"], 3)
    per_review = runs["in process"]["ig_s"] / args.reviews  # IG alone; the rivals add their share
    report = {"machine": machine_info(), "reviews": args.reviews, "ray_start_up_s": ray_start_up(),
              "seconds_per_review_in_process": round(per_review, 2), "runs": runs}
    write_json(args.out, report)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    run(main)
