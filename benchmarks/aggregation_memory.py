"""Peak memory of the `aggregate_words` stage's aggregation on many records: it streams them, so its memory
follows the vocabulary, not the number of records.

Usage: python -m benchmarks.aggregation_memory [--records 200000] [--vocabulary 5000]
                                               [--out benchmarks/aggregation_memory.json]   (`make bench-memory`)
Writes --records synthetic records (20 words each drawn from --vocabulary words, random attributions, both
predicted classes) to a Parquet file as `merge_explanations` writes them, then aggregates them as the stage
does (`stages.aggregate_words.aggregated`, params.yaml's settings) in a fresh process, once with the bootstrap
resamples of params.yaml and once with none, and reports each process's peak resident memory (VmHWM) against
the target: under 300 MB at 200,000 records.
"""
from __future__ import annotations

import argparse
import dataclasses
import random
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from benchmarks.report import machine_info
from stages.attribution.record import ExplainedExample, parsed
from stages.attribution.record_table import write_records
from stages.plumbing.artifacts import run, write_json
from stages.plumbing.errors import UserError

WORDS_PER_RECORD = 20
TARGET_MB = 300  # peak resident MB with params.yaml's resamples, at TARGET_SIZE
TARGET_SIZE = (200_000, 5000)  # records, vocabulary


def synthetic_records(count: int, vocabulary: int, seed: int = 0) -> Iterator[ExplainedExample]:
    """`count` held-out reviews of WORDS_PER_RECORD words from `vocabulary` words, predicted alternately negative
    and positive, one attribution a token drawn from [-1, 1]."""
    rng = random.Random(seed)
    words = [f"w{index}" for index in range(vocabulary)]
    for index in range(count):
        chosen = rng.choices(words, k=WORDS_PER_RECORD)
        tokens = ["[CLS]", *chosen, "[SEP]"]
        yield parsed({"source": "imdb", "id": index, "text": " ".join(chosen).capitalize() + ".", "label": index % 2,
                      "truncated": False, "tokens_cut": 0, "cut_at": None, "token_ids": list(range(len(tokens))),
                      "tokens": tokens, "attributions": [0.0, *(rng.uniform(-1, 1) for _ in chosen), 0.0],
                      "predicted": index % 2, "probability": 0.9, "f_x": 0.9, "f_baseline": 0.5, "delta": 0.0,
                      "completeness_error": 0.0, "n_steps": 50, "faithfulness": {}, "rank_agreement": {},
                      "position": index})


def aggregate(path: Path, resamples: int | None) -> dict[str, int]:
    """The stage's aggregation of `path` in this process (resamples: params.yaml's when None): records, words
    counted (a word in each class it was predicted in), this process's peak resident MB."""
    from stages.aggregate_words import aggregated
    from stages.plumbing.params import load_section
    from stages.schemas.aggregate_words import AggregateWordsParams

    settings = load_section(AggregateWordsParams).view_settings()
    if resamples is not None:
        settings = dataclasses.replace(settings, resamples=resamples)
    statistics, _, count = aggregated(path, settings)
    # VmHWM, not getrusage's ru_maxrss: Linux keeps the latter across exec, so it would count a larger parent's
    with open("/proc/self/status") as status:
        peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    return {"records": count, "words": sum(len(words) for words in statistics.words.values()),
            "peak_rss_mb": peak_kb // 1024, "resamples": statistics.resamples}


def measured(path: Path, resamples: int | None) -> dict[str, int]:
    """`aggregate` in a fresh process (its own peak, no writer's pages)."""
    command = [sys.executable, "-m", "benchmarks.aggregation_memory", "--aggregate", str(path)]
    result = subprocess.run([*command, *(["--resamples", str(resamples)] if resamples is not None else [])],
                            capture_output=True, text=True, check=True)
    records, words, peak, used = map(int, result.stdout.split())
    return {"records": records, "words": words, "peak_rss_mb": peak, "resamples": used}


def target_met(records: int, vocabulary: int, peak_rss_mb: int) -> bool | None:
    """Whether the run with resamples stayed under TARGET_MB; None at any size other than TARGET_SIZE."""
    return peak_rss_mb < TARGET_MB if (records, vocabulary) == TARGET_SIZE else None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--vocabulary", type=int, default=5000)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/aggregation_memory.json"))
    parser.add_argument("--aggregate", type=Path, help=argparse.SUPPRESS)  # the measured process
    parser.add_argument("--resamples", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for option, value in (("--records", args.records), ("--vocabulary", args.vocabulary)):
        if value < 1:
            raise UserError(f"{option} {value}: expected an integer >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.aggregate:
        figures = aggregate(args.aggregate, args.resamples)
        print(figures["records"], figures["words"], figures["peak_rss_mb"], figures["resamples"])
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "records.parquet"
        write_records(path, {}, synthetic_records(args.records, args.vocabulary))
        runs = {"with_resamples": measured(path, None), "without_resamples": measured(path, 0)}
    met = target_met(args.records, args.vocabulary, runs["with_resamples"]["peak_rss_mb"])
    write_json(args.out, {"machine": machine_info(), "records": args.records, "vocabulary": args.vocabulary, **runs,
                          "target": {"peak_rss_mb_below": TARGET_MB, "met": met}})
    for name, figures in runs.items():
        print(f"{name.replace('_', ' ')} ({figures['resamples']}): {figures['records']} records, "
              f"{figures['words']} words, peak {figures['peak_rss_mb']} MB resident")
    verdict = {True: "met", False: "NOT MET", None: "set for 200,000 records of 5,000 words only"}[met]
    print(f"target, under {TARGET_MB} MB resident: {verdict}; wrote {args.out}")


if __name__ == "__main__":
    run(main)
