"""Stage `explain_pretrained`: Integrated Gradients for a ready-made SST-2 sentiment model.

Usage: python -m stages.explain_pretrained OUT_JSON METRICS_JSON
The reference example first explains `distilbert-base-uncased-finetuned-sst-2-english`
on three sentences. That checkpoint comes from the hub, so the stage is off by
default (`explain_pretrained.enabled: false`) and then records only that it was
not run; the default `dvc repro` stays offline.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from stages.artifacts import run, write_json
from stages.explain import explain_examples, from_sentences, settings_record
from stages.models import load_classifier, load_tokenizer
from stages.params import load_section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_json", type=Path)
    parser.add_argument("metrics_json", type=Path)
    args = parser.parse_args()
    params = load_section("explain_pretrained")
    ig_params = load_section("explain")
    result = {"enabled": params["enabled"], "model": params["checkpoint"], "checkpoint": params["checkpoint"],
              "settings": settings_record(ig_params), "examples": []}
    metrics: dict = {"enabled": params["enabled"]}
    if params["enabled"]:
        classifier, tokenizer = load_classifier(params["checkpoint"]), load_tokenizer(params["checkpoint"])
        examples = from_sentences(params["sentences"], tokenizer, tokenizer.model_max_length)
        result["examples"], quality = explain_examples(classifier, tokenizer, examples, ig_params)
        metrics.update(quality)
    else:
        print("explain_pretrained.enabled is false: nothing to explain "
              "(dvc exp run -S explain_pretrained.enabled=true to run it)")
    write_json(args.out_json, result)
    write_json(args.metrics_json, metrics)


if __name__ == "__main__":
    run(main)
