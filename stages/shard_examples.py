"""Stage `shard_examples`: the held-out reviews and Rotten Tomatoes sentences to explain, split into
the `explain.shards` shards that the `explain@I` stages explain.

Usage: python -m stages.shard_examples DECODED_DIR TOKENS_DIR OUT_DIR
Takes the first `explain.n_reviews` (or all) held-out reviews, then the first
`explain.n_rt_sentences` Rotten Tomatoes sentences, as the token files hold them, and writes
OUT_DIR/I.json for each shard I: the chunks of similar length that one unsharded run explains
together, dealt out in turn (`shards.split`), each example with its position in the whole run.
A shard whose examples did not change keeps its file's bytes, so DVC does not explain it again.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from stages.attribution.batching import CHUNK_SIZE
from stages.attribution.examples import from_token_file
from stages.attribution.shards import examples_payload, split
from stages.plumbing.artifacts import atomic_path, read_arrays, run, write_json
from stages.plumbing.errors import UserError
from stages.plumbing.models import load_tokenizer
from stages.plumbing.params import load_section
from stages.plumbing.texts import read_decoded
from stages.schemas.decode import DecodeParams
from stages.schemas.explain import ExplainParams
from stages.schemas.model import selected_model
from stages.schemas.tokenize import TokenizeParams

DATA_KEYS = ("source", "train_size", "test_size")  # the decode settings the report names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("decoded_dir", "tokens_dir", "out_dir"):
        parser.add_argument(name, type=Path)
    args = parser.parse_args()
    params = load_section(ExplainParams)
    decode = load_section(DecodeParams)
    tokenize = load_section(TokenizeParams)
    _, model = selected_model()
    tokenizer = load_tokenizer(model.checkpoint)

    examples = []
    for source, name, count in (("imdb", "test", params.n_reviews),
                                ("rotten_tomatoes", "rotten_tomatoes", params.n_rt_sentences)):
        texts = read_decoded(args.decoded_dir / f"{name}.csv")
        tokens = read_arrays(args.tokens_dir / f"{name}.npz", rebuild="tokenize")
        examples += from_token_file(source, tokens, texts, len(tokens["label"]) if count == "all" else count,
                                    tokenizer, tokenize.max_len, tokenize.truncation)
    shards = len(params.shards)
    chunks = -(-len(examples) // CHUNK_SIZE)
    if shards > max(1, chunks):
        raise UserError(f"params.yaml: explain.shards = {params.shards} asks for {shards} shards of {len(examples)} "
                        f"examples, which are explained {CHUNK_SIZE} at a time; give at most {max(1, chunks)}")
    data = {key: getattr(decode, key) for key in DATA_KEYS}
    with atomic_path(args.out_dir) as staging:
        staging.mkdir()
        for index, positions in enumerate(split([len(e.token_ids) for e in examples], shards)):
            write_json(staging / f"{index}.json",
                       examples_payload(index, shards, data, [examples[p] for p in positions], positions))
    print(f"{len(examples)} examples in {shards} shard{'s' * (shards > 1)}")


if __name__ == "__main__":
    run(main)
