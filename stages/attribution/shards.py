"""The shards of the `explain` stage: the examples each shard explains (written by `shard_examples`,
one file per shard), and joining the shards' records back into one run (`merge_explanations`),
refusing a shard that is missing, of another split or made with other settings."""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from stages.attribution.batching import CHUNK_SIZE, length_chunks
from stages.attribution.examples import Example
from stages.attribution.record import parsed_examples
from stages.plumbing.errors import UserError, broken, missing

SAME_IN_EVERY_SHARD = ("model", "checkpoint", "data", "settings")


def split(lengths: Sequence[int], count: int) -> list[list[int]]:
    """The positions each of `count` shards explains: the chunks one unsharded run explains together
    (`ig.length_chunks`), dealt out in turn. A shard then explains exactly the batches of the
    unsharded run, so the merged records are its records to the last bit (other batch widths move
    attributions by about 1e-7), and long and short chunks alternate between shards."""
    chunks = length_chunks(lengths, CHUNK_SIZE)
    return [sorted(int(p) for chunk in chunks[index::count] for p in chunk) for index in range(count)]


def examples_payload(index: int, count: int, data: dict[str, Any], examples: Sequence[Example],
                     positions: Sequence[int]) -> dict[str, Any]:
    """A shard's examples file: which shard, the data settings, each example with its position in the run."""
    return {"shard": f"{index}/{count}", "data": data, "examples": example_rows(examples, positions)}


def example_rows(examples: Sequence[Example], positions: Sequence[int]) -> list[dict[str, Any]]:
    """The examples as JSON rows, each with its position in the run (`parse_examples` reads them back)."""
    return [{**dataclasses.asdict(example), "token_ids": [int(t) for t in example.token_ids], "position": position}
            for example, position in zip(examples, positions)]


def parse_examples(payload: dict[str, Any]) -> tuple[list[Example], list[int]]:
    """The examples of a payload's `examples` rows and their positions in the run."""
    examples = [Example(**{**fields, "token_ids": np.asarray(fields["token_ids"], dtype=np.int32)})
                for fields in ({k: v for k, v in e.items() if k != "position"} for e in payload["examples"])]
    return examples, [int(e["position"]) for e in payload["examples"]]


def read_examples(path: Path) -> tuple[str, dict[str, Any], list[Example], list[int]]:
    """A shard's examples file: the shard (`I/N`), the data settings, the examples and their positions."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        return payload["shard"], payload["data"], *parse_examples(payload)
    except FileNotFoundError:
        raise missing(path, "shard_examples") from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise broken(path, f"not a shard's examples ({type(error).__name__})", "shard_examples") from None


def read_shard(folder: Path, index: int, count: int) -> dict[str, Any]:
    """The explained shard `index` of `count` in `folder`, refused when missing or of another split."""
    path = folder / f"{index}.json"
    try:
        shard = json.loads(path.read_text(encoding="utf-8"))
        made_as = shard["shard"]
        shard["examples"] = parsed_examples(shard["examples"])
    except FileNotFoundError:
        raise missing(path, f"explain@{index}") from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise broken(path, f"not an explained shard ({type(error).__name__}: {error})", f"explain@{index}") from None
    if made_as != f"{index}/{count}":
        raise UserError(f"{path}: shard {made_as} of another split, where {index}/{count} is needed; run "
                        f"`dvc repro explain@{index}`")
    return shard


def merge(folder: Path, count: int) -> dict[str, Any]:
    """The explanations of all `count` shards in `folder`, in the order of an unsharded run: the
    file one shard writes, without what describes the shard alone (its index, metrics and summaries),
    its `examples` the records."""
    shards = [read_shard(folder, index, count) for index in range(count)]
    for index, shard in enumerate(shards):
        for key in SAME_IN_EVERY_SHARD:
            if shard.get(key) != shards[0].get(key):
                raise UserError(f"{folder / f'{index}.json'}: its '{key}' differs from shard 0's, so the shards come "
                                f"from different runs; run `dvc repro explain@{index}`")
    examples = sorted((record for shard in shards for record in shard["examples"]), key=lambda r: r.position)
    return {**{key: value for key, value in shards[0].items() if key not in ("shard", "metrics", "sources")},
            "examples": examples}
