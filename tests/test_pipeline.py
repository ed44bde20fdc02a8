"""End to end on a tiny BERT and a few dozen reviews, in one throw-away copy of the project that the
tests below share in order: `dvc repro`, nothing to do the second time, byte-identical forced reruns,
only the stages a param touches rerun, a DVC remote round trip, and stages killed half way."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest
import yaml

from tests.conftest import make_project, run_dvc

OUTPUT_FOLDERS = ("data", "models", "explanations", "reports", "metrics", "dvclive")


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_bert_dir, tiny_distilbert_dir) -> Path:
    folder = make_project(tmp_path_factory.mktemp("pipeline") / "project", tiny_bert_dir)
    set_params(folder, **{"explain_pretrained.enabled": True,
                          "explain_pretrained.checkpoint": str(tiny_distilbert_dir)})
    run_dvc(folder, "repro")
    return folder


def set_params(project: Path, **changes) -> None:
    params = yaml.safe_load((project / "params.yaml").read_text())
    for dotted, value in changes.items():
        section, key = dotted.split(".")
        params[section][key] = value
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def digests(project: Path) -> dict[str, str]:
    """Hash of every file under the pipeline's output folders."""
    return {str(path.relative_to(project)): hashlib.sha256(path.read_bytes()).hexdigest()
            for folder in OUTPUT_FOLDERS for path in sorted((project / folder).rglob("*"))
            if path.is_file() and path.name != ".gitignore"}


def is_clean(project: Path) -> bool:
    return "up to date" in run_dvc(project, "status").stdout


def test_repro_writes_every_output(project):
    explained = json.loads((project / "explanations/finetuned.json").read_text())
    sources = [e["source"] for e in explained["examples"]]
    assert sources == ["imdb", "imdb", "rotten_tomatoes", "sentence", "sentence"]
    for example in explained["examples"]:
        assert "[PAD]" not in example["tokens"]
        assert len(example["tokens"]) == len(example["attributions"]) == len(example["token_ids"])
    pretrained = json.loads((project / "explanations/pretrained.json").read_text())
    assert pretrained["enabled"] and len(pretrained["examples"]) == 3
    metrics = run_dvc(project, "metrics", "show", "--json").stdout
    for key in ("imdb/accuracy", "rotten_tomatoes/roc_auc", "validation/accuracy", "completeness_error/median",
                "comprehensiveness/ig", "sufficiency/random", "truncated_fraction"):
        assert key in metrics
    page = (project / "reports/attributions.html").read_text()
    assert page.count('class="card"') == 5 + 3 and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_second_repro_has_nothing_to_do(project):
    assert "Running stage" not in run_dvc(project, "repro").stdout
    assert is_clean(project)


def test_forced_rerun_is_byte_identical(project):
    before, lock = digests(project), (project / "dvc.lock").read_text()
    run_dvc(project, "repro", "-f")
    after = digests(project)
    assert len(before) > 20 and sorted(before) == sorted(after)
    assert [name for name in before if before[name] != after[name]] == []
    assert (project / "dvc.lock").read_text() == lock


def test_a_param_reruns_only_the_stages_that_read_it(project):
    set_params(project, **{"explain.n_steps": 8})
    rerun = run_dvc(project, "repro").stdout
    assert "Running stage 'explain'" in rerun and "Running stage 'render'" in rerun
    for stage in ("decode", "tokenize", "train", "evaluate"):
        assert f"Running stage '{stage}'" not in rerun


def test_remote_round_trip(project, tmp_path):
    run_dvc(project, "remote", "add", "-f", "-d", "local", str(tmp_path / "remote"))
    run_dvc(project, "push")
    before = digests(project)
    for folder in ("data/decoded", "data/tokens", "data/predictions", "models", "explanations", "reports"):
        shutil.rmtree(project / folder, ignore_errors=True)
    shutil.rmtree(project / ".dvc" / "cache")
    run_dvc(project, "pull")
    assert digests(project) == before and is_clean(project)


def stage_running(module: str) -> bool:
    import psutil

    return any(module in " ".join(p.info["cmdline"] or []) for p in psutil.process_iter(["cmdline"]))


def kill_midway(project: Path, stage: str, started: Callable[[], bool]) -> None:
    """Start `dvc repro -f STAGE`; once `started()` holds, SIGKILL dvc and the stage together."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    process = subprocess.Popen(["dvc", "repro", "-f", "--single-item", stage], cwd=project, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while not started():
        assert process.poll() is None, f"{stage} finished before it could be killed"
        assert time.monotonic() < deadline, f"{stage} never started"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def test_killed_training_leaves_nothing_valid(project):
    kill_midway(project, "train", lambda: (project / "models/.classifier.partial").exists())
    assert not (project / "models/classifier").exists()
    assert "train" in run_dvc(project, "status").stdout
    run_dvc(project, "repro")
    assert (project / "models/classifier/tf_model.h5").exists() and is_clean(project)


def test_killed_explain_leaves_nothing_valid(project):
    output = project / "explanations/finetuned.json"

    def computing() -> bool:
        if output.exists() or not stage_running("stages.explain "):
            return False
        time.sleep(4)  # past the imports, inside the model load or the attributions
        return True

    kill_midway(project, "explain", computing)
    assert not output.exists()
    assert "explain" in run_dvc(project, "status").stdout
    run_dvc(project, "repro")
    assert output.exists() and is_clean(project)


def test_bad_param_stops_the_stage_with_one_line(project_copy):
    set_params(project_copy, **{"decode.train_size": 0})
    result = subprocess.run([sys.executable, "-m", "stages.decode", "data/decoded"], cwd=project_copy,
                            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(project_copy)})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: params.yaml: decode.train_size = 0 is not allowed; expected an integer >= 1 or 'all'"]
    assert not (project_copy / "data/decoded").exists()
