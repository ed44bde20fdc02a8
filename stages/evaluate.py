"""Stage `evaluate`: held-out IMDB and out-of-domain Rotten Tomatoes figures of the fine-tuned model.

Usage: python -m stages.evaluate TOKENS_DIR MODEL_DIR LIVE_DIR PREDICTIONS_DIR
Writes to LIVE_DIR the figures runs are compared by (accuracy, ROC AUC, loss;
DVC metrics through dvclive), the per-class report (`per_class.json`: counts,
precision, recall, F1) and the confusion matrices, and one CSV of predictions
per set (id, label, predicted, probability) to PREDICTIONS_DIR.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from stages.plumbing.artifacts import atomic_path, read_arrays, run, significant, write_json
from stages.plumbing.inference import Predictor
from stages.plumbing.models import load_trained
from stages.plumbing.params import load_section
from stages.schemas.evaluate import EvaluateParams

SETS = {"imdb": "test", "rotten_tomatoes": "rotten_tomatoes"}  # metric prefix -> token file
CLASS_NAMES = ("negative", "positive")
COMPARED = ("accuracy", "roc_auc", "loss")  # the metrics; the rest of the report goes to per_class.json
DIGITS = 6


def classification_report(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    """Accuracy, cross-entropy loss, per-class precision/recall/F1 and ROC AUC, to DIGITS significant digits."""
    predicted = probabilities.argmax(axis=1)
    precision, recall, f1, _ = skm.precision_recall_fscore_support(labels, predicted, labels=[0, 1],
                                                                   zero_division=0)
    report = {"n": int(len(labels)), "accuracy": skm.accuracy_score(labels, predicted),
              "loss": skm.log_loss(labels, probabilities, labels=[0, 1])}
    if len(np.unique(labels)) == 2:
        report["roc_auc"] = skm.roc_auc_score(labels, probabilities[:, 1])
    for index, name in enumerate(CLASS_NAMES):
        report.update({f"{name}/precision": precision[index], f"{name}/recall": recall[index],
                       f"{name}/f1": f1[index]})
    return {key: value if key == "n" else significant(float(value), DIGITS) for key, value in report.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tokens_dir", type=Path)
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("live_dir", type=Path)
    parser.add_argument("predictions_dir", type=Path)
    args = parser.parse_args()
    params = load_section(EvaluateParams)
    model, _ = load_trained(args.model_dir)
    predictor = Predictor(model, params.batch_tokens)

    from dvclive import Live

    with atomic_path(args.live_dir) as live_staging, atomic_path(args.predictions_dir) as predictions_staging:
        predictions_staging.mkdir()
        per_class = {}
        with Live(str(live_staging), dvcyaml=None, save_dvc_exp=False, report=None) as live:
            for prefix, token_file in SETS.items():
                arrays = read_arrays(args.tokens_dir / f"{token_file}.npz", rebuild="tokenize")
                probabilities = predictor.probabilities(arrays["input_ids"], arrays["attention_mask"])
                predicted = probabilities.argmax(axis=1)
                for name, value in classification_report(arrays["label"], probabilities).items():
                    if name in COMPARED:
                        live.summary[f"{prefix}/{name}"] = value
                    else:
                        per_class[f"{prefix}/{name}"] = value
                live.log_sklearn_plot("confusion_matrix", arrays["label"].tolist(), predicted.tolist(),
                                      name=f"confusion_{prefix}.json")
                pd.DataFrame({"id": arrays["id"], "label": arrays["label"], "predicted": predicted,
                              "probability": probabilities.max(axis=1).round(6)}).to_csv(
                    predictions_staging / f"{token_file}.csv", index=False)
                print(f"{prefix}: accuracy {live.summary[f'{prefix}/accuracy']:.4f} on {len(predicted)}")
        write_json(live_staging / "per_class.json", per_class)


if __name__ == "__main__":
    run(main)
