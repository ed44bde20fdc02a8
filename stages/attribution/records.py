"""Explaining examples with Integrated Gradients: one record per explained example, with the
faithfulness of IG and its rivals, and the settings that made them. Shared by the explain stages."""
from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from stages.attribution import ig
from stages.attribution.agreement import kendall_tau
from stages.attribution.batching import CHUNK_SIZE, pad
from stages.attribution.examples import Example
from stages.attribution.faithfulness import faithfulness
from stages.attribution.layers import check_layer, layer_getter, probability_model
from stages.attribution.methods import rival_scores
from stages.attribution.quality import source_summaries
from stages.attribution.record import ExplainedExample
from stages.attribution.rivals import RivalInputs
from stages.attribution.settings import IGSettings, Scoring, metadata
from stages.plumbing.artifacts import significant
from stages.plumbing.inference import Predictor

# Version of the explanations files' layout: 2 since free sentences have a file of their own, 3 since
# each file gives its sources' summaries and the held-out examples' records live in Parquet.
EXPLANATIONS_FORMAT = 3
PREDICT_TOKENS = 2048  # per inference batch of the faithfulness figures, as `evaluate.batch_tokens`


@dataclass
class Scored:
    """Examples explained by IG (`results`), every rival's per-token scores of them, and the model's
    probabilities as the faithfulness figures query them."""

    results: list[ig.Attribution]
    scores: dict[str, list[np.ndarray]]
    predict: Callable[[list[np.ndarray]], np.ndarray]
    special_ids: Sequence[int]


def explain_and_score(classifier: Any, tokenizer: Any, examples: Sequence[Example], settings: IGSettings,
                      scoring: Scoring, positions: Sequence[int] | None = None,
                      progress: str | None = "explain") -> Scored:
    """IG's attributions of `examples` and each rival of `scoring.methods`' scores of them; `positions` (the
    examples' places in the whole run) seed the random ranking."""
    positions = range(len(examples)) if positions is None else positions
    wrapper = probability_model(classifier)
    check_layer(settings.layer, wrapper)
    tokens = ig.SpecialTokens.of(tokenizer)
    started = time.perf_counter()
    results = ig.explain(wrapper, [e.token_ids for e in examples], tokens, settings, progress=progress)
    seconds = {"ig": time.perf_counter() - started}

    predictor = Predictor(classifier, PREDICT_TOKENS)

    def predict(sequences: list[np.ndarray]) -> np.ndarray:
        return predictor.probabilities(*pad(sequences, tokens.pad))

    inputs = RivalInputs(wrapper, layer_getter(settings.layer)(wrapper), results, predict, tokens.ids, tokens.pad,
                         scoring.seed, positions, CHUNK_SIZE)
    scores, rival_seconds = rival_scores(scoring.methods, inputs)
    seconds.update(rival_seconds)
    print(f"explained {len(examples)} examples: " + ", ".join(f"{method} {value:.1f} s"
                                                              for method, value in seconds.items()))
    return Scored(results, scores, predict, tokens.ids)


def explain_examples(classifier: Any, tokenizer: Any, examples: list[Example], settings: IGSettings,
                     scoring: Scoring, positions: Sequence[int] | None = None,
                     progress: str | None = "explain") -> list[ExplainedExample]:
    """Explain `examples` with IG and score each rival of `scoring.methods` on them; return one record per
    example, with the faithfulness of every method and each rival's rank agreement with IG.

    `positions` place the examples in the whole run (they differ from 0, 1, ... in a shard); they
    seed each example's random ranking, so a sharded run gives the records of an unsharded one.
    `progress` names the progress bar (None: no bar).
    """
    positions = range(len(examples)) if positions is None else positions
    scored = explain_and_score(classifier, tokenizer, examples, settings, scoring, positions, progress)
    records = []
    for index, (example, result, position) in enumerate(zip(examples, scored.results, positions)):
        faithful, agreement = {}, {}
        for method, ranking in ([("ig", result.attributions)]
                                + [(m, scored.scores[m][index]) for m in scoring.methods]):
            comprehensiveness, sufficiency = faithfulness(scored.predict, result, ranking, scored.special_ids,
                                                          scoring.faithfulness_k)
            faithful.update({f"comprehensiveness/{method}": significant(comprehensiveness),
                             f"sufficiency/{method}": significant(sufficiency)})
            if method != "ig":
                tau = kendall_tau(result.attributions, ranking, result.token_ids, scored.special_ids)
                agreement[f"kendall_tau/{method}"] = None if tau is None else significant(tau)
        records.append(record(example, result, tokenizer, faithful, agreement, position))
    warn_incomplete(records, settings.completeness_target)
    return records


def warn_incomplete(records: Sequence[ExplainedExample], target: float) -> None:
    """One warning naming every record whose completeness error is above `target`."""
    above = [f"{r.source}#{r.id} ({r.completeness_error:.1%})" for r in records if r.completeness_error > target]
    if above:
        print(f"warning: completeness error above {target:.0%} for {', '.join(above)}; the integral is "
              "under-resolved: raise explain.n_steps or use n_steps: auto (Sundararajan et al. 2017)",
              file=sys.stderr)


def record(example: Example, result: ig.Attribution, tokenizer: Any, faithful: dict[str, float],
           agreement: dict[str, float | None], position: int) -> ExplainedExample:
    token_ids = [int(t) for t in result.token_ids]
    return ExplainedExample(
        source=example.source, id=int(example.id), text=example.text,
        label=None if example.label is None else int(example.label), truncated=example.truncated,
        tokens_cut=int(example.tokens_cut), cut_at=None if example.cut_at is None else int(example.cut_at),
        token_ids=token_ids, tokens=tokenizer.convert_ids_to_tokens(token_ids),
        attributions=[significant(a) for a in result.attributions], predicted=int(result.predicted),
        probability=significant(result.probability), f_x=significant(result.f_x),
        f_baseline=significant(result.f_baseline), delta=significant(result.delta),
        completeness_error=significant(result.completeness_error), n_steps=int(result.n_steps),
        faithfulness=faithful, rank_agreement=agreement, position=int(position))


def explanations_file(model: str, checkpoint: str, settings: IGSettings, scoring: Scoring,
                      records: list[ExplainedExample], **extra: Any) -> dict[str, Any]:
    """An explanations file: which model and settings made the records, each source's summary, then the
    records."""
    return {"format": EXPLANATIONS_FORMAT, "model": model, "checkpoint": checkpoint,
            "settings": metadata(settings, scoring), **extra,
            "sources": source_summaries(records),
            "examples": [record.model_dump() for record in records]}
