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


def fit_to_length(ids: Sequence[int], budget: int, truncation: str) -> list[int]:
    """Cut a token list (without specials) to `budget` tokens: its start (`head`), or its first
    quarter and last three quarters (`head_tail`, best on IMDB in Sun et al. 2019, "How to
    Fine-Tune BERT for Text Classification?")."""
    if len(ids) <= budget:
        return list(ids)
    if truncation == "head":
        return list(ids[:budget])
    head = budget // 4
    return list(ids[:head]) + list(ids[len(ids) - (budget - head):])


def encode(texts: Sequence[str], tokenizer: Any, max_len: int, truncation: str = "head",
           progress: str | None = None) -> dict[str, np.ndarray]:
    """[CLS] text [SEP] ids and masks padded to `max_len`, plus each text's length before truncation."""
    ids = np.full((len(texts), max_len), tokenizer.pad_token_id, dtype=np.int32)
    mask = np.zeros((len(texts), max_len), dtype=np.int32)
    full_length = np.zeros(len(texts), dtype=np.int32)
    chunks = range(0, len(texts), CHUNK)
    for start in tqdm(chunks, desc=progress, unit="chunk", disable=progress is None or len(chunks) < 2):
        pieces = tokenizer(list(texts[start:start + CHUNK]), add_special_tokens=False, truncation=False,
                           verbose=False)["input_ids"]
        for row, text_ids in enumerate(pieces, start=start):
            kept = [tokenizer.cls_token_id, *fit_to_length(text_ids, max_len - 2, truncation),
                    tokenizer.sep_token_id]
            ids[row, :len(kept)] = kept
            mask[row, :len(kept)] = 1
            full_length[row] = len(text_ids) + 2
    return {"input_ids": ids, "attention_mask": mask, "full_length": full_length}


def length_stats(full_length: np.ndarray, max_len: int) -> dict[str, float]:
    """Distribution of token counts (with [CLS]/[SEP]) before truncation."""
    if len(full_length) == 0:
        return {"count": 0}
    quantiles = np.percentile(full_length, [50, 90, 99]).round(1)
    return {"count": int(len(full_length)), "mean": round(float(full_length.mean()), 2),
            "median": float(quantiles[0]), "p90": float(quantiles[1]), "p99": float(quantiles[2]),
            "max": int(full_length.max()),
            "truncated_fraction": round(float((full_length > max_len).mean()), 4)}


def read_decoded(path: Path) -> pd.DataFrame:
    """One CSV of the decode stage; every text stays the string written (`NA`, `nan`, `007`, '')."""
    try:
        frame = pd.read_csv(path, keep_default_na=False, dtype={"text": str})
    except FileNotFoundError:
        raise UserError(f"{path}: missing; run `dvc repro decode`") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as error:
        raise UserError(f"{path}: unreadable ({type(error).__name__}); rebuild it with "
                        "`dvc repro -f decode`") from None
    if list(frame.columns) != ["id", "text", "label"]:
        raise UserError(f"{path}: expected columns id,text,label; rebuild it with `dvc repro -f decode`")
    if len(frame) and not all(pd.api.types.is_integer_dtype(frame[column]) for column in ("id", "label")):
        raise UserError(f"{path}: ids and labels must be integers; rebuild it with `dvc repro -f decode`")
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
            arrays = encode(frame.text.astype(str).tolist(), tokenizer, params["max_len"], params["truncation"],
                            progress=name)
            np.savez(staging / f"{name}.npz", input_ids=arrays["input_ids"],
                     attention_mask=arrays["attention_mask"],
                     label=frame.label.to_numpy(np.int64), id=frame.id.to_numpy(np.int64))
            metrics[name] = length_stats(arrays["full_length"], params["max_len"])
    write_json(args.metrics, metrics)
    for name, stats in metrics.items():
        print(f"{name}: {stats}")


if __name__ == "__main__":
    run(main)
