"""The dataset-level view: the top words toward each class with the data's association and the artefact
flags (`explanations/dataset.json`), its few summary figures, its plot rows, and how two runs' views differ."""
from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from stages.attribution.agreement import correlation
from stages.attribution.settings import ViewSettings
from stages.attribution.significance import documents_needed, established, percentile_interval, q_values
from stages.attribution.word_flags import Capitals, flags
from stages.attribution.word_stats import CLASS_NAMES, DIGITS, WordStatistics, ranked, rounded
from stages.plumbing.artifacts import significant

DATASET_FORMAT = 2  # 2: intervals, p, q and established words
STRONG_Z = 1.96  # |z| above which a word's association with a label is significant at 5% (two-sided)


def dataset_view(statistics: WordStatistics, capitals: Capitals, z_scores: dict[str, float],
                 settings: ViewSettings, records: int) -> dict[str, Any]:
    """Per source and predicted class: documents, ranked words and how many are established, the top
    words with their figures, intervals, q and established flag, the training split's log-odds z toward
    that class (None: not in the training split) and their flags, and every ranked word's score (what
    `compare` correlates) and the established words."""
    sources: dict[str, dict[str, Any]] = {}
    for source, predicted in sorted(statistics.documents):
        words = ranked(statistics, (source, predicted), settings.min_documents, settings.shrinkage)
        q = q_values([row["p"] for row in words])
        for row, value in zip(words, q):
            row.update(q=rounded(value), established=established(value, settings.fdr))
        sign = 1 if predicted == 1 else -1
        top = [{**row, **intervals(statistics, (source, predicted), row["word"], settings),
                "log_odds_z": None if row["word"] not in z_scores
                else significant(sign * z_scores[row["word"]], DIGITS),
                "flags": flags(row["word"], capitals)} for row in words[:settings.top_words]]
        established_words = [row["word"] for row in words if row["established"]]
        sources.setdefault(source, {})[CLASS_NAMES[predicted]] = {
            "documents": statistics.documents[(source, predicted)], "ranked_words": len(words),
            "established_words": established_words,
            "needed": None if established_words
            else needed_documents(statistics, (source, predicted), words, settings.fdr),
            "top": top, "scores": {row["word"]: row["score"] for row in words}}
    return {"format": DATASET_FORMAT, "settings": dataclasses.asdict(settings), "records": records, "sources": sources}


def needed_documents(statistics: WordStatistics, group: tuple[str, int], words: list[dict[str, Any]],
                     fdr: float) -> dict[str, Any] | None:
    """Where no word is established: the fewest documents of the class in which some ranked word, at the
    effect size this run measured for it and in the share of documents it occurs in now, would be
    established with `significance.POWER`, and that word; None where no word has an effect toward the class."""
    tests = sum(row["p"] is not None for row in words)
    estimates = []
    for row in words:
        entry = statistics.words[group][row["word"]]
        needed = documents_needed(entry.documents, entry.total, entry.squares, tests, fdr)
        if needed is not None:
            estimates.append((math.ceil(needed * statistics.documents[group] / entry.documents), row["word"]))
    if not estimates:
        return None
    documents, word = min(estimates)
    return {"documents": documents, "word": word}


def intervals(statistics: WordStatistics, group: tuple[str, int], word: str,
               settings: ViewSettings) -> dict[str, list[float] | None]:
    """The bootstrap percentile intervals of the word's score and mean attribution (None where the
    statistics kept no resamples; the mean's over the resamples in which the word occurs)."""
    if not statistics.resamples:
        return {"score_interval": None, "mean_interval": None}
    total, occurrences = statistics.bootstrap[group].of(word)
    shrunk = occurrences + settings.shrinkage
    scores = np.divide(total, shrunk, out=np.zeros_like(total), where=shrunk > 0)  # no occurrence: 0
    seen = occurrences > 0
    return {"score_interval": interval(scores, settings.level),
            "mean_interval": interval(total[seen] / occurrences[seen], settings.level) if seen.any() else None}


def interval(values: np.ndarray, level: float) -> list[float]:
    return [significant(value, DIGITS) for value in percentile_interval(values, level)]


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
        for name, entry in classes.items():
            metrics[f"{source}/words/established/{name}"] = len(entry["established_words"])
    return metrics


def plot_rows(view: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per top word, its score's interval as `low` and `high` (None without resamples) (template
    .dvc/plots/top_words.json)."""
    rows = []
    for source, classes in view["sources"].items():
        for name, entry in classes.items():
            for rank, row in enumerate(entry["top"], start=1):
                low, high = row["score_interval"] or (None, None)
                rows.append({"group": f"{source} · toward {name}", "rank": rank, "word": row["word"],
                             "score": row["score"], "low": low, "high": high, "established": row["established"],
                             "documents": row["documents"], "flags": ", ".join(row["flags"]) or "none"})
    return rows


def difference(left: dict[str, Any], right: dict[str, Any]) -> list[dict[str, Any]]:
    """Per source and class both views have: the words that entered and left the top list and the
    established words, and the Spearman correlation of the scores of the words ranked in both, with
    their count."""
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
            established = entry["established_words"], other["established_words"]
            rows.append({"source": source, "class": name, "entered": [w for w in after if w not in before],
                         "left": [w for w in before if w not in after],
                         "established": [len(established[0]), len(established[1])],
                         "established_entered": [w for w in established[1] if w not in established[0]],
                         "established_left": [w for w in established[0] if w not in established[1]],
                         "common_words": len(common),
                         "spearman": None if value is None else significant(value, DIGITS)})
    return rows
