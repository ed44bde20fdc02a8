"""What makes an explanation and the dataset view, as plain values: the Integrated Gradients settings,
the scoring of its rivals, the view's knobs. The stages build them from params.yaml
(`ExplainParams.ig_settings`, `.scoring`, `AggregateWordsParams.view_settings`); the code under
`stages/attribution/` takes them as arguments and the files it writes keep a copy (`metadata`, the
view's `settings`), as alibi keeps its explainer's arguments in `meta['params']`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stages.attribution.batching import CHUNK_SIZE


@dataclass(frozen=True)
class IGSettings:
    """The IG knobs: the attributed layer's name (`embeddings` or `layer_N`), the integral and its engine."""
    layer: str
    n_steps: int | str  # a number of steps, or "auto": the nested rules of `auto_steps`
    method: str
    internal_batch_size: int
    completeness_target: float
    max_steps: int
    chunk_size: int = CHUNK_SIZE
    engine: str = "compiled"  # compiled | alibi
    baseline: str = "pad"  # pad | mask | unk: the token replacing the others; zero: 0 at the layer's output


@dataclass(frozen=True)
class Scoring:
    """How IG is scored against its rivals: the rival methods, the deletion fractions of the faithfulness
    figures, and the seed of the random ranking."""
    methods: tuple[str, ...]
    faithfulness_k: tuple[float, ...]
    seed: int


@dataclass(frozen=True)
class ViewSettings:
    """The dataset view's knobs: which words are ranked, how the score shrinks, what counts as top, the
    log-odds prior, and how sure a word must be: the bootstrap's resamples, seed and interval level, and
    the false-discovery rate at which a word is established."""
    min_documents: int
    shrinkage: float
    top_k: int
    top_words: int
    prior_words: float
    resamples: int
    level: float
    fdr: float
    seed: int


def metadata(settings: IGSettings, scoring: Scoring) -> dict[str, Any]:
    """The settings an explanations file records beside its records; not the chunk size (a constant of
    the code) nor the seed (params.yaml's `explain.seed`, a dependency of every explanation stage)."""
    return {"layer": settings.layer, "baseline": settings.baseline, "n_steps": settings.n_steps,
            "method": settings.method, "engine": settings.engine,
            "internal_batch_size": settings.internal_batch_size,
            "completeness_target": settings.completeness_target, "max_steps": settings.max_steps,
            "faithfulness_k": list(scoring.faithfulness_k), "methods": list(scoring.methods)}
