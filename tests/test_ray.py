"""`explain.executor: ray` on a tiny BERT: a real two-node Ray cluster on this machine (token
authentication on, torn down after) gives the in-process bytes and explains on both nodes; a worker
killed mid-run is replaced; a run stopped between shards resumes from DVC's run-cache; the default
run starts no Ray; bad input is one line. Isolation from other instances: tests/test_ray_isolation.py."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from stages.plumbing import cluster
from stages.plumbing.errors import UserError
from tests.conftest import MERGED_STAGE, copy_of, dvc_env, run_dvc, set_params
from tests.test_pipeline import git, ran_stages
from tools.local_ray import command_name, descendants, free_port, processes_under, send_signal, two_nodes

SHARD = "explanations/shards/0.json"
MERGED = ("explanations/finetuned.json", "explanations/finetuned.parquet", "metrics/explain.json",
          "explanations/plots/finetuned.json")


IN_PROCESS: dict[str, bytes] = {}  # the project's outputs as the in-process run wrote them


@pytest.fixture(scope="module")
def project(tmp_path_factory, all_reviews_template) -> Path:
    """17 examples (three chunks of 8, 8 and 1), explained in process and committed."""
    folder = copy_of(all_reviews_template, tmp_path_factory.mktemp("ray"))
    IN_PROCESS.update({name: (folder / name).read_bytes() for name in (SHARD, *MERGED)})
    return folder


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[dict[str, str]]:
    """A head and a second node of one CPU each, with token authentication; the environment to reach it."""
    with two_nodes(dvc_env()) as env:
        yield env


def test_two_nodes_give_the_in_process_bytes(project, ray_cluster):
    set_params(project, **{"explain.executor": "ray", "explain.ray_workers": 2})
    result = subprocess.run(["dvc", "repro", "-f", "-s", "explain@0"], cwd=project, env=ray_cluster,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (project / SHARD).read_bytes() == IN_PROCESS[SHARD]
    assert re.search(r"explained 17 examples in 3 chunks on 2 Ray node\(s\)", result.stdout), result.stdout
    # each actor computes with the 1 CPU it reserved, as the in-process run did: the same bytes
    assert re.search(r"2 actor\(s\) at 1 TensorFlow thread\(s\); actors ready in [\d.]+ s at most; chunks per "
                     r"actor: 2, 1", result.stdout), result.stdout
    assert "Token authentication" not in result.stderr and "INFO" not in result.stderr  # Ray's notices hidden


def test_a_worker_killed_mid_run_is_replaced_and_its_chunk_redone(project, ray_cluster):
    set_params(project, **{"explain.executor": "ray", "explain.ray_workers": 2})
    (project / SHARD).unlink()
    run = subprocess.Popen(["dvc", "repro", "-f", "-s", "explain@0"], cwd=project, env=ray_cluster,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline, killed = time.monotonic() + 300, None
    while killed is None and time.monotonic() < deadline and run.poll() is None:
        workers = processes_under("ChunkExplainer")
        if workers:
            time.sleep(3)  # inside its first chunk: the model loaded, the explainer at work
            killed = workers[0]
            send_signal(killed, signal.SIGKILL)
        time.sleep(0.2)
    stdout, stderr = run.communicate(timeout=600)
    assert killed is not None, "no Ray worker was seen"
    assert run.returncode == 0, stderr[-3000:]
    assert (project / SHARD).read_bytes() == IN_PROCESS[SHARD]
    assert "explained 17 examples in 3 chunks" in stdout


def test_a_run_stopped_between_shards_resumes_without_redoing_them(project, ray_cluster):
    """Two shards on the cluster; the driver (`dvc repro`) is killed once the first shard's stage is committed
    (DVC picks which runs first); the rerun restores it, explains the other alone and ends in the bytes of the
    one-shard run."""
    set_params(project, **{"explain.executor": "ray", "explain.shards": [0, 1]})
    git(project, "commit", "-qam", "two shards on Ray")
    run = subprocess.Popen(["dvc", "repro", MERGED_STAGE], cwd=project, env=ray_cluster, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, start_new_session=True)
    started: list[str] = []
    for line in run.stdout:
        started += re.findall(r"Running stage '(explain@\d)'", line)
        if len(started) == 2:
            break
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    assert sorted(started) == ["explain@0", "explain@1"]
    rerun = run_dvc(project, "repro", MERGED_STAGE, env=ray_cluster).stdout
    assert ran_stages(rerun) == [started[1], "merge_explanations"]
    assert {name: (project / name).read_bytes() for name in MERGED} == {name: IN_PROCESS[name] for name in MERGED}


def test_the_default_run_starts_no_ray(project):
    """The in-process stage, watched while it runs: no process of its tree is Ray's. (alibi imports
    the `ray` module when it is installed; importing starts nothing.)"""
    set_params(project, **{"explain.executor": "local", "explain.shards": [0]})
    run = subprocess.Popen([sys.executable, "-m", "stages.explain", "data/shards/0.json", "models/classifier",
                            str(project / "in-process.json")], cwd=project, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, env={**dvc_env(), "PYTHONPATH": str(project)})
    seen = set()
    while run.poll() is None:
        seen |= {command_name(pid) for pid in descendants(run.pid) - {run.pid}}
        time.sleep(0.1)
    assert run.returncode == 0 and (project / "in-process.json").is_file()
    assert not {name for name in seen if name in ("gcs_server", "raylet") or name.startswith("ray::")}, seen


def test_an_address_with_no_cluster_is_one_line_at_once(monkeypatch):
    address = f"127.0.0.1:{free_port()}"
    monkeypatch.setenv("RAY_ADDRESS", address)
    started = time.monotonic()
    expected = (rf"^RAY_ADDRESS={address}: no Ray cluster answers there \(Connection refused\); "
                "start one with `ray start --head`, or unset RAY_ADDRESS")
    with pytest.raises(UserError, match=expected):
        cluster.cluster_address()
    assert time.monotonic() - started < 30


def test_gpus_the_cluster_lacks_are_one_line():
    with pytest.raises(UserError, match=r"^the Ray cluster has 0 GPUs, and explain.ray_gpus_per_worker asks 1 per "
                                        r"worker; set it to 0 to explain on CPUs$"):
        cluster.check_gpus({"CPU": 2.0}, 1)
    cluster.check_gpus({"CPU": 2.0, "GPU": 1.0}, 0.5)


def test_ray_missing_is_one_line_saying_how_to_install(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.delenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", raising=False)  # restored after the session sets it
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    with pytest.raises(UserError, match=r"^Ray is not installed \(ray is missing\), and explain.executor = 'ray' "
                                        r"needs it: pip install"):
        with cluster.ray_session(0):
            pass


def test_rays_notices_go_to_a_log_kept_only_after_a_failure(tmp_path, monkeypatch, capfd):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.delenv("IG_VERBOSE", raising=False)
    with cluster.quiet_stderr():
        os.write(2, b"a notice\n")
    assert list(tmp_path.glob("ray-*.log")) == [] and "a notice" not in capfd.readouterr().err
    with pytest.raises(UserError), cluster.quiet_stderr():
        os.write(2, b"a notice\n")
        raise UserError("bad input: its one line is enough")
    assert list(tmp_path.glob("ray-*.log")) == [] and capfd.readouterr().err == ""
    with pytest.raises(RuntimeError), cluster.quiet_stderr():
        os.write(2, b"a notice\n")
        raise RuntimeError("a worker crashed")
    (log,) = tmp_path.glob("ray-*.log")
    assert log.read_text() == "a notice\n" and capfd.readouterr().err == f"Ray's own messages of this run: {log}\n"


def test_an_actor_loads_the_shipped_model_and_leaves_no_copy_on_disk(tiny_bert_dir, tmp_path, monkeypatch):
    from stages.attribution.distributed import load_shipped, model_files
    from stages.plumbing.models import load_trained

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    classifier, tokenizer = load_shipped(model_files(tiny_bert_dir))
    saved_classifier, saved_tokenizer = load_trained(tiny_bert_dir)
    assert tokenizer("a good film")["input_ids"] == saved_tokenizer("a good film")["input_ids"]
    for shipped, saved in zip(classifier.get_weights(), saved_classifier.get_weights(), strict=True):
        assert (shipped == saved).all()
    assert list(tmp_path.iterdir()) == []
