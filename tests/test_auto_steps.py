"""`n_steps: auto`: nested Clenshaw-Curtis rules whose doublings reuse every pass."""
from __future__ import annotations

import numpy as np
import pytest

from stages.attribution import auto_steps, ig
from stages.attribution.compiled import integrate_rules
from stages.attribution.layers import layer_getter, probability_model
from stages.plumbing.models import load_classifier
from tests.test_ig import SENTENCES, encode, explain


@pytest.mark.parametrize("intervals", [1, 2, 5, 24])
def test_clenshaw_curtis_integrates_polynomials_up_to_its_degree_exactly(intervals):
    alphas, weights = auto_steps.clenshaw_curtis(intervals)
    assert alphas[0] == 0 and alphas[-1] == 1 and np.all(np.diff(alphas) > 0) and np.all(weights > 0)
    for degree in range(intervals + 1):
        assert abs((weights * alphas ** degree).sum() - 1 / (degree + 1)) < 1e-12, degree


def test_each_rule_has_the_points_of_the_one_before():
    coarse, fine = auto_steps.clenshaw_curtis(24)[0], auto_steps.clenshaw_curtis(48)[0]
    assert np.allclose(fine[::2], coarse, atol=1e-15)


@pytest.mark.parametrize("max_steps, expected", [(400, [24, 48, 96, 192, 384]), (50, [24, 48]), (48, [24, 48]),
                                                 (47, [24]), (24, [24]), (10, [10])])
def test_levels_double_within_max_steps(max_steps, expected):
    assert auto_steps.levels(max_steps) == expected


def test_every_point_is_computed_once_and_every_rule_is_whole():
    ids = np.ones((2, 5), dtype=np.int32)
    nested = auto_steps.NestedIntegral(None, None, False, 8, 100, ids, ids, np.zeros(2), ids)
    assert nested.levels == [24, 48, 96]
    points = np.concatenate(nested.new_points)
    assert np.array_equal(np.sort(points), np.arange(97))  # 97 passes for the 96-interval rule, not 24 + 48 + 96
    assert [len(p) for p in nested.new_points] == [25, 24, 48]
    assert np.allclose(nested.weights.sum(axis=1), 1.0)
    for row, intervals in enumerate(nested.levels):  # the points a rule uses are those made up to its level
        assert np.array_equal(np.flatnonzero(nested.weights[row]), np.sort(np.concatenate(nested.new_points[:row + 1])))
        assert np.allclose(nested.alphas[nested.weights[row] != 0], auto_steps.clenshaw_curtis(intervals)[0])


@pytest.fixture(scope="module")
def bert(tiny_bert_dir, vocab_tokenizer):
    return probability_model(load_classifier(str(tiny_bert_dir))), vocab_tokenizer


def test_auto_steps_give_each_rule_whole_and_stop_at_the_target_or_the_cap(bert):
    """An example refined to n intervals has the attributions of the n-interval rule computed at once."""
    wrapper, tokenizer = bert
    sequences = encode(tokenizer, SENTENCES)
    target_error = 1e-4
    results = explain(wrapper, tokenizer, sequences, n_steps="auto", completeness_target=target_error, max_steps=96,
                      internal_batch_size=7, chunk_size=2)
    assert {result.n_steps for result in results} <= {24, 48, 96}
    assert max(result.n_steps for result in results) > 24  # at least one example needed the reused passes
    tokens, layer = ig.SpecialTokens.of(tokenizer), layer_getter("embeddings")(wrapper)
    for sequence, result in zip(sequences, results):
        assert result.completeness_error <= target_error or result.n_steps == 96
        ids, mask = sequence[None], np.ones_like(sequence)[None]
        alphas, weights = auto_steps.clenshaw_curtis(result.n_steps)
        rules, _, _ = integrate_rules(wrapper, layer, False, ids, mask, np.array([result.predicted]),
                                      tokens.baselines(ids, "pad"), alphas, weights[None], 16)
        direct = rules[0, 0].sum(axis=1)
        assert np.abs(result.attributions - direct).max() <= 1e-5 * np.abs(direct).sum()


def test_refine_returns_alibis_delta_per_row_in_the_models_precision_and_stops_after_the_finest_rule(bert):
    """Two rows refined through 24, 48 and 96 intervals: each row's delta is alibi's sum(a) - (f(x) - f(x')),
    the sums stay in the model's float32, and a fourth refinement with max_steps 96 is refused, naming the finest
    rule (three of them: not the second)."""
    wrapper, tokenizer = bert
    ids = np.stack(encode(tokenizer, ["a fine film", "a dull plot"])[:2]).astype(np.int32)
    mask, target = np.ones_like(ids), np.array([1, 0])
    baselines = ig.SpecialTokens.of(tokenizer).baselines(ids, "pad")
    nested = auto_steps.NestedIntegral(wrapper, layer_getter("embeddings")(wrapper), False, 16, 96, ids, mask, target,
                                       baselines)
    assert nested.levels == [24, 48, 96]
    for _ in nested.levels:
        per_token, f_x, f_baseline, deltas = nested.refine(np.array([0, 1]))
        assert per_token.dtype == np.float32 and per_token.shape == ids.shape
        assert deltas.tolist() == [per_token[row].sum() - (f_x[row] - f_baseline[row]) for row in range(2)]
    assert f_x[0] != f_baseline[0]
    with pytest.raises(ValueError, match="^no rule finer than 96 intervals within max_steps$"):
        nested.refine(np.array([0]))
