"""Shared fixtures: tiny random-initialised BERT/DistilBERT with the real bert-base-uncased vocabulary,
and a throw-away copy of the project for end-to-end `dvc repro` runs."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no test may need the network

ROOT = Path(__file__).resolve().parents[1]
# Weights drawn with this standard deviation (the configs' default is 0.02) make the tiny models'
# predictions depend on their input, both classes among them: a test that mixes up examples fails.
SPREAD = 0.5
PROJECT_FILES = ("dvc.yaml", "params.yaml", "stages", ".dvcignore", ".dvc/config", ".gitignore")


LONGEST_FIRST = ("test_pipeline.py", "test_bench.py")  # minutes each: started first, they end the run sooner


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the longest files first; under `-n auto --dist loadfile` each goes to a worker of its own."""
    items.sort(key=lambda item: LONGEST_FIRST.index(item.path.name) if item.path.name in LONGEST_FIRST
               else len(LONGEST_FIRST))


@pytest.fixture(scope="session")
def vocab_tokenizer():
    from stages.models import EMBEDDED_DEFAULT, load_tokenizer

    return load_tokenizer(EMBEDDED_DEFAULT)


def save_tiny(model_class, config, tokenizer, folder: Path) -> Path:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    model = model_class(config)
    model(model.dummy_inputs)
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory, vocab_tokenizer) -> Path:
    from transformers import BertConfig, TFBertForSequenceClassification

    config = BertConfig(vocab_size=vocab_tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, num_labels=2, initializer_range=SPREAD)
    return save_tiny(TFBertForSequenceClassification, config, vocab_tokenizer,
                     tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def tiny_distilbert_dir(tmp_path_factory, vocab_tokenizer) -> Path:
    from transformers import DistilBertConfig, TFDistilBertForSequenceClassification

    config = DistilBertConfig(vocab_size=vocab_tokenizer.vocab_size, dim=32, n_layers=2, n_heads=2,
                              hidden_dim=64, num_labels=2, initializer_range=SPREAD)
    return save_tiny(TFDistilBertForSequenceClassification, config, vocab_tokenizer,
                     tmp_path_factory.mktemp("tiny-distilbert"))


def dvc_env() -> dict[str, str]:
    """The environment with this venv's `dvc` (and the `python` of the stage commands) first on PATH."""
    return {**os.environ, "PATH": f"{Path(os.sys.executable).parent}:{os.environ['PATH']}"}


def run_dvc(project: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["dvc", *args], cwd=project, env=dvc_env(), capture_output=True, text=True)
    if check and result.returncode:
        raise AssertionError(f"dvc {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def make_project(project: Path, checkpoint: Path) -> Path:
    """A git + DVC copy of the project whose params select `checkpoint` and a few dozen reviews."""
    for name in PROJECT_FILES:
        source = ROOT / name
        target = project / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, target)
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["models"]["tiny"] = {**params["models"]["minilm"], "checkpoint": str(checkpoint), "batch_size": 8}
    params["model"] = "tiny"
    params["decode"].update(train_size=32, test_size=16, rotten_tomatoes_size=24)
    params["tokenize"]["max_len"] = 64
    params["train"]["log_every_steps"] = 2
    params["explain"].update(n_reviews=2, n_rt_sentences=1, n_steps=4, internal_batch_size=20,
                             sentences=["a fine film", "<script>alert(1)</script> dull"])
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run(git + ["add", "-A"], cwd=project, check=True)
    subprocess.run(git + ["commit", "-qm", "copy"], cwd=project, check=True)
    return project


@pytest.fixture
def project_copy(tmp_path, tiny_bert_dir):
    return make_project(tmp_path / "project", tiny_bert_dir)
