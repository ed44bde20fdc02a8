"""Examples in padded chunks of similar length: what the engines, the rival methods and the shards share."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CHUNK_SIZE = 8  # examples per explainer call: bounds the interpolation paths held in memory


def pad(sequences: Sequence[np.ndarray], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad id sequences to the longest one; return ids and attention mask."""
    width = max(len(s) for s in sequences)
    ids = np.full((len(sequences), width), pad_id, dtype=np.int32)
    mask = np.zeros((len(sequences), width), dtype=np.int32)
    for row, sequence in enumerate(sequences):
        ids[row, :len(sequence)] = sequence
        mask[row, :len(sequence)] = 1
    return ids, mask


def length_chunks(lengths: Sequence[int], chunk_size: int) -> list[np.ndarray]:
    """Indices grouped `chunk_size` at a time, longest first, so each group pads very little.

    Longest first allocates the widest chunk's buffers first, so narrower chunks can reuse them.
    """
    order = np.argsort(-np.asarray(lengths), kind="stable")
    return [order[start:start + chunk_size] for start in range(0, len(order), chunk_size)]


def rows_of(arrays: Sequence[np.ndarray | None], rows: np.ndarray) -> list[np.ndarray | None]:
    """The given rows of each array (None stays None: the zero baseline has no ids)."""
    return [None if array is None else array[rows] for array in arrays]
