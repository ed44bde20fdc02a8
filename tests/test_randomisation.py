"""The model-parameter randomisation test: the cascade's levels, its seeded weights, and a trained model
whose attributions lose their correlation as its weights go."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from stages.attribution import ig, randomisation
from stages.attribution.layers import probability_model
from stages.attribution.settings import IGSettings
from stages.plumbing.models import load_classifier
from stages.schemas.explain import ExplainParams
from tests.conftest import SPREAD, keyword_sentences, spy_on_explain


def weights(model) -> dict[str, np.ndarray]:
    return {weight.name: weight.numpy() for weight in model.weights}


@pytest.mark.parametrize("fixture, head", [("tiny_bert_dir", {"classifier", "pooler"}),
                                           ("tiny_distilbert_dir", {"classifier", "pre_classifier"})])
def test_levels_run_from_the_head_down_and_reset_only_their_own_weights(request, fixture, head):
    wrapper = probability_model(load_classifier(str(request.getfixturevalue(fixture))))
    levels = randomisation.cascade_levels(wrapper)
    assert [name for name, _ in levels] == ["head", "layer_1", "layer_0", "embeddings"]
    assert {layer.name for layer in levels[0][1]} == head
    every = weights(wrapper)
    assert sum(len(layer.weights) for _, layers in levels for layer in layers) == len(every)  # all, once each
    before = every
    for index, (_, layers) in enumerate(levels):
        randomisation.reinitialise(layers, np.random.default_rng((0, index)), 0.02)
        after = weights(wrapper)
        mine = {weight.name for layer in layers for weight in layer.weights}
        drawn = {name for name in mine if not name.endswith(("gamma:0", "beta:0", "bias:0"))}
        assert drawn and all(not np.array_equal(after[name], before[name]) for name in drawn)
        assert all(np.array_equal(after[name], before[name]) for name in after if name not in mine)
        # LayerNorm back to the identity: scales 1, shifts 0, as biases
        assert all(np.all(after[name] == (1.0 if name.endswith("gamma:0") else 0.0)) for name in mine - drawn)
        before = after


SETTINGS = IGSettings(layer="embeddings", n_steps=32, method="gausslegendre", internal_batch_size=64,
                      completeness_target=0.05, max_steps=32, chunk_size=8, engine="compiled")


@pytest.mark.parametrize("config_range, stddev", [(True, SPREAD), (False, 0.02)])
def test_the_weights_are_drawn_at_the_models_initializer_range(tiny_bert_dir, vocab_tokenizer, monkeypatch,
                                                               config_range, stddev):
    """The pooler's kernel after the head's level: a normal truncated at 2 of the config's `initializer_range`
    (0.5 here; 0.02, transformers' default, where a config has none), whose standard deviation is 0.880 x that.
    The level explains toward the given targets (not the randomised model's prediction), its progress bar named,
    and correlates the new attributions with the original ones over the ordinary tokens, [CLS] and [SEP] left out."""
    wrapper = probability_model(load_classifier(str(tiny_bert_dir)))
    if not config_range:
        del wrapper.transformer.config.initializer_range
    calls, explained = spy_on_explain(monkeypatch)
    sequence = np.asarray(vocab_tokenizer("a fine film")["input_ids"], dtype=np.int32)
    original = np.array([5.0, 1.0, 3.0, 2.0, -5.0])  # [CLS] a fine film [SEP]
    level, (correlation,) = next(randomisation.cascade(wrapper, [sequence], [0], [original],
                                                       ig.SpecialTokens.of(vocab_tokenizer), SETTINGS, seed=0))
    kernel = next(w.numpy() for w in wrapper.weights if "pooler" in w.name and w.name.endswith("kernel:0"))
    assert level == "head" and kernel.size == 32 * 32
    assert calls == [{"progress": "randomised to head", "targets": [0]}]
    new = explained[0].attributions
    ordinary, every_token = (stats.spearmanr(original[1:-1], new[1:-1]).statistic,
                             stats.spearmanr(original, new).statistic)
    assert correlation == pytest.approx(ordinary) and abs(ordinary - every_token) > 0.05
    assert kernel.std() == pytest.approx(stddev * stats.truncnorm.std(-2, 2), rel=0.1)
    assert np.abs(kernel).max() <= 2 * stddev


def run_cascade(model_dir, tokenizer, seed: int):
    wrapper = probability_model(load_classifier(str(model_dir)))
    negatives, _ = keyword_sentences(np.random.default_rng(1), 4, share=1.0)
    sequences = [np.asarray(tokenizer(text)["input_ids"], dtype=np.int32) for text in negatives]
    tokens = ig.SpecialTokens.of(tokenizer)
    originals = ig.explain(wrapper, sequences, tokens, SETTINGS)
    return dict(randomisation.cascade(wrapper, sequences, [r.predicted for r in originals],
                                      [r.attributions for r in originals], tokens, SETTINGS, seed))


def test_a_trained_model_loses_its_attributions_as_its_weights_go(keyword_model_dir, vocab_tokenizer):
    levels = run_cascade(keyword_model_dir, vocab_tokenizer, seed=3)
    assert list(levels) == ["head", "layer_0", "embeddings"]
    means = {name: np.mean([value for value in values if value is not None]) for name, values in levels.items()}
    assert all(mean < 0.5 for mean in means.values()), means  # 1.0 before: from the head down, the ranking is gone
    assert all(value is not None and -1 <= value <= 1 for values in levels.values() for value in values)
    assert run_cascade(keyword_model_dir, vocab_tokenizer, seed=3) == levels  # seeded: the same figures again
    assert run_cascade(keyword_model_dir, vocab_tokenizer, seed=4) != levels


@pytest.fixture
def stage_inputs(tmp_path, monkeypatch, tiny_bert_dir, vocab_tokenizer):
    """A folder with the shipped params (compiled engine, 16 steps), three explained sentences of the tiny
    BERT and the stage's command line; returns a function that runs the stage with `examples`."""
    import sys

    import yaml

    from stages import sanity_check
    from stages.attribution.examples import from_sentences
    from stages.attribution.record_table import write_records
    from stages.attribution.records import explain_examples
    from stages.plumbing.params import load_section
    from tests.conftest import ROOT

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["explain"].update(engine="compiled", n_steps=16, methods=[])
    monkeypatch.chdir(tmp_path)
    classifier = load_classifier(str(tiny_bert_dir))
    examples = from_sentences(["a fine film", "dull", "far too long , and dull"], vocab_tokenizer, max_len=32)

    def run(examples_count: int) -> list[Path]:
        params["sanity_check"]["examples"] = examples_count
        Path("params.yaml").write_text(yaml.safe_dump(params))
        explain = load_section(ExplainParams)
        records = explain_examples(classifier, vocab_tokenizer, examples, explain.ig_settings(), explain.scoring())
        write_records("finetuned.parquet", {}, records)
        outputs = [tmp_path / "sanity.json", tmp_path / "randomisation.json"]
        monkeypatch.setattr(sys, "argv", ["sanity_check", str(tiny_bert_dir), "finetuned.parquet", *map(str, outputs)])
        sanity_check.main()
        return outputs

    return run


def test_the_stage_writes_the_cascade_and_its_two_metrics_the_same_on_a_rerun(stage_inputs):
    import json

    metrics_path, plot_path = stage_inputs(2)
    rows = json.loads(plot_path.read_text())
    assert [row["level"] for row in rows] == ["original", "head", "layer_1", "layer_0", "embeddings"]
    assert [row["randomised"] for row in rows] == [0, 1, 2, 3, 4] and rows[0]["spearman"] == 1.0
    assert all(row["examples"] == 2 for row in rows)
    metrics = json.loads(metrics_path.read_text())
    assert metrics == {"spearman/head": rows[1]["spearman"], "spearman/all_layers": rows[-1]["spearman"]}
    first = metrics_path.read_bytes(), plot_path.read_bytes()
    assert tuple(path.read_bytes() for path in stage_inputs(2)) == first


def test_more_examples_than_were_explained_is_one_line_and_writes_nothing(stage_inputs):
    from stages.plumbing.errors import UserError

    with pytest.raises(UserError, match=r"^params.yaml: sanity_check.examples = 4 is larger than the 3 explained "
                                        r"examples \(explain.n_reviews \+ explain.n_rt_sentences\)$"):
        stage_inputs(4)
    assert not Path("sanity.json").exists() and not Path("randomisation.json").exists()


def test_the_test_takes_the_shortest_explained_examples(tmp_path):
    from stages.attribution.record_table import write_records
    from stages.sanity_check import chosen_records
    from tests.conftest import explained_record

    path = tmp_path / "finetuned.parquet"
    write_records(path, {}, [explained_record(example_id=i, tokens=["x"] * length, attributions=[float(i)] * length)
                             for i, length in enumerate((9, 3, 7, 3, 12))])
    assert [record.attributions[0] for record in chosen_records(path, 3)] == [1.0, 3.0, 2.0]
