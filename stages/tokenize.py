"""Stage `tokenize`: BERT WordPiece ids and attention masks for every decoded set.

Usage: python -m stages.tokenize DECODED_DIR OUT_DIR LENGTHS_JSON
Writes OUT_DIR/<set>.npz (input_ids, attention_mask, label, id; padded to
`max_len`) and each set's token-length distribution to LENGTHS_JSON (a property
of the data kept beside it in git, not a metric to compare runs by).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from stages.plumbing.artifacts import atomic_path, run, write_json
from stages.plumbing.errors import UserError
from stages.plumbing.models import load_tokenizer, max_positions
from stages.plumbing.params import load_section
from stages.plumbing.texts import encode, read_decoded
from stages.schemas.model import selected_model
from stages.schemas.tokenize import TokenizeParams

SETS = ("train", "test", "rotten_tomatoes")


def length_stats(full_length: np.ndarray, max_len: int) -> dict[str, float]:
    """Distribution of token counts (with [CLS]/[SEP]) before truncation."""
    if len(full_length) == 0:
        return {"count": 0}
    quantiles = np.percentile(full_length, [50, 90, 99]).round(1)
    return {"count": int(len(full_length)), "mean": round(float(full_length.mean()), 2),
            "median": float(quantiles[0]), "p90": float(quantiles[1]), "p99": float(quantiles[2]),
            "max": int(full_length.max()),
            "truncated_fraction": round(float((full_length > max_len).mean()), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("decoded_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("lengths_json", type=Path)
    args = parser.parse_args()
    params = load_section(TokenizeParams)
    model_name, model = selected_model()
    limit = max_positions(model.checkpoint)
    if params.max_len > limit or params.max_len < 3:
        raise UserError(f"params.yaml: tokenize.max_len = {params.max_len} is not allowed; model "
                        f"'{model_name}' takes 3 to {limit} tokens")
    tokenizer = load_tokenizer(model.checkpoint)

    lengths = {}
    with atomic_path(args.out_dir) as staging:
        staging.mkdir()
        for name in SETS:
            frame = read_decoded(args.decoded_dir / f"{name}.csv")
            arrays = encode(frame.text.astype(str).tolist(), tokenizer, params.max_len, params.truncation,
                            progress=name)
            np.savez(staging / f"{name}.npz", input_ids=arrays["input_ids"],
                     attention_mask=arrays["attention_mask"],
                     label=frame.label.to_numpy(np.int64), id=frame.id.to_numpy(np.int64))
            lengths[name] = length_stats(arrays["full_length"], params.max_len)
    write_json(args.lengths_json, lengths)
    for name, stats in lengths.items():
        print(f"{name}: {stats}")


if __name__ == "__main__":
    run(main)
