"""TensorFlow's thread count where the reviews are explained: which count each executor takes from params, and
that it is set before TensorFlow's first op."""
from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from stages.schemas.explain import ExplainParams
from tests.conftest import ROOT

EXPLAIN = yaml.safe_load((ROOT / "params.yaml").read_text())["explain"]


@pytest.mark.parametrize(("changes", "threads"), [
    ({"threads": "auto", "executor": "local"}, None),  # every core: TensorFlow's default
    ({"threads": "auto", "executor": "ray", "ray_cpus_per_worker": 3}, 3),  # an actor's reserved CPUs
    ({"threads": 2, "executor": "ray", "ray_cpus_per_worker": 3}, 2),
    ({"threads": 1, "executor": "local"}, 1),
])
def test_each_executor_computes_with_the_threads_params_give_it(changes, threads):
    assert ExplainParams.model_validate({**EXPLAIN, **changes}).explaining_threads() == threads


@pytest.mark.parametrize(("count", "expected"), [(1, "1 1"), (None, "0 0")])  # 0: TensorFlow's default
def test_limit_threads_sets_both_pools_before_the_first_op(count, expected):
    probe = (f"from stages.plumbing.threads import limit_threads\nlimit_threads({count})\nimport tensorflow as tf\n"
             "tf.constant(1.0) + 1.0\nprint(tf.config.threading.get_intra_op_parallelism_threads(), "
             "tf.config.threading.get_inter_op_parallelism_threads())")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-2:] == expected.split()
