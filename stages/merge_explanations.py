"""Stage `merge_explanations`: the shards of `explain` joined into the held-out examples' explanations.

Usage: python -m stages.merge_explanations SHARDS_DIR RECORDS_PARQUET OUT_JSON METRICS_JSON PLOT_JSON
Reads SHARDS_DIR/I.json for each shard of `explain.shards`, refuses one that is missing, of another
split or made with other settings, and writes, in the order of an unsharded run: every record to
RECORDS_PARQUET (DVC's cache: the held-out set's records are too large for git), the settings, each
source's summary and the first `explain.report_examples` records of each source to OUT_JSON (git: what
the report shows), the quality figures per source (of all the records) to METRICS_JSON and one row per
token of OUT_JSON's records to PLOT_JSON (DVC plot data).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from stages.attribution.examples import plot_rows
from stages.attribution.quality import quality_metrics, source_summaries
from stages.attribution.record_table import shown, write_records
from stages.attribution.shards import merge
from stages.plumbing.artifacts import run, write_json
from stages.plumbing.params import load_section
from stages.schemas.explain import ExplainParams


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("shards_dir", "records_parquet", "out_json", "metrics_json", "plot_json"):
        parser.add_argument(name, type=Path)
    args = parser.parse_args()
    params = load_section(ExplainParams)
    count = len(params.shards)
    header = merge(args.shards_dir, count)
    records = header.pop("examples")
    kept = shown(records, params.report_examples)
    metrics = quality_metrics(records)
    write_records(args.records_parquet, header, records)
    write_json(args.out_json, {**header, "sources": source_summaries(records),
                               "records": {"file": args.records_parquet.as_posix(), "examples": len(records)},
                               "examples": [record.model_dump() for record in kept]})
    write_json(args.metrics_json, metrics)
    write_json(args.plot_json, plot_rows(kept))
    print(f"{args.records_parquet}: {len(records)} examples from {count} shard{'s' * (count > 1)}; "
          f"{args.out_json}: the first {params.report_examples} of each source ({len(kept)})")
    print(metrics)


if __name__ == "__main__":
    run(main)
