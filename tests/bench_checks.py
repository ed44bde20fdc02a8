"""What the benchmark's tests check its report against: the README's targets, each with the report figure
it summarises, and readers of the tables the benchmark prints."""
from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, NamedTuple

MEMORY_COUNTS = (2, 8)  # --quick's few and many reviews of the memory runs
WORKLOADS = ("sentences", "reviews")


def worst(report: dict[str, Any], engine: str, key: str) -> float | None:
    """The largest of an engine's per-workload figure, None if a workload lacks it."""
    values = [report["ig"][workload][engine].get(key) for workload in WORKLOADS]
    return None if None in values else max(values)


class Target(NamedTuple):
    """A target as the README's table states it: its bound, and the report figure it summarises."""

    required: str
    figure: Callable[[dict[str, Any], str], float | None]  # of the report and an engine (or "all")
    compare: Callable[[float, float], bool]
    bound: float


FINE_TUNING = "fine-tuning speed-up (trimmed vs padded)"
PEAK_RSS = f"peak RSS, {MEMORY_COUNTS[1]} vs {MEMORY_COUNTS[0]} reviews"
AUTO_SPEED_UP = "n_steps auto: speed-up over 50 fixed steps"
AUTO_COMPLETENESS = "n_steps auto: worst completeness error"
AUTO_VS_CAPTUM = "n_steps auto: time as a multiple of captum's (50 steps)"
EVALUATE = "evaluate: time as a multiple of its 64-row batches"
WHOLE_RUN_TARGETS = (AUTO_SPEED_UP, AUTO_COMPLETENESS, AUTO_VS_CAPTUM, EVALUATE, FINE_TUNING, PEAK_RSS)  # one value


def over_workloads(report: dict[str, Any], key: str, pick: Callable[[list[float]], float] = max) -> float | None:
    """auto's figure `key` picked over both workloads (its largest, or its smallest for a speed-up)."""
    values = [report["ig"][workload]["auto"].get(key) for workload in WORKLOADS]
    return None if None in values else pick(values)


TARGETS = {
    "IG speed-up on sentences": Target(">= 10x", lambda r, e: r["ig"]["sentences"][e]["speedup"], operator.ge, 10),
    "IG speed-up on reviews": Target(">= 3x", lambda r, e: r["ig"]["reviews"][e]["speedup"], operator.ge, 3),
    "attribution difference vs reference": Target(
        "<= 1e-4", lambda r, e: worst(r, e, "max_attribution_diff_vs_reference"), operator.le, 1e-4),
    "median completeness error": Target(
        "< 1%", lambda r, e: worst(r, e, "completeness_error_median"), operator.lt, 0.01),
    "time as a multiple of the floor": Target(
        "<= 1.2x", lambda r, e: worst(r, e, "time_multiple_of_floor"), operator.le, 1.2),
    "time as a multiple of captum's": Target(
        "< 1x", lambda r, e: worst(r, e, "time_ratio_vs_captum"), operator.lt, 1),
    AUTO_SPEED_UP: Target(">= 1.5x", lambda r, _: over_workloads(r, "speedup_vs_fixed_steps", min), operator.ge, 1.5),
    AUTO_COMPLETENESS: Target("<= 1%", lambda r, _: over_workloads(r, "completeness_error_worst"), operator.le, 0.01),
    AUTO_VS_CAPTUM: Target("< 1x", lambda r, _: over_workloads(r, "time_ratio_vs_captum"), operator.lt, 1),
    EVALUATE: Target("<= 0.33x", lambda r, _: r["evaluate"]["time_ratio"], operator.le, 0.33),
    FINE_TUNING: Target(">= 1.5x", lambda r, _: r["training"]["speedup"], operator.ge, 1.5),
    PEAK_RSS: Target("<= 1x", lambda r, _: r["memory"]["peak_ratio"], operator.le, 1),
}



def printed_number(cell: str) -> tuple[float | None, float]:
    """The number a table cell shows (None for "—") and half a unit of its last printed digit;
    a percentage as a fraction."""
    text = cell.strip().removesuffix("x")
    if text == "—":
        return None, 0.0
    scale = 0.01 if text.endswith("%") else 1.0
    text = text.removesuffix("%")
    mantissa, _, exponent = text.partition("e")
    decimals = len(mantissa.partition(".")[2])
    half_unit = 0.5 * 10.0 ** (int(exponent or 0) - decimals)
    return float(text) * scale, half_unit * scale * 1.0001  # 1.0001: room for the float error of 10 ** n


def assert_shows(cell: str, value: float | None, context: Any) -> None:
    """`cell` shows `value` rounded to the digits it prints ("—" for None)."""
    shown, tolerance = printed_number(cell)
    if value is None:
        assert shown is None, (context, cell)
    else:
        assert shown is not None and abs(shown - value) <= tolerance, (context, cell, value)


def table_rows(printed: str, first_cell: Callable[[str], bool]) -> list[list[str]]:
    """The cells of the printed markdown rows whose first cell passes `first_cell`."""
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in printed.splitlines() if line.startswith("|")]
    return [row for row in rows if first_cell(row[0])]
