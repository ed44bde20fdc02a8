"""Whole words from WordPiece tokens, with their summed attributions."""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

SPECIAL_TOKENS = frozenset({"[CLS]", "[SEP]"})  # no attribution by construction: kept as they are
PAD_TOKEN = "[PAD]"
CONTINUATION = "##"


class Word(NamedTuple):
    text: str
    attribution: float
    pieces: int


def merge_wordpieces(tokens: Sequence[str], attributions: Sequence[float]) -> list[Word]:
    """Whole words from WordPiece tokens; a word's attribution is the sum of its pieces' (so totals keep
    adding up to f(x) - f(baseline)). Padding is dropped."""
    words: list[Word] = []
    for token, attribution in zip(tokens, attributions):
        if token == PAD_TOKEN:
            continue
        if token.startswith(CONTINUATION) and words and words[-1].text not in SPECIAL_TOKENS:
            last = words[-1]
            words[-1] = Word(last.text + token[len(CONTINUATION):], last.attribution + attribution,
                             last.pieces + 1)
        else:
            words.append(Word(token, float(attribution), 1))
    return words
