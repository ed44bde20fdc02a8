"""Stage `sanity_check`: the model-parameter randomisation test of the fine-tuned model's explanations.

Usage: python -m stages.sanity_check MODEL_DIR EXPLANATIONS_JSON METRICS_JSON PLOT_JSON
Takes the `sanity_check.examples` shortest records of EXPLANATIONS_JSON (the explain stage's
output: the test costs levels x examples explanations), re-initialises the model's weights
cascading from the classification head down to the embeddings, explains the same examples again
at each level with the same IG settings and target class, and writes the Spearman correlation with
the original attributions: the head level and the fully randomised level to METRICS_JSON, every
level to PLOT_JSON (DVC plot data). Whatever `explain.engine` says, the cascade runs on the compiled
engine: alibi's integral within 1e-4 of each example's total (tested), a rank correlation cannot
tell them apart, and it is about 3x faster.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from stages.attribution import ig, randomisation
from stages.attribution.layers import check_layer, probability_model
from stages.attribution.quality import DIGITS
from stages.plumbing.artifacts import run, significant, write_json
from stages.plumbing.errors import UserError
from stages.plumbing.models import load_trained
from stages.plumbing.params import load_section
from stages.schemas.explain import ExplainParams
from stages.schemas.sanity_check import SanityCheckParams


def chosen_records(path: Path, count: int) -> list[dict[str, Any]]:
    """The `count` shortest explained examples (the first of equal length first), refusing a count larger
    than the explained ones."""
    try:
        records = json.loads(path.read_text(encoding="utf-8"))["examples"]
    except (OSError, ValueError, KeyError, TypeError):
        raise UserError(f"{path}: missing or not an explanations file; run `dvc repro merge_explanations`") from None
    if count > len(records):
        raise UserError(f"params.yaml: sanity_check.examples = {count} is larger than the {len(records)} explained "
                        "examples (explain.n_reviews + explain.n_rt_sentences)")
    return sorted(records, key=lambda record: len(record["token_ids"]))[:count]


def mean(values: list[float | None]) -> float | None:
    defined = [value for value in values if value is not None]
    return significant(float(np.mean(defined)), DIGITS) if defined else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("model_dir", "explanations_json", "metrics_json", "plot_json"):
        parser.add_argument(name, type=Path)
    args = parser.parse_args()
    params = load_section(SanityCheckParams)
    explain = load_section(ExplainParams)
    records = chosen_records(args.explanations_json, params.examples)
    count = len(records)
    rows = [{"randomised": 0, "level": "original", "spearman": 1.0, "examples": count}] if records else []
    if records:
        classifier, tokenizer = load_trained(args.model_dir)
        wrapper = probability_model(classifier)
        check_layer(explain.layer, wrapper)
        levels = randomisation.cascade(
            wrapper, [np.asarray(r["token_ids"], dtype=np.int32) for r in records], [r["predicted"] for r in records],
            [np.asarray(r["attributions"]) for r in records], ig.SpecialTokens.of(tokenizer),
            dataclasses.replace(ig.settings_from(explain), engine="compiled"), params.seed)
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
