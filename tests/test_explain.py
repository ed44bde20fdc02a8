"""The explain stage's inputs and records: free sentences, truncation, emoji, stored fields."""
from __future__ import annotations

import numpy as np

from stages.explain import explain_examples, from_sentences
from stages.models import load_classifier

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
