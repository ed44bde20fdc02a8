"""Join the shards of an `explain` run into one explanations file and its metrics.

Usage: python -m stages.merge_shards OUT_JSON METRICS_JSON SHARD_JSON...
For many thousands of reviews, machines (or queued jobs) each run
`python -m stages.explain ... --shard I/N`; this puts their records back in the
order of one unsharded run and recomputes the quality metrics from them.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from stages.attribution.quality import quality_metrics
from stages.plumbing.artifacts import run, write_json
from stages.plumbing.params import UserError

SAME_IN_EVERY_SHARD = ("model", "checkpoint", "data", "settings")


def read_shard(path: Path) -> dict[str, Any]:
    try:
        shard = json.loads(path.read_text(encoding="utf-8"))
        shard["index"], shard["count"] = (int(n) for n in shard["shard"].split("/"))
        return shard
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise UserError(f"{path}: not an explain shard ({type(error).__name__}); rerun its "
                        "`python -m stages.explain ... --shard I/N`") from None


def merge(shards: list[dict[str, Any]]) -> dict[str, Any]:
    """One explanations file from all N shards of the same run."""
    count = shards[0]["count"]
    indices = sorted(shard["index"] for shard in shards)
    if indices != list(range(count)) or any(shard["count"] != count for shard in shards):
        raise UserError(f"shards {', '.join(f'{i}/{count}' for i in indices)} given; all of 0..{count - 1} "
                        f"of {count} are needed, once each")
    for key in SAME_IN_EVERY_SHARD:
        if any(shard.get(key) != shards[0].get(key) for shard in shards):
            raise UserError(f"the shards differ in '{key}': they come from different runs")
    examples = sorted((record for shard in shards for record in shard["examples"]), key=lambda r: r["position"])
    return {**{key: shards[0].get(key) for key in SAME_IN_EVERY_SHARD}, "shard": "0/1", "examples": examples}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_json", type=Path)
    parser.add_argument("metrics_json", type=Path)
    parser.add_argument("shards", type=Path, nargs="+")
    args = parser.parse_args()
    merged = merge([read_shard(path) for path in args.shards])
    write_json(args.out_json, merged)
    write_json(args.metrics_json, quality_metrics(merged["examples"]))
    print(f"{args.out_json}: {len(merged['examples'])} examples from {len(args.shards)} shards")


if __name__ == "__main__":
    run(main)
