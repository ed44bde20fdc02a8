"""What the explain stages explain: examples from the token files and free sentences, with where a
long one was cut, and the flat per-token rows DVC plots of explained records."""
from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from stages.attribution.record import ExplainedExample
from stages.plumbing.errors import UserError, broken
from stages.plumbing.texts import cut_position, encode

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class Example:
    source: str  # imdb | rotten_tomatoes | sentences
    id: int
    text: str
    token_ids: np.ndarray
    label: int | None
    tokens_cut: int = 0  # tokens the model's length left out
    cut_at: int | None = None  # position of the first token after the cut

    @property
    def truncated(self) -> bool:
        return self.tokens_cut > 0


def from_token_file(source: str, tokens: dict[str, np.ndarray], texts: pd.DataFrame, count: int, tokenizer: Any,
                    max_len: int, truncation: str) -> list[Example]:
    """The first `count` examples of a tokenized set, without their padding, with where a long one was cut.

    The texts are encoded again with the tokenize settings: the ids must be those of the token file.
    """
    count = min(count, len(tokens["label"]))
    if not np.array_equal(tokens["id"][:count], texts.id.to_numpy()[:count]):
        raise UserError(f"{source}: the decoded texts and the token file list other examples; "
                        "rebuild them with `dvc repro -f tokenize`")
    encoded = encode(texts.text.iloc[:count].tolist(), tokenizer, max_len, truncation)
    if not np.array_equal(encoded["input_ids"], tokens["input_ids"][:count]):
        raise broken(source, "the token file was made with other tokenize settings or another tokenizer", "tokenize")
    return [Example(source=source, id=int(tokens["id"][i]), text=str(texts.text.iloc[i]), label=int(tokens["label"][i]),
                    token_ids=tokens["input_ids"][i, :int(tokens["attention_mask"][i].sum())],
                    **cut(int(encoded["full_length"][i]), max_len, truncation))
            for i in range(count)]


def cut(full_length: int, max_len: int, truncation: str) -> dict[str, Any]:
    """How many tokens a text of `full_length` loses to `max_len`, and where."""
    if full_length <= max_len:
        return {}
    return {"tokens_cut": full_length - max_len, "cut_at": cut_position(max_len, truncation)}


def from_texts(source: str, texts: Sequence[str], ids: Sequence[int], labels: Sequence[int | None], tokenizer: Any,
               max_len: int, truncation: str = "head") -> list[Example]:
    """Texts tokenized like the training data, each cut to `max_len` as tokenize cuts it."""
    arrays = encode(list(texts), tokenizer, max_len, truncation)
    return [Example(source=source, id=int(example_id), text=text, label=label,
                    token_ids=arrays["input_ids"][index, :int(arrays["attention_mask"][index].sum())],
                    **cut(int(arrays["full_length"][index]), max_len, truncation))
            for index, (text, example_id, label) in enumerate(zip(texts, ids, labels))]


def from_sentences(sentences: Sequence[str], tokenizer: Any, max_len: int,
                   truncation: str = "head") -> list[Example]:
    """Free text, tokenized like the training data; a sentence longer than `max_len` is truncated."""
    examples = from_texts("sentences", sentences, range(len(sentences)), [None] * len(sentences), tokenizer,
                          max_len, truncation)
    for example in examples:
        if example.truncated:
            print(f"warning: sentence {example.id} has {example.tokens_cut + max_len} tokens; explained truncated "
                  f"to {max_len}", file=sys.stderr)
    return examples


def plot_rows(records: Sequence[ExplainedExample]) -> list[dict[str, Any]]:
    """Flat rows for DVC's plots: one per token of each record (template .dvc/plots/attributions.json)."""
    return [{"example": f"{record.source} #{record.id}", "position": position, "token": token,
             "label": f"{position:04d} {token}", "attribution": attribution}
            for record in records
            for position, (token, attribution) in enumerate(zip(record.tokens, record.attributions))]
