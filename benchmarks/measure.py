"""Measurement helpers of the benchmark: time, peak memory, attribution comparisons, inputs, and
the import hook that keeps PyTorch out of TensorFlow workers."""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from stages.attribution import ig
from stages.plumbing.artifacts import read_arrays
from stages.plumbing.errors import UserError

BUDGET_S = 30.0  # a configuration stops repeating once its timed calls on a workload add up to this
NORM_FLOOR = 1e-12  # sum |a_ref| below this: the attribution difference is taken as absolute


def peak_rss_mib() -> float:
    """High-water mark of this process's resident memory, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def wall_clock(function: Callable[[], Any]) -> Callable[[], tuple[float, Any]]:
    """`function` made to return the wall-clock seconds it took beside its result."""
    def timed() -> tuple[float, Any]:
        started = time.perf_counter()
        result = function()
        return time.perf_counter() - started, result
    return timed


def repeat_timed(timed: Callable[[], tuple[float, Any]], repeats: int,
                 budget_s: float = BUDGET_S) -> tuple[list[float], Any]:
    """Call `timed` (returning seconds and a result) up to `repeats` times, and no more once the calls
    add up to `budget_s` (a minutes-long call varies little); the seconds of each and the last result."""
    times: list[float] = []
    result = None
    while len(times) < repeats and sum(times) < budget_s:
        seconds, result = timed()
        times.append(seconds)
    return times, result


def timing(times: Sequence[float]) -> dict[str, Any]:
    return {"times_s": [round(t, 4) for t in times], "median_s": statistics.median(times)}


def completeness_errors(f_x: np.ndarray, f_baseline: np.ndarray, deltas: np.ndarray) -> np.ndarray:
    """|sum(a) - (f(x) - f(baseline))| / |f(x) - f(baseline)|, as `ig.Attribution.completeness_error`."""
    gap = np.maximum(np.abs(np.asarray(f_x) - np.asarray(f_baseline)), ig.PROBABILITY_FLOOR)
    return np.abs(np.asarray(deltas)) / gap


def max_attribution_difference(candidate: Sequence[Sequence[float]], reference: Sequence[Sequence[float]]) -> float:
    """Largest over examples of max_t |a_candidate - a_reference| / sum_t |a_reference| (real-length tokens)."""
    worst = 0.0
    for a, r in zip(candidate, reference):
        a, r = np.asarray(a, dtype=np.float64), np.asarray(r, dtype=np.float64)
        if a.shape != r.shape:
            raise ValueError(f"attributions of {a.shape} and {r.shape} tokens cannot be compared")
        worst = max(worst, float(np.abs(a - r).max(initial=0.0) / max(np.abs(r).sum(), NORM_FLOOR)))
    return worst


def load_sequences(tokens_dir: Path | str, name: str, count: int) -> list[np.ndarray]:
    """The first `count` id sequences of a token file, at their real length."""
    arrays = read_arrays(Path(tokens_dir) / f"{name}.npz", rebuild="tokenize")
    lengths = arrays["attention_mask"][:count].sum(axis=1)
    return [arrays["input_ids"][i, :int(n)] for i, n in enumerate(lengths)]


def pad_to(sequences: Sequence[np.ndarray], width: int, pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad every sequence to `width` (the reference's fixed input length); ids and attention mask."""
    longest = max(len(s) for s in sequences)
    if longest > width:
        raise UserError(f"--max-len {width} is shorter than a {longest}-token input")
    ids = np.full((len(sequences), width), pad_id, dtype=np.int32)
    mask = np.zeros((len(sequences), width), dtype=np.int32)
    for row, sequence in enumerate(sequences):
        ids[row, :len(sequence)], mask[row, :len(sequence)] = sequence, 1
    return ids, mask


class TorchHidden(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """An import hook under which `import torch` fails as if PyTorch were not installed
    (`find_spec` still answers, so libraries that only look for it keep working)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        return importlib.machinery.ModuleSpec(name, self) if name.split(".")[0] == "torch" else None

    def create_module(self, spec: Any) -> Any:
        raise ModuleNotFoundError(f"No module named '{spec.name}' (hidden by benchmarks.bench)", name=spec.name)

    def exec_module(self, module: Any) -> None:
        return None


def hide_torch() -> None:
    """Keep PyTorch out of a TensorFlow worker: transformers and alibi import it whenever it is
    installed, which would add its memory and start-up to figures meant for the pipeline."""
    os.environ["USE_TF"] = "1"
    sys.meta_path.insert(0, TorchHidden())


def gauss_legendre(n_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Points in [0, 1] and weights of the n-point Gauss-Legendre rule (alibi's and captum's ordering)."""
    points, weights = np.polynomial.legendre.leggauss(n_steps)
    return 0.5 * (points + 1.0), 0.5 * weights
