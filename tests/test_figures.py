"""Every figure a user reads, against a value worked out by hand here (never by calling the code under
test), and every threshold a decision hangs on, just inside and just outside.

docs/figures.md maps each published figure and verdict to the test that pins it.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from stages import sanity_check
from stages.attribution import ig
from stages.attribution.agreement import agreement, kendall_tau, ordinary_token_correlation, summary
from stages.attribution.faithfulness import faithfulness
from stages.attribution.quality import quality_metrics
from stages.attribution.record import ExplainedExample, partial
from stages.attribution.records import warn_incomplete
from stages.attribution.settings import IGSettings
from tools import compare

CLS, SEP = 101, 102
SPECIAL_IDS = (CLS, SEP)


def attribution(f_x: float, f_baseline: float, delta: float, token_ids=(CLS, 11, 12, 13, SEP),
                predicted: int = 1, n_steps: int = 50) -> ig.Attribution:
    return ig.Attribution(token_ids=np.array(token_ids), attributions=np.zeros(len(token_ids)), predicted=predicted,
                          f_x=f_x, f_baseline=f_baseline, delta=delta, n_steps=n_steps)


# Completeness (Sundararajan et al. 2017): |sum(a) - (f(x) - f(x'))| / |f(x) - f(x')|


@pytest.mark.parametrize("f_x, f_baseline, delta, expected", [
    (0.8, 0.3, 0.01, 0.02),  # 0.01 / 0.5: the normalisation doubles the raw delta
    (0.8, 0.3, -0.01, 0.02),  # the sign of the delta does not count
    (0.3, 0.8, 0.01, 0.02),  # nor which side is larger
    (0.9, 0.7, 0.05, 0.25),  # 0.05 / 0.2
    (0.5, 0.5, 1e-12, 1e-3),  # no difference to explain: 1e-12 over the floor of 1e-9
])
def test_the_completeness_error_is_the_delta_relative_to_the_difference_explained(f_x, f_baseline, delta,
                                                                                   expected):
    assert attribution(f_x, f_baseline, delta).completeness_error == pytest.approx(expected, rel=1e-9)


def test_f_baseline_is_read_back_from_alibis_delta(monkeypatch):
    """alibi's delta is sum(a) - (f(x) - f(x')), so f(x') = f(x) - sum(a) + delta: 0.8 - 0.5 + 0.02 = 0.32."""
    explanation = SimpleNamespace(attributions=[np.array([[[0.1, 0.2], [0.3, -0.1]]])],
                                  predictions=np.array([[0.2, 0.8]]), deltas=np.array([0.02]))
    monkeypatch.setattr(ig, "explainer", lambda *_: SimpleNamespace(explain=lambda *_, **__: explanation))
    per_token, f_x, f_baseline, deltas = ig.integrate(None, None, None, np.array([1]), None, None, 50)
    assert per_token[0].tolist() == pytest.approx([0.3, 0.2])
    assert (f_x[0], f_baseline[0], deltas[0]) == pytest.approx((0.8, 0.32, 0.02))


# ERASER faithfulness (DeYoung et al. 2020), each an AOPC over `faithfulness_k`


def three_token_model(sequences: list[np.ndarray]) -> np.ndarray:
    """P(positive) = 0.1 + 0.4 [13 present] + 0.2 [11 present] + 0.1 [12 present]."""
    positive = np.array([0.1 + 0.4 * (13 in s) + 0.2 * (11 in s) + 0.1 * (12 in s) for s in sequences])
    return np.stack([1 - positive, positive], axis=1)


def test_comprehensiveness_and_sufficiency_by_hand():
    """Scores rank 13 (0.9), 11 (0.5), 12 (-0.95): signed, so 12, the largest in magnitude, is last.
    k = 0.3 and 0.6 of 3 tokens keep ceil(0.9) = 1 and ceil(1.8) = 2 tokens. f(x) = 0.8.
    Comprehensiveness: without {13} 0.4, without {13, 11} 0.2: 0.8 - (0.4 + 0.2) / 2 = 0.5.
    Sufficiency: only {13} 0.5, only {13, 11} 0.7: 0.8 - (0.5 + 0.7) / 2 = 0.2."""
    example = attribution(0.8, 0.1, 0.0)
    scores = np.array([0.0, 0.5, -0.95, 0.9, 0.0])
    comprehensiveness, sufficiency = faithfulness(three_token_model, example, scores, SPECIAL_IDS, [0.3, 0.6])
    assert (comprehensiveness, sufficiency) == pytest.approx((0.5, 0.2))


def test_faithfulness_is_toward_the_predicted_class():
    """Predicted negative, P(negative) = 1 - P(positive): f(x) = 0.2, without {13} 0.6, only {13} 0.5,
    so comprehensiveness 0.2 - 0.6 = -0.4 and sufficiency 0.2 - 0.5 = -0.3 (k = 0.3 alone)."""
    example = attribution(0.2, 0.5, 0.0, predicted=0)
    scores = np.array([0.0, 0.5, -0.95, 0.9, 0.0])
    assert faithfulness(three_token_model, example, scores, SPECIAL_IDS, [0.3]) == pytest.approx((-0.4, -0.3))


def test_tied_scores_erase_the_earliest_tokens_first():
    """100 ordinary tokens of one score: the top 5% are the first five by position (a stable sort; numpy's
    default sort returns tied elements of an array this long in another order)."""
    from stages.attribution.faithfulness import erasure_variants

    token_ids = np.array([CLS, *range(1000, 1100), SEP])
    special = np.isin(token_ids, SPECIAL_IDS)
    (without,), (only,) = erasure_variants(token_ids, np.zeros(len(token_ids)), special, [0.05])
    assert only.tolist() == [CLS, 1000, 1001, 1002, 1003, 1004, SEP]
    assert without.tolist() == [CLS, *range(1005, 1100), SEP]


def test_an_example_of_special_tokens_only_has_no_faithfulness_to_lose():
    """Nothing to remove or keep: comprehensiveness and sufficiency are both 0, the model never asked."""
    example = attribution(0.8, 0.1, 0.0, token_ids=(CLS, SEP))

    def never(_: list[np.ndarray]) -> np.ndarray:
        raise AssertionError("the model was asked")

    assert faithfulness(never, example, np.array([0.3, 0.2]), SPECIAL_IDS, [0.5]) == (0.0, 0.0)


# Rank agreement: each rival's Kendall tau with IG, the cascade's Spearman, agreement between runs

IG_VALUES = np.array([5.0, 0.3, 0.1, 0.2, -5.0])  # [CLS] and [SEP] would dominate every ranking if counted


def test_a_rivals_kendall_tau_over_ordinary_tokens_by_hand():
    """IG 0.3, 0.1, 0.2 against the rival 0.2, 0.3, 0.1: pairs (1,2) discordant, (1,3) concordant,
    (2,3) discordant, so tau = (1 - 2) / 3."""
    rival = np.array([0.0, 0.2, 0.3, 0.1, 0.0])
    assert kendall_tau(IG_VALUES, rival, np.array([CLS, 11, 12, 13, SEP]), SPECIAL_IDS) == pytest.approx(-1 / 3)


def test_the_cascades_spearman_over_ordinary_tokens_by_hand():
    """Ranks 3, 1, 2 against 2, 3, 1: d = 1, -2, 1, rho = 1 - 6 * 6 / (3 * 8) = -0.5."""
    randomised = np.array([-7.0, 0.2, 0.3, 0.1, 7.0])
    token_ids = np.array([CLS, 11, 12, 13, SEP])
    assert ordinary_token_correlation(stats.spearmanr, IG_VALUES, randomised, token_ids,
                                      SPECIAL_IDS) == pytest.approx(-0.5)


def test_the_cascades_level_figure_is_the_mean_of_its_defined_examples():
    assert sanity_check.mean([0.5, None, 0.25]) == 0.375
    assert sanity_check.mean([None]) is None


def test_agreement_between_two_runs_by_hand():
    """left 2, -1, 1, 0.5 against right 1, -1, 2, -0.5.
    Spearman: ranks 4, 1, 3, 2 and 3, 1, 4, 2: d = 1, 0, -1, 0, rho = 1 - 6 * 2 / (4 * 15) = 0.8.
    Kendall: of the 6 pairs only features 0 and 2 are discordant: (5 - 1) / 6.
    Top-2 by |value|: left {0, 1} (2, -1; 1 ties -1 and loses by position), right {2, 0}: one shared, same sign.
    Relative L1: (1 + 0 + 1 + 1) / (2 + 1 + 1 + 0.5) = 3 / 4.5."""
    left, right = np.array([2.0, -1.0, 1.0, 0.5]), np.array([1.0, -1.0, 2.0, -0.5])
    assert agreement(left, right, k=2) == pytest.approx(
        {"spearman": 0.8, "kendall": 4 / 6, "top_k": 0.5, "sign_top_k": 0.5, "relative_l1": 3 / 4.5})


def test_sign_agreement_counts_a_shared_feature_of_the_other_sign_as_disagreeing():
    """Top-2 of both is {0, 1}; feature 1 changed sign: top-k 1, sign top-k 1/2."""
    figures = agreement(np.array([3.0, 2.0, 0.1]), np.array([3.0, -2.0, 0.1]), k=2)
    assert (figures["top_k"], figures["sign_top_k"]) == (1.0, 0.5)


# The metrics files: per-source means, medians and maxima


def test_quality_metrics_by_hand():
    """imdb: errors 0.01, 0.03, 0.08 (median 0.03, not the mean 0.04; max 0.08), steps 24, 48, 96 (mean 56),
    comprehensiveness 0.5, 0.3, 0.1 (mean 0.3), tau 0.2, undefined and 0.5 (mean over the defined two: 0.35,
    not 0.2333 with the undefined one as 0); sentences: their own figures."""
    def record(source: str, error: float, steps: int, comprehensiveness: float, tau: float | None) -> ExplainedExample:
        return partial({"source": source, "completeness_error": error, "n_steps": steps,
                        "faithfulness": {"comprehensiveness/ig": comprehensiveness},
                        "rank_agreement": {"kendall_tau/random": tau}})

    records = [record("imdb", 0.01, 24, 0.5, 0.2), record("sentences", 0.5, 96, -0.1, -0.6),
               record("imdb", 0.03, 48, 0.3, None), record("imdb", 0.08, 96, 0.1, 0.5)]
    assert quality_metrics(records) == pytest.approx({
        "imdb/completeness_error/median": 0.03, "imdb/completeness_error/max": 0.08, "imdb/n_steps/mean": 56.0,
        "imdb/comprehensiveness/ig": 0.3, "imdb/kendall_tau/random": 0.35,
        "sentences/completeness_error/median": 0.5, "sentences/completeness_error/max": 0.5,
        "sentences/n_steps/mean": 96.0, "sentences/comprehensiveness/ig": -0.1, "sentences/kendall_tau/random": -0.6})


def test_quality_figures_and_source_summaries_have_four_significant_digits():
    """Errors 0.0123456 and 0.0123456: median and max 0.01235; 3, 3 and 4 tokens: mean 3.333 (not 3.667, as if
    counting from 1); the summary's figures are the source's, with the source's name taken off their keys."""
    from stages.attribution.quality import source_summaries

    def record(error: float, tokens: int) -> ExplainedExample:
        return partial({"source": "imdb", "completeness_error": error, "n_steps": 24, "token_ids": list(range(tokens)),
                        "faithfulness": {"comprehensiveness/ig": 0.1234567}, "rank_agreement": {}})

    records = [record(0.0123456, 3), record(0.0123456, 3), record(0.0123456, 4)]
    assert quality_metrics(records) == {"imdb/completeness_error/median": 0.01235,
                                        "imdb/completeness_error/max": 0.01235, "imdb/n_steps/mean": 24.0,
                                        "imdb/comprehensiveness/ig": 0.1235}
    assert source_summaries(records) == {"imdb": {"examples": 3, "mean_tokens": 3.333, "figures": {
        "completeness_error/median": 0.01235, "completeness_error/max": 0.01235, "n_steps/mean": 24.0,
        "comprehensiveness/ig": 0.1235}}}


# n_steps: auto refines exactly the examples above the target, up to max_steps


class ScriptedIntegral:
    """A chunk's integral whose rules (24, 48, 96 intervals) give each row a scripted completeness error:
    f(x) = 0.75 and f(x') = 0.25, so a row's delta is half its error."""

    def __init__(self, errors: list[list[float]]) -> None:
        self.errors, self.levels, self.level, self.asked = np.array(errors), [24, 48, 96], 0, []

    @property
    def finished(self) -> bool:
        return self.level == len(self.levels)

    @property
    def n_steps(self) -> int:
        return self.levels[self.level]

    def refine(self, rows: np.ndarray):
        self.asked.append(rows.tolist())
        deltas = 0.5 * self.errors[rows, self.level]
        self.level += 1
        length = 3
        return np.zeros((len(rows), length)), np.full(len(rows), 0.75), np.full(len(rows), 0.25), deltas


TARGET = 0.0625  # 1/16: the errors below are exact in binary, so "equal" is equal


def test_auto_refines_the_examples_above_the_target_and_stops_at_the_finest_rule(monkeypatch):
    errors = [[0.9 * TARGET] * 3,  # inside: 24 intervals
              [1.1 * TARGET, 0.5 * TARGET, 0.0],  # outside, then inside: 48
              [TARGET] * 3,  # exactly at the target is within it: 24
              [1.0, 1.0, 1.0]]  # never within: the finest rule, 96
    integral = ScriptedIntegral(errors)
    monkeypatch.setattr(ig, "chunk_integral", lambda *_: integral)
    settings = IGSettings(layer="embeddings", n_steps="auto", method="gausslegendre", internal_batch_size=8,
                          completeness_target=TARGET, max_steps=96, chunk_size=8)
    sequences = [np.array([CLS, 11, SEP])] * 4
    results = ig.explain(None, sequences, ig.SpecialTokens(SPECIAL_IDS, pad=0), settings, targets=[1, 1, 1, 1])
    assert [result.n_steps for result in results] == [24, 48, 24, 96]
    assert integral.asked == [[0, 1, 2, 3], [1, 3], [3]]
    assert [result.completeness_error for result in results] == pytest.approx([0.9 * TARGET, 0.5 * TARGET,
                                                                                TARGET, 1.0])


def test_the_completeness_warning_names_only_the_examples_above_the_target(capsys):
    records = [partial({"source": "imdb", "id": index, "completeness_error": error})
               for index, error in enumerate((0.9 * TARGET, TARGET, 1.1 * TARGET))]
    warn_incomplete(records, TARGET)
    warning = capsys.readouterr().err
    assert warning == ("warning: completeness error above 6% for imdb#2 (6.9%); the integral is under-resolved: "
                       "raise explain.n_steps or use n_steps: auto (Sundararajan et al. 2017)\n")
    warn_incomplete([*records, partial({"source": "sentences", "id": 5, "completeness_error": 0.5})], TARGET)
    assert "for imdb#2 (6.9%), sentences#5 (50.0%); the integral" in capsys.readouterr().err
    warn_incomplete(records[:2], TARGET)
    assert capsys.readouterr().err == ""


# The reproduction verdict of `compare`


TOLERANCE = 1e-4


def pair(worst_l1: float | None, examples: int = 3, comparable: int = 3, prediction_changed: int = 0) -> dict:
    rows = ([{"comparable": True, "prediction_changed": index < prediction_changed, "spearman": 1.0, "kendall": 1.0,
              "top_k": 1.0, "sign_top_k": 1.0, "relative_l1": value}
             for index, value in enumerate([0.0, worst_l1, 0.0][:comparable])]
            + [{"comparable": False, "prediction_changed": False, **{m: None for m in compare.MEASURES}}]
            * (examples - comparable))
    return {"left": "HEAD", "right": "exp", "summary": summary(rows)}


@pytest.mark.parametrize("worst, reproduced", [(0.9 * TOLERANCE, True), (TOLERANCE, True),
                                               (1.1 * TOLERANCE, False), (10 * TOLERANCE, False)])
def test_the_verdict_at_the_tolerance(worst, reproduced):
    verdict = compare.verdict(pair(worst), TOLERANCE)
    if reproduced:
        assert verdict.startswith("HEAD vs exp: reproduced: 3 examples") and f"{worst:.2g} <= 0.0001" in verdict
    else:
        assert verdict == f"HEAD vs exp: NOT reproduced: worst relative L1 difference {worst:.3g} > 0.0001"


def test_one_changed_prediction_or_one_example_not_compared_is_no_reproduction():
    assert compare.verdict(pair(0.0, prediction_changed=1), TOLERANCE) == (
        "HEAD vs exp: NOT reproduced: 1 predictions changed")
    assert compare.verdict(pair(0.0, examples=4, comparable=3), TOLERANCE) == (
        "HEAD vs exp: NOT reproduced: 1 of 4 examples not comparable")
    assert compare.verdict(pair(0.0), TOLERANCE).startswith("HEAD vs exp: reproduced")


# The training curve: Keras' running loss and accuracy, logged at every `log_every_steps` and at the end


def test_the_training_figures_are_logged_every_n_steps_and_at_the_last():
    from stages.train import live_logger

    logged = []
    live = SimpleNamespace(step=None, log_metric=lambda name, value: logged.append((live.step, name, value)),
                           sync=lambda: None)
    callback = live_logger(live, every=2, total=5)
    callback.on_train_begin()
    losses = [0.9, 0.8123456, 0.7, 0.6543219, 0.5000004]
    for batch, loss in enumerate(losses):
        callback.on_train_batch_end(batch, {"loss": loss, "accuracy": batch / 10})
    assert logged == [(2, "train/loss", 0.812346), (2, "train/accuracy", 0.1),
                      (4, "train/loss", 0.654322), (4, "train/accuracy", 0.3),
                      (5, "train/loss", 0.5), (5, "train/accuracy", 0.4)]
