"""The agreement measures at their edges, each against a hand computation: features matched as tokens,
ties in the top k, where a rank correlation is and is not defined, and a summary with nothing defined."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats

from stages.attribution.agreement import MEASURES, common_features, correlation, summary, top_k
from tests.conftest import explained_record


def test_identical_tokens_are_compared_token_by_token():
    record = explained_record(tokens=["[CLS]", "un", "##real", "[SEP]"], attributions=[0.0, 0.25, 0.5, 0.0])
    features = common_features(record, record.model_copy(update={"attributions": [0.0, 0.5, 0.25, 0.0]}))
    assert (features.level, features.names) == ("token", ["un", "##real"])
    assert features.left.tolist() == [0.25, 0.5] and features.right.tolist() == [0.5, 0.25]


def test_tied_values_enter_the_top_k_by_position():
    """100 equal |values|: the top 5 are the first five (numpy's default sort orders ties of an array this
    long otherwise)."""
    assert top_k(np.full(100, 0.5), 5).tolist() == [0, 1, 2, 3, 4]


def test_two_features_have_a_rank_correlation():
    """Two features in the same (opposite) order: rho = 1 (-1); one feature or none: undefined."""
    assert correlation(stats.spearmanr, np.array([0.1, 0.2]), np.array([0.3, 0.4])) == pytest.approx(1.0)
    assert correlation(stats.spearmanr, np.array([0.1, 0.2]), np.array([0.4, 0.3])) == pytest.approx(-1.0)
    assert correlation(stats.spearmanr, np.array([0.1]), np.array([0.3])) is None
    assert correlation(stats.spearmanr, np.array([]), np.array([])) is None


def test_a_spread_of_exactly_one_is_not_constant():
    """Ranges of 1 on both sides, ranks 1, 3, 2 against 3, 1, 2: rho = 1 - 6 * 8 / (3 * 8) = -1."""
    left, right = np.array([0.0, 1.0, 0.5]), np.array([1.0, 0.0, 0.5])
    assert correlation(stats.spearmanr, left, right) == pytest.approx(-1.0)


@pytest.mark.parametrize("method", [stats.spearmanr, stats.kendalltau])
def test_a_constant_side_is_undefined_without_scipys_warning(method):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # scipy warns on constant input: the constant side is caught first
        assert correlation(method, np.array([0.2, 0.2, 0.2]), np.array([0.1, 0.2, 0.3])) is None
        assert correlation(method, np.array([0.1, 0.2, 0.3]), np.array([0.2, 0.2, 0.2])) is None


def test_an_attribution_that_is_not_a_number_gives_no_correlation():
    assert correlation(stats.spearmanr, np.array([0.1, np.nan, 0.3]), np.array([0.1, 0.2, 0.3])) is None


def test_a_summary_with_no_defined_measure_has_none_for_each():
    rows = [{"comparable": True, "prediction_changed": False, **dict.fromkeys(MEASURES)}]
    figures = summary(rows)
    assert (figures["examples"], figures["comparable"]) == (1, 1)
    assert all(figures[measure] == {"median": None, "worst": None} for measure in MEASURES)
