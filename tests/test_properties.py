"""Properties, for any records hypothesis draws: the dataset view and the merged figures do not depend on the
order of the records, on their Parquet files and row groups, or on the shard and chunk an example was explained
in; a run compared with itself agrees perfectly and is reproduced; a record counts exactly its own words."""
from __future__ import annotations

import json
import math
import sys
from collections import Counter
from functools import partial
from pathlib import Path
from typing import Any
from unittest import mock

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stages import aggregate_words, merge_explanations
from stages.attribution import record_table
from stages.attribution.agreement import summary
from stages.attribution.dataset_view import dataset_view, difference, plot_rows, summary_metrics
from stages.attribution.log_odds import class_counts, z_scores
from stages.attribution.quality import quality_metrics, source_summaries
from stages.attribution.record import ExplainedExample, parsed
from stages.attribution.record_table import iter_records, read_records, write_records
from stages.attribution.records import explanations_file
from stages.attribution.shards import split
from stages.attribution.word_flags import Capitals
from stages.attribution.word_stats import WordFigures, WordStatistics
from stages.plumbing.artifacts import significant, write_json
from stages.schemas.aggregate_words import AggregateWordsParams
from stages.schemas.explain import ExplainParams
from tests.conftest import explained_record
from tools.compare import REPRODUCTION_TOLERANCE, compare_examples, verdict

SOURCES = ("imdb", "rotten_tomatoes", "sentences")
FILES = {"imdb": "explanations/finetuned.json", "rotten_tomatoes": "explanations/finetuned.json",
         "sentences": "explanations/sentences.json"}
FIRST_PIECES = ("good", "Good", "bad", "film", "plot", "un", "?", "10", "br", "Kubrick", "the")  # flagged ones too
CONTINUATIONS = ("##s", "##able", "##ly", "##X")
RIVALS = ("gradient_x_input", "saliency", "occlusion", "random")
SPECIAL = ("[CLS]", "[SEP]")
Z_SCORES = {"good": 2.5, "bad": -3.0, "film": 0.1, "10": 2.2, "?": -2.0, "kubrick": 1.97}
EXPLAIN = ExplainParams(n_reviews=0, n_rt_sentences=0, shards=[0], sentences=[], layer="embeddings", n_steps=20,
                        method="gausslegendre", engine="alibi", internal_batch_size=40, completeness_target=0.05,
                        max_steps=40, faithfulness_k=[0.1, 0.5], seed=0, methods=["random"])
ENOUGH_TIME = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # 2 busy cores: never flaky

# Multiples of 1/4 in [-2, 2]: a sum of a few hundred of them is exact in binary, whatever the order of its
# terms. A sum of arbitrary floats depends on that order by an ulp, which rounding to 4 significant digits
# shows when the exact sum is a rounding midpoint: a word attributed 1.0, 0.2647402, 0.3340043 and -0.8321945
# in four documents sums to 0.7665 in that order and to 0.7666 with the middle two swapped. No user sees that:
# the pipeline never reorders records (the merge restores the run's order, Parquet keeps it). So the
# properties over a permutation draw these exact values, and those that keep the order draw any attribution.
EXACT = st.integers(-8, 8).map(lambda n: n / 4)
REALISTIC = st.floats(-2, 2, allow_nan=False).map(significant)  # what `records.record` stores: 7 digits
VIEW_PARAMS = st.builds(AggregateWordsParams, min_documents=st.integers(1, 3),
                        shrinkage=st.sampled_from([0.0, 1.0, 5.0]), top_k=st.integers(1, 4),
                        top_words=st.integers(1, 20), resamples=st.sampled_from([0, 30]),
                        seed=st.integers(0, 3))


@st.composite
def records(draw: st.DrawFn, values: st.SearchStrategy[float], methods: tuple[str, ...] = (),
            sources: tuple[str, ...] = SOURCES) -> ExplainedExample:
    """One explained record: words of WordPiece pieces, perhaps cut, perhaps padded, with its figures."""
    pieces = st.tuples(st.sampled_from(FIRST_PIECES), st.lists(st.sampled_from(CONTINUATIONS), max_size=2))
    words = draw(st.lists(pieces, max_size=6))  # none at all too: [CLS] [SEP], what "\u200b" becomes
    tokens = ["[CLS]", *(piece for first, rest in words for piece in (first, *rest)), "[SEP]"]
    cut_at = draw(st.none() | st.integers(1, len(tokens) - 1))  # the first token after the cut
    tokens += ["[PAD]"] * draw(st.integers(0, 2))  # padding, where there is any, comes last
    source = draw(st.sampled_from(sources))
    text = " ".join(first + "".join(piece[2:] for piece in rest) + draw(st.sampled_from(("", "", ".", "!")))
                    for first, rest in words)
    faithfulness = {f"{name}/{method}": draw(values) for method in ("ig", *methods)
                    for name in ("comprehensiveness", "sufficiency")}
    rank_agreement = {f"kendall_tau/{method}": draw(st.none() | values.map(lambda v: v / 2)) for method in methods}
    return explained_record(source, 0, tokens, [draw(values) for _ in tokens],  # specials too: never counted
                            text=text, label=None if source == "sentences" else draw(st.integers(0, 1)),
                            truncated=cut_at is not None, tokens_cut=0 if cut_at is None else draw(st.integers(1, 99)),
                            cut_at=cut_at, predicted=draw(st.integers(0, 1)), probability=0.5 + abs(draw(values)) / 4,
                            completeness_error=abs(draw(values)), n_steps=draw(st.integers(1, 64)),
                            faithfulness=faithfulness, rank_agreement=rank_agreement)


@st.composite
def runs(draw: st.DrawFn, values: st.SearchStrategy[float], min_size: int = 0,
         max_size: int = 12) -> list[ExplainedExample]:
    """A run's records in run order, at positions 0, 1, ..., each with an id of its own (in no order), all with
    the run's rival methods. A run has one to three sources, often one: its records then share groups."""
    methods = tuple(draw(st.lists(st.sampled_from(RIVALS), unique=True, max_size=2)))
    sources = tuple(draw(st.lists(st.sampled_from(SOURCES), unique=True, min_size=1, max_size=3)))
    drafted = draw(st.lists(records(values, methods, sources), min_size=min_size, max_size=max_size))
    ids = draw(st.lists(st.integers(0, 25_000), unique=True, min_size=len(drafted), max_size=len(drafted)))
    return [record.model_copy(update={"id": example_id, "position": position})
            for position, (record, example_id) in enumerate(zip(drafted, ids))]


def tied_runs(**sizes: int) -> st.SearchStrategy[list[ExplainedExample]]:
    """Runs whose figures take a few EXACT values each, so that many words tie in score: where a tie broken by
    which record came first would show."""
    return st.lists(EXACT, min_size=1, max_size=4, unique=True).flatmap(
        lambda palette: runs(st.sampled_from(palette), **sizes))


def dataset_figures(records: list[ExplainedExample], params: AggregateWordsParams,
                    z: dict[str, float] = Z_SCORES) -> dict[str, Any]:
    """What `aggregate_words` writes for `records`, read in this order: the view, its metrics, its plot rows."""
    statistics = WordStatistics(top_k=params.top_k, resamples=params.resamples, seed=params.seed)
    capitals = Capitals()
    for record in records:
        statistics.add(record)
        capitals.add(record.text)
    view = dataset_view(statistics, capitals, z, params.view_settings(), len(records))
    return {"view": view, "metrics": summary_metrics(view), "plot": plot_rows(view)}


def as_written(payload: Any, folder: Path, name: str) -> bytes:
    """`payload`'s bytes as a stage writes them (floats, -0.0 and all)."""
    write_json(folder / name, payload)
    return (folder / name).read_bytes()


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A folder the examples of a test overwrite in turn, with a training split for `aggregate_words`."""
    root = tmp_path_factory.mktemp("properties")
    (root / "decoded").mkdir()
    (root / "decoded" / "train.csv").write_text('id,text,label\n1,"Good, good film. By Kubrick!",1\n'
                                                '2,"A bad film, 10 ? br",0\n')
    return root


@settings(ENOUGH_TIME, max_examples=100)
@given(tied_runs(min_size=2, max_size=16), VIEW_PARAMS, st.data())
def test_the_dataset_view_is_the_same_in_any_order_of_the_records(folder, records, params, data):
    """The view, its metrics and its plot rows are the same bytes for any permutation of the records."""
    expected = dataset_figures(records, params)
    for order in (data.draw(st.permutations(records)), records[::-1]):
        got = dataset_figures(order, params)
        for part in expected:
            assert as_written(got[part], folder, "got.json") == as_written(expected[part], folder, "expected.json")


@settings(ENOUGH_TIME, max_examples=40)
@given(runs(REALISTIC, max_size=16), VIEW_PARAMS, st.integers(1, 5), st.integers(1, 5))
def test_the_stage_writes_the_same_view_whatever_the_row_groups_and_batches(folder, records, params,
                                                                             rows_per_group, batch_rows):
    """`aggregate_words` on a Parquet file of any row-group size, read any number of rows at a time, writes
    the view of the records as they are in memory."""
    outputs = [folder / "dataset.json", folder / "metrics.json", folder / "plot.json"]
    with mock.patch.object(record_table, "ROWS_PER_GROUP", rows_per_group):
        write_records(folder / "records.parquet", {}, records)
    assert pq.ParquetFile(folder / "records.parquet").num_row_groups == max(1, math.ceil(len(records) / rows_per_group))
    with mock.patch.object(sys, "argv", ["aggregate_words", str(folder / "records.parquet"), str(folder / "decoded"),
                                         *map(str, outputs)]), \
            mock.patch.object(aggregate_words, "load_section", lambda section: params), \
            mock.patch.object(aggregate_words, "iter_records", partial(iter_records, batch_rows=batch_rows)):
        aggregate_words.main()
    z = z_scores(*class_counts(aggregate_words.training_rows(folder / "decoded" / "train.csv")), params.prior_words)
    expected = dataset_figures(records, params, z)
    for path, part in zip(outputs, ("view", "metrics", "plot")):
        assert path.read_bytes() == as_written(expected[part], folder, "expected.json"), part


@settings(ENOUGH_TIME, max_examples=60)
@given(runs(REALISTIC, max_size=16), VIEW_PARAMS, st.data())
def test_records_split_across_parquet_files_read_in_sequence_give_the_view_of_them_all(folder, records, params,
                                                                                        data):
    """The records written to several Parquet files (any row groups) and read back one file after another,
    as the stage reads them, give the view of all the records."""
    cuts = sorted(data.draw(st.lists(st.integers(0, len(records)), max_size=3)))
    pieces = [records[start:end] for start, end in zip([0, *cuts], [*cuts, len(records)])]
    for index, piece in enumerate(pieces):
        with mock.patch.object(record_table, "ROWS_PER_GROUP", data.draw(st.integers(1, 4))):
            write_records(folder / f"part-{index}.parquet", {}, piece)
    read = [record for index in range(len(pieces))
            for record in iter_records(folder / f"part-{index}.parquet", columns=aggregate_words.READ,
                                       batch_rows=data.draw(st.integers(1, 4)))]
    expected, got = dataset_figures(records, params), dataset_figures(read, params)
    for part in expected:
        assert as_written(got[part], folder, "got.json") == as_written(expected[part], folder, "expected.json")


def merge_stage(folder: Path, shards: list[list[ExplainedExample]], report_examples: int) -> dict[str, bytes]:
    """Write `shards` as the explain@I stages would, run `merge_explanations` on them; its files' bytes."""
    count = len(shards)
    for index, members in enumerate(shards):
        write_json(folder / "shards" / f"{index}.json",
                   explanations_file("tiny", "checkpoint", EXPLAIN.ig_settings(), EXPLAIN.scoring(), members,
                                     data={"source": "keras"}, shard=f"{index}/{count}",
                                     metrics=quality_metrics(members)))
    outputs = {name: folder / name for name in ("records.parquet", "merged.json", "metrics.json", "plot.json")}
    params = EXPLAIN.model_copy(update={"shards": list(range(count)), "report_examples": report_examples})
    with mock.patch.object(sys, "argv", ["merge_explanations", str(folder / "shards"), *map(str, outputs.values())]), \
            mock.patch.object(merge_explanations, "load_section", lambda section: params):
        merge_explanations.main()
    return {name: path.read_bytes() for name, path in outputs.items()}


@settings(ENOUGH_TIME, max_examples=40)
@given(runs(REALISTIC, max_size=14), st.integers(1, 4), st.integers(0, 3), st.booleans(), st.data())
def test_the_merged_files_are_those_of_the_unsharded_run_however_the_examples_were_sharded(
        folder, records, count, report_examples, dealt, data):
    """Whichever shard and chunk explained each example (the chunks dealt out as `split` deals them, or any
    other way) and in whatever order a shard lists its records, `merge_explanations` writes the bytes of the
    one-shard run, whose metrics are the quality figures of all the records."""
    if dealt:
        shard_of = {position: index for index, positions in enumerate(split([len(r.token_ids) for r in records],
                                                                             count))
                    for position in positions}
    else:
        shard_of = dict(enumerate(data.draw(st.lists(st.integers(0, count - 1), min_size=len(records),
                                                     max_size=len(records)))))
    order = data.draw(st.permutations(records))
    sharded = merge_stage(folder, [[r for r in order if shard_of[r.position] == index] for index in range(count)],
                          report_examples)
    unsharded = merge_stage(folder, [records], report_examples)
    assert sharded == unsharded
    assert read_records(folder / "records.parquet") == records
    assert json.loads(unsharded["metrics.json"]) == quality_metrics(records)
    assert json.loads(unsharded["merged.json"])["sources"] == source_summaries(records)


@settings(ENOUGH_TIME, max_examples=150)
@given(tied_runs(min_size=1), st.data())
def test_the_quality_figures_are_the_same_in_any_order_of_the_records(records, data):
    """The merged metrics (median, max and means per source) and each source's summary do not depend on the
    order of the records."""
    for order in (data.draw(st.permutations(records)), records[::-1]):
        assert quality_metrics(order) == quality_metrics(records)
        assert source_summaries(order) == source_summaries(records)


@settings(ENOUGH_TIME, max_examples=80)
@given(runs(REALISTIC, min_size=1) | tied_runs(min_size=1), st.integers(1, 6))  # constant attributions too
def test_a_run_compared_with_itself_agrees_perfectly_and_is_reproduced(folder, records, top_k):
    """Every example of a run (one side from its JSON, the other from its Parquet records) compared with
    itself: comparable token by token, rank correlations 1 where defined, top-k and sign agreement 1,
    relative L1 difference 0 (undefined for all-zero attributions; every measure undefined for an example of
    [CLS] and [SEP] alone, e.g. the sentence "\\u200b"), and the verdict `reproduced` with no tolerance at all."""
    write_records(folder / "self.parquet", {}, records)
    left = {(FILES[r.source], r.source, r.id, r.text): parsed(r.model_dump()) for r in records}
    right = {(FILES[r.source], r.source, r.id, r.text): r for r in read_records(folder / "self.parquet")}
    rows = compare_examples(left, right, top_k)
    assert len(rows) == len(records)
    for row in rows:
        record = left[(row["file"], row["source"], row["id"], row["text"])]
        ordinary = [value for token, value in zip(record.tokens, record.attributions) if token not in SPECIAL]
        ranked = len(ordinary) >= 2 and max(ordinary) > min(ordinary)
        assert row["comparable"] and row["level"] == "token" and row["prediction_changed"] is False
        for measure in ("spearman", "kendall"):
            assert row[measure] == pytest.approx(1.0) if ranked else row[measure] is None
        assert row["top_k"] == row["sign_top_k"] == (1.0 if ordinary else None)
        assert row["relative_l1"] == (0.0 if any(ordinary) else None)
    pair = {"left": "HEAD", "right": "workspace", "summary": summary(rows), "rows": rows}
    assert (pair["summary"]["examples"], pair["summary"]["comparable"]) == (len(records), len(records))
    assert pair["summary"]["prediction_changed"] == 0
    for tolerance in (REPRODUCTION_TOLERANCE, 0.0):
        assert verdict(pair, tolerance).startswith(f"HEAD vs workspace: reproduced: {len(records)} examples, "
                                                   "same predictions, worst relative L1 difference 0 <= ")


@settings(ENOUGH_TIME, max_examples=100)
@given(runs(REALISTIC) | tied_runs(), VIEW_PARAMS)  # equal scores too
def test_a_dataset_view_compared_with_itself_changes_no_word_and_ranks_alike(records, params):
    """`compare`'s dataset line for a view and itself: per source and class no word entered or left the top
    list, every ranked word is common, and the Spearman correlation is 1 where defined."""
    view = dataset_figures(records, params)["view"]
    rows = difference(view, json.loads(json.dumps(view)))
    assert [(row["source"], row["class"]) for row in rows] == [(source, name) for source, classes in
                                                              view["sources"].items() for name in classes]
    for row in rows:
        scores = list(view["sources"][row["source"]][row["class"]]["scores"].values())
        assert row["entered"] == [] and row["left"] == [] and row["common_words"] == len(scores)
        assert row["spearman"] == (1.0 if len(scores) >= 2 and max(scores) > min(scores) else None)


def words_by_hand(record: ExplainedExample) -> list[tuple[str, float]]:
    """The record's words and attributions, worked out apart from the code: a `##` piece joins the word before
    it unless the cut or a special token lies between; [CLS], [SEP] and [PAD] are no words; lower-cased."""
    words: list[list[Any]] = []
    kept = [(token, value) for token, value in zip(record.tokens, record.attributions) if token != "[PAD]"]
    for index, (token, value) in enumerate(kept):
        if token.startswith("##") and index != record.cut_at and words and words[-1][0] is not None:
            words[-1] = [words[-1][0] + token[2:], words[-1][1] + value]
        else:
            words.append([None if token in SPECIAL else token, value])
    return [(text.lower(), value) for text, value in words if text is not None]


@settings(ENOUGH_TIME, max_examples=150)
@given(runs(EXACT), records(EXACT), st.integers(1, 4), st.data())
def test_adding_a_record_changes_the_counts_of_exactly_its_words_in_its_group(records, added, top_k, data):
    """A record added anywhere among the others adds one document to its (source, predicted) group and, in that
    group only, to each of its words its occurrences, one document and its attributions; every other word's
    figures, and every other group, stay as they were; top_k of its words (all, if fewer) gain a top document."""
    at = data.draw(st.integers(0, len(records)))
    added = added.model_copy(update={"id": 25_001, "position": len(records)})
    before = WordStatistics(top_k=top_k).add_all(records)
    after = WordStatistics(top_k=top_k).add_all([*records[:at], added, *records[at:]])
    group, words = (added.source, added.predicted), words_by_hand(added)
    counts = Counter(word for word, _ in words)
    sums, sums_abs = Counter(), Counter()
    for word, value in words:
        sums[word] += value
        sums_abs[word] += abs(value)
    assert after.documents == {**before.documents, group: before.documents.get(group, 0) + 1}
    assert after.words.keys() == before.words.keys() | {group}
    for name, figures in after.words.items():
        old = before.words.get(name, {})
        changed = counts if name == group else Counter()
        assert figures.keys() == old.keys() | changed.keys()
        for word, now in figures.items():
            was = old.get(word, WordFigures())
            if word not in changed:
                assert now == was, (name, word)
                continue
            assert (now.occurrences, now.documents) == (was.occurrences + changed[word], was.documents + 1)
            assert (now.total, now.total_abs) == (was.total + sums[word], was.total_abs + sums_abs[word])
        tops = {word: now.top_documents - old.get(word, WordFigures()).top_documents for word, now in figures.items()}
        gained = {word for word, more in tops.items() if more}
        assert gained <= changed.keys() and len(gained) == min(top_k, len(changed))
        assert all(tops[word] == 1 for word in gained)
