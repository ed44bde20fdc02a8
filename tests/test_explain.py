"""The explain stage's inputs and records: free sentences, truncation, emoji, stored fields."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stages.explain import explain_examples, from_sentences, from_token_file, quality_metrics
from stages.models import load_classifier
from stages.params import UserError

PARAMS = {"layer": "embeddings", "n_steps": 20, "method": "gausslegendre", "engine": "alibi",
          "internal_batch_size": 40,
          "completeness_target": 0.05, "max_steps": 40, "faithfulness_k": [0.1, 0.5], "seed": 0}


def test_long_sentences_are_truncated_and_flagged(vocab_tokenizer, capsys):
    examples = from_sentences(["short", "word " * 50, "🎬 ünïcödé"], vocab_tokenizer, max_len=16)
    assert [len(e.token_ids) for e in examples] == [3, 16, len(examples[2].token_ids)]
    assert [e.truncated for e in examples] == [False, True, False]
    assert examples[1].token_ids[-1] == vocab_tokenizer.sep_token_id
    assert "sentence 1 has 52 tokens; explained truncated to 16" in capsys.readouterr().err
    assert vocab_tokenizer.unk_token_id in examples[2].token_ids


def test_token_file_examples_must_match_their_texts():
    tokens = {"id": np.array([7, 8]), "label": np.array([1, 0]), "input_ids": np.array([[101, 5, 102], [101, 102, 0]]),
              "attention_mask": np.array([[1, 1, 1], [1, 1, 0]])}
    texts = pd.DataFrame({"id": [7, 8], "text": ["good", ""], "label": [1, 0]})
    examples = from_token_file("imdb", tokens, texts, 5)
    assert [e.id for e in examples] == [7, 8] and examples[1].token_ids.tolist() == [101, 102]
    with pytest.raises(UserError, match="imdb: the decoded texts and the token file list other examples"):
        from_token_file("imdb", tokens, texts.iloc[::-1], 2)


def test_records_carry_what_the_report_needs(tiny_bert_dir, vocab_tokenizer):
    classifier = load_classifier(str(tiny_bert_dir))
    examples = from_sentences(["a fine film", "dull and long, far too long"], vocab_tokenizer, max_len=32)
    records, metrics = explain_examples(classifier, vocab_tokenizer, examples, PARAMS)
    for example, stored in zip(examples, records):
        assert stored["token_ids"] == example.token_ids.tolist()
        assert stored["tokens"][0] == "[CLS]" and stored["tokens"][-1] == "[SEP]"
        assert stored["label"] is None and stored["source"] == "sentence"
        total = sum(stored["attributions"])
        assert abs(total - (stored["f_x"] - stored["f_baseline"]) - stored["delta"]) < 1e-5
        assert stored["probability"] == stored["f_x"] and stored["n_steps"] == 20
    assert metrics["n_examples"] == 2
    assert set(metrics) >= {"completeness_error/median", "completeness_error/max", "comprehensiveness/ig",
                            "sufficiency/ig", "comprehensiveness/random", "sufficiency/random"}
    assert all(np.isfinite(value) for value in metrics.values())


def test_shards_merge_into_the_unsharded_run(tiny_bert_dir, vocab_tokenizer):
    from stages.merge_shards import merge

    classifier = load_classifier(str(tiny_bert_dir))
    examples = from_sentences(["a fine film", "dull", "i love it , i like it", "far too long and dull"],
                              vocab_tokenizer, max_len=32)
    whole, whole_metrics = explain_examples(classifier, vocab_tokenizer, examples, PARAMS)
    shards = []
    for index in range(2):
        positions = list(range(len(examples)))[index::2]
        records, _ = explain_examples(classifier, vocab_tokenizer, [examples[p] for p in positions], PARAMS,
                                      positions)
        shards.append({"model": "tiny", "settings": PARAMS, "index": index, "count": 2, "examples": records})
    merged = merge(shards)["examples"]
    assert [r["text"] for r in merged] == [r["text"] for r in whole]
    for joined, alone in zip(merged, whole):
        assert np.allclose(joined["attributions"], alone["attributions"], atol=1e-6)
        assert joined["faithfulness"]["comprehensiveness/random"] == pytest.approx(
            alone["faithfulness"]["comprehensiveness/random"], abs=1e-6)
    assert quality_metrics(merged)["n_examples"] == whole_metrics["n_examples"] == 4


def test_an_incomplete_set_of_shards_is_refused():
    from stages.merge_shards import merge

    shard = {"model": "tiny", "settings": {}, "index": 0, "count": 3, "examples": []}
    with pytest.raises(UserError, match="all of 0..2 of 3 are needed"):
        merge([shard, {**shard, "index": 2}])
