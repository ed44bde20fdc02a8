"""Sharded explanation on a tiny BERT, in a throw-away copy of the project that the tests below share
in order: every core reproduces the one-thread run, two shards merge into the one-shard run byte for byte,
a changed example re-runs its shard alone, and a shard explained in another clone is restored from the
run-cache, not explained again."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stages.attribution.record_table import read_records
from stages.report.readers import read_explanations
from stages.report.views import kept_note
from tests.conftest import MERGED_STAGE, copy_of, dvc_env, run_dvc, set_params
from tests.test_pipeline import git, ran_stages

MERGED = ("explanations/finetuned.json", "explanations/finetuned.parquet", "metrics/explain.json",
          "explanations/plots/finetuned.json")


@pytest.fixture(scope="module")
def project(tmp_path_factory, all_reviews_template) -> Path:
    """All 16 held-out reviews and one Rotten Tomatoes sentence: 17 examples, three chunks of 8."""
    return copy_of(all_reviews_template, tmp_path_factory.mktemp("shards"))


def shard_runs(output: str) -> list[str]:
    return [stage for stage in ran_stages(output) if stage.startswith("explain@")]


def test_every_core_against_one_thread_is_reproduced(project):
    """The fixture explained at 1 thread (and committed); `explain.threads: auto` (both cores here) re-runs the shard
    and the merge, and `compare` finds the records within its reproduction tolerance (the pools' sums differ in their
    last digits at most). First in the file: the fixture's outputs are the 1-thread side."""
    run_dvc(project, "repro", "explain_sentences", "explain_pretrained")  # the rest of what `compare` reads
    git(project, "add", "-A")
    git(project, "commit", "-qm", "explained at 1 thread")
    set_params(project, **{"explain.threads": "auto"})
    assert ran_stages(run_dvc(project, "repro", MERGED_STAGE).stdout)[:1] == ["explain@0"]  # the merge where it differs
    compared = subprocess.run([sys.executable, "-m", "tools.compare", "HEAD", "workspace"], cwd=project,
                              capture_output=True, text=True, env={**dvc_env(), "PYTHONPATH": str(project)})
    assert compared.returncode == 0, compared.stderr
    # the 17 held-out examples and the 2 free sentences
    assert "HEAD vs workspace: reproduced: 19 examples" in compared.stdout, compared.stdout


def test_two_shards_give_the_records_of_one(project):
    one = {name: (project / name).read_bytes() for name in MERGED}
    assert len(json.loads(one[MERGED[0]])["examples"]) == 17
    output = run_dvc(project, "exp", "run", MERGED_STAGE, "-S", "explain.shards=[0,1]").stdout
    assert sorted(ran_stages(output)) == ["explain@0", "explain@1", "merge_explanations", "shard_examples"]
    assert {name: (project / name).read_bytes() for name in MERGED} == one  # sanity_check and render: same inputs
    shards = [json.loads((project / f"explanations/shards/{index}.json").read_text()) for index in range(2)]
    assert [len(shard["examples"]) for shard in shards] == [9, 8]  # chunks of 8, 8 and 1, dealt out in turn
    assert all(set(shard["metrics"]) >= {"imdb/comprehensiveness/ig"} for shard in shards)


def test_git_keeps_the_reports_examples_and_the_records_file_keeps_all(project):
    """`explain.report_examples=3` of 16 reviews and 1 sentence: git keeps 4, the records file and the
    figures stay those of all 17, only the merge runs again, and the report's note says what git keeps."""
    records, metrics = "explanations/finetuned.parquet", "metrics/explain.json"
    before = {name: (project / name).read_bytes() for name in (records, metrics)}
    output = run_dvc(project, "exp", "run", MERGED_STAGE, "-S", "explain.report_examples=3").stdout
    assert ran_stages(output) == ["merge_explanations"]
    assert {name: (project / name).read_bytes() for name in (records, metrics)} == before
    kept = json.loads((project / MERGED[0]).read_text())
    assert [(example["source"], example["position"]) for example in kept["examples"]] == [
        ("imdb", 0), ("imdb", 1), ("imdb", 2), ("rotten_tomatoes", 16)]
    assert [record.position for record in read_records(project / records)] == list(range(17))
    assert kept["records"] == {"file": records, "examples": 17}
    assert {source: summary["examples"] for source, summary in kept["sources"].items()} == {"imdb": 16,
                                                                                          "rotten_tomatoes": 1}
    plotted = {row["example"] for row in json.loads((project / "explanations/plots/finetuned.json").read_text())}
    assert len(plotted) == 4
    assert ("Cards for the first examples of each source (3 of 16 held-out IMDB reviews, 1 of 1 Rotten Tomatoes "
            "sentences)") in kept_note(read_explanations(project / MERGED[0], stage=MERGED_STAGE))


def test_a_changed_example_reruns_its_shard_alone(project):
    """One more Rotten Tomatoes sentence joins the last chunk: one shard's examples change."""
    set_params(project, **{"explain.n_rt_sentences": 2})
    output = run_dvc(project, "repro", MERGED_STAGE).stdout
    assert ran_stages(output)[0] == "shard_examples" and len(shard_runs(output)) == 1
    assert "merge_explanations" in ran_stages(output)
    assert json.loads((project / MERGED[0]).read_text())["records"]["examples"] == 18  # git keeps report_examples


def test_a_shard_from_another_clone_is_restored_from_the_run_cache(project, tmp_path):
    """Machine B explains shard 1 and pushes it with the run-cache; on machine A `dvc repro --pull`
    (which pulls the run-cache, and the outputs of the runs it finds there) restores that shard
    instead of explaining it."""
    set_params(project, **{"explain.shards": [0, 1], "explain.n_reviews": 12})  # 14 examples: chunks of 8 and 6
    git(project, "add", "-A")
    git(project, "commit", "-qm", "two shards of 12 reviews and 2 sentences")
    run_dvc(project, "remote", "add", "-d", "shared", str(tmp_path / "remote"))
    git(project, "commit", "-qam", "a shared remote")
    run_dvc(project, "push", "--with-deps", MERGED_STAGE)  # the outputs of the last run, up to the merge
    other = tmp_path / "machine-b"
    subprocess.run(["git", "clone", "-q", str(project), str(other)], check=True)
    assert shard_runs(run_dvc(other, "repro", "--pull", "explain@1").stdout) == ["explain@1"]
    run_dvc(other, "push", "--run-cache")
    shutil.rmtree(other)

    output = run_dvc(project, "repro", "--pull", MERGED_STAGE).stdout
    assert "Stage 'explain@1' is cached - skipping run, checking out outputs" in output
    assert shard_runs(output) == ["explain@0"] and "merge_explanations" in ran_stages(output)


@pytest.mark.parametrize("shards, message", [
    ([0, 1, 2, 3], "params.yaml: explain.shards = [0, 1, 2, 3] asks for 4 shards of 14 examples, which are "
                   "explained 8 at a time; give at most 2"),
    ([1], "params.yaml: explain.shards = [1] is not allowed; expected the shard indices counted from 0, "
          "e.g. [0] or [0, 1]"),
])
def test_a_bad_shard_count_stops_with_one_line_and_writes_nothing(project, shards, message):
    shutil.rmtree(project / "data/shards", ignore_errors=True)
    set_params(project, **{"explain.shards": shards, "explain.n_reviews": 12, "explain.n_rt_sentences": 2})
    result = subprocess.run([sys.executable, "-m", "stages.shard_examples",
                             "data/decoded", "data/tokens", "data/shards"],
                            cwd=project, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(project)})
    assert result.returncode == 2 and result.stderr.strip().splitlines() == [f"error: {message}"]
    assert not (project / "data/shards").exists()
