"""Stage `explain`: Integrated Gradients attributions of the held-out reviews and Rotten Tomatoes sentences.

Usage: python -m stages.explain DECODED_DIR TOKENS_DIR MODEL_DIR OUT_JSON METRICS_JSON PLOT_JSON
Explains the first `explain.n_reviews` held-out reviews and the first
`explain.n_rt_sentences` Rotten Tomatoes sentences with the fine-tuned model;
writes one record per example to OUT_JSON, their completeness and
faithfulness figures (IG and a random baseline), per source, to METRICS_JSON,
and one row per token to PLOT_JSON (DVC plot data).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from stages.attribution.explaining import explain_examples, explanations, from_token_file, plot_rows
from stages.attribution.quality import quality_metrics
from stages.plumbing.artifacts import read_arrays, run, write_json
from stages.plumbing.models import load_trained
from stages.plumbing.params import load_section, selected_model
from stages.plumbing.texts import read_decoded

DATA_KEYS = ("source", "train_size", "test_size")  # the decode settings the report names


def shard(text: str) -> tuple[int, int]:
    """`I/N` -> (I, N), with 0 <= I < N."""
    index, _, count = text.partition("/")
    if not (index.isdigit() and count.isdigit() and int(index) < int(count)):
        raise argparse.ArgumentTypeError(f"{text!r}: expected I/N with 0 <= I < N, e.g. 2/8")
    return int(index), int(count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("decoded_dir", "tokens_dir", "model_dir", "out_json", "metrics_json", "plot_json"):
        parser.add_argument(name, type=Path)
    parser.add_argument("--shard", type=shard, default=(0, 1), metavar="I/N",
                        help="explain only every N-th example, from the I-th; join shards with stages.merge_shards")
    args = parser.parse_args()
    params = load_section("explain")
    decode = load_section("decode")
    tokenize = load_section("tokenize")
    model_name, model = selected_model()
    classifier, tokenizer = load_trained(args.model_dir)

    examples = []
    for source, name, count in (("imdb", "test", params.n_reviews),
                                ("rotten_tomatoes", "rotten_tomatoes", params.n_rt_sentences)):
        texts = read_decoded(args.decoded_dir / f"{name}.csv")
        examples += from_token_file(source, read_arrays(args.tokens_dir / f"{name}.npz", rebuild="tokenize"),
                                    texts, count, tokenizer, tokenize.max_len, tokenize.truncation)
    index, count = args.shard
    positions = list(range(len(examples)))[index::count]
    records = explain_examples(classifier, tokenizer, [examples[p] for p in positions], params, positions)
    metrics = quality_metrics(records)
    write_json(args.out_json, explanations(model_name, model.checkpoint, params, records,
                                           data={key: getattr(decode, key) for key in DATA_KEYS},
                                           shard=f"{index}/{count}"))
    write_json(args.metrics_json, metrics)
    write_json(args.plot_json, plot_rows(records))
    print(metrics)


if __name__ == "__main__":
    run(main)
