"""The evaluation figures against values computed by hand: batched inference keeps each example's
row, the classification report, the predictions files, and the confusion rows."""
from __future__ import annotations

import json
import math
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stages import evaluate
from stages.plumbing.inference import Predictor
from stages.plumbing.models import load_classifier
from stages.plumbing.texts import encode

ROOT = Path(__file__).resolve().parents[1]
TEXTS = ["a wonderful , moving film", "dull", "i love you , i like you , but i also kind of dislike you",
         "far too long", "great", "the plot is thin and the acting is worse than the plot", "fine", "ok then"]
LABELS = np.array([1, 0, 0, 0, 1, 0, 1, 1])


def one_at_a_time(classifier, arrays: dict[str, np.ndarray]) -> np.ndarray:
    """Each example's logits from its own unpadded forward pass: the values batching must reproduce."""
    rows = []
    for ids, mask in zip(arrays["input_ids"], arrays["attention_mask"]):
        length = int(mask.sum())
        rows.append(classifier(input_ids=ids[None, :length], attention_mask=mask[None, :length]).logits.numpy()[0])
    return np.array(rows)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def tiny(tiny_bert_dir, vocab_tokenizer):
    classifier = load_classifier(str(tiny_bert_dir))
    arrays = encode(TEXTS, vocab_tokenizer, max_len=24)
    return classifier, {**arrays, "label": LABELS, "id": np.arange(100, 100 + len(TEXTS))}


def test_batched_inference_keeps_every_example_in_its_row(tiny):
    classifier, arrays = tiny
    expected = one_at_a_time(classifier, arrays)
    assert len({tuple(row.round(2)) for row in expected}) == len(TEXTS)  # rows that a mix-up would change
    for batch_tokens in (1, 30, 60, 10_000):  # batches sorted by length, cut to their longest, order restored
        logits = Predictor(classifier, batch_tokens).logits(arrays["input_ids"], arrays["attention_mask"])
        assert np.abs(logits - expected).max() < 1e-5, batch_tokens
    probabilities = Predictor(classifier, 30).probabilities(arrays["input_ids"], arrays["attention_mask"])
    assert np.abs(probabilities - softmax(expected)).max() < 1e-5


def test_classification_report_against_hand_computed_figures():
    labels = np.array([1, 1, 1, 0, 0])
    positive = np.array([0.9, 0.6, 0.3, 0.4, 0.8])
    report = evaluate.classification_report(labels, np.stack([1 - positive, positive], axis=1))
    # predicted 1, 1, 0, 0, 1: tp 2, fn 1, tn 1, fp 1
    assert report["n"] == 5 and report["accuracy"] == 0.6
    assert report["positive/precision"] == pytest.approx(2 / 3, abs=1e-6)
    assert report["positive/recall"] == pytest.approx(2 / 3, abs=1e-6)
    assert report["negative/precision"] == 0.5 and report["negative/recall"] == 0.5
    assert report["negative/f1"] == 0.5 and report["positive/f1"] == pytest.approx(2 / 3, abs=1e-6)
    # positives outrank negatives in 0.9>0.4, 0.9>0.8, 0.6>0.4, 0.3<0.4, 0.3<0.8, 0.6<0.8: 3 of 6 pairs
    assert report["roc_auc"] == 0.5
    loss = -np.mean(np.log([0.9, 0.6, 0.3, 0.6, 0.2]))
    assert report["loss"] == pytest.approx(loss, abs=1e-6)


def test_the_report_tells_precision_from_recall_and_ranks_by_the_positive_probability():
    """Labels 1, 1, 1, 0, 0; P(positive) 0.9, 0.4, 0.3, 0.7, 0.2, so predicted 1, 0, 0, 1, 0: tp 1, fn 2, fp 1,
    tn 1. Positive: precision 1/2, recall 1/3 (swapped, they would read 1/3 and 1/2), F1 0.4; negative: precision
    1/3, recall 1/2. ROC AUC of P(positive): 4 of the 6 positive-negative pairs ordered, 0.666667 (of P(negative):
    1/3). Loss -(ln 0.9 + ln 0.4 + 2 ln 0.3 + ln 0.8) / 5 = 0.7305481. Six significant digits."""
    positive = np.array([0.9, 0.4, 0.3, 0.7, 0.2])
    report = evaluate.classification_report(np.array([1, 1, 1, 0, 0]), np.stack([1 - positive, positive], axis=1))
    assert report == {"n": 5, "accuracy": 0.4, "loss": 0.730548, "roc_auc": 0.666667,
                      "negative/precision": 0.333333, "negative/recall": 0.5, "negative/f1": 0.4,
                      "positive/precision": 0.5, "positive/recall": 0.333333, "positive/f1": 0.4}


def test_a_class_neither_labelled_nor_predicted_scores_0_without_a_warning_and_n_stays_a_count():
    """Both reviews positive and predicted so: the negative class's precision, recall and F1 are 0/0, reported as
    0 (not 1, and not with sklearn's warning); its figures exist though sklearn saw one class."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = evaluate.classification_report(np.array([1, 1]), np.array([[0.2, 0.8], [0.1, 0.9]]))
    assert [report[f"negative/{name}"] for name in ("precision", "recall", "f1")] == [0.0, 0.0, 0.0]
    assert [report[f"positive/{name}"] for name in ("precision", "recall", "f1")] == [1.0, 1.0, 1.0]
    assert type(report["n"]) is int and report["n"] == 2  # a count, not 2.0 rounded to significant digits


def test_one_class_sets_have_no_roc_auc():
    report = evaluate.classification_report(np.array([1, 1]), np.array([[0.2, 0.8], [0.7, 0.3]]))
    assert "roc_auc" not in report and report["accuracy"] == 0.5 and report["positive/recall"] == 0.5


def test_the_stage_writes_figures_predictions_and_confusion_rows(tiny, tiny_bert_dir, tmp_path, monkeypatch, capsys):
    classifier, arrays = tiny
    tokens = tmp_path / "tokens"
    tokens.mkdir()
    stored = {key: arrays[key] for key in ("input_ids", "attention_mask", "label", "id")}
    np.savez(tokens / "test.npz", **stored)
    reversed_rows = {key: value[::-1] for key, value in stored.items()}  # another order, another set
    np.savez(tokens / "rotten_tomatoes.npz", **{**reversed_rows, "label": np.ones(len(TEXTS), np.int64)})
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["evaluate", "tokens", str(tiny_bert_dir), "live", "predictions"])
    evaluate.main()

    summary = json.loads((tmp_path / "live" / "metrics.json").read_text())
    per_class = json.loads((tmp_path / "live" / "per_class.json").read_text())
    printed = capsys.readouterr().out
    assert sorted(summary) == sorted(f"{prefix}/{name}" for prefix in evaluate.SETS for name in evaluate.COMPARED
                                     if f"{prefix}/{name}" != "rotten_tomatoes/roc_auc")
    for prefix, token_file in evaluate.SETS.items():
        written = np.load(tokens / f"{token_file}.npz")
        expected = softmax(one_at_a_time(classifier, written))
        predictions = pd.read_csv(tmp_path / "predictions" / f"{token_file}.csv")
        assert predictions.columns.tolist() == ["id", "label", "predicted", "probability"]  # no index column
        assert predictions.id.tolist() == written["id"].tolist()
        assert predictions.label.tolist() == written["label"].tolist()
        assert predictions.predicted.tolist() == expected.argmax(axis=1).tolist()
        assert np.abs(predictions.probability - expected.max(axis=1)).max() < 1e-5
        written_probabilities = pd.read_csv(tmp_path / "predictions" / f"{token_file}.csv", dtype=str).probability
        assert max(len(text.split(".")[1]) for text in written_probabilities) == 6  # rounded to 6 decimals
        correct = (predictions.predicted == predictions.label).mean()
        assert summary[f"{prefix}/accuracy"] == pytest.approx(correct, abs=1e-6)
        assert f"{prefix}: accuracy {summary[f'{prefix}/accuracy']:.4f} on {len(TEXTS)}\n" in printed
        assert per_class[f"{prefix}/n"] == len(TEXTS)
        assert per_class[f"{prefix}/positive/recall"] == pytest.approx(
            predictions.predicted[predictions.label == 1].mean(), abs=1e-6)
        rows = json.loads((tmp_path / "live" / "plots" / "sklearn" / f"confusion_{prefix}.json").read_text())
        assert sorted((int(r["actual"]), int(r["predicted"])) for r in rows) == sorted(
            zip(predictions.label, predictions.predicted))
    assert "rotten_tomatoes/roc_auc" not in summary and not math.isnan(summary["imdb/roc_auc"])
