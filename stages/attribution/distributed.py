"""Explaining a shard's examples on Ray (`explain.executor: ray`).

Ray Data streams the shard's length chunks, the very batches an in-process run explains, to a pool
of actors; each actor loads the model and the explainer once and explains whole chunks with
`explain_examples`, so the records that come back are the in-process run's, byte for byte. The
model travels through Ray's object store and the code as the job's `py_modules`, so a node needs
the project's Python environment but neither the checkout nor the model. A worker that dies is
replaced and its chunk explained again (Ray Data's retries); the records are then put back in the
shard's order, and a lost or repeated example stops the stage.
"""
from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from stages.attribution.batching import CHUNK_SIZE, length_chunks
from stages.attribution.examples import Example
from stages.attribution.record import ExplainedExample, parsed
from stages.attribution.records import explain_examples
from stages.attribution.settings import IGSettings, Scoring
from stages.attribution.shards import example_rows, parse_examples
from stages.plumbing.cluster import ray_session
from stages.plumbing.errors import missing
from stages.plumbing.models import load_trained
from stages.plumbing.threads import limit_threads


def model_files(model_dir: Path) -> dict[str, bytes]:
    """Every file of a saved model, by its path inside `model_dir`."""
    if not model_dir.is_dir():
        raise missing(model_dir, "train")
    return {str(path.relative_to(model_dir)): path.read_bytes() for path in sorted(model_dir.rglob("*"))
            if path.is_file()}


def load_shipped(files: dict[str, bytes]) -> tuple[Any, Any]:
    """The classifier and tokenizer from `model_files`' bytes, through a folder removed once they are loaded
    (else each actor of each run would leave a copy of the model on its node's disk)."""
    with tempfile.TemporaryDirectory(prefix="classifier-") as scratch:
        for name, content in files.items():
            (Path(scratch) / name).parent.mkdir(parents=True, exist_ok=True)
            (Path(scratch) / name).write_bytes(content)
        return load_trained(scratch)


@dataclass(frozen=True)
class RayPool:
    """The actors the chunks are explained on: how many at most, what each reserves, and the TensorFlow threads
    each computes with."""
    workers: int
    cpus_per_worker: int
    threads: int
    gpus_per_worker: float = 0.0


class ChunkExplainer:
    """A Ray Data actor: the model and settings loaded once, then one chunk of examples per call."""

    def __init__(self, model: list[Any], settings: IGSettings, scoring: Scoring, threads: int) -> None:
        started = time.perf_counter()
        import ray
        import tensorflow as tf

        # before TensorFlow's first op: the CPUs the actor reserved (not the node's every core, which the other
        # actors share), and memory growth, without which it takes all of a GPU at once
        limit_threads(threads)
        for gpu in tf.config.list_physical_devices("GPU"):
            tf.config.experimental.set_memory_growth(gpu, True)
        self.classifier, self.tokenizer = load_shipped(ray.get(model[0]))
        self.settings, self.scoring = settings, scoring
        context = ray.get_runtime_context()
        self.node, self.actor = context.get_node_id(), context.get_actor_id()
        self.threads = tf.config.threading.get_intra_op_parallelism_threads()
        self.ready_s = time.perf_counter() - started  # TensorFlow imported, the model loaded

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[str]]:
        records = []
        for chunk in batch["chunk"]:
            examples, positions = parse_examples(json.loads(chunk))
            explained = explain_examples(self.classifier, self.tokenizer, examples, self.settings, self.scoring,
                                         positions, progress=None)
            records.append(json.dumps([record.model_dump() for record in explained]))
        facts = json.dumps({"node": self.node, "actor": self.actor, "threads": self.threads, "ready_s": self.ready_s})
        return {"records": records, "actor": [facts] * len(records)}


def actors_line(actors: list[dict[str, Any]]) -> str:
    """What the actors were: their threads, how long the slowest took to start, how many chunks each explained."""
    chunks = Counter(actor["actor"] for actor in actors)
    threads = sorted({actor["threads"] for actor in actors})
    return (f"{len(chunks)} actor(s) at {', '.join(map(str, threads))} TensorFlow thread(s); actors ready in "
            f"{max(actor['ready_s'] for actor in actors):.1f} s at most; chunks per actor: "
            f"{', '.join(str(count) for count in sorted(chunks.values(), reverse=True))}")


def pool_size(resources: dict[str, float], pool: RayPool, chunks: int) -> int:
    """`pool.workers`, or fewer: no more than the chunks, nor than the cluster's CPUs and GPUs fit."""
    fits = [resources.get("CPU", 0) // pool.cpus_per_worker]
    if pool.gpus_per_worker:
        fits.append(resources.get("GPU", 0) // pool.gpus_per_worker)
    return int(max(1, min(pool.workers, chunks, *fits)))


def explain_on_ray(model_dir: Path, examples: Sequence[Example], positions: Sequence[int], settings: IGSettings,
                   scoring: Scoring, pool: RayPool, progress: str) -> list[ExplainedExample]:
    """The records `explain_examples` makes of `examples`, explained chunk by chunk on Ray actors."""
    if not examples:
        return []
    chunks = length_chunks([len(example.token_ids) for example in examples], CHUNK_SIZE)
    rows = [{"chunk": json.dumps({"examples": example_rows([examples[i] for i in chunk],
                                                           [positions[i] for i in chunk])})} for chunk in chunks]
    started = time.perf_counter()
    with ray_session(pool.gpus_per_worker) as stream:
        import ray
        import ray.data

        up = time.perf_counter()

        # a fixed pool, one chunk at a time per actor: every worker the cluster fits gets chunks
        actors = ray.data.ActorPoolStrategy(size=pool_size(ray.cluster_resources(), pool, len(rows)),
                                            max_tasks_in_flight_per_actor=1)
        explained = ray.data.from_items(rows, override_num_blocks=len(rows)).map_batches(
            ChunkExplainer, fn_constructor_args=([ray.put(model_files(model_dir))], settings, scoring, pool.threads),
            batch_size=1, batch_format="numpy", num_cpus=pool.cpus_per_worker,
            num_gpus=pool.gpus_per_worker or None, compute=actors)
        records, actors = [], []
        with tqdm(total=len(examples), desc=progress, unit="example", file=stream) as bar:
            for row in explained.iter_rows():
                chunk_records = [parsed(values) for values in json.loads(row["records"])]
                records += chunk_records
                actors.append(json.loads(row["actor"]))
                bar.update(len(chunk_records))
        done = time.perf_counter()
    if sorted(record.position for record in records) != sorted(positions):
        raise RuntimeError(f"Ray returned {len(records)} records for {len(positions)} examples")
    nodes = sorted({actor["node"] for actor in actors})
    print(f"explained {len(records)} examples in {len(chunks)} chunks on {len(nodes)} Ray node(s) "
          f"({', '.join(nodes)}): Ray up in {up - started:.1f} s, explained in {done - up:.1f} s")
    print(actors_line(actors))
    return sorted(records, key=lambda record: record.position)
