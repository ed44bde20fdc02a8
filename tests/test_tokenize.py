"""Retokenizing with the BERT tokenizer: specials, truncation, masks, length statistics."""
from __future__ import annotations

import numpy as np

from stages.tokenize import encode, fit_to_length, length_stats


def test_specials_padding_and_masks(vocab_tokenizer):
    arrays = encode(["a great film", "dull"], vocab_tokenizer, max_len=8)
    ids, mask = arrays["input_ids"], arrays["attention_mask"]
    assert ids.shape == (2, 8) and ids.dtype == np.int32
    cls, sep, pad = vocab_tokenizer.cls_token_id, vocab_tokenizer.sep_token_id, vocab_tokenizer.pad_token_id
    assert ids[0, 0] == cls and ids[0, 4] == sep and list(ids[0, 5:]) == [pad] * 3
    assert mask[0].tolist() == [1] * 5 + [0] * 3
    assert vocab_tokenizer.convert_ids_to_tokens(ids[1, :3].tolist()) == ["[CLS]", "dull", "[SEP]"]
    assert arrays["full_length"].tolist() == [5, 3]


def test_truncation_keeps_the_final_sep(vocab_tokenizer):
    arrays = encode(["one two three four five six seven eight nine ten"], vocab_tokenizer, max_len=6)
    ids = arrays["input_ids"][0]
    assert ids[-1] == vocab_tokenizer.sep_token_id and arrays["attention_mask"][0].all()
    assert arrays["full_length"][0] == 12
    stats = length_stats(arrays["full_length"], 6)
    assert stats["truncated_fraction"] == 1.0 and stats["max"] == 12


def test_wordpieces_and_unknown_characters(vocab_tokenizer):
    arrays = encode(["unbelievably 🎬"], vocab_tokenizer, max_len=16)
    tokens = vocab_tokenizer.convert_ids_to_tokens(arrays["input_ids"][0, :arrays["full_length"][0]].tolist())
    assert any(t.startswith("##") for t in tokens) and "[UNK]" in tokens


def test_empty_set_gives_empty_arrays(vocab_tokenizer):
    arrays = encode([], vocab_tokenizer, max_len=8)
    assert arrays["input_ids"].shape == (0, 8) and length_stats(arrays["full_length"], 8) == {"count": 0}


def test_head_tail_keeps_the_start_and_the_verdict(vocab_tokenizer):
    text = "start " + "middle " * 40 + "the verdict is great"
    head = encode([text], vocab_tokenizer, max_len=18, truncation="head")
    head_tail = encode([text], vocab_tokenizer, max_len=18, truncation="head_tail")
    as_tokens = lambda arrays: vocab_tokenizer.convert_ids_to_tokens(arrays["input_ids"][0].tolist())
    assert as_tokens(head)[:3] == ["[CLS]", "start", "middle"] and "great" not in as_tokens(head)
    # 16 text tokens: the first 4 and the last 12
    assert as_tokens(head_tail) == ["[CLS]", "start", "middle", "middle", "middle"] + ["middle"] * 8 + [
        "the", "verdict", "is", "great", "[SEP]"]
    assert fit_to_length(list(range(10)), 4, "head_tail") == [0, 7, 8, 9]
    assert fit_to_length(list(range(3)), 4, "head_tail") == [0, 1, 2]
