"""The rival attribution methods: each finds the one word a model looks at, they are scored like IG, and
gradient x input is what IG becomes with one step from the zero baseline."""
from __future__ import annotations

import numpy as np
import pytest

from stages.attribution import ig, rivals
from stages.attribution.agreement import kendall_tau
from stages.attribution.batching import pad
from stages.attribution.compiled import integrate_rules
from stages.attribution.faithfulness import faithfulness
from stages.attribution.layers import layer_getter, probability_model
from stages.attribution.methods import RIVALS, rival_scores
from stages.attribution.settings import IGSettings
from stages.plumbing.inference import Predictor
from stages.plumbing.models import load_classifier
from tests.conftest import keyword_sentences

FRACTIONS = [0.1, 0.2]


def settings(**changes) -> IGSettings:
    values = dict(layer="embeddings", n_steps=64, method="gausslegendre", internal_batch_size=100,
                  completeness_target=0.05, max_steps=64, chunk_size=8, engine="compiled")
    return IGSettings(**{**values, **changes})


def encode(tokenizer, texts):
    return [np.asarray(tokenizer(t)["input_ids"], dtype=np.int32) for t in texts]


def one_token_predict(sequences):
    """A hand-made model: p(positive) = 0.9 when token 42 is present, else 0.1."""
    positive = np.array([0.9 if 42 in s else 0.1 for s in sequences])
    return np.stack([1 - positive, positive], axis=1)


def test_leave_one_out_on_a_model_that_only_looks_at_one_token():
    example = ig.Attribution(token_ids=np.array([101, 7, 42, 9, 102]), attributions=np.zeros(5), predicted=1,
                             f_x=0.9, f_baseline=0.1, delta=0.0, n_steps=50)
    scores = rivals.leave_one_out(one_token_predict, example, [101, 102])
    assert scores == pytest.approx([0.0, 0.0, 0.8, 0.0, 0.0])
    assert faithfulness(one_token_predict, example, scores, [101, 102], FRACTIONS) == pytest.approx((0.8, 0.0))


def test_kendall_tau_compares_ordinary_tokens_only():
    ids = np.array([101, 5, 6, 7, 102])
    reference = np.array([0.0, 0.3, -0.2, 0.1, 0.0])
    assert kendall_tau(reference, np.array([9.0, 3.0, 1.0, 2.0, -9.0]), ids, [101, 102]) == pytest.approx(1.0)
    assert kendall_tau(reference, -reference, ids, [101, 102]) == pytest.approx(-1.0)
    assert kendall_tau(reference, np.ones(5), ids, [101, 102]) is None  # a constant ranking ranks nothing


def test_gradient_x_input_is_ig_with_one_right_step_from_zero(tiny_bert_dir, vocab_tokenizer):
    """IG's integral with one point, alpha = 1 and weight 1 (one right-Riemann step), from an all-zero layer
    output is (x - 0) times the gradient at x: gradient x input, token by token, at any layer."""
    wrapper = probability_model(load_classifier(str(tiny_bert_dir)))
    sequences = encode(vocab_tokenizer, ["a wonderful , moving film", "dull", "i love you , i like you"])
    ids, mask = pad(sequences, vocab_tokenizer.pad_token_id)
    target = np.array([0, 1, 1], dtype=np.int32)
    for layer_name in ("embeddings", "layer_1"):
        layer = layer_getter(layer_name)(wrapper)
        rules, _, _ = integrate_rules(wrapper, layer, True, ids, mask, target, None, np.array([1.0]),
                                      np.array([[1.0]]), 8)
        gradients = rivals.gradient_scores(wrapper, layer, sequences, target, vocab_tokenizer.pad_token_id, 2)
        for row, (product, norm) in enumerate(zip(gradients["gradient_x_input"], gradients["saliency"])):
            expected = rules[0].sum(axis=2)[row, :len(product)]
            assert np.abs(product - expected).max() <= 1e-4 * np.abs(expected).sum()  # the engines' tolerance
            assert np.all(norm >= 0) and norm.shape == product.shape


@pytest.fixture(scope="module")
def keyword_run(keyword_model_dir, vocab_tokenizer):
    """IG and every rival on eight negative sentences of the keyword model."""
    classifier = load_classifier(str(keyword_model_dir))
    wrapper, tokens = probability_model(classifier), ig.SpecialTokens.of(vocab_tokenizer)
    negatives, _ = keyword_sentences(np.random.default_rng(1), 8, share=1.0)
    results = ig.explain(wrapper, encode(vocab_tokenizer, negatives), tokens, settings())
    predictor = Predictor(classifier, 64)

    def predict(sequences):
        return predictor.probabilities(*pad(sequences, tokens.pad))

    inputs = rivals.RivalInputs(wrapper, layer_getter("embeddings")(wrapper), results, predict, tokens.ids,
                                tokens.pad, seed=7, positions=range(len(results)), chunk_size=3)
    scores, seconds = rival_scores(RIVALS, inputs)
    return results, scores, seconds, predict, tokens


def test_every_method_runs_in_the_order_asked_and_is_timed(keyword_run):
    results, scores, seconds, _, _ = keyword_run
    assert list(scores) == list(RIVALS) and set(seconds) == set(RIVALS)
    for method in RIVALS:
        assert [len(s) for s in scores[method]] == [len(r.token_ids) for r in results]
    assert np.array_equal(scores["random"][3], rivals.random_scores(7, 3, len(results[3].token_ids)))


def test_the_two_gradient_rivals_share_one_gradient_pass(monkeypatch):
    calls = []

    def gradient_scores(*args):
        calls.append(args)
        return {"gradient_x_input": ["product"], "saliency": ["norm"]}

    monkeypatch.setattr(rivals, "gradient_scores", gradient_scores)
    example = ig.Attribution(token_ids=np.array([101, 7, 102]), attributions=np.zeros(3), predicted=1, f_x=0.9,
                             f_baseline=0.1, delta=0.0, n_steps=4)
    inputs = rivals.RivalInputs("wrapper", "layer", [example], one_token_predict, [101, 102], 0, seed=1,
                                positions=[5], chunk_size=8)
    scores, seconds = rival_scores(["saliency", "random", "gradient_x_input"], inputs)
    assert len(calls) == 1 and scores["saliency"] == ["norm"] and scores["gradient_x_input"] == ["product"]
    assert list(scores) == list(seconds) == ["saliency", "random", "gradient_x_input"]
    assert np.array_equal(scores["random"][0], rivals.random_scores(1, 5, 3))


def faithfulness_of(keyword_run, method):
    results, scores, _, predict, tokens = keyword_run
    ranked = [r.attributions for r in results] if method == "ig" else scores[method]
    return np.mean([faithfulness(predict, r, s, tokens.ids, FRACTIONS) for r, s in zip(results, ranked)], axis=0)


@pytest.mark.parametrize("method", ["saliency", "occlusion"])
def test_sound_methods_rank_the_keyword_first_and_beat_random(keyword_run, vocab_tokenizer, method):
    results, scores, _, _, tokens = keyword_run
    for index, result in enumerate(results):
        ranking = np.where(np.isin(result.token_ids, tokens.ids), -np.inf, scores[method][index])
        assert vocab_tokenizer.convert_ids_to_tokens(int(result.token_ids[np.argmax(ranking)])) == "awful", index
    (comprehensive, sufficient), (random_comprehensive, random_sufficient) = (
        faithfulness_of(keyword_run, name) for name in (method, "random"))
    assert comprehensive > 0.5 > random_comprehensive and sufficient < 0.1 < random_sufficient


def test_gradient_x_input_saturates_where_ig_does_not(keyword_run):
    """The model is sure of every sentence (p > 0.99), so the gradient at x says little about what made it
    so: gradient x input is here no more comprehensive than random, IG fully (Sundararajan et al. 2017,
    the saturation IG's path integral was made for)."""
    results = keyword_run[0]
    assert all(result.probability > 0.99 for result in results)
    ig_comprehensive, _ = faithfulness_of(keyword_run, "ig")
    product_comprehensive, _ = faithfulness_of(keyword_run, "gradient_x_input")
    random_comprehensive, _ = faithfulness_of(keyword_run, "random")
    assert ig_comprehensive > 0.9 and product_comprehensive < max(random_comprehensive, 0.1)


def test_occlusion_agrees_with_ig_in_rank(keyword_run):
    results, scores, _, _, tokens = keyword_run
    taus = [kendall_tau(r.attributions, s, r.token_ids, tokens.ids)
            for r, s in zip(results, scores["occlusion"])]
    assert np.mean(taus) > 0.3
