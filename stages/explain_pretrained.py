"""Stage `explain_pretrained`: Integrated Gradients for a ready-made SST-2 sentiment model.

Usage: python -m stages.explain_pretrained OUT_JSON METRICS_JSON
The reference example first explains `distilbert-base-uncased-finetuned-sst-2-english`
on three sentences. That checkpoint comes from the hub, so the stage is off by
default (`explain_pretrained.enabled: false`) and then records only that it was
not run (and no metrics); the default `dvc repro` stays offline.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from stages.attribution.examples import from_sentences
from stages.attribution.quality import quality_metrics
from stages.attribution.records import explain_examples, explanations_file
from stages.plumbing.artifacts import run, write_json
from stages.plumbing.models import load_classifier, load_tokenizer
from stages.plumbing.params import load_section
from stages.schemas.explain import ExplainParams
from stages.schemas.explain_pretrained import ExplainPretrainedParams

METRICS_PREFIX = "pretrained"  # its figures beside the fine-tuned model's `sentences/...`


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_json", type=Path)
    parser.add_argument("metrics_json", type=Path)
    args = parser.parse_args()
    params = load_section(ExplainPretrainedParams)
    explain = load_section(ExplainParams)
    settings, scoring = explain.ig_settings(), explain.scoring()
    records = []
    if params.enabled:
        tokenizer = load_tokenizer(params.checkpoint)  # first: it finds out fast if the checkpoint is out of reach
        classifier = load_classifier(params.checkpoint)
        examples = from_sentences(params.sentences, tokenizer, tokenizer.model_max_length)
        records = explain_examples(classifier, tokenizer, examples, settings, scoring)
    else:
        print("explain_pretrained.enabled is false: nothing to explain "
              "(dvc exp run -S explain_pretrained.enabled=true to run it)")
    write_json(args.out_json, explanations_file(params.checkpoint, params.checkpoint, settings, scoring, records,
                                                enabled=params.enabled))
    write_json(args.metrics_json, quality_metrics(records, prefix=METRICS_PREFIX))


if __name__ == "__main__":
    run(main)
