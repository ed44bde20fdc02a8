"""The explain stage's shards: which examples each one explains, and their merge into one run."""
from __future__ import annotations

import json
import re
import shutil
import sys

import numpy as np
import pytest

from stages.attribution.batching import CHUNK_SIZE, length_chunks
from stages.attribution.examples import from_sentences
from stages.attribution.quality import quality_metrics
from stages.attribution.record_table import read_records
from stages.attribution.records import explain_examples, explanations_file
from stages.attribution.shards import examples_payload, merge, read_examples, split
from stages.plumbing.artifacts import write_json
from stages.plumbing.errors import UserError
from stages.plumbing.models import load_classifier
from tests.test_explain import PARAMS

SENTENCES = ["a fine film", "dull", "i love it , i like it", "far too long and dull", "moving",
             "a wonderful , moving film", "i like it", "not good", "bad", "so nice about it",
             "i also kind of dislike it"]  # chunks of 8 and 3
SETTINGS = PARAMS.model_copy(update={"engine": "compiled", "methods": ["gradient_x_input", "random"]})


@pytest.mark.parametrize("count", [1, 2, 3])
def test_shards_are_whole_chunks_of_the_unsharded_run_dealt_out_in_turn(count):
    lengths = [5, 9, 9, 3, 7, 7, 2, 9, 4, 6, 8, 1, 5, 5, 3, 9, 2, 7, 6, 4]  # 20 examples: chunks of 8, 8, 4
    chunks = [sorted(chunk.tolist()) for chunk in length_chunks(lengths, CHUNK_SIZE)]
    shards = split(lengths, count)
    assert sorted(p for shard in shards for p in shard) == list(range(20))
    for index, shard in enumerate(shards):
        assert shard == sorted(p for chunk in chunks[index::count] for p in chunk)
        # what the shard's own explain call groups together: the unsharded run's chunks
        regrouped = [sorted(shard[i] for i in chunk)
                     for chunk in length_chunks([lengths[p] for p in shard], CHUNK_SIZE)]
        assert regrouped == chunks[index::count]


def test_a_shards_examples_read_back_as_written(tmp_path, vocab_tokenizer):
    examples = from_sentences(SENTENCES, vocab_tokenizer, max_len=4)  # the longer ones cut
    path = tmp_path / "1.json"
    write_json(path, examples_payload(1, 2, {"source": "keras"}, examples[1::2], [1, 3]))
    shard, data, read, positions = read_examples(path)
    assert (shard, data, positions) == ("1/2", {"source": "keras"}, [1, 3])
    for expected, example in zip(examples[1::2], read):
        assert example.token_ids.dtype == np.int32 and np.array_equal(example.token_ids, expected.token_ids)
        assert ((example.text, example.tokens_cut, example.cut_at)
                == (expected.text, expected.tokens_cut, expected.cut_at))
    path.write_text("{}")
    with pytest.raises(UserError, match=r"1.json: not a shard's examples \(KeyError\); rebuild it with "
                                        r"`dvc repro -f shard_examples`"):
        read_examples(path)


def write_shards(folder, classifier, tokenizer, examples, count):
    """The files `count` explain@I stages write for `examples`."""
    folder.mkdir(parents=True)
    for index, positions in enumerate(split([len(e.token_ids) for e in examples], count)):
        records = explain_examples(classifier, tokenizer, [examples[p] for p in positions], SETTINGS.ig_settings(),
                                   SETTINGS.scoring(), positions)
        content = explanations_file("tiny", "x", SETTINGS.ig_settings(), SETTINGS.scoring(), records,
                                    data={"source": "keras"}, shard=f"{index}/{count}",
                                    metrics=quality_metrics(records))
        write_json(folder / f"{index}.json", content)


@pytest.fixture(scope="module")
def explained(tmp_path_factory, tiny_bert_dir, vocab_tokenizer):
    """SENTENCES explained as one shard (folder `1`) and as two (folder `2`), on a tiny BERT."""
    root = tmp_path_factory.mktemp("explained")
    examples = from_sentences(SENTENCES, vocab_tokenizer, max_len=32)
    for count in (1, 2):
        write_shards(root / str(count), load_classifier(str(tiny_bert_dir)), vocab_tokenizer, examples, count)
    return root


def two_shards(explained, tmp_path, **changes):
    """A copy of the two shards; `changes` alter shard 1's file."""
    folder = shutil.copytree(explained / "2", tmp_path / "shards")
    shard = json.loads((folder / "1.json").read_text())
    write_json(folder / "1.json", {**shard, **changes})
    return folder


def test_two_shards_merge_into_the_one_shard_run(tmp_path, explained):
    """Byte for byte: each example's random baseline is seeded by its position in the run."""
    for count in (1, 2):
        merged = merge(explained / str(count), count)
        write_json(tmp_path / f"merged-{count}.json",
                   {**merged, "examples": [record.model_dump() for record in merged["examples"]]})
    assert (tmp_path / "merged-2.json").read_bytes() == (tmp_path / "merged-1.json").read_bytes()
    merged = json.loads((tmp_path / "merged-2.json").read_text())
    assert [r["text"] for r in merged["examples"]] == SENTENCES and "shard" not in merged and "metrics" not in merged
    assert [len(json.loads((explained / "2" / f"{i}.json").read_text())["examples"]) for i in range(2)] == [8, 3]


def run_merge(monkeypatch, folder, outputs):
    from stages import merge_explanations

    monkeypatch.setattr(sys, "argv", ["merge_explanations", str(folder), *map(str, outputs)])
    monkeypatch.setattr("stages.merge_explanations.load_section",
                        lambda name: SETTINGS.model_copy(update={"shards": [0, 1]}))
    merge_explanations.main()


@pytest.mark.parametrize("changes, message", [
    ({"shard": "1/3"}, "1.json: shard 1/3 of another split, where 1/2 is needed; run `dvc repro explain@1`"),
    ({"settings": {"n_steps": 8}}, "1.json: its 'settings' differs from shard 0's, so the shards come from different "
                                   "runs; run `dvc repro explain@1`"),
    ({"model": "other"}, "1.json: its 'model' differs from shard 0's"),
    ({"data": {"source": "raw"}}, "1.json: its 'data' differs from shard 0's"),
])
def test_a_foreign_shard_is_refused_by_name_and_nothing_is_written(tmp_path, monkeypatch, explained, changes, message):
    folder = two_shards(explained, tmp_path, **changes)
    outputs = [tmp_path / name for name in ("records.parquet", "merged.json", "metrics.json", "plot.json")]
    with pytest.raises(UserError, match=re.escape(message)):
        run_merge(monkeypatch, folder, outputs)
    assert not any(path.exists() for path in outputs)


def test_a_missing_or_broken_shard_names_the_stage_that_makes_it(tmp_path, explained):
    folder = two_shards(explained, tmp_path)
    (folder / "1.json").rename(tmp_path / "elsewhere.json")
    with pytest.raises(UserError, match=r"1.json: missing; run `dvc repro explain@1`"):
        merge(folder, 2)
    (folder / "1.json").write_text("{not json")
    with pytest.raises(UserError, match=r"1.json: not an explained shard \(JSONDecodeError: Expecting .*\); "
                                        r"rebuild it with `dvc repro -f explain@1`"):
        merge(folder, 2)


def test_the_merge_recomputes_the_metrics_from_every_record(tmp_path, monkeypatch, explained):
    outputs = [tmp_path / name for name in ("records.parquet", "merged.json", "metrics.json", "plot.json")]
    run_merge(monkeypatch, explained / "2", outputs)
    records = read_records(outputs[0])
    kept = json.loads(outputs[1].read_text())["examples"]  # 11, fewer than report_examples: git keeps all
    assert [record.model_dump() for record in records] == kept
    metrics = json.loads(outputs[2].read_text())
    assert metrics == quality_metrics(records)
    key = "sentences/completeness_error/median"  # a median of all records is no mean of the shards' medians
    assert metrics[key] == pytest.approx(float(np.median([r.completeness_error for r in records])), rel=1e-3)
    assert len(json.loads(outputs[3].read_text())) == sum(len(r.tokens) for r in records)
    assert all(key in json.loads((explained / "2" / f"{i}.json").read_text())["metrics"] for i in range(2))
