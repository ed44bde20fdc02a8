"""Integrated Gradients on tiny random BERT/DistilBERT models, and the ERASER faithfulness metric."""
from __future__ import annotations

import numpy as np
import pytest

from stages.attribution import ig
from stages.plumbing.models import LAYERS, load_classifier, probability_model

SENTENCES = ["a wonderful , moving film", "dull", "i love you , i like you , but i also kind of dislike you"]


def settings(**changes) -> ig.Settings:
    values = dict(layer=LAYERS["embeddings"], n_steps=50, method="gausslegendre", internal_batch_size=100,
                  completeness_target=0.05, max_steps=200, chunk_size=8)
    return ig.Settings(**{**values, **changes})


def encode(tokenizer, texts):
    return [np.asarray(tokenizer(t)["input_ids"], dtype=np.int32) for t in texts]


@pytest.fixture(scope="module")
def bert(tiny_bert_dir, vocab_tokenizer):
    return probability_model(load_classifier(str(tiny_bert_dir))), vocab_tokenizer


def explain(wrapper, tokenizer, sequences, **changes):
    return ig.explain(wrapper, sequences, tokenizer.all_special_ids, tokenizer.pad_token_id, settings(**changes))


def test_chunks_group_similar_lengths_longest_first():
    chunks = ig.length_chunks([3, 9, 5, 9, 1], chunk_size=2)
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


def test_auto_steps_reach_the_target_or_the_cap(bert):
    wrapper, tokenizer = bert
    results = explain(wrapper, tokenizer, encode(tokenizer, SENTENCES), n_steps="auto", method="riemann_left",
                      completeness_target=0.01, max_steps=64)
    for result in results:
        assert result.n_steps in (16, 32, 64)
        assert result.completeness_error <= 0.01 or result.n_steps == 64
    assert max(result.n_steps for result in results) > 16  # at least one example needed more passes
    sixteen = explain(wrapper, tokenizer, encode(tokenizer, SENTENCES), n_steps=16, method="riemann_left")
    for fixed, auto in zip(sixteen, results):  # an example kept at 16 steps has the fixed run's attributions
        if auto.n_steps == 16:
            assert np.array_equal(fixed.attributions, auto.attributions)


def test_real_length_equals_padded_run(bert):
    """Explaining at the real length gives the attributions of the reference's padded run."""
    wrapper, tokenizer = bert
    sequences = encode(tokenizer, SENTENCES)
    real = explain(wrapper, tokenizer, sequences, chunk_size=1)
    ids, mask = ig.pad(sequences, tokenizer.pad_token_id)
    ids = np.pad(ids, ((0, 0), (0, 64 - ids.shape[1])))
    mask = np.pad(mask, ((0, 0), (0, 64 - mask.shape[1])))
    target = np.array([r.predicted for r in real])
    padded, _, _, _ = ig.run_alibi(wrapper, ids, mask, target, tokenizer.all_special_ids, tokenizer.pad_token_id,
                                   settings(), 50)
    for row, result in enumerate(real):
        length = len(result.token_ids)
        total = abs(result.attributions).sum()
        assert np.abs(padded[row, :length] - result.attributions).max() <= 1e-5 * total
        assert np.all(padded[row, length:] == 0.0)


def test_distilbert_and_first_block(tiny_distilbert_dir, vocab_tokenizer):
    wrapper = probability_model(load_classifier(str(tiny_distilbert_dir)))
    sequences = encode(vocab_tokenizer, SENTENCES[:2])
    for layer in ("embeddings", "layer_0"):
        results = explain(wrapper, vocab_tokenizer, sequences, layer=LAYERS[layer])
        assert all(r.attributions.shape == s.shape for r, s in zip(results, sequences))
        assert all(r.completeness_error < 0.05 for r in results)


def test_erasure_variants_keep_specials():
    ids = np.array([101, 5, 6, 7, 8, 102])
    special = np.isin(ids, [101, 102])
    scores = np.array([0.0, 0.1, 0.9, -0.5, 0.3, 0.0])
    without, only = ig.erasure_variants(ids, scores, special, [0.25, 0.5])
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
    good = ig.faithfulness(predict, example, right, [101, 102], [0.2, 0.5])
    bad = ig.faithfulness(predict, example, wrong, [101, 102], [0.2, 0.5])
    assert good == pytest.approx((0.8, 0.0))
    assert bad == pytest.approx((0.0, 0.8))
    only_specials = ig.Attribution(token_ids=np.array([101, 102]), attributions=np.zeros(2), predicted=1, f_x=0.1,
                                   f_baseline=0.1, delta=0.0, n_steps=50)
    assert ig.faithfulness(predict, only_specials, np.zeros(2), [101, 102], [0.5]) == (0.0, 0.0)


def test_baseline_keeps_special_tokens_and_pads_the_rest(vocab_tokenizer):
    tokenizer = vocab_tokenizer
    ids = np.array(tokenizer("great 🎬 film")["input_ids"] + [tokenizer.pad_token_id], dtype=np.int32)
    assert tokenizer.convert_ids_to_tokens(ids.tolist()) == ["[CLS]", "great", "[UNK]", "film", "[SEP]", "[PAD]"]
    baseline = ig.baseline_ids(ids, tokenizer.all_special_ids, tokenizer.pad_token_id)
    assert tokenizer.convert_ids_to_tokens(baseline.tolist()) == ["[CLS]", "[PAD]", "[UNK]", "[PAD]", "[SEP]", "[PAD]"]


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


@pytest.mark.parametrize("model, layer, method, n_steps", [
    ("bert", "embeddings", "gausslegendre", 20),
    ("bert", "layer_0", "gausslegendre", 20),
    ("distilbert", "embeddings", "riemann_trapezoid", 20),
    ("distilbert", "layer_0", "riemann_middle", 20),
    ("bert", "embeddings", "riemann_left", "auto"),
])
def test_compiled_engine_matches_alibi(request, vocab_tokenizer, model, layer, method, n_steps):
    wrapper = probability_model(load_classifier(str(request.getfixturevalue(MODELS[model]))))
    sequences = encode(vocab_tokenizer, SENTENCES)
    options = dict(layer=LAYERS[layer], method=method, n_steps=n_steps, completeness_target=0.01, max_steps=64)
    reference = explain(wrapper, vocab_tokenizer, sequences, **options)
    # chunks of two widths through the one compiled function, and batches that straddle steps
    compiled = explain(wrapper, vocab_tokenizer, sequences, engine="compiled", internal_batch_size=7, chunk_size=2,
                       **options)
    assert ig.compiled_integral(wrapper, LAYERS[layer](wrapper)).experimental_get_tracing_count() == 1
    for expected, result in zip(reference, compiled):
        total = np.abs(expected.attributions).sum()
        assert np.abs(result.attributions - expected.attributions).max() <= 1e-4 * total
        assert result.predicted == expected.predicted and result.n_steps == expected.n_steps
        assert abs(result.f_baseline - expected.f_baseline) < 1e-5


NEUTRAL = "the film story plot actor scene camera music night city house car road table window door".split()


def keyword_sentences(rng: np.random.Generator, count: int, share: float = 0.5) -> tuple[list[str], np.ndarray]:
    """Seven neutral words, a `share` of them with `awful` put among them: negative (0) exactly when it is."""
    texts, labels = [], (rng.random(count) >= share).astype(np.int64)
    for label in labels:
        words = list(rng.choice(NEUTRAL, 7))
        if label == 0:
            words[int(rng.integers(0, 7))] = "awful"
        texts.append(" ".join(words))
    return texts, labels


def test_ig_finds_the_keyword_a_model_learned_and_beats_random(vocab_tokenizer):
    """A tiny BERT trained where the answer is known (one word decides): IG ranks that word first in every
    negative sentence and is more comprehensive and more sufficient than a random ranking."""
    import tensorflow as tf
    from transformers import BertConfig, TFBertForSequenceClassification

    from stages.plumbing.models import Predictor
    from stages.train import batches, compile_classifier

    tokenizer = vocab_tokenizer
    texts, labels = keyword_sentences(np.random.default_rng(0), 256)
    encoded = tokenizer(texts, padding=True, return_tensors="np")
    tf.keras.utils.set_random_seed(0)
    classifier = TFBertForSequenceClassification(BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32,
                                                            num_hidden_layers=1, num_attention_heads=2,
                                                            intermediate_size=64))
    compile_classifier(classifier, 1e-2)
    arrays = {"input_ids": encoded["input_ids"].astype(np.int32),
              "attention_mask": encoded["attention_mask"].astype(np.int32), "label": labels}
    classifier.fit(batches(arrays, 16, shuffle_seed=0), steps_per_epoch=32, epochs=1, verbose=0)

    negatives, _ = keyword_sentences(np.random.default_rng(1), 8, share=1.0)
    results = explain(probability_model(classifier), tokenizer, encode(tokenizer, negatives), n_steps=64,
                      engine="compiled")
    predictor = Predictor(classifier, 64)

    def predict(candidates: list[np.ndarray]) -> np.ndarray:
        return predictor.probabilities(*ig.pad(candidates, tokenizer.pad_token_id))

    scores = {"ig": [], "random": []}
    for result in results:
        assert result.predicted == 0 and result.probability > 0.9
        assert tokenizer.convert_ids_to_tokens(int(result.token_ids[np.argmax(result.attributions)])) == "awful"
        random_ranking = np.random.default_rng(0).random(len(result.token_ids))
        for name, ranking in (("ig", result.attributions), ("random", random_ranking)):
            scores[name].append(ig.faithfulness(predict, result, ranking, tokenizer.all_special_ids, [0.1, 0.2]))
    (ig_comprehensiveness, ig_sufficiency), (random_comprehensiveness, random_sufficiency) = (
        np.mean(scores[name], axis=0) for name in ("ig", "random"))
    assert ig_comprehensiveness > 0.5 > random_comprehensiveness  # removing `awful` flips the prediction
    assert ig_sufficiency < 0.1 < random_sufficiency  # keeping it alone keeps the prediction
