"""Stage `explain`: Integrated Gradients attributions of the fine-tuned model, with quality metrics.

Usage: python -m stages.explain DECODED_DIR TOKENS_DIR MODEL_DIR OUT_JSON METRICS_JSON
Explains the first held-out reviews, the first Rotten Tomatoes sentences and the
free-text sentences of params.yaml; writes one record per example to OUT_JSON
and completeness / faithfulness figures (IG and a random baseline) to METRICS_JSON.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from stages import ig
from stages.artifacts import read_arrays, run, write_json
from stages.models import LAYERS, Predictor, load_trained, probability_model
from stages.params import UserError, load_section, selected_model
from stages.tokenize import encode, read_decoded

CHUNK_SIZE = 8  # examples per alibi call: bounds the interpolation paths held in memory
PREDICT_BATCH = 64
EMPTY_METRICS = ("completeness_error/median", "completeness_error/max", "n_steps/mean", "comprehensiveness/ig",
                 "sufficiency/ig", "comprehensiveness/random", "sufficiency/random")


@dataclass
class Example:
    source: str  # imdb | rotten_tomatoes | sentence
    id: int
    text: str
    token_ids: np.ndarray
    label: int | None
    truncated: bool = False


def from_token_file(source: str, tokens: dict[str, np.ndarray], texts: pd.DataFrame, count: int) -> list[Example]:
    """The first `count` examples of a tokenized set, without their padding."""
    count = min(count, len(tokens["label"]))
    if not np.array_equal(tokens["id"][:count], texts.id.to_numpy()[:count]):
        raise UserError(f"{source}: the decoded texts and the token file list other examples; "
                        "rebuild them with `dvc repro -f tokenize`")
    return [Example(source=source, id=int(tokens["id"][i]), text=str(texts.text.iloc[i]),
                    token_ids=tokens["input_ids"][i, :int(tokens["attention_mask"][i].sum())],
                    label=int(tokens["label"][i]))
            for i in range(count)]


def from_sentences(sentences: Sequence[str], tokenizer: Any, max_len: int,
                   truncation: str = "head") -> list[Example]:
    """Free text, tokenized like the training data; a sentence longer than `max_len` is truncated."""
    arrays = encode(list(sentences), tokenizer, max_len, truncation)
    examples = []
    for index, sentence in enumerate(sentences):
        length, truncated = int(arrays["attention_mask"][index].sum()), arrays["full_length"][index] > max_len
        if truncated:
            print(f"warning: sentence {index} has {arrays['full_length'][index]} tokens; explained truncated "
                  f"to {max_len}", file=sys.stderr)
        examples.append(Example(source="sentence", id=index, text=sentence, label=None, truncated=bool(truncated),
                                token_ids=arrays["input_ids"][index, :length]))
    return examples


def settings_from(params: dict[str, Any]) -> ig.Settings:
    return ig.Settings(layer=LAYERS[params["layer"]], n_steps=params["n_steps"], method=params["method"],
                       internal_batch_size=params["internal_batch_size"],
                       completeness_target=params["completeness_target"], max_steps=params["max_steps"],
                       chunk_size=CHUNK_SIZE, engine=params["engine"])


def explain_examples(classifier: Any, tokenizer: Any, examples: list[Example], params: dict[str, Any],
                     positions: Sequence[int] | None = None) -> tuple[list[dict], dict[str, Any]]:
    """Explain `examples`; return one record per example and the quality metrics of the set.

    `positions` place the examples in the whole run (they differ from 0, 1, ... in a shard); they
    seed each example's random baseline, so a sharded run gives the records of an unsharded one.
    """
    positions = range(len(examples)) if positions is None else positions
    wrapper = probability_model(classifier)
    special_ids = sorted(tokenizer.all_special_ids)
    started = time.perf_counter()
    results = ig.explain(wrapper, [e.token_ids for e in examples], special_ids, tokenizer.pad_token_id,
                         settings_from(params), progress="explain")
    print(f"explained {len(examples)} examples in {time.perf_counter() - started:.1f} s")

    predictor = Predictor(classifier, PREDICT_BATCH)

    def predict(sequences: list[np.ndarray]) -> np.ndarray:
        return predictor.probabilities(*ig.pad(sequences, tokenizer.pad_token_id))

    records = []
    for example, result, position in zip(examples, results, positions):
        random_scores = np.random.default_rng((params["seed"], position)).random(len(result.token_ids))
        faithful = {}
        for name, scores in (("ig", result.attributions), ("random", random_scores)):
            comprehensiveness, sufficiency = ig.faithfulness(predict, result, scores, special_ids,
                                                             params["faithfulness_k"])
            faithful.update({f"comprehensiveness/{name}": significant(comprehensiveness),
                             f"sufficiency/{name}": significant(sufficiency)})
        records.append({**record(example, result, tokenizer), "faithfulness": faithful, "position": position})
    warn_incomplete(examples, results, params["completeness_target"])
    return records, quality_metrics(records)


def quality_metrics(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The set's completeness (median, max), mean steps and mean faithfulness (ERASER AOPC)."""
    if not records:
        return {"n_examples": 0, **{key: 0.0 for key in EMPTY_METRICS}}
    errors = [r["completeness_error"] for r in records]
    metrics = {"n_examples": len(records),
               "completeness_error/median": round(float(np.median(errors)), 6),
               "completeness_error/max": round(float(np.max(errors)), 6),
               "n_steps/mean": round(float(np.mean([r["n_steps"] for r in records])), 2)}
    for key in records[0]["faithfulness"]:
        metrics[key] = round(float(np.mean([r["faithfulness"][key] for r in records])), 6)
    return metrics


def warn_incomplete(examples: Sequence[Example], results: Sequence[ig.Attribution], target: float) -> None:
    above = [f"{e.source}#{e.id} ({r.completeness_error:.1%})" for e, r in zip(examples, results)
             if r.completeness_error > target]
    if above:
        print(f"warning: completeness error above {target:.0%} for {', '.join(above)}; the integral is "
              "under-resolved: raise explain.n_steps or use n_steps: auto (Sundararajan et al. 2017)",
              file=sys.stderr)


def significant(value: float, digits: int = 7) -> float:
    """A float rounded to `digits` significant digits: stable, compact JSON."""
    return float(f"{value:.{digits}g}")


def record(example: Example, result: ig.Attribution, tokenizer: Any) -> dict[str, Any]:
    return {"source": example.source, "id": example.id, "text": example.text, "label": example.label,
            "truncated": example.truncated,
            "token_ids": [int(t) for t in result.token_ids],
            "tokens": tokenizer.convert_ids_to_tokens([int(t) for t in result.token_ids]),
            "attributions": [significant(a) for a in result.attributions],
            "predicted": result.predicted, "probability": significant(result.probability),
            "f_x": significant(result.f_x), "f_baseline": significant(result.f_baseline),
            "delta": significant(result.delta), "completeness_error": significant(result.completeness_error),
            "n_steps": result.n_steps}


def settings_record(params: dict[str, Any]) -> dict[str, Any]:
    return {key: params[key] for key in ("layer", "n_steps", "method", "engine", "internal_batch_size",
                                         "completeness_target", "max_steps", "faithfulness_k")}


def shard(text: str) -> tuple[int, int]:
    """`I/N` -> (I, N), with 0 <= I < N."""
    index, _, count = text.partition("/")
    if not (index.isdigit() and count.isdigit() and int(index) < int(count)):
        raise argparse.ArgumentTypeError(f"{text!r}: expected I/N with 0 <= I < N, e.g. 2/8")
    return int(index), int(count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("decoded_dir", "tokens_dir", "model_dir", "out_json", "metrics_json"):
        parser.add_argument(name, type=Path)
    parser.add_argument("--shard", type=shard, default=(0, 1), metavar="I/N",
                        help="explain only every N-th example, from the I-th; join shards with stages.merge_shards")
    args = parser.parse_args()
    params = load_section("explain")
    tokenize = load_section("tokenize")
    classifier, tokenizer = load_trained(args.model_dir)

    examples = []
    for source, name, count in (("imdb", "test", params["n_reviews"]),
                                ("rotten_tomatoes", "rotten_tomatoes", params["n_rt_sentences"])):
        texts = read_decoded(args.decoded_dir / f"{name}.csv")
        examples += from_token_file(source, read_arrays(args.tokens_dir / f"{name}.npz", rebuild="tokenize"),
                                    texts, count)
    examples += from_sentences(params["sentences"], tokenizer, tokenize["max_len"], tokenize["truncation"])

    model_name, model = selected_model()
    decode = load_section("decode")
    index, count = args.shard
    positions = list(range(len(examples)))[index::count]
    records, metrics = explain_examples(classifier, tokenizer, [examples[p] for p in positions], params, positions)
    write_json(args.out_json, {"model": model_name, "checkpoint": model["checkpoint"],
                               "data": {key: decode[key] for key in ("source", "train_size", "test_size")},
                               "settings": settings_record(params), "shard": f"{index}/{count}",
                               "examples": records})
    write_json(args.metrics_json, metrics)
    print({key: value for key, value in metrics.items()})


if __name__ == "__main__":
    run(main)
