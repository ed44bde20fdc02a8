"""Stage `sanity_check`: the model-parameter randomisation test of the fine-tuned model's explanations.

Usage: python -m stages.sanity_check MODEL_DIR RECORDS_PARQUET METRICS_JSON PLOT_JSON
Takes the `sanity_check.examples` shortest of the explained held-out examples (RECORDS_PARQUET,
`merge_explanations`' records; the test costs levels x examples explanations), re-initialises the
model's weights cascading from the classification head down to the embeddings, explains the same
examples again at each level with the same IG settings and target class, and writes the Spearman
correlation with the original attributions: the head level and the fully randomised level to
METRICS_JSON, every level to PLOT_JSON (DVC plot data). Whatever `explain.engine` says, the cascade
runs on the compiled engine: alibi's integral within 1e-4 of each example's total (tested), a rank
correlation cannot tell them apart, and it is about 3x faster.
"""
from __future__ import annotations

import argparse
import dataclasses
import heapq
from pathlib import Path

import numpy as np

from stages.attribution import ig, randomisation
from stages.attribution.layers import check_layer, probability_model
from stages.attribution.quality import DIGITS
from stages.attribution.record import ExplainedExample
from stages.attribution.record_table import iter_records, opened
from stages.plumbing.artifacts import run, significant, write_json
from stages.plumbing.errors import UserError
from stages.plumbing.models import load_trained
from stages.plumbing.params import load_section
from stages.schemas.explain import ExplainParams
from stages.schemas.sanity_check import SanityCheckParams


def chosen_records(path: Path, count: int) -> list[ExplainedExample]:
    """The `count` shortest explained examples (the first of equal length first), read from the records
    file a batch at a time; a count larger than the explained examples is refused."""
    explained = opened(path).metadata.num_rows
    if count > explained:
        raise UserError(f"params.yaml: sanity_check.examples = {count} is larger than the {explained} explained "
                        "examples (explain.n_reviews + explain.n_rt_sentences)")
    return heapq.nsmallest(count, iter_records(path, columns=("token_ids", "attributions", "predicted")),
                           key=lambda record: len(record.token_ids))


def mean(values: list[float | None]) -> float | None:
    defined = [value for value in values if value is not None]
    return significant(float(np.mean(defined)), DIGITS) if defined else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("model_dir", "records_parquet", "metrics_json", "plot_json"):
        parser.add_argument(name, type=Path)
    args = parser.parse_args()
    params = load_section(SanityCheckParams)
    explain = load_section(ExplainParams)
    records = chosen_records(args.records_parquet, params.examples)
    count = len(records)
    rows = [{"randomised": 0, "level": "original", "spearman": 1.0, "examples": count}] if records else []
    if records:
        classifier, tokenizer = load_trained(args.model_dir)
        wrapper = probability_model(classifier)
        check_layer(explain.layer, wrapper)
        levels = randomisation.cascade(
            wrapper, [np.asarray(r.token_ids, dtype=np.int32) for r in records], [r.predicted for r in records],
            [np.asarray(r.attributions) for r in records], ig.SpecialTokens.of(tokenizer),
            dataclasses.replace(explain.ig_settings(), engine="compiled"), params.seed)
        rows += [{"randomised": index, "level": level, "spearman": mean(values), "examples": count}
                 for index, (level, values) in enumerate(levels, start=1)]
    else:
        print("sanity_check.examples is 0: the randomisation test is off")
    metrics = {"spearman/head": rows[1]["spearman"], "spearman/all_layers": rows[-1]["spearman"]} if rows else {}
    write_json(args.metrics_json, metrics)
    write_json(args.plot_json, rows)
    print(metrics)


if __name__ == "__main__":
    run(main)
