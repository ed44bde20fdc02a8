"""End to end: `dvc repro` of the whole pipeline on a tiny BERT and a few dozen reviews,
in a throw-away copy of the project."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import yaml

from tests.conftest import run_dvc


def set_params(project, **changes):
    params = yaml.safe_load((project / "params.yaml").read_text())
    for dotted, value in changes.items():
        section, key = dotted.split(".")
        params[section][key] = value
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def test_repro_then_nothing_to_do_then_only_what_changed(project_copy, tiny_distilbert_dir):
    project = project_copy
    set_params(project, **{"explain_pretrained.enabled": True,
                           "explain_pretrained.checkpoint": str(tiny_distilbert_dir)})
    run_dvc(project, "repro")

    explained = json.loads((project / "explanations/finetuned.json").read_text())
    sources = [e["source"] for e in explained["examples"]]
    assert sources == ["imdb", "imdb", "rotten_tomatoes", "sentence", "sentence"]
    for example in explained["examples"]:
        assert "[PAD]" not in example["tokens"]
        assert len(example["tokens"]) == len(example["attributions"]) == len(example["token_ids"])
    pretrained = json.loads((project / "explanations/pretrained.json").read_text())
    assert pretrained["enabled"] and len(pretrained["examples"]) == 3

    metrics = run_dvc(project, "metrics", "show", "--json").stdout
    for key in ("imdb/accuracy", "rotten_tomatoes/roc_auc", "completeness_error/median",
                "comprehensiveness/ig", "sufficiency/random", "truncated_fraction"):
        assert key in metrics
    assert (project / "reports/attributions.html").stat().st_size > 0
    assert "didn't change" in run_dvc(project, "repro").stdout or "up to date" in run_dvc(project, "status").stdout
    assert run_dvc(project, "status").stdout.strip() in ("Data and pipelines are up to date.", "")

    set_params(project, **{"explain.n_steps": 8})
    rerun = run_dvc(project, "repro").stdout
    assert "Running stage 'explain'" in rerun and "Running stage 'render'" in rerun
    assert "Running stage 'train'" not in rerun and "Running stage 'tokenize'" not in rerun


def test_bad_param_stops_the_stage_with_one_line(project_copy):
    set_params(project_copy, **{"decode.train_size": 0})
    result = subprocess.run([sys.executable, "-m", "stages.decode", "data/decoded"], cwd=project_copy,
                            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(project_copy)})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: params.yaml: decode.train_size = 0 is not allowed; expected an integer >= 1 or 'all'"]
    assert not (project_copy / "data/decoded").exists()
