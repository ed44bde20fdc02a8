"""Stage `render`: a self-contained HTML report of the Integrated Gradients attributions.

Usage: python -m stages.render FINETUNED_JSON SENTENCES_JSON PRETRAINED_JSON RANDOMISATION_JSON DATASET_JSON
       DVCLIVE_DIR OUT_HTML
One card per example the explanations files keep in git, its tokens highlighted as in alibi's example
(PiYG, scaled per example to its largest |attribution|) with a CSS-only switch to whole words; the
model's figures; the quality of the attributions per source (of all the explained records: IG against
its rivals, and the randomisation test's cascade); the top words toward each class across the dataset,
each linking to the cards it occurs in; and the dvclive charts that exist. The page loads nothing and
runs no script; every text from the data is HTML-escaped and the bytes are the same on every run.
"""
from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
from markupsafe import Markup

from stages.attribution.methods import METHODS
from stages.attribution.methods import order as method_order
from stages.attribution.record import ExplainedExample, parsed
from stages.attribution.word_stats import document_words
from stages.attribution.words import PAD_TOKEN, SPECIAL_TOKENS, merge_wordpieces
from stages.plumbing.artifacts import atomic_path, run
from stages.plumbing.charts import confusion_chart, randomisation_chart, top_words_chart, training_chart
from stages.plumbing.errors import UserError
from stages.plumbing.html import CLASS_NAMES, render_page, token_and_word_highlights
from stages.plumbing.provenance import describe_run

SOURCE_TITLES = {"imdb": "IMDB review", "rotten_tomatoes": "Rotten Tomatoes sentence", "sentences": "Sentence"}
SOURCE_NAMES = {"imdb": "held-out IMDB reviews", "rotten_tomatoes": "Rotten Tomatoes sentences",
                "sentences": "free sentences"}
ENABLE_PRETRAINED = "dvc exp run -S explain_pretrained.enabled=true"
CARD_LINKS = 8  # links to the cards a top word occurs in, the first in run order


def read_json(path: Path, rebuild: str) -> Any:
    """A JSON input; a missing or broken file is a `UserError` naming the stage that rebuilds it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: missing; run `dvc repro {rebuild}`") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UserError(f"{path}: unreadable ({type(error).__name__}); rebuild it with "
                        f"`dvc repro -f {rebuild}`") from None


def read_explanations(path: Path, rebuild: str) -> dict[str, Any]:
    """An explanations file, checked for what the cards need before any HTML is written; its `examples`
    the records."""
    explanations = read_json(path, rebuild)
    try:
        for summary in explanations["sources"].values():
            if not {"examples", "mean_tokens", "figures"} <= set(summary) or "n_steps/mean" not in summary["figures"]:
                raise ValueError("a source's summary has not its examples, mean_tokens and figures")
        examples = explanations["examples"]
        if not isinstance(examples, list):
            raise TypeError("examples is not a list")
        for index, values in enumerate(examples):
            try:
                examples[index] = parsed(values)
            except ValueError as error:
                raise ValueError(f"examples[{index}].{error}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise UserError(f"{path}: not an explanations file ({error}); rebuild it with "
                        f"`dvc repro -f {rebuild}`") from None
    return explanations


def read_optional_json(path: Path, rebuild: str) -> Any | None:
    """A dvclive file, or None where that stage has not written it."""
    return read_json(path, rebuild) if path.is_file() else None


def read_curve(path: Path) -> tuple[list[float], list[float]] | None:
    """Steps and values of a dvclive TSV (`step<TAB>name`), or None where it does not exist."""
    if not path.is_file():
        return None
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        return [float(row["step"]) for row in rows], [float(row[path.stem]) for row in rows]
    except (KeyError, TypeError, ValueError) as error:
        raise UserError(f"{path}: unreadable ({type(error).__name__}); rebuild it with "
                        "`dvc repro -f train`") from None


def training_curves(live_dir: Path) -> dict[str, tuple[list[float], list[float]]]:
    """The training loss and accuracy curves dvclive wrote, those that exist."""
    folder = live_dir / "train" / "plots" / "metrics" / "train"
    curves = {name: read_curve(folder / f"{name}.tsv") for name in ("loss", "accuracy")}
    return {name: curve for name, curve in curves.items() if curve is not None}


def confusion_counts(path: Path) -> np.ndarray | None:
    """counts[actual, predicted] from dvclive's confusion rows, or None where they do not exist."""
    rows = read_optional_json(path, rebuild="evaluate")
    if rows is None:
        return None
    counts = np.zeros((2, 2), dtype=int)
    try:
        if not isinstance(rows, list):
            raise TypeError("not a list of rows")
        for row in rows:
            cell = int(row["actual"]), int(row["predicted"])
            if not set(cell) <= {0, 1}:  # a negative index would count as class 1
                raise IndexError("class index out of range")
            counts[cell] += 1
    except (KeyError, TypeError, ValueError, IndexError) as error:
        raise UserError(f"{path}: not a confusion matrix ({type(error).__name__}); rebuild it with "
                        "`dvc repro -f evaluate`") from None
    return counts


CUT_MARK = "[…]"


def with_cut(items: list[dict[str, Any]], position: int | None, tokens_cut: int) -> list[dict[str, Any]]:
    """Highlighted items with a visible mark where the model's length cut the text."""
    if position is None:
        return items
    mark = {"label": CUT_MARK, "colour": "#fff", "ink": "#555", "special": True,
            "title": f"{tokens_cut} tokens cut here to fit the model's length"}
    return [*items[:position], mark, *items[position:]]


def example_card(example: ExplainedExample, salt: str) -> dict[str, Any]:
    """One example for card.html.j2: its figures, highlighted tokens and words, and top-words chart."""
    pairs = [(token, float(value)) for token, value in zip(example.tokens, example.attributions)
             if token != PAD_TOKEN]
    tokens = [token for token, _ in pairs]
    attributions = [value for _, value in pairs]
    cut_at, tokens_cut = example.cut_at, example.tokens_cut
    # words never join across the cut: a tail that starts inside a word shows that word's fragment
    start = cut_at if cut_at is not None else 0
    head = merge_wordpieces(tokens[:start], attributions[:start])
    words = head + merge_wordpieces(tokens[start:], attributions[start:])
    token_items, word_items = token_and_word_highlights(tokens, attributions, words, SPECIAL_TOKENS)
    faithfulness = example.faithfulness
    label, predicted = example.label, example.predicted
    return {
        "anchor": salt, "title": SOURCE_TITLES.get(example.source, example.source), "id": example.id,
        "label": f"label: {CLASS_NAMES[label]}" if label is not None else "no label (free text)",
        "predicted": CLASS_NAMES[predicted], "probability": f"{example.probability:.3f}",
        "verdict": None if label is None else ("correct" if label == predicted else "wrong"),
        "completeness": f"{example.completeness_error:.2%}",
        "f_x": f"{example.f_x:.4f}", "f_baseline": f"{example.f_baseline:.4f}",
        "total": f"{sum(attributions):.4f}", "n_steps": example.n_steps,
        "extra": [f"comprehensiveness {faithfulness['comprehensiveness/ig']:.3f}, sufficiency "
                  f"{faithfulness['sufficiency/ig']:.3f}"
                  + (f" (random: {faithfulness['comprehensiveness/random']:.3f}, "
                     f"{faithfulness['sufficiency/random']:.3f})"
                     if "comprehensiveness/random" in faithfulness else "")]
                 + ([f"truncated: {tokens_cut} tokens cut at {CUT_MARK}"] if example.truncated else []),
        "tokens": with_cut(token_items, cut_at, tokens_cut),
        "words": with_cut(word_items, len(head) if cut_at is not None else None, tokens_cut),
        "text": example.text,
        "chart": Markup(top_words_chart(words, [item["colour"] for item in word_items], salt)),
    }


def quality_rows(sources: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Completeness of IG, then each method's faithfulness and rank agreement with IG, for each source
    (its summary in the explanations file: all its records, where git keeps only some)."""
    rows = []
    for source, summary in sources.items():
        figures = summary["figures"]
        methods = sorted((key.split("/", 1)[1] for key in figures if key.startswith("comprehensiveness/")),
                         key=method_order)
        length, steps = round(float(summary["mean_tokens"])), round(float(figures["n_steps/mean"]))

        def figure(key: str, form: str = ".3f", figures: dict[str, Any] = figures) -> str:
            value = figures.get(key)
            return "—" if value is None else f"{float(value):{form}}"

        rows.append({"name": SOURCE_NAMES.get(source, str(source)), "count": int(summary["examples"]),
                     "completeness": f"{figure('completeness_error/median', '.2%')} / "
                                     f"{figure('completeness_error/max', '.2%')}",
                     "methods": [{"name": METHODS[method].title if method in METHODS else method,
                                  "cost": METHODS[method].cost(length, steps) if method in METHODS else "",
                                  "comprehensiveness": figure(f"comprehensiveness/{method}"),
                                  "sufficiency": figure(f"sufficiency/{method}"),
                                  "kendall_tau": "" if method == "ig" else figure(f"kendall_tau/{method}")}
                                 for method in methods]})
    return rows


def read_randomisation(path: Path) -> list[dict[str, Any]]:
    """The sanity_check stage's cascade rows, checked before any HTML is written."""
    rows = read_json(path, rebuild="sanity_check")
    if not isinstance(rows, list) or not all(isinstance(row, dict) and {"level", "spearman"} <= set(row)
                                             for row in rows):
        raise UserError(f"{path}: not the randomisation cascade (rows of level and spearman); rebuild it with "
                        "`dvc repro -f sanity_check`")
    return rows


def accuracy_text(scores: dict[str, Any], prefix: str, name: str) -> str:
    text = f"{name} {float(scores[f'{prefix}/accuracy']):.3f}"
    if f"{prefix}/n" in scores:
        text += f" on {int(scores[f'{prefix}/n'])}"
    if f"{prefix}/roc_auc" in scores:
        text += f" (ROC AUC {float(scores[f'{prefix}/roc_auc']):.3f})"
    return text


def render_report(finetuned: dict[str, Any], sentences: dict[str, Any], pretrained: dict[str, Any],
                  randomisation: list[dict[str, Any]], view: dict[str, Any], live_dir: Path) -> str:
    """The whole page: the fine-tuned model's reviews and sentences, then the pretrained model's."""
    scores = {**(read_optional_json(live_dir / "evaluate" / "per_class.json", rebuild="evaluate") or {}),
              **(read_optional_json(live_dir / "evaluate" / "metrics.json", rebuild="evaluate") or {})}
    examples = finetuned["examples"] + sentences["examples"]
    charts = [(training_chart(training_curves(live_dir)), "training curves")]
    for prefix, name in (("imdb", "held-out IMDB"), ("rotten_tomatoes", "Rotten Tomatoes")):
        path = live_dir / "evaluate" / "plots" / "sklearn" / f"confusion_{prefix}.json"
        counts = confusion_counts(path)
        charts.append(("" if counts is None else confusion_chart(counts, name, path.stem), f"confusion matrix, {name}"))
    charts.append((randomisation_chart(randomisation), "model-parameter randomisation test (Adebayo et al. 2018)"))
    return render_page(
        "report.html.j2", model=str(finetuned.get("model", "")), checkpoint=str(finetuned.get("checkpoint", "")),
        data=finetuned.get("data"),
        accuracies=[accuracy_text(scores, prefix, name)
                    for prefix, name in (("imdb", "IMDB"), ("rotten_tomatoes", "Rotten Tomatoes"))
                    if f"{prefix}/accuracy" in scores],
        settings=finetuned.get("settings") if examples else None,
        mean_steps=f"{np.mean([example.n_steps for example in examples]):g}" if examples else "",
        quality=quality_rows({**finetuned["sources"], **sentences["sources"]}), randomisation=randomisation,
        charts=[{"svg": Markup(svg), "caption": caption} for svg, caption in charts if svg],
        cards=[example_card(example, f"finetuned-{index}") for index, example in enumerate(examples)],
        pretrained={"enabled": pretrained.get("enabled", True), "checkpoint": str(pretrained.get("checkpoint", "")),
                    "cards": [example_card(example, f"pretrained-{index}")
                              for index, example in enumerate(pretrained["examples"])]},
        kept_note=kept_note(finetuned), word_sections=word_sections(view, finetuned["examples"]),
        top_k=view.get("settings", {}).get("top_k"), enable_command=ENABLE_PRETRAINED, run=describe_run())


def word_sections(view: dict[str, Any], examples: list[ExplainedExample]) -> list[dict[str, Any]]:
    """The dataset view's top words per source and class, each with the cards (`finetuned-I`) of that source
    and predicted class it occurs in."""
    cards_of: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for index, example in enumerate(examples):
        group = (example.source, CLASS_NAMES[example.predicted])
        for word in dict.fromkeys(word for word, _ in document_words(example)):
            cards_of.setdefault((*group, word), []).append({"anchor": f"finetuned-{index}", "id": example.id})
    return [{"name": SOURCE_NAMES.get(source, source), "class": name, "documents": entry["documents"],
             "ranked": entry["ranked_words"],
             "words": [{**row, "z": "—" if row["log_odds_z"] is None else f"{row['log_odds_z']:.1f}",
                        "cards": cards_of.get((source, name, row["word"]), [])[:CARD_LINKS],
                        "more": max(0, len(cards_of.get((source, name, row["word"]), [])) - CARD_LINKS)}
                       for row in entry["top"]]}
            for source, classes in view["sources"].items() for name, entry in classes.items()]


def read_dataset_view(path: Path) -> dict[str, Any]:
    """The aggregate_words stage's view, checked before any HTML is written."""
    view = read_json(path, rebuild="aggregate_words")
    try:
        for classes in view["sources"].values():
            for entry in classes.values():
                for row in entry["top"]:
                    if not {"word", "score", "documents", "top_k_share", "log_odds_z", "flags"} <= set(row):
                        raise ValueError("a top word lacks its figures")
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise UserError(f"{path}: not a dataset view ({error}); "
                        "rebuild it with `dvc repro -f aggregate_words`") from None
    return view


def kept_note(explanations: dict[str, Any]) -> str:
    """Where the explanations file keeps only some of its records: which, and where the rest are."""
    records = explanations.get("records")
    if not records or int(records["examples"]) == len(explanations["examples"]):
        return ""
    kept = ", ".join(f"{sum(e.source == source for e in explanations['examples'])} of {summary['examples']} "
                     f"{SOURCE_NAMES.get(source, source)}" for source, summary in explanations["sources"].items())
    return (f"Cards for the first examples of each source ({kept}); the quality table covers them all. "
            f"Every record is in {records['file']} (DVC's cache).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("finetuned_json", "sentences_json", "pretrained_json", "randomisation_json", "dataset_json",
                 "live_dir", "out_html"):
        parser.add_argument(name, type=Path)
    args = parser.parse_args()
    explained = [read_explanations(args.finetuned_json, rebuild="merge_explanations"),
                 read_explanations(args.sentences_json, rebuild="explain_sentences"),
                 read_explanations(args.pretrained_json, rebuild="explain_pretrained")]
    page = render_report(*explained, read_randomisation(args.randomisation_json), read_dataset_view(args.dataset_json),
                         args.live_dir)
    with atomic_path(args.out_html) as staging:
        staging.write_text(page, encoding="utf-8")
    print(f"{args.out_html}: {sum(len(file['examples']) for file in explained)} examples")


if __name__ == "__main__":
    run(main)
