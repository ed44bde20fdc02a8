"""Stage `tokenize`: BERT WordPiece ids and attention masks for every decoded set.

Usage: python -m stages.tokenize DECODED_DIR OUT_DIR METRICS_JSON
Writes OUT_DIR/<set>.npz (input_ids, attention_mask, label, id; padded to
`max_len`) and token-length statistics as DVC metrics.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
from tqdm import tqdm

from stages.artifacts import atomic_path, run, write_json
from stages.models import load_tokenizer, max_positions
from stages.params import UserError, load_section, selected_model

SETS = ("train", "test", "rotten_tomatoes")
CHUNK = 512  # texts per tokenizer call: large enough for the fast tokenizer, small enough for a live progress bar


def encode(texts: Sequence[str], tokenizer: Any, max_len: int, progress: str | None = None) -> dict[str, np.ndarray]:
    """Token ids and masks padded to `max_len`, plus each text's length before truncation."""
    ids, masks, lengths = [], [], []
    chunks = range(0, len(texts), CHUNK)
    for start in tqdm(chunks, desc=progress, unit="chunk", disable=progress is None or len(chunks) < 2):
        batch = list(texts[start:start + CHUNK])
        full = tokenizer(batch, add_special_tokens=True, truncation=False, return_length=True,
                         verbose=False)["length"]
        encoded = tokenizer(batch, add_special_tokens=True, truncation=True, max_length=max_len,
                            padding="max_length", return_attention_mask=True, return_tensors="np")
        ids.append(encoded["input_ids"].astype(np.int32))
        masks.append(encoded["attention_mask"].astype(np.int32))
        lengths.append(np.asarray(full, dtype=np.int32))
    if not ids:
        empty = np.zeros((0, max_len), dtype=np.int32)
        return {"input_ids": empty, "attention_mask": empty, "full_length": np.zeros(0, np.int32)}
    return {"input_ids": np.concatenate(ids), "attention_mask": np.concatenate(masks),
            "full_length": np.concatenate(lengths)}


def length_stats(full_length: np.ndarray, max_len: int) -> dict[str, float]:
    """Distribution of token counts (with [CLS]/[SEP]) before truncation."""
    if len(full_length) == 0:
        return {"count": 0}
    quantiles = np.percentile(full_length, [50, 90, 99])
    return {"count": int(len(full_length)), "mean": round(float(full_length.mean()), 2),
            "median": float(quantiles[0]), "p90": float(quantiles[1]), "p99": float(quantiles[2]),
            "max": int(full_length.max()),
            "truncated_fraction": round(float((full_length > max_len).mean()), 4)}


def read_decoded(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, keep_default_na=False)
    except FileNotFoundError:
        raise UserError(f"{path}: missing; run `dvc repro decode`") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: unreadable ({type(error).__name__}); rebuild it with "
                        "`dvc repro -f decode`") from None
    if list(frame.columns) != ["id", "text", "label"]:
        raise UserError(f"{path}: expected columns id,text,label; rebuild it with `dvc repro -f decode`")
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("decoded_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("metrics", type=Path)
    args = parser.parse_args()
    params = load_section("tokenize")
    model_name, model = selected_model()
    limit = max_positions(model["checkpoint"])
    if params["max_len"] > limit or params["max_len"] < 3:
        raise UserError(f"params.yaml: tokenize.max_len = {params['max_len']} is not allowed; model "
                        f"'{model_name}' takes 3 to {limit} tokens")
    tokenizer = load_tokenizer(model["checkpoint"])

    metrics = {}
    with atomic_path(args.out_dir) as staging:
        staging.mkdir()
        for name in SETS:
            frame = read_decoded(args.decoded_dir / f"{name}.csv")
            arrays = encode(frame.text.astype(str).tolist(), tokenizer, params["max_len"], progress=name)
            np.savez(staging / f"{name}.npz", input_ids=arrays["input_ids"],
                     attention_mask=arrays["attention_mask"],
                     label=frame.label.to_numpy(np.int64), id=frame.id.to_numpy(np.int64))
            metrics[name] = length_stats(arrays["full_length"], params["max_len"])
    write_json(args.metrics, metrics)
    for name, stats in metrics.items():
        print(f"{name}: {stats}")


if __name__ == "__main__":
    run(main)
