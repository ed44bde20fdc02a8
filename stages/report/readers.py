"""The report's inputs, each read and checked before any HTML is written: a missing or broken one is one
line naming the stage that rebuilds it. The explanations files' examples come back as records."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from stages.attribution.record import parsed_examples
from stages.plumbing.artifacts import read_json
from stages.plumbing.errors import broken


def read_explanations(path: Path, stage: str) -> dict[str, Any]:
    """An explanations file, checked for what the cards need before any HTML is written; its `examples`
    the records."""
    explanations = read_json(path, stage)
    try:
        for summary in explanations["sources"].values():
            if not {"examples", "mean_tokens", "figures"} <= set(summary) or "n_steps/mean" not in summary["figures"]:
                raise ValueError("a source's summary has not its examples, mean_tokens and figures")
        if not isinstance(explanations["examples"], list):
            raise TypeError("examples is not a list")
        explanations["examples"] = parsed_examples(explanations["examples"])
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise broken(path, f"not an explanations file ({error})", stage) from None
    return explanations


def read_optional_json(path: Path, stage: str) -> Any | None:
    """A dvclive file, or None where that stage has not written it."""
    return read_json(path, stage) if path.is_file() else None


def read_curve(path: Path) -> tuple[list[float], list[float]] | None:
    """Steps and values of a dvclive TSV (`step<TAB>name`), or None where it does not exist."""
    if not path.is_file():
        return None
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        return [float(row["step"]) for row in rows], [float(row[path.stem]) for row in rows]
    except (KeyError, TypeError, ValueError) as error:
        raise broken(path, f"unreadable ({type(error).__name__})", "train") from None


def training_curves(live_dir: Path) -> dict[str, tuple[list[float], list[float]]]:
    """The training loss and accuracy curves dvclive wrote, those that exist."""
    folder = live_dir / "train" / "plots" / "metrics" / "train"
    curves = {name: read_curve(folder / f"{name}.tsv") for name in ("loss", "accuracy")}
    return {name: curve for name, curve in curves.items() if curve is not None}


def confusion_counts(path: Path) -> np.ndarray | None:
    """counts[actual, predicted] from dvclive's confusion rows, or None where they do not exist."""
    rows = read_optional_json(path, stage="evaluate")
    if rows is None:
        return None
    if not isinstance(rows, list):
        raise broken(path, "not a confusion matrix (not a list of rows)", "evaluate")
    counts = np.zeros((2, 2), dtype=int)
    for number, row in enumerate(rows, 1):
        try:
            cell = int(row["actual"]), int(row["predicted"])
        except (KeyError, TypeError, ValueError):
            raise broken(path, f"not a confusion matrix (row {number} has no integer `actual` and `predicted`)",
                         "evaluate") from None
        if not set(cell) <= {0, 1}:  # a negative index would count as class 1
            raise broken(path, f"not a confusion matrix (row {number}: classes are 0 and 1)", "evaluate")
        counts[cell] += 1
    return counts


def read_randomisation(path: Path) -> list[dict[str, Any]]:
    """The sanity_check stage's cascade rows, checked before any HTML is written."""
    rows = read_json(path, stage="sanity_check")
    if not isinstance(rows, list) or not all(isinstance(row, dict) and {"level", "spearman"} <= set(row)
                                             for row in rows):
        raise broken(path, "not the randomisation cascade (rows of level and spearman)", "sanity_check")
    return rows


def read_dataset_view(path: Path) -> dict[str, Any]:
    """The aggregate_words stage's view, checked before any HTML is written."""
    view = read_json(path, stage="aggregate_words")
    try:
        for classes in view["sources"].values():
            for entry in classes.values():
                for row in entry["top"]:
                    if not {"word", "score", "documents", "top_k_share", "log_odds_z", "flags", "q", "established",
                            "score_interval"} <= set(row):
                        raise ValueError("a top word lacks its figures")
                if not {"established_words", "needed"} <= set(entry):
                    raise ValueError("a class lacks its established words")
        view["settings"]["fdr"]
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise broken(path, f"not a dataset view ({error})", "aggregate_words") from None
    return view


def read_shortcut(path: Path) -> dict[str, Any]:
    """The check_shortcut stage's file, checked before any HTML is written (`enabled` false: not run)."""
    checked = read_json(path, stage="check_shortcut")
    try:
        if checked["enabled"]:
            for figures in checked["methods"].values():
                if not {"precision_at_1", "precision_at_k", "mrr"} <= set(figures):
                    raise ValueError("a method lacks its figures")
            for index in checked["shown"]:
                example = checked["examples"][index]
                if len(example["tokens"]) != len(example["attributions"]) or not example["ranks"]:
                    raise ValueError(f"examples[{index}] lacks its tokens, attributions or ranks")
            if not {"relied_on", "flipped", "mean_shift", "examples"} <= set(checked["reliance"]):
                raise ValueError("the reliance figures are incomplete")
            if not {"word", "label", "share", "dataset_rank"} <= set(checked) or "k" not in checked["settings"]:
                raise ValueError("the planted word or its settings are missing")
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
        raise broken(path, f"not a shortcut check ({error})", "check_shortcut") from None
    return checked


def read_plausibility(path: Path) -> dict[str, Any]:
    """The plausibility stage's file, checked before any HTML is written (`enabled` false: not measured)."""
    measured = read_json(path, stage="plausibility")
    try:
        if measured["enabled"]:
            if not {"eraser", "sst"} & set(measured) or "layer" not in measured["settings"]:
                raise ValueError("neither dataset's figures, or no settings")
            for dataset in ("eraser", "sst"):
                if dataset in measured and not {"sha256", "path"} <= set(measured[dataset]["source"]):
                    raise ValueError(f"{dataset}'s source is not identified")
            for document in measured.get("eraser", {}).get("shown", []):
                if not len(document["words"]) == len(document["scores"]) == len(document["rationale"]):
                    raise ValueError(f"document {document['id']} lacks its words, scores or rationale")
    except (KeyError, TypeError, ValueError) as error:
        raise broken(path, f"not a plausibility file ({error})", "plausibility") from None
    return measured
