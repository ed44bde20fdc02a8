"""A stage's start-up is quiet: TensorFlow's and transformers' notices only with IG_VERBOSE=1."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

LOAD_A_MODEL = ("from stages.plumbing.artifacts import run\n"
                "from stages.plumbing.models import load_trained\n"
                "run(lambda: print('loaded', type(load_trained({path!r})[0]).__name__))\n")
NOISE = ("cuda", "cuDNN", "TensorRT", "cpu_feature_guard", "deprecated", "were initialized")


def load_in_a_stage(model_dir: Path, **environment: str) -> subprocess.CompletedProcess:
    clean = {key: value for key, value in os.environ.items()
             if key not in ("TF_CPP_MIN_LOG_LEVEL", "TRANSFORMERS_VERBOSITY", "IG_VERBOSE")}
    return subprocess.run([sys.executable, "-c", LOAD_A_MODEL.format(path=str(model_dir))], capture_output=True,
                          text=True, cwd=Path(__file__).parents[1], env={**clean, **environment}, check=True)


@pytest.mark.parametrize("variable", ["", "0"])
def test_a_stage_loading_a_model_prints_only_its_own_lines(tiny_bert_dir, variable):
    loaded = load_in_a_stage(tiny_bert_dir, IG_VERBOSE=variable)
    assert loaded.stdout == "loaded TFBertForSequenceClassification\n"
    assert loaded.stderr == ""


def test_ig_verbose_brings_the_notices_back(tiny_bert_dir):
    loaded = load_in_a_stage(tiny_bert_dir, IG_VERBOSE="1")
    assert loaded.stdout == "loaded TFBertForSequenceClassification\n"
    assert any(word in loaded.stderr for word in NOISE)
    assert "were initialized" in loaded.stderr
