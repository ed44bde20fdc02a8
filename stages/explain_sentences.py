"""Stage `explain_sentences`: Integrated Gradients attributions of the free sentences of params.yaml.

Usage: python -m stages.explain_sentences MODEL_DIR OUT_JSON METRICS_JSON PLOT_JSON
Tokenizes `explain.sentences` as the training data was (`tokenize.max_len`,
`tokenize.truncation`) and explains them with the fine-tuned model; a stage of
its own, so that changing a sentence re-runs seconds of work, not the reviews.
Writes the records, their quality figures and one row per token (DVC plot data).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from stages.attribution.examples import from_sentences, plot_rows
from stages.attribution.quality import quality_metrics
from stages.attribution.records import explain_examples, explanations_file
from stages.plumbing.artifacts import run, write_json
from stages.plumbing.models import load_trained
from stages.plumbing.params import load_section
from stages.schemas.explain import ExplainParams
from stages.schemas.model import selected_model
from stages.schemas.tokenize import TokenizeParams


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("model_dir", "out_json", "metrics_json", "plot_json"):
        parser.add_argument(name, type=Path)
    args = parser.parse_args()
    params = load_section(ExplainParams)
    tokenize = load_section(TokenizeParams)
    model_name, model = selected_model()
    classifier, tokenizer = load_trained(args.model_dir)
    examples = from_sentences(params.sentences, tokenizer, tokenize.max_len, tokenize.truncation)
    settings, scoring = params.ig_settings(), params.scoring()
    records = explain_examples(classifier, tokenizer, examples, settings, scoring)
    metrics = quality_metrics(records)
    write_json(args.out_json, explanations_file(model_name, model.checkpoint, settings, scoring, records))
    write_json(args.metrics_json, metrics)
    write_json(args.plot_json, plot_rows(records))
    print(metrics)


if __name__ == "__main__":
    run(main)
