"""The quality figures of a set of explained examples, per source: what `dvc exp show` compares.

Each source (held-out reviews, Rotten Tomatoes sentences, free sentences) gets its own figures,
so a figure moves only when its own examples did.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from stages.attribution.record import ExplainedExample
from stages.plumbing.artifacts import significant

DIGITS = 4  # significant digits of a metric: enough to see a change, few enough to read


def quality_metrics(records: Sequence[ExplainedExample], prefix: str | None = None) -> dict[str, float]:
    """Completeness error (median, max), mean steps, mean faithfulness (ERASER AOPC) of IG and each
    rival, and each rival's mean rank agreement with IG (over the examples where it is defined), per source.

    Keys are `<source>/<figure>`, e.g. `imdb/comprehensiveness/ig` or `imdb/kendall_tau/occlusion`;
    `prefix` replaces the sources' names with one name for all the records.
    """
    groups: dict[str, list[ExplainedExample]] = {}
    for record in records:
        groups.setdefault(prefix or record.source, []).append(record)
    metrics = {}
    for name, members in groups.items():
        errors = [member.completeness_error for member in members]
        figures = {"completeness_error/median": np.median(errors), "completeness_error/max": np.max(errors),
                   "n_steps/mean": np.mean([member.n_steps for member in members])}
        for key in members[0].faithfulness:
            figures[key] = np.mean([member.faithfulness[key] for member in members])
        for key in members[0].rank_agreement:
            defined = [member.rank_agreement[key] for member in members if member.rank_agreement[key] is not None]
            if defined:
                figures[key] = np.mean(defined)
        metrics.update({f"{name}/{key}": significant(float(value), DIGITS) for key, value in figures.items()})
    return metrics


def source_summaries(records: Sequence[ExplainedExample]) -> dict[str, dict[str, Any]]:
    """Per source: how many examples, their mean length in tokens and their quality figures, what the
    report's quality table shows (kept beside the records, so that it covers all of them where git keeps
    only some)."""
    figures = quality_metrics(records)
    summaries: dict[str, dict[str, Any]] = {}
    for record in records:
        summary = summaries.setdefault(record.source, {"examples": 0, "tokens": 0})
        summary["examples"] += 1
        summary["tokens"] += len(record.token_ids)
    return {source: {"examples": summary["examples"],
                     "mean_tokens": significant(summary["tokens"] / summary["examples"], DIGITS),
                     "figures": {key.split("/", 1)[1]: value for key, value in figures.items()
                                 if key.split("/", 1)[0] == source}}
            for source, summary in summaries.items()}
