"""Plausibility's figures by hand, on fixtures where each plausible misreading of a definition gives another
number (another direction, denominator, subset, aggregate; rationale words past the cut; a word's pieces)."""
from __future__ import annotations

import numpy as np
import pytest

from stages.attribution.examples import from_texts
from stages.attribution.plausibility import (
    DocumentFigures,
    SentenceScores,
    auprc,
    band,
    document_figures,
    eraser_summary,
    iou,
    kept_spans,
    phrase_signs,
    spearman,
    sst_auprc,
    top_k,
    toward,
    word_scores,
)
from stages.attribution.word_alignment import Aligned, align, examples
from stages.plumbing.rationales import TreeSentence
from stages.plumbing.texts import encode


def test_auprc_is_the_trapezoid_area_under_the_precision_recall_curve():
    """Marked, unmarked, marked, unmarked by falling score: the curve's points (recall, precision) are (1, 1/2),
    (1, 2/3), (1/2, 1/2), (1/2, 1), (0, 1): area 1/2 x (2/3 + 1/2) / 2 + 1/2 = 19/24. Average precision (the
    step sum) would be 5/6. The scores read backwards: (1, 1/2), (1/2, 1/3), (1/2, 1/2), (0, 0), (0, 1): area
    1/2 x (1/2 + 1/3) / 2 + 1/2 x 1/2 / 2 = 1/3."""
    mask, scores = np.array([1, 0, 1, 0]), np.array([4.0, 3.0, 2.0, 1.0])
    assert auprc(mask, scores) == pytest.approx(19 / 24)
    assert auprc(mask, -scores) == pytest.approx(1 / 3)
    assert auprc(np.array([1, 1, 0]), np.array([3.0, 2.0, 1.0])) == pytest.approx(1.0)


def test_a_signed_score_toward_the_other_class_is_its_negative_an_unsigned_one_is_kept():
    scores = np.array([0.5, -0.25])
    assert toward(scores, "ig", predicted=1, target=0).tolist() == [-0.5, 0.25]
    assert toward(scores, "gradient_x_input", predicted=0, target=0).tolist() == [0.5, -0.25]
    assert toward(scores, "saliency", predicted=1, target=0).tolist() == [0.5, -0.25]
    assert toward(scores, "random", predicted=0, target=1).tolist() == [0.5, -0.25]


def test_a_words_score_sums_its_kept_pieces_and_leaves_out_specials_and_cut_words():
    """Word 0 is two pieces (0.2 + 0.3 = 0.5, above word 1's 0.4; its first piece alone, 0.2, is below), word 2
    is cut: only words 0 and 1 are kept."""
    aligned = Aligned(np.arange(5), np.array([-1, 0, 0, 1, -1]), word_count=3, full_length=7)
    assert aligned.kept_words.tolist() == [0, 1]
    assert word_scores(aligned, np.array([9.0, 0.2, 0.3, 0.4, 9.0])) == pytest.approx([0.5, 0.4])


def test_a_span_the_cut_crosses_is_two_spans_and_a_span_it_removes_is_gone():
    kept = np.array([0, 1, 2, 7, 8, 9])
    assert kept_spans([(1, 9), (4, 6), (9, 10)], kept) == [(1, 3), (7, 9), (9, 10)]


def test_token_f1_takes_k_from_the_kept_rationale_words_only():
    """Kept words 0-5; people marked 0-2 and 7-8, the latter cut: k = 3, not 5. The method's top three are words
    0, 3 and 1: two marked, F1 2/3. With k = 5 (the cut words counted) the top five hold all three: 3/5 or,
    as recall over five marked words, 3/5; with k = 2, 1/2."""
    kept = np.arange(6)
    scores = np.array([0.9, 0.5, 0.1, 0.8, 0.0, 0.4])
    figures = document_figures(scores, kept, [(0, 3), (7, 9)])
    assert figures.token_f1 == pytest.approx(2 / 3)
    assert figures.auprc == pytest.approx(auprc(np.array([1, 1, 1, 0, 0, 0]), scores))


def test_iou_f1_matches_spans_at_half_overlap_and_averages_precision_and_recall_before_the_f1():
    """Document A: people marked 0-3 (4 words); the top four, 0 1 2 5, make spans 0-2 (IOU 3/4, a match) and 5
    (no match): precision 1/2, recall 1. Document B: people marked 0-1 and 6-7; the top four, 0 1 3 4, make spans
    0-1 (IOU 1) and 3-4 (none): precision 1/2, recall 1/2. Macro: P 1/2, R 3/4, F1 0.6; the mean of the two
    documents' F1s would be (2/3 + 1/2) / 2 = 7/12."""
    kept = np.arange(10)
    first = document_figures(np.array([9, 8, 7, 0, 0, 6, 0, 0, 0, 0.0]), kept, [(0, 4)])
    second = document_figures(np.array([9, 8, 0, 7, 6, 0, 0, 0, 0, 0.0]), kept, [(0, 2), (6, 8)])
    assert (first.span_precision, first.span_recall) == (0.5, 1.0)
    assert (second.span_precision, second.span_recall) == (0.5, 0.5)
    summary = eraser_summary([first, second])
    assert summary["iou_f1"] == pytest.approx(0.6)
    assert summary["token_f1"] == pytest.approx((3 / 4 + 2 / 4) / 2)


def test_an_overlap_of_exactly_one_half_matches():
    """People marked 0-3; the top four, 2 3 4 5, make one span 2-5: IOU 2/6 < 0.5, none. Top 0 1 5 6: span 0-1
    has IOU 2/4 = 0.5, a match."""
    kept = np.arange(10)
    assert document_figures(np.array([0, 0, 9, 8, 7, 6, 0, 0, 0, 0.0]), kept, [(0, 4)]).span_precision == 0.0
    exactly_half = document_figures(np.array([9, 8, 0, 0, 0, 7, 6, 0, 0, 0.0]), kept, [(0, 4)])
    assert (exactly_half.span_precision, exactly_half.span_recall) == (0.5, 1.0)


def test_eraser_summary_is_the_mean_over_documents():
    documents = [DocumentFigures(0.5, 0.25, 1.0, 1.0), DocumentFigures(1.0, 0.75, 0.0, 0.0)]
    assert eraser_summary(documents) == {"auprc": 0.75, "token_f1": 0.5, "iou_f1": 0.5}


def sentence(word_labels: list[int], phrases: list[tuple[int, int, int]], label: int = 3) -> TreeSentence:
    return TreeSentence([f"w{index}" for index in range(len(word_labels))], word_labels, phrases, label)


def test_spearman_pools_the_non_neutral_words_toward_positive():
    """Two sentences, the second predicted negative (its scores toward negative are negated). Non-neutral words
    (label - 2, toward positive): (2, 0.9), (-1, -0.3), (1, 0.2), (-2, -0.5): the ranks agree, rho 1. With the
    neutral word (0, -0.8) in, or the second sentence's scores not negated, rho falls below 1."""
    first = SentenceScores(sentence([4, 2, 1], []), np.array([0, 1, 2]), np.array([0.9, -0.8, -0.3]), predicted=1)
    second = SentenceScores(sentence([3, 0], []), np.array([0, 1]), np.array([-0.2, 0.5]), predicted=0)
    assert spearman([first, second]) == pytest.approx(1.0)
    unnegated = SentenceScores(second.sentence, second.kept, second.scores, predicted=1)
    assert spearman([first, unnegated]) < 0.9


def test_spearman_is_undefined_without_two_label_values():
    only_positive = SentenceScores(sentence([3, 4], []), np.array([0, 1]), np.array([0.1, 0.2]), predicted=1)
    assert spearman([only_positive]) is not None
    assert spearman([SentenceScores(sentence([3, 3], []), np.array([0, 1]), np.array([0.1, 0.2]), 1)]) is None


def test_phrase_signs_count_non_neutral_fully_kept_phrases_and_a_zero_sum_as_wrong():
    """Phrases: (0-2, positive): 0.5 - 0.2 > 0, right; (1-3, negative): -0.2 + 0.2 = 0, wrong; (0-3, neutral):
    left out; (2-4, positive): word 3 cut, left out; (0-5... ) none. 1 of 2 right."""
    item = SentenceScores(sentence([3, 1, 2, 3], [(0, 2, 4), (1, 3, 0), (0, 3, 2), (2, 4, 3)]), np.array([0, 1, 2]),
                          np.array([0.5, -0.2, 0.2]), predicted=1)
    shares = phrase_signs([item])
    assert shares["all"] == 0.5 and shares["phrases"] == 2
    assert shares["2-3"] == 0.5 and shares["4-7"] is None


def test_phrase_signs_read_scores_toward_positive_for_a_negative_prediction():
    item = SentenceScores(sentence([1, 1], [(0, 2, 0)]), np.array([0, 1]), np.array([0.3, 0.1]), predicted=0)
    assert phrase_signs([item])["all"] == 1.0  # toward negative 0.4: toward positive -0.4, the label's sign


@pytest.mark.parametrize(("length", "name"), [(2, "2-3"), (3, "2-3"), (4, "4-7"), (7, "4-7"), (8, "8-15"),
                                              (16, "16+"), (40, "16+")])
def test_length_bands_are_inclusive(length, name):
    assert band(length) == name


def test_sst_auprc_marks_the_words_in_the_predicted_classs_direction():
    """Predicted negative: words labelled 0-1 are the mask (not 3-4), the scores as given (toward the predicted
    class). Mask 1 0 1 0 over falling scores: 19/24; the mask of 3-4 (0 1 0 1) gives less."""
    item = SentenceScores(sentence([0, 3, 1, 4], []), np.arange(4), np.array([4.0, 3.0, 2.0, 1.0]), predicted=0)
    assert sst_auprc([item]) == pytest.approx(19 / 24)
    no_marked = SentenceScores(sentence([2, 3], []), np.arange(2), np.array([1.0, 0.0]), predicted=0)
    assert sst_auprc([item, no_marked]) == pytest.approx(19 / 24)


@pytest.mark.parametrize("truncation", ["head", "head_tail"])
def test_aligned_words_are_the_ids_tokenize_gives_the_joined_text(vocab_tokenizer, truncation):
    """The word-split batch encoding, cut by `fit_to_length`, is the joined text's encoding: the model sees the
    tokens it was trained on, and each piece knows its word (`unbelievably` is several pieces)."""
    texts = [["an", "unbelievably", "dull", "film", ",", "does", "n't", "work"] * 3, ["fine", "."]]
    aligned = align(texts, vocab_tokenizer, 12, truncation)
    encoded = encode([" ".join(words) for words in texts], vocab_tokenizer, 12, truncation)
    for row, text in enumerate(aligned):
        assert text.token_ids.tolist() == encoded["input_ids"][row, :len(text.token_ids)].tolist()
        assert text.full_length == encoded["full_length"][row]
        pieces = vocab_tokenizer.convert_ids_to_tokens(text.token_ids.tolist())
        for piece, word in zip(pieces, text.piece_words):
            assert (word == -1) == (piece in ("[CLS]", "[SEP]"))
            if word >= 0:
                assert piece.removeprefix("##") in texts[row][word]
    assert aligned[0].kept_words.tolist() != list(range(len(texts[0])))  # cut
    assert aligned[1].kept_words.tolist() == [0, 1]


def test_iou_is_the_overlap_over_the_union_and_zero_apart():
    """(2, 4) and (3, 6) share word 3: 1 / (2 + 3 - 1) = 1/4 (not over the sum of the spans, 1/5); two one-word
    spans apart share nothing: 0, not a match."""
    assert iou((2, 4), (3, 6)) == iou((3, 6), (2, 4)) == 0.25
    assert iou((0, 1), (2, 3)) == 0.0


def test_iou_f1_is_zero_when_no_span_matches_either_way():
    summary = eraser_summary([DocumentFigures(0.5, 0.0, 0.0, 0.0), DocumentFigures(0.25, 0.5, 0.0, 0.0)])
    assert summary == {"auprc": 0.375, "token_f1": 0.25, "iou_f1": 0.0}


def test_top_k_breaks_ties_toward_the_earlier_word():
    """40 tied scores: the first five words (an unstable sort picks others among the ties, e.g. 0, 22, 23...)."""
    assert top_k(np.zeros(40), 5).tolist() == [0, 1, 2, 3, 4]
    assert top_k(np.array([0.1] * 20 + [0.9] * 20), 3).tolist() == [20, 21, 22]


def test_a_one_word_phrase_has_no_band():
    with pytest.raises(ValueError, match="no band for a phrase of 1 words"):
        band(1)


def test_phrase_signs_go_on_past_a_skipped_phrase_and_sum_only_the_phrases_words():
    """First sentence, word 0 cut: (0-2) neutral, skipped, and the sentence's later phrases still counted; (2-4,
    label 3): 0.2 + 0.1 > 0, right (label 3 is positive: not its sign against 3); (1-3, label 1): -0.9 + 0.2 < 0,
    right, though word 0 before it was cut. Second sentence: (2-4, label 4): 0.2 + 0.1 > 0, right; its words 0-1
    (-1.0 + 0.3) would turn the sum negative. 3 of 3 right."""
    first = SentenceScores(sentence([2, 1, 3, 3, 2], [(0, 2, 2), (2, 4, 3), (1, 3, 1)]), np.array([1, 2, 3, 4]),
                           np.array([-0.9, 0.2, 0.1, -0.05]), predicted=1)
    second = SentenceScores(sentence([1, 3, 3, 3], [(2, 4, 4)]), np.arange(4), np.array([-1.0, 0.3, 0.2, 0.1]),
                            predicted=1)
    shares = phrase_signs([first, second])
    assert shares["all"] == 1.0 and shares["phrases"] == 3 and shares["2-3"] == 1.0


def test_phrase_signs_without_a_countable_phrase_are_undefined():
    item = SentenceScores(sentence([2, 2], [(0, 2, 2)]), np.arange(2), np.array([0.1, 0.2]), predicted=1)
    assert phrase_signs([item]) == {"all": None, "phrases": 0, "2-3": None, "4-7": None, "8-15": None, "16+": None}


def test_sst_auprc_marks_labels_3_and_4_for_a_positive_prediction():
    """Predicted positive, labels 3 0 4 1 by falling score: the mask 1 0 1 0 gives 19/24 (label 4 alone, 0 0 1 0:
    1/6; the negative words, 0 1 0 1: 1/3). With no sentence to score: None."""
    item = SentenceScores(sentence([3, 0, 4, 1], []), np.arange(4), np.array([4.0, 3.0, 2.0, 1.0]), predicted=1)
    assert sst_auprc([item]) == pytest.approx(19 / 24)
    neutral = SentenceScores(sentence([2, 2], []), np.arange(2), np.array([1.0, 0.0]), predicted=1)
    assert sst_auprc([neutral]) is None


@pytest.mark.parametrize("truncation", ["head", "head_tail"])
def test_word_examples_are_the_examples_of_the_joined_texts(vocab_tokenizer, truncation):
    """What plausibility explains is what the explain stages would build from the joined text: the same ids,
    text, label and cut, each text's id its place; a text longer than BERT's 512 pieces (150 x 8: `unbelievably`
    is un ##bel ##ie ##va ##bly) is cut by the budget alone (its tail kept under head_tail)."""
    texts = [["an", "unbelievably", "dull", "film"] * 150, ["fine", "."], ["a", "dull", ",", "long", "film"]]
    labels = [0, 1, None]
    aligned = align(texts, vocab_tokenizer, 12, truncation)
    assert [text.word_count for text in aligned] == [600, 2, 5]
    assert [text.full_length for text in aligned][:2] == [2 + 150 * 8, 4]
    made = examples("eraser", texts, labels, aligned, 12, truncation)
    expected = from_texts("eraser", [" ".join(words) for words in texts], [0, 1, 2], labels, vocab_tokenizer, 12,
                          truncation)
    for word_example, text_example in zip(made, expected, strict=True):
        assert word_example.token_ids.dtype == text_example.token_ids.dtype
        assert word_example.token_ids.tolist() == text_example.token_ids.tolist()
        for field in ("source", "id", "text", "label", "tokens_cut", "cut_at"):
            assert getattr(word_example, field) == getattr(text_example, field), field
    assert made[0].tokens_cut == 2 + 150 * 8 - 12 and made[1].tokens_cut == 0
