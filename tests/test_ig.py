"""Integrated Gradients on tiny random BERT/DistilBERT models, and the ERASER faithfulness metric."""
from __future__ import annotations

import numpy as np
import pytest

from stages.attribution import ig
from stages.attribution.batching import length_chunks, pad
from stages.attribution.compiled import compiled_integral
from stages.attribution.faithfulness import erasure_variants, faithfulness
from stages.attribution.layers import layer_getter, probability_model
from stages.attribution.settings import IGSettings
from stages.plumbing.models import load_classifier
from tests.conftest import keyword_sentences

SENTENCES = ["a wonderful , moving film", "dull", "i love you , i like you , but i also kind of dislike you"]


def settings(**changes) -> IGSettings:
    values = dict(layer="embeddings", n_steps=50, method="gausslegendre", internal_batch_size=100,
                  completeness_target=0.05, max_steps=200, chunk_size=8)
    return IGSettings(**{**values, **changes})


def encode(tokenizer, texts):
    return [np.asarray(tokenizer(t)["input_ids"], dtype=np.int32) for t in texts]


@pytest.fixture(scope="module")
def bert(tiny_bert_dir, vocab_tokenizer):
    return probability_model(load_classifier(str(tiny_bert_dir))), vocab_tokenizer


def explain(wrapper, tokenizer, sequences, **changes):
    return ig.explain(wrapper, sequences, ig.SpecialTokens.of(tokenizer), settings(**changes))


def test_chunks_group_similar_lengths_longest_first():
    chunks = length_chunks([3, 9, 5, 9, 1], chunk_size=2)
    assert [chunk.tolist() for chunk in chunks] == [[1, 3], [2, 0], [4]]


def test_shapes_specials_and_completeness(bert):
    wrapper, tokenizer = bert
    sequences = encode(tokenizer, SENTENCES)
    results = explain(wrapper, tokenizer, sequences)
    for sequence, result in zip(sequences, results):
        assert result.attributions.shape == sequence.shape and np.array_equal(result.token_ids, sequence)
        assert result.attributions[0] == 0.0 and result.attributions[-1] == 0.0  # [CLS], [SEP]
        assert result.completeness_error < 0.05
        assert abs(result.attributions.sum() - (result.f_x - result.f_baseline) - result.delta) < 1e-5
        assert result.predicted in (0, 1) and 0.5 <= result.probability <= 1.0


def test_more_steps_complete_better(bert):
    wrapper, tokenizer = bert
    sequences = encode(tokenizer, SENTENCES[2:])
    coarse = explain(wrapper, tokenizer, sequences, n_steps=2, method="riemann_left")[0]
    fine = explain(wrapper, tokenizer, sequences, n_steps=50, method="riemann_left")[0]
    assert fine.completeness_error < coarse.completeness_error


def test_real_length_equals_padded_run(bert):
    """Explaining at the real length gives the attributions of the reference's padded run."""
    wrapper, tokenizer = bert
    sequences = encode(tokenizer, SENTENCES)
    real = explain(wrapper, tokenizer, sequences, chunk_size=1, engine="alibi")
    ids, mask = pad(sequences, tokenizer.pad_token_id)
    ids = np.pad(ids, ((0, 0), (0, 64 - ids.shape[1])))
    mask = np.pad(mask, ((0, 0), (0, 64 - mask.shape[1])))
    target = np.array([r.predicted for r in real])
    baselines = ig.SpecialTokens.of(tokenizer).baselines(ids, "pad")
    padded, _, _, _ = ig.integrate(wrapper, ids, mask, target, baselines, settings(engine="alibi"), 50)
    for row, result in enumerate(real):
        length = len(result.token_ids)
        total = abs(result.attributions).sum()
        assert np.abs(padded[row, :length] - result.attributions).max() <= 1e-5 * total
        assert np.all(padded[row, length:] == 0.0)


def test_distilbert_and_first_block(tiny_distilbert_dir, vocab_tokenizer):
    wrapper = probability_model(load_classifier(str(tiny_distilbert_dir)))
    sequences = encode(vocab_tokenizer, SENTENCES[:2])
    for layer in ("embeddings", "layer_0"):
        results = explain(wrapper, vocab_tokenizer, sequences, layer=layer)
        assert all(r.attributions.shape == s.shape for r, s in zip(results, sequences))
        assert all(r.completeness_error < 0.05 for r in results)


def test_erasure_variants_keep_specials():
    ids = np.array([101, 5, 6, 7, 8, 102])
    special = np.isin(ids, [101, 102])
    scores = np.array([0.0, 0.1, 0.9, -0.5, 0.3, 0.0])
    without, only = erasure_variants(ids, scores, special, [0.25, 0.5])
    assert [w.tolist() for w in without] == [[101, 5, 7, 8, 102], [101, 5, 7, 102]]
    assert [o.tolist() for o in only] == [[101, 6, 102], [101, 6, 8, 102]]


def test_faithfulness_on_a_model_that_only_looks_at_one_token():
    """p(positive) = 0.9 when token 42 is present, else 0.1: the attribution that ranks 42 first is
    fully comprehensive and sufficient; one that ranks it last is neither."""
    def predict(sequences):
        positive = np.array([0.9 if 42 in s else 0.1 for s in sequences])
        return np.stack([1 - positive, positive], axis=1)

    ids = np.array([101, 7, 42, 9, 11, 13, 102])
    example = ig.Attribution(token_ids=ids, attributions=np.zeros(7), predicted=1, f_x=0.9, f_baseline=0.1,
                             delta=0.0, n_steps=50)
    right = np.array([0, 0.1, 1.0, 0.2, 0.1, 0.1, 0])
    wrong = -right
    good = faithfulness(predict, example, right, [101, 102], [0.2, 0.5])
    bad = faithfulness(predict, example, wrong, [101, 102], [0.2, 0.5])
    assert good == pytest.approx((0.8, 0.0))
    assert bad == pytest.approx((0.0, 0.8))
    only_specials = ig.Attribution(token_ids=np.array([101, 102]), attributions=np.zeros(2), predicted=1, f_x=0.1,
                                   f_baseline=0.1, delta=0.0, n_steps=50)
    assert faithfulness(predict, only_specials, np.zeros(2), [101, 102], [0.5]) == (0.0, 0.0)


def test_baseline_keeps_special_tokens_and_pads_the_rest(vocab_tokenizer):
    tokenizer = vocab_tokenizer
    ids = np.array(tokenizer("great 🎬 film")["input_ids"] + [tokenizer.pad_token_id], dtype=np.int32)
    assert tokenizer.convert_ids_to_tokens(ids.tolist()) == ["[CLS]", "great", "[UNK]", "film", "[SEP]", "[PAD]"]
    baseline = ig.baseline_ids(ids, tokenizer.all_special_ids, tokenizer.pad_token_id)
    assert tokenizer.convert_ids_to_tokens(baseline.tolist()) == ["[CLS]", "[PAD]", "[UNK]", "[PAD]", "[SEP]", "[PAD]"]
    masked = ig.SpecialTokens.of(tokenizer).baselines(ids, "mask")
    assert tokenizer.convert_ids_to_tokens(masked.tolist()) == ["[CLS]", "[MASK]", "[UNK]", "[MASK]", "[SEP]", "[PAD]"]
    assert ig.SpecialTokens.of(tokenizer).baselines(ids, "zero") is None


def test_mask_and_pad_baselines_differ_and_both_complete(bert):
    wrapper, tokenizer = bert
    sequences = encode(tokenizer, SENTENCES)
    padded, masked = (explain(wrapper, tokenizer, sequences, baseline=name) for name in ("pad", "mask"))
    for with_pad, with_mask in zip(padded, masked):
        assert with_pad.completeness_error < 0.05 and with_mask.completeness_error < 0.05
        assert with_pad.f_baseline != with_mask.f_baseline
        assert not np.allclose(with_pad.attributions, with_mask.attributions, rtol=0.05, atol=0)


def test_zero_baseline_starts_at_a_zero_layer_output_and_is_compiled_only(bert):
    """f(baseline) is the model with the layer's output set to zeros; the integral then falls short of
    f(x) - f(baseline) by the jump LayerNorm makes at zero (every position alike, each LayerNorm gives its
    shift: 0.5 exactly for this untrained model, whose shifts and biases are 0); alibi, which builds
    baselines from token ids, refuses it."""
    wrapper, tokenizer = bert
    sequences = encode(tokenizer, SENTENCES)
    for result in explain(wrapper, tokenizer, sequences, baseline="zero", engine="compiled"):
        assert result.f_baseline == pytest.approx(0.5, abs=1e-6)
        assert result.attributions[0] != 0.0  # [CLS] moves too: its layer output is not in the baseline
    with pytest.raises(ValueError, match="zero baseline needs the compiled engine"):
        explain(wrapper, tokenizer, sequences, baseline="zero", engine="alibi")


@pytest.mark.parametrize("model, blocks", [("tiny_bert_dir", 2), ("tiny_distilbert_dir", 2)])
def test_every_block_can_be_explained_and_one_beyond_is_refused(request, vocab_tokenizer, model, blocks):
    from stages.attribution.layers import check_layer
    from stages.plumbing.errors import UserError

    wrapper = probability_model(load_classifier(str(request.getfixturevalue(model))))
    sequences = encode(vocab_tokenizer, SENTENCES[:2])
    seen = set()
    for index in range(blocks):
        check_layer(f"layer_{index}", wrapper)
        seen.add(id(layer_getter(f"layer_{index}")(wrapper)))
        for result in explain(wrapper, vocab_tokenizer, sequences, layer=f"layer_{index}", engine="compiled"):
            assert result.completeness_error < 0.05 and np.abs(result.attributions).sum() > 0
    assert len(seen) == blocks  # each name finds a block of its own
    with pytest.raises(UserError, match=rf"explain.layer = 'layer_{blocks}' is not allowed; the model has "
                                        rf"{blocks} transformer blocks: embeddings or layer_0 to layer_{blocks - 1}$"):
        check_layer(f"layer_{blocks}", wrapper)


@pytest.mark.parametrize("engine", ["alibi", "compiled"])
def test_unknown_and_special_tokens_get_no_attribution(bert, engine):
    """[UNK] is in the baseline as it is in the input, so the path never moves it: exactly zero."""
    wrapper, tokenizer = bert
    sequences = encode(tokenizer, ["great 🎬 film", "🎬 awful 🎬"])
    for sequence, result in zip(sequences, explain(wrapper, tokenizer, sequences, engine=engine)):
        special = np.isin(sequence, tokenizer.all_special_ids)
        assert special.sum() >= 3 and np.all(result.attributions[special] == 0.0)
        assert np.all(result.attributions[~special] != 0.0)


MODELS = {"bert": "tiny_bert_dir", "distilbert": "tiny_distilbert_dir"}


@pytest.mark.parametrize("model, layer, method, n_steps, baseline", [
    ("bert", "embeddings", "gausslegendre", 20, "pad"),
    ("bert", "layer_0", "gausslegendre", 20, "mask"),
    ("distilbert", "embeddings", "riemann_trapezoid", 20, "unk"),
    ("distilbert", "layer_1", "riemann_middle", 20, "pad"),
])
def test_compiled_engine_matches_alibi(request, vocab_tokenizer, model, layer, method, n_steps, baseline):
    wrapper = probability_model(load_classifier(str(request.getfixturevalue(MODELS[model]))))
    sequences = encode(vocab_tokenizer, SENTENCES)
    options = dict(layer=layer, method=method, n_steps=n_steps, completeness_target=0.01,
                   baseline=baseline)
    reference = explain(wrapper, vocab_tokenizer, sequences, engine="alibi", **options)
    # chunks of two widths through the one compiled function, and batches that straddle steps
    compiled = explain(wrapper, vocab_tokenizer, sequences, engine="compiled", internal_batch_size=7, chunk_size=2,
                       **options)
    integral = compiled_integral(wrapper, layer_getter(layer)(wrapper), zero_baseline=False)
    assert integral.experimental_get_tracing_count() == 1
    for expected, result in zip(reference, compiled):
        total = np.abs(expected.attributions).sum()
        assert np.abs(result.attributions - expected.attributions).max() <= 1e-4 * total
        assert result.predicted == expected.predicted and result.n_steps == expected.n_steps
        assert abs(result.f_baseline - expected.f_baseline) < 1e-5


def test_the_compiled_explainer_is_alibis_explainer_in_one_graph(bert):
    """Same constructor, same `explain`, an `Explanation` with the same fields and figures; a target
    function stands in for targets, as in alibi."""
    import functools

    from alibi.explainers import IntegratedGradients

    from stages.attribution.compiled import CompiledIntegratedGradients

    wrapper, tokenizer = bert
    ids, mask = pad(encode(tokenizer, SENTENCES), tokenizer.pad_token_id)
    baselines = ig.SpecialTokens.of(tokenizer).baselines(ids, "pad")
    target = wrapper(ids, attention_mask=mask).numpy().argmax(axis=1)
    options = dict(layer=layer_getter("embeddings"), n_steps=20, internal_batch_size=7)
    inputs = dict(forward_kwargs={"attention_mask": mask}, baselines=baselines)
    expected = IntegratedGradients(wrapper, **options).explain(ids, target=target, **inputs)
    explainer = CompiledIntegratedGradients(wrapper, target_fn=functools.partial(np.argmax, axis=1), **options)
    result = explainer.explain(ids, **inputs)
    assert isinstance(explainer, IntegratedGradients) and set(result.data) == set(expected.data)
    assert result.meta["params"]["n_steps"] == 20 and np.array_equal(result.target, expected.target)
    assert np.array_equal(result.baselines, expected.baselines)
    assert result.attributions[0].shape == expected.attributions[0].shape == (*ids.shape, 32)
    for row in range(len(ids)):
        total = np.abs(expected.attributions[0][row]).sum()
        assert np.abs(result.attributions[0][row] - expected.attributions[0][row]).max() <= 1e-4 * total
    np.testing.assert_allclose(result.predictions, expected.predictions, atol=1e-6)
    np.testing.assert_allclose(result.deltas, expected.deltas, atol=1e-5)
    with pytest.raises(ValueError, match="Only one of these should be provided"):
        explainer.explain(ids, target=target, **inputs)
    with pytest.raises(ValueError, match=r"only attention_mask in forward_kwargs, not \['token_type_ids'\]"):
        explainer.explain(ids, forward_kwargs={"attention_mask": mask, "token_type_ids": mask})


def test_ig_finds_the_keyword_a_model_learned_and_beats_random(keyword_model_dir, vocab_tokenizer):
    """A tiny BERT trained where the answer is known (one word decides): IG ranks that word first in every
    negative sentence and is more comprehensive and more sufficient than a random ranking."""
    from stages.plumbing.inference import Predictor

    tokenizer = vocab_tokenizer
    classifier = load_classifier(str(keyword_model_dir))
    negatives, _ = keyword_sentences(np.random.default_rng(1), 8, share=1.0)
    results = explain(probability_model(classifier), tokenizer, encode(tokenizer, negatives), n_steps=64,
                      engine="compiled")
    predictor = Predictor(classifier, 64)

    def predict(candidates: list[np.ndarray]) -> np.ndarray:
        return predictor.probabilities(*pad(candidates, tokenizer.pad_token_id))

    scores = {"ig": [], "random": []}
    for result in results:
        assert result.predicted == 0 and result.probability > 0.9
        assert tokenizer.convert_ids_to_tokens(int(result.token_ids[np.argmax(result.attributions)])) == "awful"
        random_ranking = np.random.default_rng(0).random(len(result.token_ids))
        for name, ranking in (("ig", result.attributions), ("random", random_ranking)):
            scores[name].append(faithfulness(predict, result, ranking, tokenizer.all_special_ids, [0.1, 0.2]))
    (ig_comprehensiveness, ig_sufficiency), (random_comprehensiveness, random_sufficiency) = (
        np.mean(scores[name], axis=0) for name in ("ig", "random"))
    assert ig_comprehensiveness > 0.5 > random_comprehensiveness  # removing `awful` flips the prediction
    assert ig_sufficiency < 0.1 < random_sufficiency  # keeping it alone keeps the prediction
