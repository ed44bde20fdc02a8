"""The explained examples' records as a Parquet table: one row per example, read back in batches.

The held-out set's records are too many for git (about 3 KB an example at 128 tokens in Parquet, 7 KB in
JSON: megabytes for 1,000 reviews, a hundred or more for 25,000 at 256 tokens), so `merge_explanations`
writes them all to a Parquet file in DVC's cache and keeps in git only the examples the report shows.
Columns are flat, so a reader can take only what it needs
(`pq.read_table(path, columns=["source", "predicted"])`): a record's nested `faithfulness` and
`rank_agreement` figures become columns `faithfulness/<figure>` and `rank_agreement/<figure>`. The
columns and their types derive from the record's type (`record.ExplainedExample`). The file's header
(model, checkpoint, settings, data) is kept in the schema's metadata.
"""
from __future__ import annotations

import itertools
import json
import types
import typing
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from stages.attribution.record import GROUPS, ExplainedExample, partial
from stages.plumbing.artifacts import atomic_path
from stages.plumbing.errors import UserError, broken

SCALARS = {str: pa.string(), int: pa.int64(), bool: pa.bool_(), float: pa.float64()}


def arrow_type(annotation: Any) -> pa.DataType:
    """The Arrow type of a record field: a scalar (None allowed), a literal label, a list of scalars; a list
    of ints is token ids, which int32 holds."""
    origin, arguments = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return arrow_type(next(argument for argument in arguments if argument is not type(None)))
    if origin is typing.Literal:
        return arrow_type(type(arguments[0]))
    if origin is list:
        return pa.list_(pa.int32() if arguments[0] is int else arrow_type(arguments[0]))
    return SCALARS[annotation]


# The record's own fields, in its order; its figure groups (GROUPS) are flattened to `<group>/<figure>` columns.
COLUMNS = {name: arrow_type(field.annotation) for name, field in ExplainedExample.model_fields.items()
           if name not in GROUPS}
HEADER_KEY = b"explanations"
ROWS_PER_GROUP = 256  # examples per row group: what a streaming reader holds at once
BATCH_ROWS = 256


def write_records(path: Path | str, header: dict[str, Any], records: Iterable[ExplainedExample]) -> int:
    """Write `records` (the first one's figures name the figure columns) and `header` to the Parquet
    file `path`, ROWS_PER_GROUP at a time; return how many."""
    rows = iter(records)
    group = list(itertools.islice(rows, ROWS_PER_GROUP))
    figures = [(nest, key) for nest in GROUPS for key in (getattr(group[0], nest) if group else {})]
    schema = pa.schema([*COLUMNS.items(), *((f"{nest}/{key}", pa.float64()) for nest, key in figures)],
                       metadata={HEADER_KEY: json.dumps(header, sort_keys=True).encode()})
    written = 0
    with atomic_path(path) as staging, pq.ParquetWriter(staging, schema, compression="zstd") as writer:
        while True:
            columns = {name: [getattr(record, name) for record in group] for name in COLUMNS}
            columns.update({f"{nest}/{key}": [getattr(record, nest).get(key) for record in group]
                            for nest, key in figures})
            writer.write_table(pa.Table.from_pydict(columns, schema=schema))
            written += len(group)
            group = list(itertools.islice(rows, ROWS_PER_GROUP))
            if not group:
                return written


def read_header(source: Path | str | IO[bytes]) -> dict[str, Any]:
    """The header `write_records` stored with the records."""
    metadata = opened(source).schema_arrow.metadata or {}
    if HEADER_KEY not in metadata:
        raise broken(name_of(source), "a Parquet file without an explanations header", "merge_explanations")
    return json.loads(metadata[HEADER_KEY])


def iter_records(source: Path | str | IO[bytes], columns: Sequence[str] | None = None,
                 batch_rows: int = BATCH_ROWS) -> Iterator[ExplainedExample]:
    """The records of a Parquet file one at a time, read `batch_rows` at a time (memory bounded by a
    batch, not the file); `columns` (the records' fields, e.g. `faithfulness`) limits what is read, and
    a record then has only those fields. Not validated again: `write_records` wrote them from records."""
    table = opened(source)
    names = table.schema_arrow.names
    wanted = None if columns is None else [name for name in names
                                          if name in columns or name.split("/", 1)[0] in columns]
    for batch in table.iter_batches(batch_size=batch_rows, columns=wanted):
        for row in batch.to_pylist():
            record: dict[str, Any] = {}
            for name, value in row.items():
                group, _, key = name.partition("/")
                if key:
                    record.setdefault(group, {})[key] = value
                else:
                    record[name] = value
            for group in GROUPS:
                if columns is None or group in columns:
                    record.setdefault(group, {})
            yield partial(record)


def read_records(source: Path | str | IO[bytes], columns: Sequence[str] | None = None) -> list[ExplainedExample]:
    return list(iter_records(source, columns))


def shown(records: Sequence[ExplainedExample], per_source: int) -> list[ExplainedExample]:
    """The first `per_source` records of each source, in run order: the examples kept in git."""
    counts: dict[str, int] = {}
    kept = []
    for record in records:
        counts[record.source] = counts.get(record.source, 0) + 1
        if counts[record.source] <= per_source:
            kept.append(record)
    return kept


def opened(source: Path | str | IO[bytes]) -> pq.ParquetFile:
    """`source` as a Parquet file; a missing or damaged one is a `UserError` naming the stage that writes it."""
    try:
        return pq.ParquetFile(source)
    except FileNotFoundError:
        raise UserError(f"{name_of(source)}: missing; run `dvc repro merge_explanations` (or `dvc pull` it)") from None
    except (OSError, pa.ArrowException) as error:
        raise broken(name_of(source), f"not a Parquet file ({type(error).__name__})", "merge_explanations") from None


def name_of(source: Path | str | IO[bytes]) -> str:
    return str(source) if isinstance(source, (str, Path)) else str(getattr(source, "name", "records"))
