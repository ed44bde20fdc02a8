"""The learning-rate schedule, the step count and reproducible training."""
from __future__ import annotations

import numpy as np
import pytest

from stages.plumbing.errors import UserError
from stages.plumbing.models import load_classifier
from stages.schemas.model import ModelParams
from stages.train import batches, compile_classifier, learning_rate_schedule, resolve_train_steps, seed_everything

MODEL = ModelParams(checkpoint="unused", init_lr=5e-5, min_lr_ratio=0.0, batch_size=16, num_warmup_steps=0,
                    num_train_steps="auto", power=1.0)


def entry(**changes) -> ModelParams:
    """MODEL with `changes`, validated again."""
    return ModelParams.model_validate({**MODEL.model_dump(), **changes})


def test_auto_steps_are_one_epoch():
    assert resolve_train_steps(MODEL, 25000) == 1563  # the reference's distilBERT run
    assert resolve_train_steps(entry(num_train_steps=15468), 25000) == 15468
    with pytest.raises(UserError, match="num_warmup_steps = 5 must be smaller"):
        resolve_train_steps(entry(num_warmup_steps=5), 32)


def test_linear_decay_without_warmup():
    schedule = learning_rate_schedule(entry(min_lr_ratio=0.1), num_train_steps=100)
    for step in (0, 25, 50, 100, 150):
        expected = (5e-5 - 5e-6) * (1 - min(step, 100) / 100) + 5e-6
        assert float(schedule(step)) == pytest.approx(expected, rel=1e-5)


def test_warmup_then_decay_as_the_bert_entry():
    schedule = learning_rate_schedule(entry(batch_size=8, num_warmup_steps=1546, num_train_steps=15468), 15468)
    assert float(schedule(0)) == 0.0
    assert float(schedule(773)) == pytest.approx(5e-5 * 773 / 1546, rel=1e-5)
    decay = 15468 - 1546
    for step in (1546, 8000, 15468):
        assert float(schedule(step)) == pytest.approx(5e-5 * (1 - (step - 1546) / decay), rel=1e-4, abs=1e-12)


def test_batches_are_cut_to_their_longest_member():
    ids = np.zeros((4, 10), dtype=np.int32)
    mask = np.zeros((4, 10), dtype=np.int32)
    mask[0, :3] = mask[1, :5] = mask[2, :2] = mask[3, :2] = 1
    arrays = {"input_ids": ids, "attention_mask": mask, "label": np.array([0, 1, 0, 1])}
    widths = [features["input_ids"].shape[1] for features, _ in batches(arrays, 2)]
    assert widths == [5, 2]


def train_tiny(checkpoint: str, seed: int) -> list[np.ndarray]:
    seed_everything(seed)
    model = load_classifier(checkpoint)
    compile_classifier(model, learning_rate_schedule(entry(batch_size=4), 3))
    rng = np.random.default_rng(0)
    arrays = {"input_ids": rng.integers(1000, 2000, (12, 16)).astype(np.int32),
              "attention_mask": np.ones((12, 16), np.int32), "label": rng.integers(0, 2, 12)}
    model.fit(batches(arrays, 4, shuffle_seed=seed), steps_per_epoch=3, epochs=1, verbose=0)
    return [w.numpy() for w in model.weights]


def test_same_seed_gives_identical_weights(tiny_bert_dir):
    first, second = train_tiny(str(tiny_bert_dir), 7), train_tiny(str(tiny_bert_dir), 7)
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    other = train_tiny(str(tiny_bert_dir), 8)
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))
