"""`make bench-ray`'s figures on runs made up here: the throughput model fitted on the 1-worker run, the speed-ups
and the targets at their bounds (the bench itself takes three quarters of an hour: docs/scaling.md)."""
from __future__ import annotations

from typing import Any

import pytest

from benchmarks.ray_scaling import speed_ups, targets, throughput_model

# 16 reviews. 1 worker: 170 s explaining once Ray is up, of which 10 s the actor's start-up, so (170 - 10) / 16
# = 10 s a review (not 180 / 16 = 11.25 from the wall, nor 170 / 16 = 10.625 with the actor's start-up); the
# start-up is the rest of its wall: 180 - 16 x 10 = 20 s (not Ray up + the actor's, 5 + 10).
RUNS: dict[str, dict[str, Any]] = {
    "in process, all threads": {"wall_s": 80.0, "reviews_per_s": 0.2},
    "Ray, 1 worker": {"wall_s": 180.0, "ray_up_s": 5.0, "explained_s": 170.0, "actor_start_s": 10.0,
                      "reviews_per_s": 0.1},
    "Ray, 2 workers": {"wall_s": 125.0, "reviews_per_s": 0.19},
    "Ray, two nodes": {"wall_s": 80.0, "reviews_per_s": 0.17},
}


def test_the_model_is_fitted_on_one_worker_and_its_error_is_over_the_measured_wall():
    model = throughput_model(RUNS, 16)
    assert model["seconds_per_review_per_cpu"] == 10.0 and model["start_up_s"] == 20.0
    # both predict 20 + 16 x 10 / 2 = 100 s; the error is (predicted - measured) / measured: -25 / 125 = -0.2 (not
    # -0.25 over the prediction), 20 / 80 = +0.25 (not 0.2)
    assert model["checks"] == {"Ray, 2 workers": {"predicted_wall_s": 100.0, "error": -0.2},
                               "Ray, two nodes": {"predicted_wall_s": 100.0, "error": 0.25}}


def test_speed_ups_are_throughput_ratios_against_one_worker_and_the_in_process_run():
    # 0.19 / 0.1 (not its inverse, 0.526), 0.17 / 0.1, and 2 workers against in process 0.19 / 0.2 (not against
    # 1 worker's in-process equivalent, nor the walls' ratio 80 / 125 = 0.64)
    assert speed_ups(RUNS) == {"Ray, 2 workers over 1": 1.9, "two nodes over 1 worker": 1.7,
                               "Ray, 2 workers over in process, all threads": 0.95}


@pytest.mark.parametrize("over_one, over_in_process, errors, met", [
    (1.8, 0.9, (-0.1, 0.05), [True, True, True]),  # each at its bound
    (1.799, 0.899, (-0.1001, 0.0), [False, False, False]),  # just short: an error of -10.01% counts by its size
    (2.0, 1.2, (0.0, 0.1001), [True, True, False]),
])
def test_the_targets_hold_at_their_bounds_and_fail_just_short(over_one, over_in_process, errors, met):
    speed_up = {"Ray, 2 workers over 1": over_one, "Ray, 2 workers over in process, all threads": over_in_process}
    model = {"checks": {"Ray, 2 workers": {"error": errors[0]}, "Ray, two nodes": {"error": errors[1]}}}
    rows = targets(speed_up, model)
    assert [row["met"] for row in rows] == met
    assert [row["value"] for row in rows] == [over_one, over_in_process, max(abs(e) for e in errors)]
