"""The data's side: how strongly each word is associated with a label in the training split, as the
z-score of its log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi and Quinn 2008,
"Fightin' Words", section 3.5, eqs. 16-22).

With y_w^c the count of word w in the training reviews of class c, n^c all words of class c, and the
prior a_w = a0 * (y_w^neg + y_w^pos) / (n^neg + n^pos) (the training split itself as the background,
a0 prior words in all):

    delta_w = log((y_w^pos + a_w) / (n^pos + a0 - y_w^pos - a_w)) - log((y_w^neg + a_w) / (n^neg + a0 - y_w^neg - a_w))
    var_w   ~ 1 / (y_w^pos + a_w) + 1 / (y_w^neg + a_w)
    z_w     = delta_w / sqrt(var_w)

z > 0: the word is more frequent in positive reviews than the prior explains; |z| > 1.96 is the usual
threshold. Words are split as BERT's basic tokenizer splits them (lower-cased, accents stripped,
punctuation apart) with contractions whole, the words of the report's word view.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

from tokenizers.normalizers import BertNormalizer
from tokenizers.pre_tokenizers import BertPreTokenizer

from stages.attribution.words import reader_spans

NORMALISE = BertNormalizer(lowercase=True)
SPLIT = BertPreTokenizer()


def words_of(text: str, normaliser: BertNormalizer = NORMALISE) -> list[str]:
    """`text` as an uncased BERT tokenizer's words (`normaliser`'s), contractions joined (`words`)."""
    split = [word for word, _ in SPLIT.pre_tokenize_str(normaliser.normalize_str(text))]
    return ["".join(split[start:end]) for start, end in reader_spans(split)]


def class_counts(rows: Iterable[tuple[str, int]]) -> tuple[Counter, Counter]:
    """Word counts of the negative (label 0) and positive (label 1) texts of (text, label) rows."""
    counts: tuple[Counter, Counter] = (Counter(), Counter())
    for text, label in rows:
        counts[int(label)].update(words_of(text))
    return counts


def z_scores(negative: Counter, positive: Counter, prior_words: float) -> dict[str, float]:
    """Every word's log-odds z-score, positive toward the positive class."""
    n_negative, n_positive = sum(negative.values()), sum(positive.values())
    total = n_negative + n_positive
    scores = {}
    for word in negative.keys() | positive.keys():
        y_neg, y_pos = negative[word], positive[word]
        prior = prior_words * (y_neg + y_pos) / total
        delta = (math.log((y_pos + prior) / (n_positive + prior_words - y_pos - prior))
                 - math.log((y_neg + prior) / (n_negative + prior_words - y_neg - prior)))
        scores[word] = delta / math.sqrt(1 / (y_pos + prior) + 1 / (y_neg + prior))
    return scores
