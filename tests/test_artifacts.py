"""Outputs appear whole or not at all; a broken input names the stage that rebuilds it."""
from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest

from stages.plumbing.artifacts import atomic_path, read_arrays, write_arrays, write_json
from stages.plumbing.errors import UserError


def test_a_failure_leaves_neither_target_nor_staging(tmp_path):
    target = tmp_path / "out.json"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as staging:
            staging.write_text("half")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def contents(path: Path) -> dict[str, bytes]:
    """Every file under `path` (or `path` itself) by relative name, with its bytes."""
    if path.is_file():
        return {"": path.read_bytes()}
    return {str(file.relative_to(path)): file.read_bytes() for file in path.rglob("*") if file.is_file()}


def write_output(path: Path, kind: str, text: str) -> None:
    """A file, or a folder holding a file and a subfolder, whose bytes depend on `text`."""
    if kind == "file":
        path.write_bytes(f"{text}\0\xff".encode("latin-1"))
    else:
        (path / "sub").mkdir(parents=True, exist_ok=True)
        (path / f"{text}.txt").write_text(text)
        (path / "sub" / "weights.bin").write_bytes(f"{text}\0\xff".encode("latin-1"))


def refuse_renames_of(source: Path, monkeypatch) -> None:
    """Make renaming `source` fail with EACCES; every other rename still works."""
    rename = os.replace

    def refusing(src, dst):
        if Path(src) == source:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        rename(src, dst)

    monkeypatch.setattr("stages.plumbing.artifacts.os.replace", refusing)


@pytest.mark.parametrize("kind", ["file", "folder"])
@pytest.mark.parametrize("failure", ["writer raises", "rename fails"])
def test_a_failed_write_keeps_the_old_output_byte_for_byte(tmp_path, monkeypatch, kind, failure):
    target = tmp_path / "out"
    write_output(target, kind, "old")
    before = contents(target)
    if failure == "rename fails":
        refuse_renames_of(tmp_path / ".out.partial", monkeypatch)
    with pytest.raises((RuntimeError, UserError)):
        with atomic_path(target) as staging:
            write_output(staging, kind, "new")
            if failure == "writer raises":
                raise RuntimeError("killed")
    assert contents(target) == before
    assert [path.name for path in tmp_path.iterdir()] == ["out"]


@pytest.mark.parametrize("leftover", [".out.partial", ".out.old.partial"])
@pytest.mark.parametrize("kind", ["file", "folder"])
def test_leftovers_of_a_killed_run_are_removed_and_do_not_leak(tmp_path, kind, leftover):
    write_output(tmp_path / leftover, kind, "stale")
    with atomic_path(tmp_path / "out") as staging:
        assert not os.path.lexists(staging)
        write_output(staging, kind, "new")
    assert [path.name for path in tmp_path.iterdir()] == ["out"]
    assert b"stale" not in b"".join(contents(tmp_path / "out").values())


def test_success_replaces_the_old_output(tmp_path):
    target = tmp_path / "folder"
    target.mkdir()
    (target / "stale.txt").write_text("old")
    with atomic_path(target) as staging:
        staging.mkdir()
        (staging / "new.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]


def test_unwritable_folder_is_one_clear_line(tmp_path, monkeypatch):
    # Tests run as root in CI, where chmod cannot make a folder unwritable: fail mkdir instead.
    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr("pathlib.Path.mkdir", denied)
    with pytest.raises(UserError, match=r"x.json: cannot write it \(Permission denied\)"):
        write_json(tmp_path / "sub" / "x.json", {})


def test_disk_full_is_one_clear_line(tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("stages.plumbing.artifacts.os.replace", full)
    with pytest.raises(UserError, match=r"out.json: cannot write it \(No space left on device\)"):
        write_json(tmp_path / "out.json", {"a": 1})
    assert list(tmp_path.iterdir()) == []


def test_truncated_array_file_names_the_stage(tmp_path):
    path = tmp_path / "test.npz"
    write_arrays(path, input_ids=np.ones((4, 8), np.int32))
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(UserError, match=r"test.npz: unreadable .*dvc repro -f tokenize"):
        read_arrays(path, rebuild="tokenize")
    with pytest.raises(UserError, match=r"missing.npz: missing; run `dvc repro tokenize`"):
        read_arrays(tmp_path / "missing.npz", rebuild="tokenize")
