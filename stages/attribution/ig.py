"""Integrated Gradients with alibi on a transformer layer, at each example's real length, and the
completeness of the result (Sundararajan et al. 2017)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

from stages.attribution.batching import length_chunks, pad, rows_of
from stages.attribution.layers import layer_getter
from stages.attribution.settings import IGSettings

PROBABILITY_FLOOR = 1e-9  # |f(x) - f(baseline)| below this makes a relative error meaningless


@dataclass(frozen=True)
class SpecialTokens:
    """The tokenizer's special ids, which no baseline replaces, and the ids baselines are made of."""
    ids: tuple[int, ...]
    pad: int
    mask: int | None = None
    unk: int | None = None

    @classmethod
    def of(cls, tokenizer: Any) -> SpecialTokens:
        return cls(tuple(sorted(tokenizer.all_special_ids)), tokenizer.pad_token_id, tokenizer.mask_token_id,
                   tokenizer.unk_token_id)

    def baselines(self, ids: np.ndarray, baseline: str) -> np.ndarray | None:
        """The baseline ids of `ids` for a token baseline; None for the zero baseline (no ids make it)."""
        if baseline == "zero":
            return None
        replacement = getattr(self, baseline)
        if replacement is None:
            raise ValueError(f"the tokenizer has no {baseline} token to build the baseline from")
        return baseline_ids(ids, self.ids, replacement)


@dataclass
class Attribution:
    """One explained example: per-token attributions to the predicted class and their bookkeeping."""
    token_ids: np.ndarray
    attributions: np.ndarray
    predicted: int
    f_x: float
    f_baseline: float
    delta: float
    n_steps: int

    @property
    def probability(self) -> float:
        """Probability of the predicted class, f(x)."""
        return self.f_x

    @property
    def completeness_error(self) -> float:
        """|sum(attributions) - (f(x) - f(baseline))| / |f(x) - f(baseline)|."""
        return abs(self.delta) / max(abs(self.f_x - self.f_baseline), PROBABILITY_FLOOR)


def baseline_ids(ids: np.ndarray, special_ids: Sequence[int], replacement_id: int) -> np.ndarray:
    """Every token replaced by `replacement_id` ([PAD] in the reference) except the special ones
    ([CLS], [SEP], [UNK], [PAD], [MASK])."""
    return np.where(np.isin(ids, special_ids), ids, replacement_id).astype(ids.dtype)


def explainer(wrapper: Any, settings: IGSettings, n_steps: int) -> Any:
    """The engine's explainer: alibi's `IntegratedGradients` as the reference configures it, or its
    compiled subclass (same interface, same integral)."""
    options = dict(layer=layer_getter(settings.layer), n_steps=n_steps, method=settings.method,
                   internal_batch_size=settings.internal_batch_size)
    if settings.engine == "alibi":
        from alibi.explainers import IntegratedGradients

        if settings.baseline == "zero":
            raise ValueError("alibi's IntegratedGradients builds its baseline from token ids; the zero baseline "
                             "needs the compiled engine")
        return IntegratedGradients(wrapper, **options)
    from stages.attribution.compiled import CompiledIntegratedGradients

    return CompiledIntegratedGradients(wrapper, zero_baseline=settings.baseline == "zero", **options)


def integrate(wrapper: Any, ids: np.ndarray, mask: np.ndarray, target: np.ndarray, baselines: np.ndarray | None,
              settings: IGSettings, n_steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """IG of one padded chunk with the engine of `settings`: per-token attributions (summed over the
    hidden dimension, which keeps completeness), f(x) and f(baseline) of the target class, and the
    deltas sum(attributions) - (f(x) - f(baseline)), from which f(baseline) is read back."""
    explanation = explainer(wrapper, settings, n_steps).explain(
        ids, forward_kwargs={"attention_mask": mask}, baselines=baselines, target=target)
    per_token = explanation.attributions[0].sum(axis=2)
    f_x = explanation.predictions[np.arange(len(target)), target]
    deltas = np.asarray(explanation.deltas)
    return per_token, f_x, f_x - per_token.sum(axis=1) + deltas, deltas


class FixedIntegral:
    """The integral of one padded chunk with `settings.n_steps` steps, in one `refine`."""

    def __init__(self, wrapper: Any, settings: IGSettings, ids: np.ndarray, mask: np.ndarray, target: np.ndarray,
                 baselines: np.ndarray | None) -> None:
        self.wrapper, self.settings, self.chunk = wrapper, settings, (ids, mask, target, baselines)
        self.n_steps = int(settings.n_steps)
        self.finished = False

    def refine(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        self.finished = True
        ids, mask, target, baselines = rows_of(self.chunk, rows)
        return integrate(self.wrapper, ids, mask, target, baselines, self.settings, self.n_steps)


def chunk_integral(wrapper: Any, settings: IGSettings, ids: np.ndarray, mask: np.ndarray, target: np.ndarray,
                   baselines: np.ndarray | None) -> Any:
    """The integral of one padded chunk: `n_steps` fixed, or the nested rules of `n_steps: auto`."""
    if settings.n_steps != "auto":
        return FixedIntegral(wrapper, settings, ids, mask, target, baselines)
    from stages.attribution.auto_steps import NestedIntegral

    return NestedIntegral(wrapper, layer_getter(settings.layer)(wrapper), settings.baseline == "zero",
                          settings.internal_batch_size, settings.max_steps, ids, mask, target, baselines)


def explain(wrapper: Any, sequences: Sequence[np.ndarray], tokens: SpecialTokens, settings: IGSettings,
            progress: str | None = None, targets: Sequence[int] | None = None) -> list[Attribution]:
    """Attribute each sequence's predicted class (or its given `targets`) to its tokens, explaining
    chunks of similar length.

    Padding inside a chunk is identical in input and baseline and hidden by the
    attention mask, so it gets exactly zero attribution and is dropped again.
    With `n_steps: auto` examples whose completeness error is above the target
    get the next, twice as fine, rule of `auto_steps`, up to `max_steps`.
    """
    results: list[Attribution | None] = [None] * len(sequences)
    # counted in tokens, which the time of a chunk follows, so the remaining time is right from the first chunk
    bar = tqdm(total=sum(len(s) for s in sequences), desc=progress, unit="token", unit_scale=True,
               disable=progress is None)
    for chunk in length_chunks([len(s) for s in sequences], settings.chunk_size):
        ids, mask = pad([sequences[i] for i in chunk], tokens.pad)
        baselines = tokens.baselines(ids, settings.baseline)
        target = (wrapper(ids, attention_mask=mask).numpy().argmax(axis=1) if targets is None
                  else np.asarray(targets)[chunk])
        integral = chunk_integral(wrapper, settings, ids, mask, target, baselines)
        pending = np.arange(len(chunk))
        while len(pending) and not integral.finished:
            n_steps = integral.n_steps
            attributions, f_x, f_baseline, deltas = integral.refine(pending)
            for row, position in enumerate(pending):
                length = len(sequences[chunk[position]])
                results[chunk[position]] = Attribution(
                    token_ids=ids[position, :length], attributions=attributions[row, :length],
                    predicted=int(target[position]), f_x=float(f_x[row]),
                    f_baseline=float(f_baseline[row]), delta=float(deltas[row]), n_steps=n_steps)
            pending = np.array([p for p in pending
                                if results[chunk[p]].completeness_error > settings.completeness_target])
        bar.update(sum(len(sequences[i]) for i in chunk))
    bar.close()
    return results  # type: ignore[return-value]
