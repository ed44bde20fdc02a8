"""Plausibility: how well an attribution agrees with what people mark as the reason (DeYoung et al. 2020,
"ERASER"; Socher et al. 2013, the Stanford Sentiment Treebank). Every figure is taken over a text's words (its
whitespace tokens, word pieces summed) that the model's token budget keeps; definitions in docs/figures.md.

- AUPRC: the area under the precision-recall curve of the words' scores against the human mask (sklearn's
  `precision_recall_curve` and `auc`, as ERASER and ferret compute it), per text, then the mean.
- token F1: of the top-k words, k the text's count of kept rationale words; with k so chosen the precision,
  recall and F1 of a text are one number: the share of its top-k that people marked. Mean over texts.
- IOU F1: predicted spans are the maximal runs of adjacent top-k words; one matches if its intersection over
  union with a human span is at least 0.5 (ERASER's partial match). Precision: matched predicted spans over
  predicted spans; recall: human spans some prediction matches over human spans; each averaged over texts,
  then F1 = 2PR / (P + R).
- Spearman (SST): between each non-neutral word's score toward positive and its label - 2, over all the
  explained sentences' words together.
- phrase sign (SST): the share of non-neutral phrases whose words' summed score toward positive has their
  label's sign (0 counts as wrong), overall and by phrase length.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from stages.attribution.methods import METHODS
from stages.attribution.word_alignment import Aligned
from stages.plumbing.rationales import TreeSentence

IOU_MATCH = 0.5
LENGTH_BANDS = ((2, 3), (4, 7), (8, 15), (16, None))  # phrase lengths in words, inclusive


def toward(scores: np.ndarray, method: str, predicted: int, target: int) -> np.ndarray:
    """A method's scores toward `target` from its scores toward the predicted class: the model's two
    probabilities sum to 1, so a signed attribution toward the other class is the negative. Unsigned
    methods (saliency, random) rank the same whichever class."""
    return -scores if METHODS[method].signed and predicted != target else scores


def word_scores(aligned: Aligned, scores: np.ndarray) -> np.ndarray:
    """Each kept word's score: the sum of its kept pieces' (specials and cut words left out)."""
    totals = np.zeros(aligned.word_count)
    np.add.at(totals, aligned.piece_words[aligned.piece_words >= 0], scores[aligned.piece_words >= 0])
    return totals[aligned.kept_words]


def auprc(mask: np.ndarray, scores: np.ndarray) -> float:
    """Area under the precision-recall curve of `scores` against the 0/1 `mask` (at least one 1)."""
    from sklearn.metrics import auc, precision_recall_curve

    precision, recall, _ = precision_recall_curve(mask.astype(int), scores)
    return float(auc(recall, precision))


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k highest scores (ties to the earlier word)."""
    return np.sort(np.argsort(-scores, kind="stable")[:k])


def runs(positions: Sequence[int]) -> list[tuple[int, int]]:
    """Maximal runs [start, end) of consecutive sorted positions."""
    spans: list[tuple[int, int]] = []
    for position in positions:
        if spans and spans[-1][1] == position:
            spans[-1] = (spans[-1][0], position + 1)
        else:
            spans.append((position, position + 1))
    return spans


def iou(left: tuple[int, int], right: tuple[int, int]) -> float:
    overlap = max(0, min(left[1], right[1]) - max(left[0], right[0]))
    return overlap / (left[1] - left[0] + right[1] - right[0] - overlap)


def kept_spans(spans: Sequence[tuple[int, int]], kept: np.ndarray) -> list[tuple[int, int]]:
    """The human spans as the model sees them: each span's kept words, as runs (a span the cut crosses in
    two, a span the cut removes gone)."""
    kept_set = set(int(p) for p in kept)
    return [run for start, end in spans for run in runs([p for p in range(start, end) if p in kept_set])]


@dataclass(frozen=True)
class DocumentFigures:
    """One text's plausibility against its human rationale."""

    auprc: float
    token_f1: float
    span_precision: float
    span_recall: float


def document_figures(scores: np.ndarray, kept: np.ndarray, spans: Sequence[tuple[int, int]]) -> DocumentFigures:
    """`scores` of the kept words at document positions `kept` against the human `spans` (some kept)."""
    gold = kept_spans(spans, kept)
    mask = np.isin(kept, [p for start, end in gold for p in range(start, end)])
    top = top_k(scores, int(mask.sum()))
    predicted = runs(kept[top].tolist())
    matched = [any(iou(span, human) >= IOU_MATCH for human in gold) for span in predicted]
    found = [any(iou(span, human) >= IOU_MATCH for span in predicted) for human in gold]
    return DocumentFigures(auprc(mask, scores), float(mask[top].mean()), float(np.mean(matched)),
                           float(np.mean(found)))


def eraser_summary(documents: Sequence[DocumentFigures]) -> dict[str, float]:
    """Mean AUPRC and token F1 over the texts, and IOU F1 from the mean span precision and recall."""
    precision = float(np.mean([d.span_precision for d in documents]))
    recall = float(np.mean([d.span_recall for d in documents]))
    return {"auprc": float(np.mean([d.auprc for d in documents])),
            "token_f1": float(np.mean([d.token_f1 for d in documents])),
            "iou_f1": 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)}


@dataclass(frozen=True)
class SentenceScores:
    """One explained SST sentence: the word positions the model saw, their scores toward the predicted class
    and that class."""

    sentence: TreeSentence
    kept: np.ndarray
    scores: np.ndarray
    predicted: int

    @property
    def positive(self) -> np.ndarray:
        """The scores toward positive (of a signed method)."""
        return self.scores if self.predicted == 1 else -self.scores


def band(length: int) -> str:
    for low, high in LENGTH_BANDS:
        if length >= low and (high is None or length <= high):
            return band_name(low, high)
    raise ValueError(f"no band for a phrase of {length} words")


def band_name(low: int, high: int | None) -> str:
    return f"{low}+" if high is None else f"{low}-{high}"


def spearman(explained: Sequence[SentenceScores]) -> float | None:
    """Spearman's rho of the non-neutral words' scores toward positive with their labels - 2, pooled (a
    signed method's)."""
    from scipy.stats import spearmanr

    scores, labels = [], []
    for item in explained:
        for position, score in zip(item.kept, item.positive):
            label = item.sentence.word_labels[position]
            if label != 2:
                scores.append(score)
                labels.append(label - 2)
    if len(set(labels)) < 2 or len(set(scores)) < 2:
        return None
    return float(spearmanr(scores, labels).statistic)


def phrase_signs(explained: Sequence[SentenceScores]) -> dict[str, float | int | None]:
    """The share of non-neutral phrases, all of whose words were kept, that the summed scores toward positive
    give the label's sign (a signed method's); overall, with their count, and per length band."""
    agreed: dict[str, list[bool]] = {}
    for item in explained:
        by_position = dict(zip(item.kept.tolist(), item.positive))
        for start, end, label in item.sentence.phrases:
            if label == 2 or any(p not in by_position for p in range(start, end)):
                continue
            total = sum(by_position[p] for p in range(start, end))
            agreed.setdefault(band(end - start), []).append(bool(np.sign(total) == np.sign(label - 2)))
    every = [value for values in agreed.values() for value in values]
    shares: dict[str, float | int | None] = {"all": float(np.mean(every)) if every else None, "phrases": len(every)}
    for low, high in LENGTH_BANDS:
        name = band_name(low, high)
        shares[name] = float(np.mean(agreed[name])) if name in agreed else None
    return shares


def sst_auprc(explained: Sequence[SentenceScores]) -> float | None:
    """Mean AUPRC of the scores toward the predicted class against the words labelled in its direction (3-4 for
    positive, 0-1 for negative), over the sentences with at least one such kept word."""
    values = []
    for item in explained:
        labels = np.asarray(item.sentence.word_labels)[item.kept]
        mask = labels >= 3 if item.predicted == 1 else labels <= 1
        if mask.any():
            values.append(auprc(mask, item.scores))
    return float(np.mean(values)) if values else None
