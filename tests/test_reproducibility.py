"""Reruns are byte-identical, every output round-trips through a DVC remote, and a stage killed
half way leaves nothing that DVC or a later stage accepts."""
from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import run_dvc

OUTPUTS = ("data", "models", "explanations", "reports", "metrics", "dvclive")


def digests(project: Path) -> dict[str, str]:
    """Hash of every file under the pipeline's output folders."""
    return {str(path.relative_to(project)): hashlib.sha256(path.read_bytes()).hexdigest()
            for folder in OUTPUTS for path in sorted((project / folder).rglob("*"))
            if path.is_file() and path.name != ".gitignore"}


@pytest.fixture
def reproduced(project_copy):
    run_dvc(project_copy, "repro")
    return project_copy


def test_forced_rerun_is_byte_identical(reproduced):
    first, lock = digests(reproduced), (reproduced / "dvc.lock").read_text()
    run_dvc(reproduced, "repro", "-f")
    second = digests(reproduced)
    assert sorted(first) == sorted(second) and len(first) > 20
    changed = [name for name in first if first[name] != second[name]]
    assert changed == []
    assert (reproduced / "dvc.lock").read_text() == lock


def test_remote_round_trip(reproduced, tmp_path):
    remote = tmp_path / "remote"
    run_dvc(reproduced, "remote", "add", "-d", "local", str(remote))
    run_dvc(reproduced, "push")
    before = digests(reproduced)
    for folder in ("data/decoded", "data/tokens", "data/predictions", "models", "explanations", "reports"):
        shutil.rmtree(reproduced / folder, ignore_errors=True)
    shutil.rmtree(reproduced / ".dvc" / "cache")
    run_dvc(reproduced, "pull")
    assert digests(reproduced) == before
    assert "up to date" in run_dvc(reproduced, "status").stdout


def stage_running(module: str) -> bool:
    import psutil

    return any(module in " ".join(p.info["cmdline"] or []) for p in psutil.process_iter(["cmdline"]))


def kill_midway(project: Path, stage: str, started) -> None:
    """Start `dvc repro -f STAGE`; once `started()` holds, SIGKILL dvc and the stage together."""
    env = {**os.environ, "PATH": f"{Path(os.sys.executable).parent}:{os.environ['PATH']}"}
    process = subprocess.Popen(["dvc", "repro", "-f", "--single-item", stage], cwd=project, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while not started():
        assert process.poll() is None, f"{stage} finished before it could be killed"
        assert time.monotonic() < deadline, f"{stage} never started"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def test_killed_training_leaves_nothing_valid(reproduced):
    kill_midway(reproduced, "train", lambda: (reproduced / "models/.classifier.partial").exists())
    assert not (reproduced / "models/classifier").exists()
    assert "train" in run_dvc(reproduced, "status").stdout
    run_dvc(reproduced, "repro")
    assert (reproduced / "models/classifier/tf_model.h5").exists()
    assert "up to date" in run_dvc(reproduced, "status").stdout


def test_killed_explain_leaves_nothing_valid(reproduced):
    output = reproduced / "explanations/finetuned.json"

    def computing() -> bool:
        if output.exists() or not stage_running("stages.explain"):
            return False
        time.sleep(4)  # past the imports, inside the model load or the attributions
        return True

    kill_midway(reproduced, "explain", computing)
    assert not output.exists()
    assert "explain" in run_dvc(reproduced, "status").stdout
    run_dvc(reproduced, "repro")
    assert output.exists() and "up to date" in run_dvc(reproduced, "status").stdout
