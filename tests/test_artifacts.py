"""Outputs appear whole or not at all; a broken input names the stage that rebuilds it."""
from __future__ import annotations

import errno
import os

import numpy as np
import pytest

from stages.artifacts import atomic_path, read_arrays, write_arrays, write_json
from stages.params import UserError


def test_a_failure_leaves_neither_target_nor_staging(tmp_path):
    target = tmp_path / "out.json"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as staging:
            staging.write_text("half")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


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

    monkeypatch.setattr("stages.artifacts.os.replace", full)
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
