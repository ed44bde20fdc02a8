"""Compare the explanations of two or more revisions: how far the attributions moved, example by example.

Usage: python -m tools.compare REV REV [REV ...] [--top-k 5] [--page-examples 100]
       [--out reports/compare.html] [--json reports/compare.json]
REV is a git revision, a DVC experiment name or `workspace`. Each revision's explanation files are read
through `dvc.api`: the files in git and, for the held-out examples, every record from
explanations/finetuned.parquet in DVC's cache (or its remote; without either, the examples git keeps).
Examples are matched by file, source, id and text, and every pair of revisions gets per-example
agreement figures (Spearman and Kendall rank correlation, top-k feature and sign agreement, relative
L1 difference, changed predictions), their median and worst, a table in
the terminal, a JSON file and a page with each example's highlighted tokens under each revision.
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from stages.attribution.agreement import MEASURES, Features, agreement, common_features, summary
from stages.attribution.dataset_view import DATASET_FORMAT, difference
from stages.attribution.record import ExplainedExample, parsed_examples
from stages.attribution.record_table import read_records
from stages.attribution.records import EXPLANATIONS_FORMAT
from stages.attribution.shortcut import SHORTCUT_FORMAT
from stages.attribution.words import SPECIAL_TOKENS, merge_wordpieces
from stages.plumbing.artifacts import atomic_path, run, write_json
from stages.plumbing.errors import UserError, missing
from stages.report.html import render_page, token_and_word_highlights
from stages.report.plausibility import plausibility_line
from stages.report.shortcut import shortcut_line

WORKSPACE = "workspace"
# Relative L1 difference of an example's attributions below which a run reproduced another. Two runs
# that differ only in floating-point order (the whole pipeline with and without oneDNN's kernels, one
# machine, other model bytes) differed by 1.6e-06 at worst (README, "Reproducing a run"); a real change
# (16 steps instead of 50, another seed) moves them by orders of magnitude more.
REPRODUCTION_TOLERANCE = 1e-4
PAGE_EXAMPLES = 100  # a card each; the held-out set's thousands would make a page of tens of megabytes
EXPLANATION_FILES = {"explanations/finetuned.json": "merge_explanations",
                     "explanations/sentences.json": "explain_sentences",
                     "explanations/pretrained.json": "explain_pretrained"}  # file -> the stage that writes it
DATASET_VIEW = "explanations/dataset.json"  # written by aggregate_words
SHORTCUT_CHECK = "explanations/shortcut.json"  # written by check_shortcut
PLAUSIBILITY_METRICS = "metrics/plausibility.json"  # written by plausibility; {} where not measured
READABLE_FORMATS = (2, EXPLANATIONS_FORMAT)  # 3 added the records file and summaries; the examples are unchanged


def read_bytes(path: str, rev: str, stage: str) -> bytes:
    """`path` as it is in the workspace or at a git revision or DVC experiment (a DVC output from the cache)."""
    if rev == WORKSPACE:
        try:
            return Path(path).read_bytes()
        except FileNotFoundError:
            raise missing(path, stage, where=" in the workspace") from None
    import dvc.api
    from dvc.exceptions import PathMissingError
    from dvc.scm import RevError

    try:
        return dvc.api.read(path, rev=rev, mode="rb")
    except RevError:
        raise UserError(f"{rev}: no such git revision or DVC experiment (see `git log` and "
                        "`dvc exp list`)") from None
    except PathMissingError:
        raise UserError(f"{path}: not in revision {rev}; run `dvc repro {stage}` there, "
                        "or compare a later revision") from None


def read_revision(rev: str) -> dict[tuple, ExplainedExample]:
    """Every explained example of `rev`, keyed by (file, source, id, text): from the records file where
    the explanations file names one, else (an older format, or records in no cache) from the file itself."""
    examples = {}
    for path, stage in EXPLANATION_FILES.items():
        try:
            payload = json.loads(read_bytes(path, rev, stage))
            current = payload.get("format") in READABLE_FORMATS and isinstance(payload["examples"], list)
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError, KeyError):
            current = False
        if not current:
            raise UserError(f"{path} at {rev}: not an explanations file of format {EXPLANATIONS_FORMAT} "
                            f"(an older run?); rerun `dvc repro {stage}` there, or compare later revisions")
        for record in every_record(payload, path, rev, stage):
            examples[(path, record.source, record.id, record.text)] = record
    return examples


def every_record(payload: dict[str, Any], path: str, rev: str, stage: str) -> list[ExplainedExample]:
    """The records an explanations file stands for: all of them from its records file, or, where that is in
    no cache or remote, the examples kept in git (with a note saying so)."""
    kept, pointer = kept_records(payload["examples"], path, rev, stage), payload.get("records")
    if not pointer or pointer["examples"] == len(kept):
        return kept
    import pyarrow as pa
    from dvc.exceptions import DvcException

    try:
        data = read_bytes(pointer["file"], rev, stage)
    except (UserError, DvcException, FileNotFoundError):
        print(f"note: {pointer['file']} at {rev} is in no DVC cache or remote at hand; comparing the {len(kept)} of "
              f"its {pointer['examples']} examples kept in {path} (`dvc pull {pointer['file']}` to compare all)",
              file=sys.stderr)
        return kept
    return read_records(pa.BufferReader(data))


def kept_records(examples: list[Any], path: str, rev: str, stage: str) -> list[ExplainedExample]:
    """The examples an explanations file keeps in git, as records; one that does not fit is refused, named."""
    try:
        return parsed_examples(examples)
    except ValueError as error:
        raise UserError(f"{path} at {rev}: {error}; rerun `dvc repro {stage}` there") from None


def read_optional(path: str, rev: str, stage: str, accept: Callable[[dict[str, Any]], bool],
                  what: str) -> dict[str, Any] | None:
    """`path` at `rev` where `accept` takes it, else None with a note that its line is left out: why, where the
    file is not there (a revision before the file, or one where its stage did not run); else the file's name."""
    reason = path
    try:
        payload = json.loads(read_bytes(path, rev, stage))
        if accept(payload):
            return payload
    except UserError as error:
        reason = str(error)
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError, KeyError, TypeError):
        pass
    print(f"note: no {what} at {rev} ({reason}); its line is left out", file=sys.stderr)
    return None


def read_dataset_view(rev: str) -> dict[str, Any] | None:
    """`rev`'s dataset-level view, or None where it has none of this format."""
    return read_optional(DATASET_VIEW, rev, "aggregate_words",
                         lambda view: view.get("format") == DATASET_FORMAT and isinstance(view["sources"], dict),
                         f"dataset view of format {DATASET_FORMAT}")


def read_shortcut_check(rev: str) -> dict[str, Any] | None:
    """`rev`'s check of a planted shortcut, or None where no word was planted there."""
    return read_optional(SHORTCUT_CHECK, rev, "check_shortcut",
                         lambda checked: checked.get("format") == SHORTCUT_FORMAT and checked["enabled"] is True,
                         "planted shortcut's check")


def read_plausibility(rev: str) -> dict[str, Any] | None:
    """`rev`'s plausibility figures, or None where it measured none (or has no such file)."""
    return read_optional(PLAUSIBILITY_METRICS, rev, "plausibility", lambda figures: isinstance(figures, dict),
                         "plausibility figures") or None


def dataset_rows(left: dict[str, Any] | None, right: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    return None if left is None or right is None else difference(left, right)


def dataset_line(pair: dict[str, Any]) -> str:
    """One line: per source and class, the rank correlation of the word scores, the top list's changes and
    the established words'."""
    parts = []
    for row in pair["dataset"]:
        spearman = "—" if row["spearman"] is None else f"{row['spearman']:.3f}"
        parts.append(f"{row['source']} toward {row['class']}: Spearman {spearman} over {row['common_words']} words, "
                     f"top list {changes(row['entered'], row['left'])}, established words "
                     f"{' → '.join(map(str, row['established']))} "
                     f"{changes(row['established_entered'], row['established_left'])}")
    return f"{pair['left']} vs {pair['right']}, dataset: " + ("; ".join(parts) or "no class in both views")


def changes(entered: list[str], left: list[str]) -> str:
    """+entered -left, with up to five words of each side that has any."""
    named = [f"{side}: {', '.join(words[:5])}" for side, words in (("in", entered), ("out", left)) if words]
    return f"+{len(entered)} -{len(left)}" + (f" ({'; '.join(named)})" if named else "")


def compare_examples(left: dict[tuple, ExplainedExample], right: dict[tuple, ExplainedExample],
                     top_k: int) -> list[dict[str, Any]]:
    """One row per example of either side: its agreement figures, or why it cannot be compared."""
    rows = []
    for key in list(left) + [key for key in right if key not in left]:
        path, source, example_id, text = key
        row: dict[str, Any] = {"file": path, "source": source, "id": example_id, "text": text,
                               "comparable": False, "level": None, "reason": None,
                               **{measure: None for measure in MEASURES}}
        if key not in left or key not in right:
            rows.append({**row, "reason": "explained in one revision only", "prediction_changed": False})
            continue
        features = common_features(left[key], right[key])
        row.update(prediction_changed=left[key].predicted != right[key].predicted,
                   completeness_error=[left[key].completeness_error, right[key].completeness_error])
        if isinstance(features, Features):
            row.update(comparable=True, level=features.level, **agreement(features.left, features.right, top_k))
        else:
            row["reason"] = features
        rows.append(row)
    return rows


def terminal_table(pairs: Sequence[dict[str, Any]], top_k: int) -> str:
    """One line per pair of revisions: counts, then each measure's median / worst."""
    headers = ["left", "right", "examples", "comparable", "prediction changed", "spearman", "kendall",
               f"top-{top_k}", f"sign top-{top_k}", "relative L1"]
    lines = [headers]
    for pair in pairs:
        figures = pair["summary"]
        lines.append([pair["left"], pair["right"], str(figures["examples"]), str(figures["comparable"]),
                      str(figures["prediction_changed"])]
                     + [f"{number(figures[measure]['median'])} / {number(figures[measure]['worst'])}"
                        for measure in MEASURES])
    widths = [max(len(line[column]) for line in lines) for column in range(len(headers))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in lines)


def verdict(pair: dict[str, Any], tolerance: float) -> str:
    """One line: did the right revision reproduce the left one's explanations?"""
    figures, problems = pair["summary"], []
    if figures["comparable"] < figures["examples"]:
        problems.append(f"{figures['examples'] - figures['comparable']} of {figures['examples']} examples "
                        "not comparable")
    if figures["prediction_changed"]:
        problems.append(f"{figures['prediction_changed']} predictions changed")
    worst = figures["relative_l1"]["worst"]
    if worst is not None and worst > tolerance:
        problems.append(f"worst relative L1 difference {worst:.3g} > {tolerance:g}")
    if problems:
        return f"{pair['left']} vs {pair['right']}: NOT reproduced: {'; '.join(problems)}"
    return (f"{pair['left']} vs {pair['right']}: reproduced: {figures['comparable']} examples, same predictions, "
            f"worst relative L1 difference {0.0 if worst is None else worst:.2g} <= {tolerance:g}")


def number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def example_views(revisions: Sequence[str], sides: Sequence[dict[tuple, ExplainedExample]],
                  pairs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each example with its highlighted tokens under each revision, the most changed first."""
    keys = list(dict.fromkeys(key for side in sides for key in side))
    by_key = {key: [] for key in keys}
    for pair in pairs:
        for row in pair["rows"]:
            by_key[(row["file"], row["source"], row["id"], row["text"])].append({**row, "pair": pair})
    views = []
    for key in keys:
        closeness = [row["spearman"] for row in by_key[key] if row["spearman"] is not None]
        views.append({"source": key[1], "id": key[2], "text": key[3], "file": key[0],
                      "closeness": min(closeness) if closeness else -2.0,  # not comparable: first
                      "rows": by_key[key],
                      "revisions": [revision_view(rev, side.get(key)) for rev, side in zip(revisions, sides)]})
    return sorted(views, key=lambda view: view["closeness"])


def revision_view(rev: str, record: ExplainedExample | None) -> dict[str, Any]:
    if record is None:
        return {"rev": rev, "missing": True}
    tokens, values = record.tokens, [float(value) for value in record.attributions]
    token_items, word_items = token_and_word_highlights(tokens, values, merge_wordpieces(tokens, values),
                                                        SPECIAL_TOKENS)
    return {"rev": rev, "missing": False, "predicted": record.predicted, "probability": record.probability,
            "tokens": token_items, "words": word_items}


def revisions_argument(values: list[str]) -> list[str]:
    if len(values) < 2 or len(set(values)) < len(values):
        raise UserError(f"compare needs two or more different revisions, got {' '.join(values) or 'none'}; "
                        "e.g. `python -m tools.compare HEAD workspace`")
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revisions", nargs="*", metavar="REV",
                        help="git revisions, DVC experiment names or `workspace` (two or more)")
    parser.add_argument("--top-k", type=int, default=5, help="features in the top-k measures (default 5)")
    parser.add_argument("--tolerance", type=float, default=REPRODUCTION_TOLERANCE,
                        help=f"relative L1 difference a reproduction may show (default {REPRODUCTION_TOLERANCE})")
    parser.add_argument("--page-examples", type=int, default=PAGE_EXAMPLES,
                        help=f"examples drawn on the page, the most changed first (default {PAGE_EXAMPLES}; "
                             "the JSON has them all)")
    parser.add_argument("--out", type=Path, default=Path("reports/compare.html"))
    parser.add_argument("--json", type=Path, default=Path("reports/compare.json"))
    args = parser.parse_args()
    revisions = revisions_argument(args.revisions)
    for option, value in (("--top-k", args.top_k), ("--page-examples", args.page_examples)):
        if value < 1:
            raise UserError(f"{option} {value}: expected an integer >= 1")
    sides = [read_revision(rev) for rev in revisions]
    views = [read_dataset_view(rev) for rev in revisions]
    checks = [read_shortcut_check(rev) for rev in revisions]
    plausible = [read_plausibility(rev) for rev in revisions]
    pairs = []
    for (left_index, left), (right_index, right) in itertools.combinations(enumerate(revisions), 2):
        rows = compare_examples(sides[left_index], sides[right_index], args.top_k)
        pair = {"left": left, "right": right, "summary": summary(rows), "rows": rows}
        pairs.append({**pair, "verdict": verdict(pair, args.tolerance),
                      "dataset": dataset_rows(views[left_index], views[right_index]),
                      "shortcut": shortcut_line(left, right, checks[left_index], checks[right_index]),
                      "plausibility": plausibility_line(left, right, plausible[left_index], plausible[right_index])})
    table = terminal_table(pairs, args.top_k)
    matrix = [[1.0 if left == right else next(
        pair["summary"]["spearman"]["median"] for pair in pairs if {pair["left"], pair["right"]} == {left, right})
        for right in revisions] for left in revisions]
    cards = example_views(revisions, sides, pairs)
    page = render_page("compare.html.j2", dataset_line=dataset_line, revisions=revisions, top_k=args.top_k, pairs=pairs,
                       matrix=matrix if len(revisions) > 2 else None, number=number,
                       examples=cards[:args.page_examples], all_examples=len(cards))
    write_json(args.json, {"revisions": revisions, "top_k": args.top_k, "median_spearman_matrix": matrix,
                           "pairs": [{key: pair[key]
                                      for key in ("left", "right", "verdict", "summary", "rows", "dataset", "shortcut",
                                                  "plausibility")}
                                     for pair in pairs]})
    with atomic_path(args.out) as staging:
        staging.write_bytes(page.encode())  # UTF-8, as the page declares, whatever the locale
    print(table)
    print("\n".join(pair["verdict"] for pair in pairs))
    for pair in pairs:
        if pair["dataset"] is not None:
            print(dataset_line(pair))
        for line in (pair["shortcut"], pair["plausibility"]):
            if line is not None:
                print(line)
    print(f"{args.out}, {args.json}: {len(pairs)} pair(s) of revisions")


if __name__ == "__main__":
    run(main)
