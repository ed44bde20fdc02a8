"""Stage `aggregate_words`: what the model relies on across the explained held-out examples.

Usage: python -m stages.aggregate_words RECORDS_PARQUET DECODED_DIR OUT_JSON METRICS_JSON PLOT_JSON
Streams the records of RECORDS_PARQUET (`merge_explanations`' output; memory grows with the
vocabulary, not the records) into per-word figures per source and predicted class, ranks the words by
their shrunk mean attribution (`attribution/word_stats.py`), sets beside each top word its log-odds
z-score in the training split of DECODED_DIR (`attribution/log_odds.py`) and its artefact flags
(`attribution/word_flags.py`), and writes the view to OUT_JSON, two summary figures per source to
METRICS_JSON and one row per top word to PLOT_JSON (DVC plot data). It reads no model.
"""
from __future__ import annotations

import argparse
import csv
from collections.abc import Iterator
from pathlib import Path

from stages.attribution.dataset_view import dataset_view, plot_rows, summary_metrics
from stages.attribution.log_odds import class_counts, z_scores
from stages.attribution.record_table import iter_records
from stages.attribution.settings import ViewSettings
from stages.attribution.word_flags import Capitals
from stages.attribution.word_stats import WordStatistics
from stages.plumbing.artifacts import run, write_json
from stages.plumbing.errors import broken, missing
from stages.plumbing.params import load_section
from stages.schemas.aggregate_words import AggregateWordsParams

READ = ("source", "text", "tokens", "attributions", "predicted", "cut_at", "position")


def training_rows(path: Path) -> Iterator[tuple[str, int]]:
    """(text, label) of each training review, read a row at a time."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                yield row["text"], int(row["label"])
    except FileNotFoundError:
        raise missing(path, "decode") from None
    except (KeyError, ValueError, csv.Error) as error:
        raise broken(path, f"not the decoded training split ({type(error).__name__})", "decode") from None


def aggregated(records_parquet: Path, settings: ViewSettings) -> tuple[WordStatistics, Capitals, int]:
    """The records streamed into per-word figures and capitalisation counts, one record held at a time; and
    how many there were."""
    statistics = WordStatistics(top_k=settings.top_k, resamples=settings.resamples, seed=settings.seed)
    capitals, count = Capitals(), 0
    for record in iter_records(records_parquet, columns=READ):
        statistics.add(record)
        capitals.add(record.text)
        count += 1
    return statistics, capitals, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("records_parquet", "decoded_dir", "out_json", "metrics_json", "plot_json"):
        parser.add_argument(name, type=Path)
    args = parser.parse_args()
    settings = load_section(AggregateWordsParams).view_settings()
    statistics, capitals, count = aggregated(args.records_parquet, settings)
    negative, positive = class_counts(training_rows(args.decoded_dir / "train.csv"))
    view = dataset_view(statistics, capitals, z_scores(negative, positive, settings.prior_words), settings, count)
    metrics = summary_metrics(view)
    write_json(args.out_json, view)
    write_json(args.metrics_json, metrics)
    write_json(args.plot_json, plot_rows(view))
    for source, classes in view["sources"].items():
        for name, entry in classes.items():
            words = ", ".join(row["word"] + (f" [{'/'.join(row['flags'])}]" if row["flags"] else "")
                              for row in entry["top"][:8])
            print(f"{source}, toward {name} ({entry['documents']} documents): {words or 'no word ranked'}")
    print(metrics)


if __name__ == "__main__":
    run(main)
