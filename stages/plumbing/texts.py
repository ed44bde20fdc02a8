"""Texts to BERT token ids, and the decode stage's CSVs read back as written."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from stages.plumbing.errors import broken, missing

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


def cut_position(max_len: int, truncation: str) -> int:
    """Where `fit_to_length` cuts a text longer than `max_len`, as a position among the kept tokens
    ([CLS] first): the first token of the tail (`head_tail`), or the closing [SEP] (`head`)."""
    budget = max_len - 2
    return 1 + (budget if truncation == "head" else budget // 4)


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


def read_decoded(path: Path) -> pd.DataFrame:
    """One CSV of the decode stage; every text stays the string written (`NA`, `nan`, `007`, '')."""
    try:
        frame = pd.read_csv(path, keep_default_na=False, dtype={"text": str})
    except FileNotFoundError:
        raise missing(path, "decode") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as error:
        raise broken(path, f"unreadable ({type(error).__name__})", "decode") from None
    if list(frame.columns) != ["id", "text", "label"]:
        raise broken(path, "expected columns id,text,label", "decode")
    if len(frame) and not all(pd.api.types.is_integer_dtype(frame[column]) for column in ("id", "label")):
        raise broken(path, "ids and labels must be integers", "decode")
    return frame
