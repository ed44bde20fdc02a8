"""Whole words from WordPiece tokens, with their summed attributions: the words of the cards' word view, the
dataset view and the training split's log-odds alike.

A word is what a reader writes: WordPiece continuations (`##`) join their word, and so does a contraction,
which BERT's pre-tokenizer splits at its apostrophe (`don ' t`, `it ' s`): a word, an apostrophe and one of
the English clitics t, s, re, ve, ll, d, m make one word (`don't`, `it's`; a possessive, `film's`, too).
Other punctuation stays a word of its own: a model leaning on "!" or "?" is worth seeing, and the dataset
view flags such words as `markup`."""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

SPECIAL_TOKENS = frozenset({"[CLS]", "[SEP]"})  # no attribution by construction: kept as they are
PAD_TOKEN = "[PAD]"
CONTINUATION = "##"
APOSTROPHE = "'"
CLITICS = frozenset({"t", "s", "re", "ve", "ll", "d", "m"})  # don't, it's, you're, I've, we'll, I'd, I'm


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
    return [Word("".join(word.text for word in words[start:end]), sum(word.attribution for word in words[start:end]),
                 sum(word.pieces for word in words[start:end]))
            for start, end in reader_spans([word.text for word in words])]


def cut_words(tokens: Sequence[str], attributions: Sequence[float], cut_at: int | None) -> list[Word]:
    """`merge_wordpieces` of an example's tokens, never joining words across its truncation cut (`cut_at`,
    the first token after it): a tail that starts inside a word keeps that word's fragment."""
    return words_and_cut(tokens, attributions, cut_at)[0]


def words_and_cut(tokens: Sequence[str], attributions: Sequence[float],
                  cut_at: int | None) -> tuple[list[Word], int | None]:
    """`cut_words`, and how many of its words come before the cut, where a view marks it (None: no cut)."""
    cut = cut_at or 0
    head = merge_wordpieces(tokens[:cut], attributions[:cut])
    return head + merge_wordpieces(tokens[cut:], attributions[cut:]), None if cut_at is None else len(head)


def reader_spans(texts: Sequence[str]) -> list[tuple[int, int]]:
    """[start, end) spans of `texts` (words as BERT's pre-tokenizer splits them) that make one word each as a
    reader writes it: a contraction's three parts one span, every other text a span of its own."""
    spans, index = [], 0
    while index < len(texts):
        contraction = (index + 2 < len(texts) and texts[index + 1] == APOSTROPHE
                       and texts[index + 2].lower() in CLITICS and texts[index][-1:].isalpha())
        end = index + (3 if contraction else 1)
        spans.append((index, end))
        index = end
    return spans
