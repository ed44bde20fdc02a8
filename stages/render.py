"""Stage `render`: a self-contained HTML report of the Integrated Gradients attributions.

Usage: python -m stages.render FINETUNED_JSON SENTENCES_JSON PRETRAINED_JSON RANDOMISATION_JSON DATASET_JSON
       SHORTCUT_JSON PLAUSIBILITY_JSON DVCLIVE_DIR OUT_HTML
One card per example the explanations files keep in git, its tokens highlighted as in alibi's example
(PiYG, scaled per example to its largest |attribution|) with a CSS-only switch to whole words; the
model's figures; the quality of the attributions per source (of all the explained records: IG against
its rivals, and the randomisation test's cascade); the top words toward each class across the dataset,
each linking to the cards it occurs in; the planted shortcut's check (`check_shortcut`); the agreement with
human rationales (`plausibility`); and the dvclive
charts that exist. The page loads nothing and runs no script; every text from the data is HTML-escaped
and the bytes are the same on every run.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from stages.plumbing.artifacts import atomic_path, run
from stages.report.page import render_report
from stages.report.readers import (
    read_dataset_view,
    read_explanations,
    read_plausibility,
    read_randomisation,
    read_shortcut,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("finetuned_json", "sentences_json", "pretrained_json", "randomisation_json", "dataset_json",
                 "shortcut_json", "plausibility_json", "live_dir", "out_html"):
        parser.add_argument(name, type=Path)
    args = parser.parse_args()
    explained = [read_explanations(args.finetuned_json, stage="merge_explanations"),
                 read_explanations(args.sentences_json, stage="explain_sentences"),
                 read_explanations(args.pretrained_json, stage="explain_pretrained")]
    page = render_report(*explained, read_randomisation(args.randomisation_json), read_dataset_view(args.dataset_json),
                         read_shortcut(args.shortcut_json), read_plausibility(args.plausibility_json), args.live_dir)
    with atomic_path(args.out_html) as staging:
        staging.write_text(page, encoding="utf-8")
    print(f"{args.out_html}: {sum(len(file['examples']) for file in explained)} examples")


if __name__ == "__main__":
    run(main)
