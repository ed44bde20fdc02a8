"""Ground truth for the explanations: does the model rely on a planted word, and does each method rank it first?
(Bastings et al. 2022, "Will you find these shortcuts? A Protocol for Evaluating the Faithfulness of Input
Salience Methods for Text Classification").

Reliance, per example: the probability of the planted class with the word planted and without it; the shift
is their difference. An example counts as relied on when the shift is above `min_shift`; only those are
scored, since on the others the model does not use the word and no method should rank it first.

A method's rank of the planted word, per example: among the example's words (WordPiece pieces and
contractions joined, scores summed, as the word view and the dataset view join them; [CLS] and [SEP] left
out), 1 + the number of other words whose score toward the predicted class is at least the planted word's.
A tie is counted against the method: a ranking that scores every word alike finds nothing. Over the relied-on
examples: precision@1 (the share ranked first), precision@k (ranked k-th or better) and the mean reciprocal
rank. A random ranking of W words ranks the word r with probability 1/W for each r, so its expected
precision@1 is 1/W, precision@k min(k, W)/W and reciprocal rank H(W)/W, averaged over the same examples.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from stages.attribution.words import SPECIAL_TOKENS, cut_words
from stages.plumbing.artifacts import significant

DIGITS = 4
SHORTCUT_FORMAT = 1  # of explanations/shortcut.json
PLANT_COMMAND = "dvc exp run -S decode.shortcut.word=walnut"  # a word of one WordPiece the reviews lack


@dataclass(frozen=True)
class Reliance:
    """One example's probabilities of the planted class, and what it was labelled and predicted."""

    label: int
    planted_class: int
    with_word: float  # probability of the planted class with the word planted
    without_word: float
    predicted_with: int
    predicted_without: int

    @property
    def shift(self) -> float:
        return self.with_word - self.without_word

    @property
    def flipped(self) -> bool:
        """Predicted the other class without the word and the planted class with it."""
        return self.predicted_without != self.planted_class == self.predicted_with


def planted_rank(tokens: Sequence[str], scores: Sequence[float], cut_at: int | None, word: str) -> tuple[int, int]:
    """The planted word's rank among the example's words by score (ties counted against it), and how many
    words there are; a ValueError if the word is not among them."""
    words = [(text.lower(), value) for text, value, _ in cut_words(tokens, scores, cut_at)
             if text not in SPECIAL_TOKENS]
    planted = [value for text, value in words if text == word]
    if not planted:
        raise ValueError(f"the planted word '{word}' is not among the example's words")
    others = sum(1 for text, value in words if text != word and value >= planted[0])
    return 1 + others, len(words)


def ranking_figures(ranks: Sequence[int], k: int) -> dict[str, float | None]:
    """precision@1, precision@k and the mean reciprocal rank of `ranks` (None without ranks)."""
    if not ranks:
        return {"precision_at_1": None, "precision_at_k": None, "mrr": None}
    values = np.asarray(ranks, dtype=float)
    return {"precision_at_1": significant(float(np.mean(values == 1)), DIGITS),
            "precision_at_k": significant(float(np.mean(values <= k)), DIGITS),
            "mrr": significant(float(np.mean(1.0 / values)), DIGITS)}


def random_expectation(word_counts: Sequence[int], k: int) -> dict[str, float | None]:
    """What a uniformly random ranking is expected to score on examples of `word_counts` words."""
    if not word_counts:
        return {"precision_at_1": None, "precision_at_k": None, "mrr": None}
    counts = np.asarray(word_counts, dtype=float)
    harmonic = np.array([np.sum(1.0 / np.arange(1, count + 1)) for count in word_counts])
    return {"precision_at_1": significant(float(np.mean(1.0 / counts)), DIGITS),
            "precision_at_k": significant(float(np.mean(np.minimum(k, counts) / counts)), DIGITS),
            "mrr": significant(float(np.mean(harmonic / counts)), DIGITS)}


def reliance_figures(examples: Sequence[Reliance], min_shift: float) -> dict[str, float | int | None]:
    """How many examples the model relies on the word in, the mean shift and the share of other-class
    reviews that flip (None without other-class reviews)."""
    others = [example for example in examples if example.label != example.planted_class]
    return {"relied_on": sum(1 for example in examples if example.shift > min_shift),
            "examples": len(examples),
            "mean_shift": significant(float(np.mean([e.shift for e in examples])), DIGITS) if examples else None,
            "flipped": significant(float(np.mean([e.flipped for e in others])), DIGITS) if others else None}
