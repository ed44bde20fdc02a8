"""The benchmark's targets at, just under and just over each of the README's bounds, on reports made here."""
from __future__ import annotations

from typing import Any

import pytest

from benchmarks.report import targets
from tests.bench_checks import (
    AUTO_COMPLETENESS,
    AUTO_SPEED_UP,
    AUTO_VS_CAPTUM,
    EVALUATE,
    FINE_TUNING,
    MEMORY_COUNTS,
    PEAK_RSS,
    TARGETS,
    WHOLE_RUN_TARGETS,
)

# the per-workload figures `benchmarks.report.targets` reads, each with the target it feeds
PER_WORKLOAD_FIGURES = {"max_attribution_diff_vs_reference": "attribution difference vs reference",
                        "completeness_error_median": "median completeness error",
                        "time_multiple_of_floor": "time as a multiple of the floor",
                        "time_ratio_vs_captum": "time as a multiple of captum's"}


def report_at(factors: dict[str, float]) -> dict[str, Any]:
    """A report whose every target figure is its README bound times the factor of its engine ("all" for
    the whole-run ones); per-workload figures are worst on sentences for alibi, on reviews for compiled,
    the other workload holding half."""
    def bound(target: str) -> float:
        return TARGETS[target].bound

    ig_runs: dict[str, Any] = {"sentences": {}, "reviews": {}}
    for engine, worst_on in (("alibi", "sentences"), ("compiled", "reviews")):
        for workload in ig_runs:
            share = 1.0 if workload == worst_on else 0.5
            ig_runs[workload][engine] = {key: share * factors[engine] * bound(target)
                                         for key, target in PER_WORKLOAD_FIGURES.items()}
            ig_runs[workload][engine]["speedup"] = factors[engine] * bound(f"IG speed-up on {workload}")
    # auto's figures are the run's ("all"): its speed-up is picked smallest (sentences hold the bound, reviews
    # twice it), the others largest (reviews hold the bound, sentences half)
    for workload in ig_runs:
        share = 1.0 if workload == "reviews" else 0.5
        ig_runs[workload]["auto"] = {
            "speedup_vs_fixed_steps": factors["all"] * bound(AUTO_SPEED_UP) * (2.0 if workload == "reviews" else 1.0),
            "completeness_error_worst": share * factors["all"] * bound(AUTO_COMPLETENESS),
            "time_ratio_vs_captum": share * factors["all"] * bound(AUTO_VS_CAPTUM)}
    small, large = MEMORY_COUNTS
    return {"ig": ig_runs, "training": {"speedup": factors["all"] * bound(FINE_TUNING)},
            "evaluate": {"time_ratio": factors["all"] * bound(EVALUATE)},
            "memory": {"peak_ratio": factors["all"] * bound(PEAK_RSS),
                       "small": {"n_examples": small}, "large": {"n_examples": large}}}


@pytest.mark.parametrize("factors", [{"alibi": 1.0, "compiled": 1.0, "all": 1.0},
                                     {"alibi": 0.999, "compiled": 1.001, "all": 0.999},
                                     {"alibi": 1.001, "compiled": 0.999, "all": 1.001}])
def test_targets_apply_the_readme_bounds(factors: dict[str, float]) -> None:
    """At, just under and just over each bound, `benchmarks.report.targets` reports the right figure and marks it
    met exactly as the README's table states (`>=`, `<=` or `<`)."""
    rows = {row["target"]: row for row in targets(report_at(factors))}
    assert list(rows) == list(TARGETS)
    for target, (required, _, compare, bound) in TARGETS.items():
        assert rows[target]["required"] == required, target
        keys = {"all"} if target in WHOLE_RUN_TARGETS else {"alibi", "compiled"}
        assert set(rows[target]["values"]) == keys, target
        for key, value in rows[target]["values"].items():
            assert value == pytest.approx(factors[key] * bound, rel=1e-12), (target, key)
            assert rows[target]["met"][key] is compare(value, bound), (target, key, value)
