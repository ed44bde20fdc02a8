"""End to end on a tiny BERT and a few dozen reviews, in one throw-away copy of the project that the
tests below share in order: `dvc repro`, nothing to do the second time, byte-identical forced reruns,
only the stages a param touches rerun, a DVC remote round trip, and stages killed half way."""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import dvc_env, make_project, open_page, run_dvc, set_params

OUTPUT_FOLDERS = ("data", "models", "explanations", "reports", "metrics", "dvclive")
TRAIN_OUTPUTS = ("models", "dvclive/train")


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_bert_dir, tiny_distilbert_dir) -> Path:
    folder = make_project(tmp_path_factory.mktemp("pipeline") / "project", tiny_bert_dir)
    set_params(folder, **{"explain_pretrained.enabled": True,
                          "explain_pretrained.checkpoint": str(tiny_distilbert_dir)})
    run_dvc(folder, "repro")
    return folder


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
    explained = [json.loads((project / "explanations" / name).read_text())["examples"]
                 for name in ("finetuned.json", "sentences.json")]
    assert [e["source"] for e in explained[0]] == ["imdb", "imdb", "rotten_tomatoes"]
    assert [e["source"] for e in explained[1]] == ["sentences", "sentences"]
    for example in explained[0] + explained[1]:
        assert "[PAD]" not in example["tokens"]
        assert len(example["tokens"]) == len(example["attributions"]) == len(example["token_ids"])
    reviews = [example for example in explained[0] if example["source"] == "imdb"]
    assert all(review["truncated"] and review["cut_at"] == 1 + (64 - 2) // 4 for review in reviews)  # head_tail
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(project / "models/classifier"))
    assert [review["tokens_cut"] for review in reviews] == [
        len(tokenizer(review["text"], add_special_tokens=False)["input_ids"]) + 2 - 64 for review in reviews]
    rows = json.loads((project / "explanations/plots/finetuned.json").read_text())
    assert len(rows) == sum(len(example["tokens"]) for example in explained[0])
    assert rows[1] == {"example": f"imdb #{explained[0][0]['id']}", "position": 1,
                       "token": explained[0][0]["tokens"][1], "label": f"0001 {explained[0][0]['tokens'][1]}",
                       "attribution": explained[0][0]["attributions"][1]}
    page = (project / "reports/attributions.html").read_text()
    assert page.count('class="card"') == 5 + 3 and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    view = json.loads((project / "explanations/dataset.json").read_text())
    assert view["records"] == 3 and sum(entry["documents"] for classes in view["sources"].values()
                                        for entry in classes.values()) == 3
    words = page[page.index('<section class="words">'):page.index('<section class="examples">')]
    links = re.findall(r'href="#(finetuned-\d+)"', words)
    assert links and all(f'<section class="card" id="{anchor}">' in page for anchor in links)
    assert json.loads((project / "explanations/shortcut.json").read_text()) == {"format": 1, "enabled": False}
    assert json.loads((project / "metrics/shortcut.json").read_text()) == {}  # no word planted: not run
    assert "Not run: no word is planted" in page
    assert json.loads((project / "explanations/plausibility.json").read_text()) == {"format": 1, "enabled": False}
    assert json.loads((project / "metrics/plausibility.json").read_text()) == {}  # no dataset given: not measured
    assert "Not measured: no human-annotated data given" in page


def test_metrics_are_the_figures_of_the_outputs(project):
    """What `dvc metrics show` reports, recomputed from the predictions and explanations files."""
    from stages.attribution.dataset_view import summary_metrics
    from stages.attribution.quality import quality_metrics
    from stages.attribution.record import parsed

    metrics = metrics_by_file(project)
    scores = metrics["dvclive/evaluate/metrics.json"]
    per_class = json.loads((project / "dvclive/evaluate/per_class.json").read_text())
    for prefix, name in (("imdb", "test"), ("rotten_tomatoes", "rotten_tomatoes")):
        predictions = pd.read_csv(project / "data/predictions" / f"{name}.csv")
        tokens = np.load(project / "data/tokens" / f"{name}.npz")
        assert predictions.id.tolist() == tokens["id"].tolist()
        assert predictions.label.tolist() == tokens["label"].tolist()
        assert per_class[f"{prefix}/n"] == len(predictions)
        assert scores[f"{prefix}/accuracy"] == pytest.approx((predictions.label == predictions.predicted).mean(),
                                                             abs=1e-6)
    explained = json.loads((project / "explanations/finetuned.json").read_text())["examples"]
    assert metrics["metrics/explain.json"] == quality_metrics([parsed(example) for example in explained])
    view = json.loads((project / "explanations/dataset.json").read_text())
    assert metrics["metrics/dataset.json"] == summary_metrics(view)
    assert len(metrics["metrics/dataset.json"]) <= 4 * len(view["sources"])  # a few a source, not one a word
    assert sorted({key.split("/")[0] for key in metrics["metrics/explain.json"]}) == ["imdb", "rotten_tomatoes"]
    sentences = json.loads((project / "explanations/sentences.json").read_text())["examples"]
    assert metrics["metrics/explain_sentences.json"] == quality_metrics([parsed(example) for example in sentences])
    assert {key.split("/")[0] for key in metrics["metrics/explain_sentences.json"]} == {"sentences"}
    pretrained = json.loads((project / "explanations/pretrained.json").read_text())
    assert [e["text"] for e in pretrained["examples"]] == yaml.safe_load(
        (project / "params.yaml").read_text())["explain_pretrained"]["sentences"]
    assert metrics["metrics/explain_pretrained.json"] == quality_metrics(
        [parsed(example) for example in pretrained["examples"]], prefix="pretrained")


def test_second_repro_has_nothing_to_do(project):
    assert "Running stage" not in run_dvc(project, "repro").stdout
    assert is_clean(project)


def test_forced_rerun_is_byte_identical(project):
    """Every stage run again gives the same bytes; train's rerun is checked after its kill, below."""
    before, lock = digests(project), (project / "dvc.lock").read_text()
    stages = [stage for stage in yaml.safe_load((project / "dvc.yaml").read_text())["stages"] if stage != "train"]
    run_dvc(project, "repro", "-f", "--single-item", *stages)
    after = digests(project)
    assert len(before) > 20 and sorted(before) == sorted(after)
    assert [name for name in before if before[name] != after[name]] == []
    assert (project / "dvc.lock").read_text() == lock


def test_the_alibi_engine_reruns_only_explain_and_matches_the_default(project):
    """A param changes only the stages that read it; alibi's own IntegratedGradients, through the stage, gives the
    compiled engine's attributions (within 1e-4 of each total); back on compiled, the run-cache restores them."""
    before_bytes = (shard := project / "explanations/shards/0.json").read_bytes()
    set_params(project, **{"explain.engine": "alibi"})
    assert sorted(json.loads(run_dvc(project, "status", "--json").stdout)) == [
        "check_shortcut", "explain@0", "explain_pretrained", "explain_sentences", "plausibility", "sanity_check"]
    assert ran_stages(run_dvc(project, "repro", "--single-item", "explain@0").stdout) == ["explain@0"]
    before, after = json.loads(before_bytes)["examples"], json.loads(shard.read_text())["examples"]
    assert [e["text"] for e in after] == [e["text"] for e in before] and len(before) == 3
    for compiled, alibi in zip(before, after):
        total = np.abs(alibi["attributions"]).sum()
        assert np.abs(np.subtract(compiled["attributions"], alibi["attributions"])).max() <= 1e-4 * total
        assert compiled["predicted"] == alibi["predicted"]
    set_params(project, **{"explain.engine": "compiled"})
    restored = run_dvc(project, "repro").stdout
    assert ran_stages(restored) == [] and "Stage 'explain@0' is cached - skipping run" in restored
    assert shard.read_bytes() == before_bytes and is_clean(project)


def ran_stages(output: str) -> list[str]:
    """The stages a `dvc repro` or `dvc exp run` ran, in order."""
    return re.findall(r"Running stage '([^']+)'", output)


def test_remote_round_trip(project, tmp_path):
    run_dvc(project, "remote", "add", "-f", "-d", "local", str(tmp_path / "remote"))
    run_dvc(project, "push")
    before = digests(project)
    for folder in ("data/decoded", "data/tokens", "data/predictions", "models/classifier"):  # the cached outputs
        shutil.rmtree(project / folder)
    (project / "reports/attributions.html").unlink()
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
    outputs = ("explanations/shards/0.json",)
    before = {name: (project / name).read_bytes() for name in outputs}
    command = yaml.safe_load((project / "dvc.yaml").read_text())["stages"]["explain"]["do"]["cmd"]
    command = command.replace("${item}", "0").split()
    assert command[:3] == ["python", "-m", "stages.explain"]
    killed = subprocess.run([sys.executable, "-c", KILL_ON_WRITE, *command[3:]], cwd=project, capture_output=True,
                            env={**os.environ, "PYTHONPATH": str(project)})
    assert killed.returncode == -signal.SIGKILL
    assert {name: (project / name).read_bytes() for name in outputs} == before
    assert visible_files(project / "explanations") == [
        "dataset.json", "finetuned.json", "finetuned.parquet", "plausibility.json", "plots/dataset.json",
        "plots/finetuned.json", "plots/randomisation.json", "plots/sentences.json", "pretrained.json",
        "sentences.json", "shards/0.json", "shortcut.json"]
    assert stage_status(project, "explain@0") == [] and is_clean(project)


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


def test_settings_no_stage_reads_rerun_nothing(project):
    """Another model's hyperparameters are no stage's input; a decode key the source ignores reruns
    decode alone, whose identical outputs stop the run there."""
    set_params(project, **{"models.bert-base-uncased.batch_size": 4})
    assert is_clean(project)
    set_params(project, **{"decode.num_words": 500})
    assert ran_stages(run_dvc(project, "repro").stdout) == ["decode"]
    assert is_clean(project)


def git(project: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", *args]
    return subprocess.run(command, cwd=project, check=True, capture_output=True, text=True).stdout


def comments_and_unchanged_lines(text: str, changed: str) -> list[str]:
    """The lines of params.yaml that an experiment on `changed` (a list-valued key) must keep."""
    lines = text.splitlines()
    start = lines.index(f"  {changed}:")
    end = next(index for index in range(start + 1, len(lines)) if not lines[index].startswith("  - "))
    return lines[:start] + lines[end:]


def test_a_sentence_experiment_reruns_only_the_sentence_stage(project):
    """`dvc exp run -S explain.sentences=...`: the sentence stage and the report run, the other sources'
    figures keep their bytes, params.yaml keeps its comments, and `dvc exp show` lists the figures."""
    git(project, "add", "-A")
    git(project, "commit", "-qm", "baseline run")
    params_before = (project / "params.yaml").read_text()
    unchanged = ("metrics/explain.json", "explanations/finetuned.json", "explanations/finetuned.parquet",
                 "dvclive/evaluate/metrics.json")
    before = {name: (project / name).read_bytes() for name in (*unchanged, "metrics/explain_sentences.json")}

    output = run_dvc(project, "exp", "run", "-n", "new-sentence", "-S",
                     'explain.sentences=["a dull, dull film", "Vivid and moving"]').stdout
    assert ran_stages(output) == ["explain_sentences", "render"]
    assert {name: (project / name).read_bytes() for name in unchanged} == {name: before[name] for name in unchanged}
    assert (project / "metrics/explain_sentences.json").read_bytes() != before["metrics/explain_sentences.json"]
    params_after = (project / "params.yaml").read_text()
    assert comments_and_unchanged_lines(params_after, "sentences") == comments_and_unchanged_lines(
        params_before, "sentences")
    assert yaml.safe_load(params_after)["explain"]["sentences"] == ["a dull, dull film", "Vivid and moving"]

    compared = subprocess.run([sys.executable, "-m", "tools.compare", "HEAD", "new-sentence"], cwd=project,
                              capture_output=True, text=True, env={**dvc_env(), "PYTHONPATH": str(project)})
    assert compared.returncode == 0, compared.stderr
    rows = json.loads((project / "reports/compare.json").read_text())["pairs"][0]["rows"]
    reviews = [row for row in rows if row["file"] == "explanations/finetuned.json"]
    assert reviews and all(row["spearman"] == pytest.approx(1.0) and row["relative_l1"] == 0.0 for row in reviews)
    assert {row["reason"] for row in rows if row["file"] == "explanations/sentences.json"} == {
        "explained in one revision only"}

    shown = json.loads(run_dvc(project, "exp", "show", "--json").stdout)
    experiment = next(exp for row in shown for exp in row.get("experiments") or []
                      if exp["name"] == "new-sentence")["revs"][0]["data"]["metrics"]
    columns = {f"{path}:{key}" for path, entry in experiment.items() for key in entry["data"]}
    for figure in ("dvclive/evaluate/metrics.json:imdb/accuracy", "dvclive/evaluate/metrics.json:imdb/roc_auc",
                   "dvclive/evaluate/metrics.json:rotten_tomatoes/accuracy",
                   "metrics/explain.json:imdb/completeness_error/median",
                   "metrics/explain.json:imdb/comprehensiveness/ig", "metrics/explain.json:imdb/sufficiency/random",
                   "metrics/explain.json:imdb/comprehensiveness/saliency",
                   "metrics/explain.json:imdb/sufficiency/gradient_x_input",
                   "metrics/explain.json:rotten_tomatoes/comprehensiveness/saliency",
                   "metrics/explain_sentences.json:sentences/n_steps/mean",
                   "metrics/sanity_check.json:spearman/head", "metrics/sanity_check.json:spearman/all_layers"):
        assert figure in columns
    assert not [column for column in columns if "tokenize" in column or "truncated" in column or "p90" in column]
    assert not [column for column in columns if column.endswith(("/n", "enabled"))]


def test_a_planted_shortcut_and_plausibility_are_measured_and_shown_beside_the_accuracy(project, tmp_path):
    """One `dvc exp run` plants `walnut` and gives both human-annotated datasets (tiny copies): the model is retrained
    on the planted reviews, `dvc exp show` lists both stages' figures beside the accuracy, `compare` both lines."""
    from tests.test_plausibility_stage import archive, eraser_folder, sst_folder

    eraser, sst = archive(eraser_folder(tmp_path / "e"), tmp_path / "movies.tar.gz", "movies"), sst_folder(tmp_path)
    output = run_dvc(project, "exp", "run", "evaluate", "check_shortcut", "plausibility", "-n", "walnut", "-S",
                     "decode.shortcut.word=walnut", "-S", "decode.shortcut.share=0.5", "-S", "check_shortcut.reviews=2",
                     "-S", f"plausibility.eraser={eraser}", "-S", f"plausibility.sst={sst}").stdout
    assert sorted(ran_stages(output)) == ["check_shortcut", "decode", "evaluate", "plausibility", "tokenize", "train"]
    train = pd.read_csv(project / "data/decoded/train.csv")
    planted = train.text.str.contains(r"\bwalnut\b")
    assert planted.sum() == round(0.5 * (train.label == 1).sum()) and set(train.label[planted]) == {1}
    checked = json.loads((project / "explanations/shortcut.json").read_text())
    assert checked["enabled"] and checked["reliance"]["examples"] == 4
    assert all("walnut" in example["text"] for example in checked["examples"])
    measured = json.loads((project / "explanations/plausibility.json").read_text())
    assert measured["eraser"]["documents"] == 8 and measured["sst"]["sentences"] == 4

    shown = json.loads(run_dvc(project, "exp", "show", "--json").stdout)
    experiment = next(exp for row in shown for exp in row.get("experiments") or []
                      if exp["name"] == "walnut")["revs"][0]["data"]["metrics"]
    columns = {f"{path}:{key}" for path, entry in experiment.items() for key in entry["data"]}
    for figure in ("dvclive/evaluate/metrics.json:imdb/accuracy", "metrics/shortcut.json:reliance/relied_on",
                   "metrics/shortcut.json:reliance/examples", "metrics/shortcut.json:reliance/mean_shift",
                   "metrics/plausibility.json:eraser", "metrics/plausibility.json:sst"):
        assert figure in columns
    # precision and MRR are null where the tiny model relies on nothing (dvc exp show leaves nulls out)
    metrics = json.loads((project / "metrics/shortcut.json").read_text())
    assert {"ig/precision_at_1", "saliency/mrr", "random_expected/precision_at_1", "dataset/rank"} <= set(metrics)
    compared = subprocess.run([sys.executable, "-m", "tools.compare", "walnut", "workspace"], cwd=project,
                              capture_output=True, text=True, env={**dvc_env(), "PYTHONPATH": str(project)})
    assert compared.returncode == 0, compared.stderr
    assert "walnut vs workspace, shortcut “walnut”: relied on in" in compared.stdout
    assert "walnut vs workspace, plausibility: eraser auprc ig " in compared.stdout


def test_a_clone_reads_the_committed_explanations_without_the_cache(project, tmp_path):
    """The explanations and metrics live in git: any revision is readable with no DVC remote."""
    import dvc.api

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(project), str(clone)], check=True)
    assert not (clone / ".dvc" / "cache").exists()
    committed = git(project, "show", "HEAD:explanations/finetuned.json")
    assert dvc.api.read("explanations/finetuned.json", repo=str(clone), rev="HEAD") == committed
    assert json.loads(dvc.api.read("metrics/explain_sentences.json", repo=str(clone), rev="HEAD"))


def test_the_plots_page_draws_offline(project, browser, tmp_path):
    """`dvc plots show` writes a page with Vega inlined (.dvc/plots/offline.html): with every host name
    unresolvable, Chromium draws each plot of dvc.yaml, in colour, without an error."""
    from PIL import Image
    from selenium.webdriver.support.wait import WebDriverWait

    shown = json.loads(run_dvc(project, "plots", "show", "--json").stdout)["data"]
    for name in ("finetuned", "sentences"):
        (plot,) = shown[f"explanations/plots/{name}.json"]
        spec, rows = plot["content"], json.loads((project / f"explanations/plots/{name}.json").read_text())
        assert spec["facet"]["column"]["field"] == "rev" and spec["facet"]["row"]["field"] == "example"
        assert spec["spec"]["encoding"]["y"]["field"] == "attribution"
        assert [{key: row[key] for key in rows[0]} for row in spec["data"]["values"]] == rows
        assert {row["rev"] for row in spec["data"]["values"]} == {"workspace"}
    (plot,) = shown["explanations/plots/dataset.json"]
    spec, rows = plot["content"], json.loads((project / "explanations/plots/dataset.json").read_text())
    assert spec["facet"]["row"]["field"] == "group" and spec["spec"]["encoding"]["y"]["field"] == "word"
    assert rows and len(spec["data"]["values"]) == len(rows)
    bars, intervals = spec["spec"]["layer"]  # each top word's score, and its bootstrap interval as a rule
    assert (bars["mark"]["type"], intervals["mark"]["type"], intervals["encoding"]["x2"]["field"]) == ("bar", "rule",
                                                                                                      "high")
    run_dvc(project, "plots", "show", "-o", str(tmp_path / "plots"))
    page = tmp_path / "plots" / "index.html"
    assert "<script src" not in page.read_text()
    open_page(browser, page)
    plots = 8  # training loss and accuracy, two confusion matrices, both explain stages' attributions, the cascade,
    # the top words
    WebDriverWait(browser, 30).until(
        lambda driver: driver.execute_script("return document.querySelectorAll('.vega-embed canvas').length") == plots)
    assert [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"] == []
    pixels = np.asarray(Image.open(io.BytesIO(browser.get_screenshot_as_png())).convert("RGB")).astype(int)
    coloured = (pixels.max(axis=2) - pixels.min(axis=2)) > 60  # lines and matrix cells, not text or grid
    assert coloured.sum() > 5000


def test_bad_param_stops_the_stage_with_one_line(project_copy):
    set_params(project_copy, **{"decode.train_size": 0})
    result = subprocess.run([sys.executable, "-m", "stages.decode", "data/decoded"], cwd=project_copy,
                            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(project_copy)})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: params.yaml: decode.train_size = 0 is not allowed; expected an integer >= 1 or 'all'"]
    assert not (project_copy / "data/decoded").exists()
