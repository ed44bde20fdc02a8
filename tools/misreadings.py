"""Misreadings of the published figures' definitions (docs/figures.md), as one-line changes to the code:
`make mutate` plants each in a scratch copy and expects the module's tests to fail.

mutmut changes operators and constants; these change meanings, the bugs it cannot write: another
count, direction or sign, denominator, subset or aggregate. Each `right` is a line of the module as it
stands (found exactly once), each `wrong` what a plausible misreading of the figure would write instead.
"""
from __future__ import annotations

from typing import NamedTuple


class Misreading(NamedTuple):
    module: str
    figure: str
    right: str
    wrong: str


WORD_STATS = "stages/attribution/word_stats.py"
DATASET_VIEW = "stages/attribution/dataset_view.py"
AGREEMENT = "stages/attribution/agreement.py"
FAITHFULNESS = "stages/attribution/faithfulness.py"
QUALITY = "stages/attribution/quality.py"
EVALUATE = "stages/evaluate.py"

MISREADINGS = (
    Misreading(EVALUATE, "roc_auc: of P(negative), not P(positive)",
               "skm.roc_auc_score(labels, probabilities[:, 1])", "skm.roc_auc_score(labels, probabilities[:, 0])"),
    Misreading(EVALUATE, "precision and recall swapped",
               'report.update({f"{name}/precision": precision[index], f"{name}/recall": recall[index],',
               'report.update({f"{name}/precision": recall[index], f"{name}/recall": precision[index],'),
    Misreading(WORD_STATS, "dataset/mean_abs: |mean| instead of the mean of |attribution|",
               "entry.total_abs / entry.occurrences", "abs(entry.total) / entry.occurrences"),
    Misreading(WORD_STATS, "dataset/top_k_share: over the word's documents, not the class's",
               "entry.top_documents / documents", "entry.top_documents / entry.documents"),
    Misreading(WORD_STATS, "dataset/score: shrunk over documents, not occurrences",
               "figures.total / (figures.occurrences + shrinkage)", "figures.total / (figures.documents + shrinkage)"),
    Misreading(WORD_STATS, "min_documents: more than, not at least",
               "if entry.documents >= min_documents", "if entry.documents > min_documents"),
    Misreading(WORD_STATS, "a document's top-k: by |attribution|, not toward the class",
               "key=lambda w: (-per_document[w], w)", "key=lambda w: (-abs(per_document[w]), w)"),
    Misreading(WORD_STATS, "a document's top-k: by the largest occurrence, not the word's sum in the document",
               "per_document[word] = per_document.get(word, 0.0) + value",
               "per_document[word] = max(per_document.get(word, value), value)"),
    Misreading(DATASET_VIEW, "dataset/log_odds_z: toward positive for both classes",
               "sign = 1 if predicted == 1 else -1", "sign = 1"),
    Misreading(DATASET_VIEW, "data_share: |z| strong either way, not toward the class",
               'row["log_odds_z"] > STRONG_Z', 'abs(row["log_odds_z"]) > STRONG_Z'),
    Misreading(DATASET_VIEW, "data_share: the threshold itself counts as strong",
               'row["log_odds_z"] > STRONG_Z', 'row["log_odds_z"] >= STRONG_Z'),
    Misreading(DATASET_VIEW, "data_share: of the words with a z, not of the top words",
               "strong / len(top)", 'strong / max(1, sum(row["log_odds_z"] is not None for row in top))'),
    Misreading(DATASET_VIEW, "flagged_share: of the signed total, not of the |sums|",
               'mass = sum(abs(row["sum"]) for row in top)', 'mass = abs(sum(row["sum"] for row in top))'),
    Misreading(DATASET_VIEW, "flagged_share: a share of the words, not of the attribution",
               "flagged / mass if mass else 0.0", 'sum(bool(row["flags"]) for row in top) / len(top)'),
    Misreading(DATASET_VIEW, "compare's dataset Spearman: over the top words only, not every ranked word",
               'common = sorted(entry["scores"].keys() & other["scores"].keys())',
               'common = sorted(set(before) & set(after))'),
    Misreading(AGREEMENT, "relative_l1: over the right run's total",
               "scale = float(np.abs(left).sum())", "scale = float(np.abs(right).sum())"),
    Misreading(AGREEMENT, "sign_top_k: over the shared features, not k",
               "float(same_sign.sum()) / k", "float(same_sign.sum()) / max(1, len(shared))"),
    Misreading(AGREEMENT, "top-k: the largest signed values, not the largest |values|",
               'np.argsort(-np.abs(values), kind="stable")[:k]', 'np.argsort(-values, kind="stable")[:k]'),
    Misreading(AGREEMENT, "the summary: the mean, not the median",
               '"median": float(np.median(values)) if values else None',
               '"median": float(np.mean(values)) if values else None'),
    Misreading(AGREEMENT, "prediction_changed: over every example, not the compared ones",
               'sum(row["prediction_changed"] for row in comparable)',
               'sum(row["prediction_changed"] for row in rows)'),
    Misreading(QUALITY, "completeness_error/median: the mean",
               '"completeness_error/median": np.median(errors)', '"completeness_error/median": np.mean(errors)'),
    Misreading(QUALITY, "a rival's mean rank agreement: undefined examples as 0, not left out",
               "member.rank_agreement[key] for member in members if member.rank_agreement[key] is not None",
               "(member.rank_agreement[key] or 0.0) for member in members"),
    Misreading(FAITHFULNESS, "erasure: the top tokens by |score|, not toward the predicted class",
               'ranked = candidates[np.argsort(-scores[candidates], kind="stable")]',
               'ranked = candidates[np.argsort(-np.abs(scores[candidates]), kind="stable")]'),
    Misreading(FAITHFULNESS, "top-k count: rounded down, not up",
               "max(1, math.ceil(fraction * candidates))", "max(1, math.floor(fraction * candidates))"),
)
