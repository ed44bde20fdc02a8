"""The held-out examples' records in Parquet: what goes in comes out, in batches, and the same bytes each time."""
from __future__ import annotations

import io
import typing

import pyarrow as pa
import pytest

from stages.attribution.record_table import (
    arrow_type,
    iter_records,
    read_header,
    read_records,
    shown,
    write_records,
)
from stages.plumbing.errors import UserError
from tests.conftest import explained_record

HEADER = {"format": 3, "model": "tiny", "checkpoint": "tiny", "settings": {"n_steps": 4}, "data": {"test_size": 16}}


def records() -> list[dict]:
    """Two sources, a truncated review, a sentence without a label, rank agreement that is undefined once."""
    return [explained_record("imdb", 0, ("[CLS]", "great", "film", "[SEP]"), [0.0, 0.5, -0.1, 0.0],
                             truncated=True, tokens_cut=3, cut_at=2,
                             rank_agreement={"kendall_tau/random": 0.25}),
            explained_record("rotten_tomatoes", 1, attributions=[0.0, 1e-7, 0.0], label=None, predicted=0,
                             rank_agreement={"kendall_tau/random": None}),
            explained_record("imdb", 2, ("[CLS]", "dull", "[SEP]"), [0.0, -2.5e-06, 0.0],
                             rank_agreement={"kendall_tau/random": -1.0})]


def test_what_is_written_is_read_back_with_its_header(tmp_path):
    path = tmp_path / "records.parquet"
    write_records(path, HEADER, records())
    assert read_records(path) == records()
    assert read_header(path) == HEADER


def test_a_run_without_rivals_keeps_its_empty_rank_agreement(tmp_path):
    path = tmp_path / "records.parquet"
    write_records(path, HEADER, [explained_record()])
    assert read_records(path) == [explained_record()]


def test_a_reader_takes_only_the_columns_it_names_a_batch_at_a_time(tmp_path):
    path = tmp_path / "records.parquet"
    many = [explained_record("imdb", index) for index in range(600)]
    write_records(path, HEADER, many)
    read = list(iter_records(path, columns=("id", "faithfulness"), batch_rows=100))
    assert [(record.id, record.faithfulness) for record in read] == [(index, many[0].faithfulness)
                                                                      for index in range(600)]
    assert all(not hasattr(record, "text") for record in read)  # only what was named is read
    assert all(not hasattr(record, "rank_agreement") for record in read)  # a group not named is not made up
    assert [record.id for record in read_records(path, columns=("id",))][:3] == [0, 1, 2]
    assert not hasattr(read_records(path, columns=("id",))[0], "text")


def test_a_reader_holds_one_batch_of_rows_at_a_time(tmp_path, monkeypatch):
    """The first record comes after one batch of `batch_rows` is read, not the file (5 rows: batches 2, 2, 1)."""
    import pyarrow.parquet as pq

    path = tmp_path / "records.parquet"
    write_records(path, HEADER, [explained_record("imdb", index) for index in range(5)])
    read_batches, real = [], pq.ParquetFile.iter_batches

    def counted(self, *args, **kwargs):
        for batch in real(self, *args, **kwargs):
            read_batches.append(batch.num_rows)
            yield batch

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", counted)
    records = iter_records(path, batch_rows=2)
    first = next(records)
    assert read_batches == [2]
    assert [record.id for record in (first, *records)] == [0, 1, 2, 3, 4] and read_batches == [2, 2, 1]


def test_the_count_written_is_every_record_across_row_groups(tmp_path):
    # 600 records: row groups of 256, 256 and 88 (the last group alone would be 88)
    assert write_records(tmp_path / "records.parquet", HEADER, [explained_record("imdb", i) for i in range(600)]) == 600


def test_the_bytes_do_not_depend_on_the_headers_key_order_and_the_columns_are_compressed(tmp_path):
    import pyarrow.parquet as pq

    write_records(tmp_path / "one.parquet", {"b": 1, "a": 2}, records())
    write_records(tmp_path / "two.parquet", {"a": 2, "b": 1}, records())
    assert (tmp_path / "one.parquet").read_bytes() == (tmp_path / "two.parquet").read_bytes()
    assert pq.ParquetFile(tmp_path / "one.parquet").metadata.row_group(0).column(0).compression == "ZSTD"


def test_the_same_records_give_the_same_bytes(tmp_path):
    first, second = tmp_path / "first.parquet", tmp_path / "second.parquet"
    write_records(first, HEADER, records())
    write_records(second, HEADER, records())
    assert first.read_bytes() == second.read_bytes()


def test_git_keeps_the_first_examples_of_each_source_in_run_order():
    mixed = [explained_record(source, index) for index, source in enumerate(["imdb", "rotten_tomatoes", "imdb",
                                                                             "imdb", "rotten_tomatoes"])]
    assert [record.id for record in shown(mixed, 2)] == [0, 1, 2, 4]
    assert shown(mixed, 0) == [] and shown(mixed, 5) == mixed


def test_a_missing_or_damaged_records_file_is_one_line(tmp_path):
    with pytest.raises(UserError, match=r"records.parquet: missing; run `dvc repro merge_explanations` "
                                        r"\(or `dvc pull` it\)$"):
        read_records(tmp_path / "records.parquet")
    (tmp_path / "records.parquet").write_text("{}")
    with pytest.raises(UserError, match=r"records.parquet: not a Parquet file \(ArrowInvalid\); rebuild it with "
                                        r"`dvc repro -f merge_explanations`$"):
        read_records(tmp_path / "records.parquet")


def test_a_damaged_file_is_named_by_its_path_or_its_streams_name(tmp_path):
    """The whole path (not its last part), given as a Path or a str; an open file by its name; a stream without
    a name as `records`."""
    path = tmp_path / "records.parquet"
    path.write_text("{}")
    for source in (path, str(path)):
        with pytest.raises(UserError) as error:
            list(read_records(source))
        assert str(error.value).startswith(f"{path}: not a Parquet file")
    with open(path, "rb") as stream, pytest.raises(UserError) as error:
        list(read_records(stream))
    assert str(error.value).startswith(f"{path}: not a Parquet file")
    with pytest.raises(UserError) as error:
        list(read_records(io.BytesIO(b"{}")))
    assert str(error.value).startswith("records: not a Parquet file")


def test_each_field_type_has_its_arrow_type():
    """A union with None is its other member, whichever comes first; a literal is its values' type (a literal
    of one value too); token ids (a list of ints) are int32, other lists keep their items' type."""
    typing_union = typing.Union[None, int]  # noqa: UP007 (typing's own union, not `|`'s: the code reads both)
    assert arrow_type(int | None) == arrow_type(None | int) == arrow_type(typing_union) == pa.int64()
    assert arrow_type(float | None) == pa.float64() and arrow_type(bool) == pa.bool_()
    assert arrow_type(typing.Literal["imdb", "sentences"]) == pa.string()
    assert arrow_type(typing.Literal[1, 2]) == pa.int64() and arrow_type(typing.Literal["imdb"]) == pa.string()
    assert arrow_type(list[int]) == pa.list_(pa.int32())
    assert arrow_type(list[float]) == pa.list_(pa.float64()) and arrow_type(list[str]) == pa.list_(pa.string())
    assert arrow_type(list[int] | None) == pa.list_(pa.int32())
