"""Shared fixtures: tiny random-initialised BERT/DistilBERT with the real bert-base-uncased vocabulary,
and a throw-away copy of the project for end-to-end `dvc repro` runs."""
from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml
from filelock import FileLock

from stages.attribution.record import ExplainedExample, parsed

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no test may need the network

ROOT = Path(__file__).resolve().parents[1]
# Weights drawn with this standard deviation (the configs' default is 0.02) make the tiny models'
# predictions depend on their input, both classes among them: a test that mixes up examples fails.
SPREAD = 0.5
# names a folder where the tiny models are saved once and reused by later test sessions (tools/mutate.py)
MODEL_CACHE_VARIABLE = "TESTS_MODEL_CACHE"
MERGED_STAGE = "merge_explanations"  # the last stage the shard and Ray tests run
PROJECT_FILES = ("dvc.yaml", "params.yaml", "stages", "tools", ".dvcignore", ".dvc/config", ".dvc/plots", ".gitignore")


CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# Headless, and offline: every host name fails to resolve, so a page that needs the network shows it.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-quic", "--window-size=1280,2000",
                  "--host-resolver-rules=MAP * ~NOTFOUND")
# minutes each, longest first: started first, they end the run sooner
LONGEST_FIRST = ("test_pipeline.py", "test_ray.py", "test_pipeline_shards.py", "test_bench.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the longest files first; under `-n auto --dist loadfile --no-loadscope-reorder` (`make test`) each goes
    to the next free worker in this order (xdist's default reorders the files by their number of tests)."""
    items.sort(key=lambda item: LONGEST_FIRST.index(item.path.name) if item.path.name in LONGEST_FIRST
               else len(LONGEST_FIRST))


@pytest.fixture(scope="session")
def vocab_tokenizer():
    from stages.plumbing.models import EMBEDDED_DEFAULT, load_tokenizer

    return load_tokenizer(EMBEDDED_DEFAULT)


def saved_model(tmp_path_factory: pytest.TempPathFactory, name: str, save: Callable[[Path], None]) -> Path:
    """A folder `save` fills with a model: a fresh one per test session; or, where MODEL_CACHE_VARIABLE names a folder
    (`make mutate` does: each mutant's tests are a session of their own), saved by the first session and reused by
    the rest. The models are made by this file and third-party code alone, which no mutant changes."""
    cache = os.environ.get(MODEL_CACHE_VARIABLE)
    if not cache:
        folder = tmp_path_factory.mktemp(name)
        save(folder)
        return folder
    folder, saved = Path(cache, name), Path(cache, f"{name}.saved")
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{folder}.lock"):
        if not saved.is_file():
            shutil.rmtree(folder, ignore_errors=True)  # a save cut short
            save(folder)
            saved.touch()
    return folder


def save_tiny(model_class, config, tokenizer, folder: Path) -> None:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    model = model_class(config)
    model(model.dummy_inputs)
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory, vocab_tokenizer) -> Path:
    from transformers import BertConfig, TFBertForSequenceClassification

    config = BertConfig(vocab_size=vocab_tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, num_labels=2, initializer_range=SPREAD)
    return saved_model(tmp_path_factory, "tiny-bert",
                       partial(save_tiny, TFBertForSequenceClassification, config, vocab_tokenizer))


@pytest.fixture(scope="session")
def tiny_distilbert_dir(tmp_path_factory, vocab_tokenizer) -> Path:
    from transformers import DistilBertConfig, TFDistilBertForSequenceClassification

    config = DistilBertConfig(vocab_size=vocab_tokenizer.vocab_size, dim=32, n_layers=2, n_heads=2,
                              hidden_dim=64, num_labels=2, initializer_range=SPREAD)
    return saved_model(tmp_path_factory, "tiny-distilbert",
                       partial(save_tiny, TFDistilBertForSequenceClassification, config, vocab_tokenizer))


NEUTRAL = "the film story plot actor scene camera music night city house car road table window door".split()


def keyword_sentences(rng: Any, count: int, share: float = 0.5) -> tuple[list[str], Any]:
    """Seven neutral words, a `share` of them with `awful` put among them: negative (0) exactly when it is."""
    texts, labels = [], (rng.random(count) >= share).astype("int64")
    for label in labels:
        words = list(rng.choice(NEUTRAL, 7))
        if label == 0:
            words[int(rng.integers(0, 7))] = "awful"
        texts.append(" ".join(words))
    return texts, labels


@pytest.fixture(scope="session")
def keyword_model_dir(tmp_path_factory, vocab_tokenizer) -> Path:
    """A tiny BERT trained where the answer is known: one word, `awful`, decides the class. Saved, so that
    each test loads its own copy (the randomisation test destroys the weights it was given)."""
    return saved_model(tmp_path_factory, "keyword-bert", partial(train_keyword_model, vocab_tokenizer))


def train_keyword_model(vocab_tokenizer: Any, folder: Path) -> None:
    import numpy as np
    import tensorflow as tf
    from transformers import BertConfig, TFBertForSequenceClassification

    from stages.train import batches, compile_classifier

    texts, labels = keyword_sentences(np.random.default_rng(0), 256)
    encoded = vocab_tokenizer(texts, padding=True, return_tensors="np")
    tf.keras.utils.set_random_seed(0)
    classifier = TFBertForSequenceClassification(BertConfig(vocab_size=vocab_tokenizer.vocab_size, hidden_size=32,
                                                            num_hidden_layers=1, num_attention_heads=2,
                                                            intermediate_size=64))
    compile_classifier(classifier, 1e-2)
    arrays = {"input_ids": encoded["input_ids"].astype(np.int32),
              "attention_mask": encoded["attention_mask"].astype(np.int32), "label": labels}
    classifier.fit(batches(arrays, 16, shuffle_seed=0), steps_per_epoch=32, epochs=1, verbose=0)
    classifier.save_pretrained(str(folder))
    vocab_tokenizer.save_pretrained(str(folder))


def dvc_env() -> dict[str, str]:
    """The environment with this venv's `dvc` (and the `python` of the stage commands) first on PATH."""
    return {**os.environ, "PATH": f"{Path(os.sys.executable).parent}:{os.environ['PATH']}"}


def run_dvc(project: Path, *args: str, check: bool = True, env: dict[str, str] | None = None,
            ) -> subprocess.CompletedProcess:
    """`dvc *args` in `project`, with `dvc_env()` unless `env` is given."""
    result = subprocess.run(["dvc", *args], cwd=project, env=env or dvc_env(), capture_output=True, text=True)
    if check and result.returncode:
        raise AssertionError(f"dvc {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def set_params(project: Path, **changes: Any) -> None:
    """Set dotted keys of the project's params.yaml as `dvc exp run -S` does: through DVC's own
    round-trip YAML writer, which keeps the file's comments and layout."""
    from dvc.utils.serialize import modify_yaml

    with modify_yaml(project / "params.yaml") as params:
        for dotted, value in changes.items():
            *sections, key = dotted.split(".")
            target = params
            for section in sections:
                target = target[section]
            target[key] = value


def copy_project_files(project: Path) -> Path:
    """The project's code, params and DVC files copied into `project` (no data, no git)."""
    for name in PROJECT_FILES:
        source = ROOT / name
        target = project / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, target)
    return project


def make_project(project: Path, checkpoint: Path) -> Path:
    """A git + DVC copy of the project whose params select `checkpoint` and a few dozen reviews."""
    copy_project_files(project)
    minilm = yaml.safe_load((project / "params.yaml").read_text())["models"]["minilm"]
    set_params(project, **{"models.tiny": {**minilm, "checkpoint": str(checkpoint), "batch_size": 8},
                           "model": "tiny", "decode.train_size": 32, "decode.test_size": 16,
                           "decode.rotten_tomatoes_size": 24, "tokenize.max_len": 64, "train.log_every_steps": 2,
                           "explain.n_reviews": 2, "explain.n_rt_sentences": 1, "explain.n_steps": 4,
                           "explain.internal_batch_size": 20, "aggregate_words.min_documents": 1,
                           "explain.sentences": ["a fine film", "<script>alert(1)</script> dull"]})
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run(git + ["add", "-A"], cwd=project, check=True)
    subprocess.run(git + ["commit", "-qm", "copy"], cwd=project, check=True)
    return project


def all_reviews_explained(project: Path, checkpoint: Path) -> Path:
    """`make_project` with all 16 held-out reviews and one Rotten Tomatoes sentence (17 examples: chunks
    of 8, 8 and 1) and the random rival alone, reproduced in process at 1 TensorFlow thread (a Ray actor's
    threads with its 1 CPU) up to the merged explanations (the stages after them are test_pipeline.py's) and
    committed."""
    make_project(project, checkpoint)
    set_params(project, **{"explain.n_reviews": "all", "explain.methods": ["random"], "explain.threads": 1})
    run_dvc(project, "repro", MERGED_STAGE)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    subprocess.run(git + ["add", "-A"], cwd=project, check=True)
    subprocess.run(git + ["commit", "-qm", "explained in process"], cwd=project, check=True)
    return project


@pytest.fixture(scope="session")
def all_reviews_template(tmp_path_factory, tiny_bert_dir, worker_id) -> Path:
    """`all_reviews_explained`, built once per test run for test_ray.py and test_pipeline_shards.py, which each
    work on a copy (`copy_of`): under xdist, the first worker to ask builds it in the run's shared temp folder
    while the others wait on its lock; the copies name the builder's checkpoint, which lives as long as the run."""
    if worker_id == "master":
        return all_reviews_explained(tmp_path_factory.mktemp("all-reviews") / "project", tiny_bert_dir)
    shared = tmp_path_factory.getbasetemp().parent  # one folder per run, common to its workers
    folder = shared / "all-reviews"
    with FileLock(str(shared / "all-reviews.lock")):
        if not (folder / "built").is_file():
            shutil.rmtree(folder, ignore_errors=True)  # a build that failed in another worker
            all_reviews_explained(folder / "project", tiny_bert_dir)
            (folder / "built").touch()
    return folder / "project"


def copy_of(template: Path, folder: Path) -> Path:
    """A copy of a git + DVC project (its cache included) at `folder / "project"`."""
    return Path(shutil.copytree(template, folder / "project", symlinks=True))


def spy_on_explain(monkeypatch: pytest.MonkeyPatch) -> tuple[list[dict[str, Any]], list[Any]]:
    """Record the keyword arguments of each `ig.explain` call (the progress bar, the targets) and keep the last
    call's results; the calls still explain."""
    from stages.attribution import ig

    calls: list[dict[str, Any]] = []
    explained: list[Any] = []
    explain = ig.explain

    def recording(*args: Any, **kwargs: Any) -> list[Any]:
        calls.append(kwargs)
        explained[:] = explain(*args, **kwargs)
        return list(explained)

    monkeypatch.setattr(ig, "explain", recording)
    return calls, explained


@pytest.fixture
def project_copy(tmp_path, tiny_bert_dir):
    return make_project(tmp_path / "project", tiny_bert_dir)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Chromium through Selenium: skipped locally without it, a failure in CI."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        message = f"{' and '.join(missing)} missing: apt-get install -y chromium chromium-driver"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_window_size(1280, 2000)
    yield driver
    driver.quit()


def open_page(driver, path: Path) -> None:
    """Load `path` afresh and wait until its own document has loaded. ChromeDriver can return from a
    navigation to the URL already shown before the new document is complete, so go through about:blank."""
    from selenium.webdriver.support.wait import WebDriverWait

    driver.get("about:blank")
    driver.get(path.as_uri())
    WebDriverWait(driver, 30).until(lambda page: page.execute_script(
        "return document.readyState === 'complete' && document.URL === arguments[0]", path.as_uri()))


def explained_record(source: str = "imdb", example_id: int = 0, tokens: Sequence[str] = ("[CLS]", "good", "[SEP]"),
                     attributions: Sequence[float] | None = None, **fields: Any) -> ExplainedExample:
    """A record with its figures made up; `fields` override any."""
    values = [0.0] * len(tokens) if attributions is None else list(attributions)
    return parsed({"source": source, "id": example_id, "text": " ".join(t for t in tokens if not t.startswith("[")),
            "label": 1, "truncated": False, "tokens_cut": 0, "cut_at": None, "token_ids": list(range(len(tokens))),
            "tokens": list(tokens), "attributions": values, "predicted": 1, "probability": 0.9, "f_x": 0.9,
            "f_baseline": 0.5, "delta": 0.0, "completeness_error": 0.001, "n_steps": 50,
            "faithfulness": {"comprehensiveness/ig": 0.3, "sufficiency/ig": 0.01},
            "rank_agreement": {}, "position": example_id, **fields})


def checked_shortcut(word: str = "walnut", relied_on: int = 3, ig_precision: float = 0.6667,
                     dataset_rank: int | None = 2) -> dict[str, Any]:
    """A check_shortcut file with its figures made up: `word` planted toward positive, 4 held-out reviews,
    IG, gradient x input and random scored, one example shown (tokens `[CLS] a walnut of a film [SEP]`)."""
    tokens = ["[CLS]", "a", "wal", "##nut", "of", "a", "film", "[SEP]"]
    return {"format": 1, "enabled": True, "word": word, "label": 1, "share": 0.2,
            "settings": {"layer": "embeddings", "baseline": "pad", "n_steps": 50, "methods": ["gradient_x_input"],
                         "min_shift": 0.2, "k": 3},
            "reliance": {"relied_on": relied_on, "examples": 4, "mean_shift": 0.41, "flipped": 0.5},
            "methods": {"ig": {"precision_at_1": ig_precision, "precision_at_k": 1.0, "mrr": 0.8333},
                        "random": {"precision_at_1": 0.0, "precision_at_k": 0.3333, "mrr": 0.2},
                        "gradient_x_input": {"precision_at_1": 0.3333, "precision_at_k": 0.6667, "mrr": 0.5},
                        "random_expected": {"precision_at_1": 0.2, "precision_at_k": 0.6, "mrr": 0.4567}},
            "dataset_rank": dataset_rank, "shown": [0],
            "examples": [{"id": 7, "label": 0, "text": "a walnut of a film", "predicted": 1, "with_word": 0.9,
                          "without_word": 0.2,
                          "shift": 0.7, "words": 5, "ranks": {"ig": 1, "gradient_x_input": 2, "random": 4},
                          "tokens": tokens, "attributions": [0.0, 0.01, 0.3, 0.2, -0.1, 0.02, 0.05, 0.0],
                          "cut_at": None, "tokens_cut": 0},
                         {"id": 9, "label": 1, "text": "fine", "predicted": 1, "with_word": 0.95, "without_word": 0.9,
                          "shift": 0.05, "words": 2, "ranks": {"ig": 2, "gradient_x_input": 1, "random": 1},
                          "cut_at": None, "tokens_cut": 0}]}
