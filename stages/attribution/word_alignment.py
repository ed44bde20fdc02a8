"""Texts given as words (ERASER's whitespace tokens, SST's leaves) tokenized as tokenize does and cut as it cuts,
with each kept word piece's word: where human annotations, made on words, meet the model's pieces."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from stages.attribution.examples import Example, cut
from stages.plumbing.texts import fit_to_length


@dataclass(frozen=True)
class Aligned:
    """One text's model input ([CLS], its kept pieces, [SEP]) and each token's word position (-1: special)."""

    token_ids: np.ndarray
    piece_words: np.ndarray
    word_count: int
    full_length: int  # tokens before the cut, specials included

    @property
    def kept_words(self) -> np.ndarray:
        """The positions of the words with a piece the model sees, in order."""
        return np.unique(self.piece_words[self.piece_words >= 0])


def align(texts: Sequence[Sequence[str]], tokenizer: Any, max_len: int, truncation: str) -> list[Aligned]:
    """Each text's pieces from the tokenizer's batch API on its words, cut to `max_len` by `fit_to_length`:
    the same ids as the text's words joined by spaces and encoded (a tested property of BERT's tokenizer)."""
    encoded = tokenizer([list(words) for words in texts], is_split_into_words=True, add_special_tokens=False,
                        truncation=False, verbose=False)
    aligned = []
    for row, words in enumerate(texts):
        ids, owners = encoded["input_ids"][row], encoded.word_ids(row)
        budget = max_len - 2
        kept_ids, kept_owners = fit_to_length(ids, budget, truncation), fit_to_length(owners, budget, truncation)
        aligned.append(Aligned(np.asarray([tokenizer.cls_token_id, *kept_ids, tokenizer.sep_token_id], dtype=np.int32),
                               np.asarray([-1, *kept_owners, -1]), len(words), len(ids) + 2))
    return aligned


def examples(source: str, texts: Sequence[Sequence[str]], labels: Sequence[int | None], aligned: Sequence[Aligned],
             max_len: int, truncation: str) -> list[Example]:
    """The aligned texts as the explain stages' examples (id: the text's place in `texts`)."""
    return [Example(source=source, id=index, text=" ".join(words), token_ids=text.token_ids, label=label,
                    **cut(text.full_length, max_len, truncation))
            for index, (words, label, text) in enumerate(zip(texts, labels, aligned))]
