"""Stage `merge_explanations`: the shards of `explain` joined into the held-out examples' explanations.

Usage: python -m stages.merge_explanations SHARDS_DIR OUT_JSON METRICS_JSON PLOT_JSON
Reads SHARDS_DIR/I.json for each shard of `explain.shards`, refuses one that is missing, of another
split or made with other settings, and writes the records in the order of an unsharded run to
OUT_JSON, their quality figures per source (recomputed from all the records) to METRICS_JSON and
one row per token to PLOT_JSON (DVC plot data).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from stages.attribution.examples import plot_rows
from stages.attribution.quality import quality_metrics
from stages.attribution.shards import merge
from stages.plumbing.artifacts import run, write_json
from stages.plumbing.params import load_section
from stages.schemas.explain import ExplainParams


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("shards_dir", "out_json", "metrics_json", "plot_json"):
        parser.add_argument(name, type=Path)
    args = parser.parse_args()
    count = len(load_section(ExplainParams).shards)
    merged = merge(args.shards_dir, count)
    metrics = quality_metrics(merged["examples"])
    write_json(args.out_json, merged)
    write_json(args.metrics_json, metrics)
    write_json(args.plot_json, plot_rows(merged["examples"]))
    print(f"{args.out_json}: {len(merged['examples'])} examples from {count} shard{'s' * (count > 1)}")
    print(metrics)


if __name__ == "__main__":
    run(main)
