"""The shipped params.yaml: valid, both seed models with the reference's hyperparameters, and what a missing
or differently written key becomes."""
from __future__ import annotations

from pathlib import Path

import pytest

from stages.plumbing.params import load_section
from stages.schemas.explain import ExplainParams
from stages.schemas.model import selected_model
from stages.schemas.sanity_check import SanityCheckParams
from tests.test_params import MISSING, SCHEMAS, set_dotted, shipped, write_as_dvc_does

ROOT = Path(__file__).resolve().parents[1]


def test_shipped_params_are_valid():
    for schema in SCHEMAS.values():
        assert isinstance(load_section(schema, ROOT / "params.yaml"), schema)
    name, entry = selected_model(ROOT / "params.yaml")
    assert name == "minilm" and entry.checkpoint.startswith("embedded:")


def test_new_keys_have_defaults_and_any_block_is_a_layer(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    params = shipped()
    for dotted in ("explain.baseline", "explain.methods", "sanity_check.examples", "sanity_check.seed"):
        set_dotted(params, dotted, MISSING)
    set_dotted(params, "explain.layer", "layer_11")
    write_as_dvc_does(params)
    explain, sanity_check = load_section(ExplainParams), load_section(SanityCheckParams)
    assert (explain.layer, explain.baseline) == ("layer_11", "pad")
    assert explain.methods == ["gradient_x_input", "saliency", "random"]  # occlusion is opt-in
    assert (sanity_check.examples, sanity_check.seed) == (3, 42)


@pytest.mark.parametrize("methods", [None, []])
def test_no_rival_methods_is_ig_alone(methods, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    params = shipped()
    set_dotted(params, "explain.methods", methods)
    write_as_dvc_does(params)
    assert load_section(ExplainParams).methods == []


def test_an_integer_given_for_a_number_is_a_float(tmp_path, monkeypatch):
    """As before the models: the explanations files keep writing `1.0`, not `1`."""
    monkeypatch.chdir(tmp_path)
    params = shipped()
    set_dotted(params, "explain.completeness_target", 1)
    set_dotted(params, "explain.faithfulness_k", [1, 0.5])
    write_as_dvc_does(params)
    explain = load_section(ExplainParams)
    assert repr(explain.completeness_target) == "1.0" and repr(explain.faithfulness_k) == "[1.0, 0.5]"


def test_both_seed_models_keep_the_reference_hyperparameters():
    models = shipped()["models"]
    assert models["distilbert-base-uncased"] == {
        "checkpoint": "distilbert-base-uncased", "init_lr": 5e-5, "min_lr_ratio": 0.0, "batch_size": 16,
        "num_warmup_steps": 0, "num_train_steps": "auto", "power": 1.0}
    assert models["bert-base-uncased"] == {
        "checkpoint": "bert-base-uncased", "init_lr": 5e-5, "min_lr_ratio": 0.0, "batch_size": 8,
        "num_warmup_steps": 1546, "num_train_steps": 15468, "power": 1.0}
