"""Stage `check_shortcut`: whether the model relies on the word `decode.shortcut` planted in its training
reviews, and whether IG, each rival method and the dataset view find it (`attribution/shortcut.py`).

Usage: python -m stages.check_shortcut DECODED_DIR MODEL_DIR OUT_JSON METRICS_JSON
Plants the word, as decode planted it, in the first `check_shortcut.reviews` held-out reviews of each class
that do not hold it, predicts each review with and without it, explains the planted versions with IG at the
configured settings and every method of `explain.methods`, and writes each method's precision@1,
precision@k and mean reciprocal rank of the word over the relied-on examples (random's expected values
beside them), the reliance figures and the word's rank in the dataset view of these examples to
METRICS_JSON; OUT_JSON keeps every example's ranks and probabilities, and the IG attributions of the
`report_examples` the report shows. With `decode.shortcut.word: null` nothing is planted: it records that
it was not run, and no metrics.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stages.attribution.examples import Example, from_texts
from stages.attribution.record import partial
from stages.attribution.records import Scored, explain_and_score
from stages.attribution.settings import metadata
from stages.attribution.shortcut import (
    PLANT_COMMAND,
    SHORTCUT_FORMAT,
    Reliance,
    planted_rank,
    random_expectation,
    ranking_figures,
    reliance_figures,
)
from stages.attribution.word_stats import WordStatistics, ranked
from stages.plumbing.artifacts import run, significant, write_json
from stages.plumbing.errors import UserError
from stages.plumbing.inference import Predictor
from stages.plumbing.models import load_trained
from stages.plumbing.optional import write_not_run
from stages.plumbing.params import load_section
from stages.plumbing.planting import holding, planted
from stages.plumbing.texts import encode, read_decoded
from stages.schemas.aggregate_words import AggregateWordsParams
from stages.schemas.check_shortcut import CheckShortcutParams
from stages.schemas.decode import DecodeParams
from stages.schemas.evaluate import EvaluateParams
from stages.schemas.explain import ExplainParams
from stages.schemas.tokenize import TokenizeParams

SOURCE = "shortcut"


def chosen_reviews(test: pd.DataFrame, word: str, planted_class: int, count: int) -> pd.DataFrame:
    """The first `count` held-out reviews of the other class, then of the planted class, without the word."""
    free = test[[not held for held in holding(test.text.astype(str).tolist(), word)]]
    parts = [free[free.label == label].head(count) for label in (1 - planted_class, planted_class)]
    if min(len(part) for part in parts) < count:
        raise UserError(f"params.yaml: check_shortcut.reviews = {count} is more than the held-out reviews of a "
                        f"class without '{word}' ({min(len(part) for part in parts)})")
    return pd.concat(parts)


def probabilities(classifier: Any, texts: list[str], tokenizer: Any, tokenize: TokenizeParams,
                  batch_tokens: int) -> np.ndarray:
    arrays = encode(texts, tokenizer, tokenize.max_len, tokenize.truncation)
    return np.asarray(Predictor(classifier, batch_tokens).probabilities(arrays["input_ids"], arrays["attention_mask"]))


def example_rows(examples: list[Example], scored: Scored, tokenizer: Any, word: str,
                 reliance: list[Reliance], methods: list[str]) -> list[dict[str, Any]]:
    """Per example: its reliance, each method's rank of the word and its IG attributions."""
    rows = []
    for index, (example, result, relied) in enumerate(zip(examples, scored.results, reliance)):
        tokens = tokenizer.convert_ids_to_tokens([int(t) for t in result.token_ids])
        ranks = {}
        for method in methods:
            values = result.attributions if method == "ig" else scored.scores[method][index]
            ranks[method], count = planted_rank(tokens, [float(v) for v in values], example.cut_at, word)
        rows.append({"id": example.id, "label": example.label, "text": example.text, "predicted": int(result.predicted),
                     "with_word": significant(relied.with_word), "without_word": significant(relied.without_word),
                     "shift": significant(relied.shift), "words": count, "ranks": ranks, "tokens": tokens,
                     "attributions": [significant(float(a)) for a in result.attributions], "cut_at": example.cut_at,
                     "tokens_cut": example.tokens_cut})
    return rows


def dataset_rank(rows: list[dict[str, Any]], word: str, planted_class: int, view: AggregateWordsParams) -> int | None:
    """The word's place in the planted class's ranked words of these examples' IG attributions (None: unranked)."""
    statistics = WordStatistics(top_k=view.top_k)
    for position, row in enumerate(rows):
        statistics.add(partial({"source": SOURCE, "predicted": row["predicted"], "position": position,
                                "tokens": row["tokens"], "attributions": row["attributions"],
                                "cut_at": row["cut_at"]}))
    words = [entry["word"] for entry in ranked(statistics, (SOURCE, planted_class), view.min_documents, view.shrinkage)]
    return words.index(word) + 1 if word in words else None


def check(decoded_dir: Path, model_dir: Path, params: CheckShortcutParams, decode: DecodeParams) -> dict[str, Any]:
    """The checked shortcut: settings, figures per method and the examples."""
    shortcut, tokenize = decode.shortcut, load_section(TokenizeParams)
    explain = load_section(ExplainParams)
    settings, scoring = explain.ig_settings(), explain.scoring()
    reviews = chosen_reviews(read_decoded(decoded_dir / "test.csv"), shortcut.word, shortcut.label, params.reviews)
    classifier, tokenizer = load_trained(model_dir)
    texts = planted(reviews.text.tolist(), reviews.id.tolist(), shortcut.word, tokenizer, tokenize.max_len,
                    tokenize.truncation, decode.seed)
    batch_tokens = load_section(EvaluateParams).batch_tokens
    with_word = probabilities(classifier, texts, tokenizer, tokenize, batch_tokens)
    without_word = probabilities(classifier, reviews.text.tolist(), tokenizer, tokenize, batch_tokens)
    reliance = [Reliance(int(label), shortcut.label, float(after[shortcut.label]), float(before[shortcut.label]),
                         int(np.argmax(after)), int(np.argmax(before)))
                for label, after, before in zip(reviews.label, with_word, without_word)]
    examples = from_texts(SOURCE, texts, reviews.id.tolist(), reviews.label.tolist(), tokenizer, tokenize.max_len,
                          tokenize.truncation)
    scored = explain_and_score(classifier, tokenizer, examples, settings, scoring, progress="check_shortcut")
    methods = ["ig", *scoring.methods]
    rows = example_rows(examples, scored, tokenizer, shortcut.word, reliance, methods)
    rank = dataset_rank(rows, shortcut.word, shortcut.label, load_section(AggregateWordsParams))
    relied = [index for index, example in enumerate(reliance) if example.shift > params.min_shift]
    figures = {method: ranking_figures([rows[index]["ranks"][method] for index in relied], params.k)
               for method in methods}
    figures["random_expected"] = random_expectation([rows[index]["words"] for index in relied], params.k)
    shown = sorted(range(len(rows)), key=lambda index: (index not in relied, index))[:params.report_examples]
    for index, row in enumerate(rows):
        if index not in shown:
            del row["tokens"], row["attributions"]
    return {"format": SHORTCUT_FORMAT, "enabled": True, "word": shortcut.word, "label": shortcut.label,
            "share": shortcut.share,
            "settings": {**metadata(settings, scoring), "min_shift": params.min_shift, "k": params.k},
            "reliance": reliance_figures(reliance, params.min_shift), "methods": figures,
            "dataset_rank": rank,
            "shown": sorted(shown), "examples": rows}


def summary_metrics(checked: dict[str, Any]) -> dict[str, Any]:
    """The few figures `dvc exp show` compares runs by: reliance, each method's, and the dataset rank."""
    return {**{f"reliance/{key}": value for key, value in checked["reliance"].items()},
            **{f"{method}/{key}": value for method, figures in checked["methods"].items()
               for key, value in figures.items()},
            "dataset/rank": checked["dataset_rank"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("decoded_dir", "model_dir", "out_json", "metrics_json"):
        parser.add_argument(name, type=Path)
    args = parser.parse_args()
    params = load_section(CheckShortcutParams)
    decode = load_section(DecodeParams)
    if decode.shortcut.word is None:
        print(f"decode.shortcut.word is null: no shortcut planted, nothing to check ({PLANT_COMMAND} to plant one)")
        write_not_run(args.out_json, args.metrics_json, SHORTCUT_FORMAT)
        return
    checked = check(args.decoded_dir, args.model_dir, params, decode)
    metrics = summary_metrics(checked)
    write_json(args.out_json, checked)
    write_json(args.metrics_json, metrics)
    print(metrics)


if __name__ == "__main__":
    run(main)
