"""What the model relies on across many explained examples: per source and predicted class, each word's
attribution figures, accumulated one record at a time (memory grows with the vocabulary, not the records).

A word is a word of the report's word view (WordPiece pieces and contractions joined, their attributions
summed, never across a truncation cut; `words`), lower-cased; [CLS], [SEP] and padding are left out. IG
attributes each example to its predicted class, so a word's attribution is toward the class the model
predicted.

The ranking score is the mean attribution per occurrence shrunk toward zero: sum / (occurrences +
shrinkage), as if each word had also been seen `shrinkage` times with attribution 0. A word seen once
with 0.5 scores 0.5 / 6 with shrinkage 5, below a word seen 20 times with mean 0.2 (4 / 25). Words in
fewer than `min_documents` documents are not ranked at all. Equal scores rank alphabetically.

Each ranked word also carries `p`, the one-sided p-value that its attribution toward the class is above
zero across its documents (`significance`); with `resamples`, each word's bootstrap resamples are kept
(`bootstrap`) for the intervals of the dataset view.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from stages.attribution.bootstrap import WordResamples
from stages.attribution.record import ExplainedExample
from stages.attribution.significance import p_above_zero
from stages.attribution.words import PAD_TOKEN, SPECIAL_TOKENS, cut_words
from stages.plumbing.artifacts import significant

CLASS_NAMES = ("negative", "positive")
DIGITS = 4


@dataclass
class WordFigures:
    occurrences: int = 0
    documents: int = 0
    total: float = 0.0  # sum of the attributions of every occurrence
    total_abs: float = 0.0
    top_documents: int = 0  # documents where the word is among the document's top-k words
    squares: float = 0.0  # sum over its documents of the square of its sum in the document


@dataclass
class WordStatistics:
    """Per (source, predicted class): the figures of every word, and how many documents were counted."""

    top_k: int
    resamples: int = 0  # bootstrap resamples kept per word (0: none)
    seed: int = 0  # of the resamples' document weights
    words: dict[tuple[str, int], dict[str, WordFigures]] = field(default_factory=dict)
    documents: dict[tuple[str, int], int] = field(default_factory=dict)
    bootstrap: dict[tuple[str, int], WordResamples] = field(default_factory=dict)

    def add(self, record: ExplainedExample) -> None:
        """Count one explained record (its source, predicted, position, tokens, attributions and cut_at)."""
        group = (record.source, record.predicted)
        self.documents[group] = self.documents.get(group, 0) + 1
        figures = self.words.setdefault(group, {})
        per_document: dict[str, float] = {}
        counts: dict[str, int] = {}
        for word, value in document_words(record):
            entry = figures.setdefault(word, WordFigures())
            entry.occurrences += 1
            entry.total += value
            entry.total_abs += abs(value)
            per_document[word] = per_document.get(word, 0.0) + value
            counts[word] = counts.get(word, 0) + 1
        for word, value in per_document.items():
            figures[word].documents += 1
            figures[word].squares += value * value
        resamples = self.bootstrap.setdefault(group, WordResamples(self.resamples, self.seed))
        resamples.add(record.position, {word: (value, counts[word]) for word, value in per_document.items()})
        for word in sorted(per_document, key=lambda w: (-per_document[w], w))[:self.top_k]:
            figures[word].top_documents += 1

    def add_all(self, records: Iterable[ExplainedExample]) -> WordStatistics:
        for record in records:
            self.add(record)
        return self


def document_words(record: ExplainedExample) -> list[tuple[str, float]]:
    """The record's words, lower-cased, with their attributions; words never join across its cut."""
    pairs = [(token, float(value)) for token, value in zip(record.tokens, record.attributions)
             if token != PAD_TOKEN]
    words = cut_words([token for token, _ in pairs], [value for _, value in pairs], record.cut_at)
    return [(word.text.lower(), word.attribution) for word in words if word.text not in SPECIAL_TOKENS]


def score(figures: WordFigures, shrinkage: float) -> float:
    """The mean attribution per occurrence, shrunk toward zero by `shrinkage` occurrences of 0."""
    return figures.total / (figures.occurrences + shrinkage)


def rounded(value: float | None) -> float | None:
    return None if value is None else significant(value, DIGITS)


def ranked(statistics: WordStatistics, group: tuple[str, int], min_documents: int,
           shrinkage: float) -> list[dict[str, Any]]:
    """The group's words in at least `min_documents` documents, the highest score first, with their figures."""
    documents = statistics.documents.get(group, 0)
    rows = [{"word": word, "score": significant(score(entry, shrinkage), DIGITS), "occurrences": entry.occurrences,
             "documents": entry.documents, "sum": significant(entry.total, DIGITS),
             "mean": significant(entry.total / entry.occurrences, DIGITS),
             "mean_abs": significant(entry.total_abs / entry.occurrences, DIGITS),
             "top_k_share": significant(entry.top_documents / documents, DIGITS),
             "p": rounded(p_above_zero(entry.documents, entry.total, entry.squares))}
            for word, entry in statistics.words.get(group, {}).items() if entry.documents >= min_documents]
    return sorted(rows, key=lambda row: (-row["score"], row["word"]))
