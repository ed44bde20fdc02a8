"""Stage `explain` (one per shard: explain@0, explain@1, ...): Integrated Gradients attributions of
one shard's held-out reviews and Rotten Tomatoes sentences.

Usage: python -m stages.explain EXAMPLES_JSON MODEL_DIR OUT_JSON
Explains the examples `shard_examples` gave the shard (EXAMPLES_JSON) with the fine-tuned model and
writes one record per example and their quality figures per source (`metrics`) to OUT_JSON;
`merge_explanations` joins the shards. Each example's random baseline is seeded by its position
in the whole run, so the merged records are those of one unsharded run. With `explain.executor: ray`
the shard's chunks are explained on Ray actors (`attribution/distributed.py`), to the same bytes at the same
TensorFlow thread count (`explain.threads`).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from stages.attribution.quality import quality_metrics
from stages.attribution.records import explain_examples, explanations_file, warn_incomplete
from stages.attribution.shards import read_examples
from stages.plumbing.artifacts import run, write_json
from stages.plumbing.models import load_trained
from stages.plumbing.params import load_section
from stages.plumbing.threads import limit_threads
from stages.schemas.explain import ExplainParams
from stages.schemas.model import selected_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("examples_json", "model_dir", "out_json"):
        parser.add_argument(name, type=Path)
    args = parser.parse_args()
    params = load_section(ExplainParams)
    settings, scoring = params.ig_settings(), params.scoring()
    model_name, model = selected_model()
    shard, data, examples, positions = read_examples(args.examples_json)
    progress = f"explain@{shard.partition('/')[0]}"
    if params.executor == "ray":
        from stages.attribution.distributed import RayPool, explain_on_ray

        pool = RayPool(params.ray_workers, params.ray_cpus_per_worker, params.explaining_threads(),
                       params.ray_gpus_per_worker)
        records = explain_on_ray(args.model_dir, examples, positions, settings, scoring, pool, progress)
        warn_incomplete(records, settings.completeness_target)
    else:
        limit_threads(params.explaining_threads())
        classifier, tokenizer = load_trained(args.model_dir)
        records = explain_examples(classifier, tokenizer, examples, settings, scoring, positions, progress=progress)
    metrics = quality_metrics(records)
    write_json(args.out_json, explanations_file(model_name, model.checkpoint, settings, scoring, records, data=data,
                                                shard=shard, metrics=metrics))
    print(metrics)


if __name__ == "__main__":
    run(main)
