"""Explaining examples with Integrated Gradients: one record per explained example, with the
faithfulness of IG and its rivals, and the settings that made them. Shared by the explain stages."""
from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from stages.attribution import ig, rivals
from stages.attribution.batching import CHUNK_SIZE, pad
from stages.attribution.examples import Example
from stages.attribution.faithfulness import faithfulness
from stages.attribution.layers import check_layer, probability_model
from stages.attribution.quality import source_summaries
from stages.plumbing.artifacts import significant
from stages.plumbing.inference import Predictor
from stages.schemas.explain import ExplainParams

# Version of the explanations files' layout: 2 since free sentences have a file of their own, 3 since
# each file gives its sources' summaries and the held-out examples' records live in Parquet.
EXPLANATIONS_FORMAT = 3
PREDICT_TOKENS = 2048  # per inference batch of the faithfulness figures, as `evaluate.batch_tokens`


def explain_examples(classifier: Any, tokenizer: Any, examples: list[Example], params: ExplainParams,
                     positions: Sequence[int] | None = None, progress: str | None = "explain") -> list[dict[str, Any]]:
    """Explain `examples` with IG and score each rival of `params.methods` on them; return one record per
    example, with the faithfulness of every method and each rival's rank agreement with IG.

    `positions` place the examples in the whole run (they differ from 0, 1, ... in a shard); they
    seed each example's random ranking, so a sharded run gives the records of an unsharded one.
    `progress` names the progress bar (None: no bar).
    """
    positions = range(len(examples)) if positions is None else positions
    wrapper = probability_model(classifier)
    check_layer(params.layer, wrapper)
    tokens = ig.SpecialTokens.of(tokenizer)
    settings = ig.settings_from(params)
    started = time.perf_counter()
    results = ig.explain(wrapper, [e.token_ids for e in examples], tokens, settings, progress=progress)
    seconds = {"ig": time.perf_counter() - started}

    predictor = Predictor(classifier, PREDICT_TOKENS)

    def predict(sequences: list[np.ndarray]) -> np.ndarray:
        return predictor.probabilities(*pad(sequences, tokens.pad))

    scores, rival_seconds = rivals.rival_scores(params.methods, wrapper, settings.layer(wrapper), results, tokens,
                                                predict, params.seed, positions, CHUNK_SIZE)
    seconds.update(rival_seconds)
    print(f"explained {len(examples)} examples: " + ", ".join(f"{method} {value:.1f} s"
                                                              for method, value in seconds.items()))
    records = []
    for index, (example, result, position) in enumerate(zip(examples, results, positions)):
        faithful, agreement = {}, {}
        for method, ranking in [("ig", result.attributions)] + [(m, scores[m][index]) for m in params.methods]:
            comprehensiveness, sufficiency = faithfulness(predict, result, ranking, tokens.ids, params.faithfulness_k)
            faithful.update({f"comprehensiveness/{method}": significant(comprehensiveness),
                             f"sufficiency/{method}": significant(sufficiency)})
            if method != "ig":
                tau = rivals.kendall_tau(result.attributions, ranking, result.token_ids, tokens.ids)
                agreement[f"kendall_tau/{method}"] = None if tau is None else significant(tau)
        records.append({**record(example, result, tokenizer), "faithfulness": faithful,
                        "rank_agreement": agreement, "position": position})
    warn_incomplete(records, params.completeness_target)
    return records


def warn_incomplete(records: Sequence[dict[str, Any]], target: float) -> None:
    """One warning naming every record whose completeness error is above `target`."""
    above = [f"{r['source']}#{r['id']} ({r['completeness_error']:.1%})" for r in records
             if r["completeness_error"] > target]
    if above:
        print(f"warning: completeness error above {target:.0%} for {', '.join(above)}; the integral is "
              "under-resolved: raise explain.n_steps or use n_steps: auto (Sundararajan et al. 2017)",
              file=sys.stderr)


def record(example: Example, result: ig.Attribution, tokenizer: Any) -> dict[str, Any]:
    return {"source": example.source, "id": example.id, "text": example.text, "label": example.label,
            "truncated": example.truncated, "tokens_cut": example.tokens_cut, "cut_at": example.cut_at,
            "token_ids": [int(t) for t in result.token_ids],
            "tokens": tokenizer.convert_ids_to_tokens([int(t) for t in result.token_ids]),
            "attributions": [significant(a) for a in result.attributions],
            "predicted": result.predicted, "probability": significant(result.probability),
            "f_x": significant(result.f_x), "f_baseline": significant(result.f_baseline),
            "delta": significant(result.delta), "completeness_error": significant(result.completeness_error),
            "n_steps": result.n_steps}


def explanations_file(model: str, checkpoint: str, params: ExplainParams, records: list[dict[str, Any]],
                      **extra: Any) -> dict[str, Any]:
    """An explanations file: which model and IG settings made the records, each source's summary, then the
    records."""
    settings = {key: getattr(params, key) for key in ("layer", "baseline", "n_steps", "method", "engine",
                                                      "internal_batch_size", "completeness_target", "max_steps",
                                                      "faithfulness_k", "methods")}
    return {"format": EXPLANATIONS_FORMAT, "model": model, "checkpoint": checkpoint, "settings": settings, **extra,
            "sources": source_summaries(records), "examples": records}
