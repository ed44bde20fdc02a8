"""The dataset-level view: the top words toward each class with the data's association and the artefact
flags (`explanations/dataset.json`), its few summary figures, its plot rows, and how two runs' views differ."""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from stages.attribution.agreement import correlation
from stages.attribution.settings import ViewSettings
from stages.attribution.word_flags import Capitals, flags
from stages.attribution.word_stats import CLASS_NAMES, DIGITS, WordStatistics, ranked
from stages.plumbing.artifacts import significant

DATASET_FORMAT = 1
STRONG_Z = 1.96  # |z| above which a word's association with a label is significant at 5% (two-sided)


def dataset_view(statistics: WordStatistics, capitals: Capitals, z_scores: dict[str, float],
                 settings: ViewSettings, records: int) -> dict[str, Any]:
    """Per source and predicted class: documents, ranked words, the top words with their figures, the
    training split's log-odds z toward that class (None: not in the training split) and their flags, and
    every ranked word's score (what `compare` correlates)."""
    sources: dict[str, dict[str, Any]] = {}
    for source, predicted in sorted(statistics.documents):
        words = ranked(statistics, (source, predicted), settings.min_documents, settings.shrinkage)
        sign = 1 if predicted == 1 else -1
        top = [{**row, "log_odds_z": None if row["word"] not in z_scores
                else significant(sign * z_scores[row["word"]], DIGITS),
                "flags": flags(row["word"], capitals)} for row in words[:settings.top_words]]
        sources.setdefault(source, {})[CLASS_NAMES[predicted]] = {
            "documents": statistics.documents[(source, predicted)], "ranked_words": len(words), "top": top,
            "scores": {row["word"]: row["score"] for row in words}}
    return {"format": DATASET_FORMAT, "settings": dataclasses.asdict(settings), "records": records, "sources": sources}


def summary_metrics(view: dict[str, Any]) -> dict[str, float]:
    """Two figures per source over the top words of both classes: the share of their |summed attribution|
    on flagged words, and the share of the words whose training association with the class is strong."""
    metrics = {}
    for source, classes in view["sources"].items():
        top = [row for entry in classes.values() for row in entry["top"]]
        if not top:
            continue
        mass = sum(abs(row["sum"]) for row in top)
        flagged = sum(abs(row["sum"]) for row in top if row["flags"])
        metrics[f"{source}/words/flagged_share"] = significant(flagged / mass if mass else 0.0, DIGITS)
        strong = sum(1 for row in top if row["log_odds_z"] is not None and row["log_odds_z"] > STRONG_Z)
        metrics[f"{source}/words/data_share"] = significant(strong / len(top), DIGITS)
    return metrics


def plot_rows(view: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per top word (template .dvc/plots/top_words.json)."""
    return [{"group": f"{source} · toward {name}", "rank": rank, "word": row["word"], "score": row["score"],
             "documents": row["documents"], "flags": ", ".join(row["flags"]) or "none"}
            for source, classes in view["sources"].items() for name, entry in classes.items()
            for rank, row in enumerate(entry["top"], start=1)]


def difference(left: dict[str, Any], right: dict[str, Any]) -> list[dict[str, Any]]:
    """Per source and class both views have: the words that entered and left the top list, and the
    Spearman correlation of the scores of the words ranked in both, with their count."""
    from scipy import stats  # imported here, as in `agreement`

    rows = []
    for source, classes in left["sources"].items():
        for name, entry in classes.items():
            other = right["sources"].get(source, {}).get(name)
            if other is None:
                continue
            before, after = [row["word"] for row in entry["top"]], [row["word"] for row in other["top"]]
            common = sorted(entry["scores"].keys() & other["scores"].keys())
            value = correlation(stats.spearmanr, np.array([entry["scores"][word] for word in common]),
                                np.array([other["scores"][word] for word in common]))
            rows.append({"source": source, "class": name, "entered": [w for w in after if w not in before],
                         "left": [w for w in before if w not in after], "common_words": len(common),
                         "spearman": None if value is None else significant(value, DIGITS)})
    return rows
