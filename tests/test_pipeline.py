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
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import dvc_env, make_project, run_dvc

OUTPUT_FOLDERS = ("data", "models", "explanations", "reports", "metrics", "dvclive")
TRAIN_OUTPUTS = ("models", "dvclive/train")


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


def digests(project: Path, folders: tuple[str, ...] = OUTPUT_FOLDERS) -> dict[str, str]:
    """Hash of every file under `folders` (by default all the pipeline's output folders)."""
    return {str(path.relative_to(project)): hashlib.sha256(path.read_bytes()).hexdigest()
            for folder in folders for path in sorted((project / folder).rglob("*"))
            if path.is_file() and path.name != ".gitignore"}


def is_clean(project: Path) -> bool:
    return "up to date" in run_dvc(project, "status").stdout


def metrics_by_file(project: Path) -> dict[str, dict]:
    """`dvc metrics show --json`, file by file."""
    shown = json.loads(run_dvc(project, "metrics", "show", "--json").stdout)
    return {path: entry["data"] for path, entry in shown[""]["data"].items()}  # "": the workspace


def test_repro_writes_every_output(project):
    explained = json.loads((project / "explanations/finetuned.json").read_text())
    sources = [e["source"] for e in explained["examples"]]
    assert sources == ["imdb", "imdb", "rotten_tomatoes", "sentence", "sentence"]
    for example in explained["examples"]:
        assert "[PAD]" not in example["tokens"]
        assert len(example["tokens"]) == len(example["attributions"]) == len(example["token_ids"])
    page = (project / "reports/attributions.html").read_text()
    assert page.count('class="card"') == 5 + 3 and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_metrics_are_the_figures_of_the_outputs(project):
    """What `dvc metrics show` reports, recomputed from the predictions and explanations files."""
    from stages.explain import quality_metrics

    metrics = metrics_by_file(project)
    scores = metrics["dvclive/evaluate/metrics.json"]
    for prefix, name in (("imdb", "test"), ("rotten_tomatoes", "rotten_tomatoes")):
        predictions = pd.read_csv(project / "data/predictions" / f"{name}.csv")
        tokens = np.load(project / "data/tokens" / f"{name}.npz")
        assert predictions.id.tolist() == tokens["id"].tolist()
        assert predictions.label.tolist() == tokens["label"].tolist()
        assert scores[f"{prefix}/n"] == len(predictions)
        assert scores[f"{prefix}/accuracy"] == pytest.approx((predictions.label == predictions.predicted).mean(),
                                                             abs=1e-6)
    # training's validation figure is the same model on the same held-out reviews
    assert metrics["dvclive/train/metrics.json"]["validation/accuracy"] == scores["imdb/accuracy"]
    explained = json.loads((project / "explanations/finetuned.json").read_text())["examples"]
    assert metrics["metrics/explain.json"] == quality_metrics(explained)
    pretrained = json.loads((project / "explanations/pretrained.json").read_text())
    assert [e["text"] for e in pretrained["examples"]] == yaml.safe_load(
        (project / "params.yaml").read_text())["explain_pretrained"]["sentences"]
    assert metrics["metrics/explain_pretrained.json"] == {"enabled": True,
                                                           **quality_metrics(pretrained["examples"])}


def test_second_repro_has_nothing_to_do(project):
    assert "Running stage" not in run_dvc(project, "repro").stdout
    assert is_clean(project)


def test_forced_rerun_is_byte_identical(project):
    """Every stage run again gives the same bytes; train's rerun is checked after its kill, below."""
    before, lock = digests(project), (project / "dvc.lock").read_text()
    for stage in yaml.safe_load((project / "dvc.yaml").read_text())["stages"]:
        if stage != "train":
            run_dvc(project, "repro", "-f", "--single-item", stage)
    after = digests(project)
    assert len(before) > 20 and sorted(before) == sorted(after)
    assert [name for name in before if before[name] != after[name]] == []
    assert (project / "dvc.lock").read_text() == lock


def test_the_compiled_engine_reruns_only_explain_and_matches_alibi(project):
    """A param reruns only the stages that read it; the compiled engine, through the stage, gives
    alibi's attributions (within 1e-4 of each example's total)."""
    before = json.loads((project / "explanations/finetuned.json").read_text())["examples"]
    set_params(project, **{"explain.engine": "compiled"})
    rerun = run_dvc(project, "repro").stdout
    assert "Running stage 'explain'" in rerun and "Running stage 'render'" in rerun
    for stage in ("decode", "tokenize", "train", "evaluate"):
        assert f"Running stage '{stage}'" not in rerun
    after = json.loads((project / "explanations/finetuned.json").read_text())["examples"]
    assert [e["text"] for e in after] == [e["text"] for e in before]
    for alibi, compiled in zip(before, after):
        total = np.abs(alibi["attributions"]).sum()
        assert np.abs(np.subtract(compiled["attributions"], alibi["attributions"])).max() <= 1e-4 * total
        assert compiled["predicted"] == alibi["predicted"]


def test_remote_round_trip(project, tmp_path):
    run_dvc(project, "remote", "add", "-f", "-d", "local", str(tmp_path / "remote"))
    run_dvc(project, "push")
    before = digests(project)
    for folder in ("data/decoded", "data/tokens", "data/predictions", "models", "explanations", "reports"):
        shutil.rmtree(project / folder, ignore_errors=True)
    shutil.rmtree(project / ".dvc" / "cache")
    run_dvc(project, "pull")
    assert digests(project) == before and is_clean(project)


def stage_status(project: Path, stage: str) -> list:
    """The stage's own entry of `dvc status --json` (absent when it is up to date)."""
    return json.loads(run_dvc(project, "status", "--json", stage).stdout).get(stage, [])


def visible_files(folder: Path) -> list[str]:
    """Every file under `folder` that is not hidden (a hidden staging path is not an output)."""
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*")
                  if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts))


KILL_ON_WRITE = """
import os, pathlib, runpy, signal, sys
write_text = pathlib.Path.write_text
def half_then_killed(path, text, *args, **kwargs):
    if '"examples"' in text:  # the explanations file: half of it reaches the disk, then SIGKILL
        write_text(path, text[:len(text) // 2], *args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)
    return write_text(path, text, *args, **kwargs)
pathlib.Path.write_text = half_then_killed
sys.argv = ["stages.explain", *sys.argv[1:]]
runpy.run_module("stages.explain", run_name="__main__", alter_sys=True)
"""


def test_explain_killed_mid_write_keeps_the_previous_outputs(project):
    """A kill half way through writing the explanations leaves the last complete ones, byte for byte."""
    outputs = ("explanations/finetuned.json", "metrics/explain.json")
    before = {name: (project / name).read_bytes() for name in outputs}
    command = yaml.safe_load((project / "dvc.yaml").read_text())["stages"]["explain"]["cmd"].split()
    assert command[:3] == ["python", "-m", "stages.explain"]
    killed = subprocess.run([sys.executable, "-c", KILL_ON_WRITE, *command[3:]], cwd=project, capture_output=True,
                            env={**os.environ, "PYTHONPATH": str(project)})
    assert killed.returncode == -signal.SIGKILL
    assert {name: (project / name).read_bytes() for name in outputs} == before
    assert visible_files(project / "explanations") == ["finetuned.json", "pretrained.json"]
    assert stage_status(project, "explain") == [] and is_clean(project)


def test_training_killed_mid_fit_leaves_nothing_valid_and_reruns_identically(project):
    """SIGKILL dvc and the train stage together once the stage reports its first optimizer steps."""
    before = digests(project, TRAIN_OUTPUTS)
    process = subprocess.Popen(["dvc", "repro", "-f", "--single-item", "train"], cwd=project, env=dvc_env(), text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
    for line in process.stdout:  # the stage prints "step 2/4 ..." every log_every_steps
        if line.startswith("step 2/"):
            os.killpg(process.pid, signal.SIGKILL)
            break
    else:
        pytest.fail("train finished without reporting step 2")
    process.wait()
    assert visible_files(project / "models") == []
    assert stage_status(project, "train") == [
        {"changed outs": {"models/classifier": "deleted", "dvclive/train/plots": "deleted",
                          "dvclive/train/metrics.json": "deleted"}}]
    assert "Running stage 'train'" in run_dvc(project, "repro").stdout
    assert digests(project, TRAIN_OUTPUTS) == before and is_clean(project)


def test_bad_param_stops_the_stage_with_one_line(project_copy):
    set_params(project_copy, **{"decode.train_size": 0})
    result = subprocess.run([sys.executable, "-m", "stages.decode", "data/decoded"], cwd=project_copy,
                            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(project_copy)})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: params.yaml: decode.train_size = 0 is not allowed; expected an integer >= 1 or 'all'"]
    assert not (project_copy / "data/decoded").exists()
