"""How sure the dataset view is: the one-sided t-test, Benjamini-Hochberg's q-values, the streamed Poisson
bootstrap and its percentile intervals, each against a hand computation; the false discoveries under the
null stay at the stated rate, and a planted effect is found."""
from __future__ import annotations

import math

import numpy as np
import pytest

from stages.attribution.bootstrap import WordResamples
from stages.attribution.dataset_view import dataset_view, difference, plot_rows, summary_metrics
from stages.attribution.settings import ViewSettings
from stages.attribution.significance import documents_needed, established, p_above_zero, percentile_interval, q_values
from stages.attribution.word_flags import Capitals
from stages.attribution.word_stats import WordStatistics
from tests.conftest import explained_record
from tests.test_dataset_view import doc, view


def test_the_t_test_is_one_sided_over_documents():
    # per-document sums 1, 2, 3: mean 2, s = 1, t = 2 / (1 / sqrt 3) = 3.4641 on 2 degrees of freedom;
    # one-sided p = (1 - t / sqrt(t^2 + 2)) / 2 = (1 - 3.4641 / 3.7417) / 2 = 0.03709
    assert p_above_zero(3, 6.0, 14.0) == pytest.approx(0.037089, abs=1e-6)
    assert p_above_zero(3, -6.0, 14.0) == pytest.approx(1 - 0.037089, abs=1e-6)  # toward the other class
    assert p_above_zero(1, 0.5, 0.25) is None  # one document: no variance
    assert p_above_zero(2, 1.0, 0.5) == 0.0 and p_above_zero(2, 0.0, 0.0) == 1.0  # equal sums: the sign decides


def test_q_values_step_up_share_ties_and_ignore_untested_words():
    # m = 5 tested: sorted 0.01, 0.03, 0.03, 0.04, 0.5; p m / rank = 0.05, 0.075, 0.05, 0.05, 0.5; each q the
    # least of those from its rank up: 0.05 for all but 0.5, so the tie at 0.03 and 0.075 fall to 0.05
    assert q_values([0.01, 0.04, 0.03, 0.03, None, 0.5]) == pytest.approx([0.05, 0.05, 0.05, 0.05, None, 0.5])
    assert q_values([0.02, 0.02]) == pytest.approx([0.02, 0.02])  # a tie: rank 2's q, not rank 1's 0.04
    assert q_values([None]) == [None] and q_values([]) == []


def test_a_word_at_the_rate_itself_is_established():
    """p 0.04 ranks 4th of 5: q = 0.04 x 5 / 4 = 0.05 exactly, the rate: established (q at most the rate)."""
    q = q_values([0.01, 0.04, 0.03, 0.03, None, 0.5])
    assert q[1] == 0.05
    assert [established(value, 0.05) for value in q] == [True, True, True, True, False, False]


def test_percentile_interval_is_the_central_share():
    assert percentile_interval(np.arange(101.0), 0.9) == pytest.approx((5.0, 95.0))


def test_the_resamples_weight_each_document_by_its_own_poisson_draw_in_any_order():
    documents = [(7, {"good": (0.5, 2), "film": (0.1, 1)}), (3, {"good": (-0.2, 1)}), (11, {"film": (0.4, 1)})]
    forward, backward = WordResamples(4, seed=9), WordResamples(4, seed=9)
    for position, words in documents:
        forward.add(position, words)
    for position, words in reversed(documents):
        backward.add(position, words)
    weights = {position: np.random.default_rng((9, position)).poisson(1.0, 4) for position, _ in documents}
    total, occurrences = forward.of("good")
    assert np.allclose(total, 0.5 * weights[7] - 0.2 * weights[3])
    assert np.allclose(occurrences, 2 * weights[7] + weights[3])
    for word in ("good", "film"):
        assert all(np.array_equal(a, b) for a, b in zip(forward.of(word), backward.of(word)))


def test_the_resamples_grow_past_their_first_allocation():
    resamples = WordResamples(2, seed=0)
    resamples.add(0, {f"w{index}": (1.0, 1) for index in range(300)})
    assert len(resamples.rows) == 300 and np.array_equal(resamples.of("w299")[1], resamples.of("w0")[1])


SETTINGS = ViewSettings(min_documents=2, shrinkage=0.0, top_k=1, top_words=5, prior_words=10.0, resamples=400,
                        level=0.9, fdr=0.05, seed=0)


def records_with(rng: np.random.Generator, effects: dict[str, float], documents: int) -> list:
    """`documents` positive records, each word of `effects` once with attribution effect + N(0, 1)."""
    return [explained_record("imdb", index, ["[CLS]", *effects, "[SEP]"],
                             [0.0, *(effect + rng.normal() for effect in effects.values()), 0.0])
            for index in range(documents)]


def test_under_the_null_false_discoveries_stay_at_the_rate():
    """Symmetric attributions, 40 words, 8 documents: every discovery is false, so the share of runs with
    any (the FDR under the complete null) stays at 5%: 200 runs, binomial sd 1.5%."""
    rng = np.random.default_rng(0)
    with_discoveries = 0
    for _ in range(200):
        sums = rng.normal(size=(40, 8))
        q = q_values([p_above_zero(8, row.sum(), (row ** 2).sum()) for row in sums])
        with_discoveries += any(value <= 0.05 for value in q)
    assert with_discoveries / 200 <= 0.05 + 2 * 0.015


def test_a_planted_effect_is_established_with_an_interval_above_zero():
    words = {"planted": 1.5, **{f"noise{index}": 0.0 for index in range(20)}}
    statistics = WordStatistics(top_k=1, resamples=SETTINGS.resamples, seed=SETTINGS.seed)
    statistics.add_all(records_with(np.random.default_rng(1), words, 12))
    view = dataset_view(statistics, Capitals(), {}, SETTINGS, 12)
    entry = view["sources"]["imdb"]["positive"]
    (planted,) = [row for row in entry["top"] if row["word"] == "planted"]
    assert planted["established"] and planted["q"] <= 0.05 and planted["score_interval"][0] > 0
    assert planted["mean_interval"][0] < 1.5 < planted["mean_interval"][1]
    assert entry["established_words"] == ["planted"]
    assert summary_metrics(view)["imdb/words/established/positive"] == 1
    (row,) = [row for row in plot_rows(view) if row["word"] == "planted"]
    assert [row["low"], row["high"]] == planted["score_interval"] and row["established"]


def test_documents_needed_uses_the_strictest_threshold_and_the_effect_size():
    """Per-document sums 0.5, -0.3, 0.4, 0.2: mean 0.2, sd sqrt(0.38 / 3) = 0.3559, d = 0.5620; 10 words tested
    at FDR 0.05, so alpha = 0.005 one-sided: the least n whose noncentral t (n - 1 degrees of freedom,
    noncentrality d sqrt n) passes t(1 - alpha, n - 1) with probability 0.8 is 41 (the normal approximation
    says 37; alpha = 0.05, not / 10: 21; two-sided: 47)."""
    from scipy import stats

    def power(n: int, alpha: float) -> float:
        return stats.nct.sf(stats.t.ppf(1 - alpha, n - 1), n - 1, 0.2 / math.sqrt(0.38 / 3) * math.sqrt(n))

    assert documents_needed(4, 0.8, 0.54, tests=10, fdr=0.05) == 41
    assert power(41, 0.005) >= 0.8 > power(40, 0.005)
    assert documents_needed(4, -0.8, 0.54, tests=10, fdr=0.05) is None  # an effect toward the other class
    assert documents_needed(1, 0.5, 0.25, tests=10, fdr=0.05) is None


def test_documents_needed_at_its_edges():
    """One word tested: alpha is fdr itself (21 documents for d = 0.5620, not alpha / 2's 27). d = 3.65 (two
    sums, mean 3.65, sd 1) at alpha 0.005: 5, from t(1 - alpha, n - 1) and the noncentral t with n - 1 degrees
    of freedom (n + 1 in either gives 3 or 4). d = 28.3: two documents already reach the power (the normal
    approximation's floor, 2, is the answer). A mean of exactly 0, or a variance of 0, measures no effect."""
    from scipy import stats

    def power(n: int, alpha: float, d: float) -> float:
        return stats.nct.sf(stats.t.ppf(1 - alpha, n - 1), n - 1, d * math.sqrt(n))

    assert documents_needed(4, 0.8, 0.54, tests=1, fdr=0.05) == 21
    assert documents_needed(4, 0.8, 0.54, tests=0, fdr=0.05) == 21
    assert documents_needed(2, 7.3, 27.645, tests=10, fdr=0.05) == 5
    assert power(5, 0.005, 3.65) >= 0.8 > power(4, 0.005, 3.65)
    assert documents_needed(2, 40.0, 800.5, tests=1, fdr=0.05) == 2 and power(2, 0.05, 20 / math.sqrt(0.5)) >= 0.8
    assert documents_needed(2, 0.0, 0.5, tests=1, fdr=0.05) is None  # sums 0.5 and -0.5
    assert documents_needed(2, 1.0, 0.5, tests=1, fdr=0.05) is None  # sums 0.5 and 0.5


def test_a_class_without_established_words_says_how_many_documents_would_establish_one():
    """8 positive documents: w in 4 (sums 0.5, -0.3, 0.4, 0.2), x at 0 in the other 4 (p 1, no effect). m = 2
    tested, alpha = 0.025: 27 documents holding w (as above), which is in half the class's documents: 54."""
    records = [explained_record("imdb", index, ["[CLS]", "w", "[SEP]"], [0.0, value, 0.0])
               for index, value in enumerate([0.5, -0.3, 0.4, 0.2])]
    records += [explained_record("imdb", 4 + index, ["[CLS]", "x", "[SEP]"]) for index in range(4)]
    statistics = WordStatistics(top_k=1).add_all(records)
    entry = dataset_view(statistics, Capitals(), {}, SETTINGS, 8)["sources"]["imdb"]["positive"]
    assert entry["established_words"] == [] and entry["needed"] == {"documents": 54, "word": "w"}


def test_the_difference_names_the_established_words_that_entered_and_left():
    """good: 0.3 in both documents before (p 0, established), 0.3 and -0.1 after (t = 0.1 / (0.2828 / sqrt 2) = 0.5
    on 1 degree of freedom: p = 1/2 - atan(0.5) / pi = 0.3524);
    fine: 0.2 in both documents after only (p 0)."""
    before = view([doc("imdb", 1, ["good", "fine"], [0.3, 0.2]), doc("imdb", 1, ["good"], [0.3])])
    after = view([doc("imdb", 1, ["good", "fine"], [0.3, 0.2]), doc("imdb", 1, ["good", "fine"], [-0.1, 0.2])])
    assert before["sources"]["imdb"]["positive"]["established_words"] == ["good"]
    assert after["sources"]["imdb"]["positive"]["top"][1]["p"] == 0.3524
    (row,) = difference(before, after)
    assert (row["established"], row["established_entered"], row["established_left"]) == ([1, 1], ["fine"], ["good"])
