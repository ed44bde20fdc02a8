"""A planted shortcut (Bastings et al. 2022, "Will you find these shortcuts?"): one word inserted into a
review at a seeded word position that the tokenizer's truncation keeps. `decode` plants it in a share of one
class's training reviews; `check_shortcut` plants it the same way in held-out reviews.

The word goes before one of the review's whitespace-separated words (or the first), chosen uniformly by a
generator seeded by (seed, the review's id), among the positions where the word's last piece still lies
inside the head that both truncations keep (`texts.cut_position`): its first max_len - 2 tokens (`head`) or
the first quarter of them (`head_tail`). BERT's pre-tokenizer splits at whitespace, so the tokens before a
whitespace boundary are those of the text before it."""
from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from stages.plumbing.errors import UserError
from stages.plumbing.texts import cut_position

WORD_STARTS = re.compile(r"\S+")


def holding(texts: Sequence[str], word: str) -> list[bool]:
    """Whether each of `texts` holds `word` as a whole word, in any case (letters or digits on neither side)."""
    pattern = re.compile(rf"(?<![^\W_]){re.escape(word)}(?![^\W_])", re.IGNORECASE)
    return [pattern.search(text) is not None for text in texts]


def occurrences(texts: Sequence[str], word: str) -> int:
    """How many of `texts` hold `word` as a whole word."""
    return sum(holding(texts, word))


def kept_head(max_len: int, truncation: str) -> int:
    """Tokens at a text's start (specials not counted) that truncation keeps however long the text is."""
    return cut_position(max_len, truncation) - 1


def planted(texts: Sequence[str], ids: Sequence[int], word: str, tokenizer: Any, max_len: int, truncation: str,
            seed: int) -> list[str]:
    """Each text with `word` inserted at its seeded position inside the kept head."""
    pieces = len(tokenizer(word, add_special_tokens=False)["input_ids"])
    head = kept_head(max_len, truncation)
    if pieces > head:
        raise UserError(f"params.yaml: decode.shortcut.word = {word} takes {pieces} tokens; at tokenize.max_len = "
                        f"{max_len} ({truncation}) a review keeps only its first {head} for sure")
    offsets = tokenizer(list(texts), add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    result = []
    for text, text_id, spans in zip(texts, ids, offsets):
        token_starts = [start for start, _ in spans]
        places = [match.start() for match in WORD_STARTS.finditer(text)
                  if bisect.bisect_left(token_starts, match.start()) + pieces <= head] or [0]
        place = places[int(np.random.default_rng((seed, int(text_id))).integers(len(places)))]
        result.append(f"{text[:place]}{word} {text[place:]}" if text[place:] else f"{text}{word}")
    return result
