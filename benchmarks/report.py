"""The benchmark's summary: figures and ratios per workload, the targets, the machine, and the
markdown tables printed at the end of a run."""
from __future__ import annotations

import os
import platform
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.configurations import AUTO, AUTO_TARGET, ENGINES
from benchmarks.measure import max_attribution_difference

CONFIGURATIONS = ("reference", *ENGINES, AUTO, "floor", "captum")
LABELS = {"reference": "alibi example (padded, batch 5)", "alibi": "project, engine alibi",
          "compiled": "project, engine compiled", AUTO: f"project, compiled, n_steps auto ({AUTO_TARGET:.0%})",
          "floor": "floor (passes only)", "captum": "captum (PyTorch)"}


def figures(run: dict[str, Any], rss_key: str | None = "peak_rss_mib") -> dict[str, Any]:
    """Time per example, throughput, memory and completeness of one configuration on one workload."""
    n, median = run["n_examples"], run["median_s"]
    out = {"n_examples": n, "median_s": median, "times_s": run["times_s"], "s_per_example": median / n,
           "examples_per_s": n / median, "peak_rss_mib": run.get(rss_key) if rss_key else None}
    if "completeness_errors" in run:
        out["completeness_error_median"] = float(np.median(run["completeness_errors"]))
        out["completeness_error_worst"] = float(np.max(run["completeness_errors"]))
    return out


def per_example_ratio(numerator: dict[str, Any], denominator: dict[str, Any]) -> float:
    """Ratio of seconds per example: the reference explains fewer examples than the others."""
    return (numerator["median_s"] / numerator["n_examples"]) / (denominator["median_s"] / denominator["n_examples"])


def summarise_workload(name: str, runs: dict[str, dict[str, Any]], captum: dict[str, Any] | None,
                       same_layer: bool) -> dict[str, Any]:
    """Every configuration on one workload, with the ratios (of seconds per example) and attribution
    differences between them (None where the project explains another layer than the embeddings, so
    they cannot agree). The reference is compared on the examples it explained, the first ones."""
    ref, alibi, compiled = runs["reference"][name], runs["alibi"][name], runs["compiled"][name]

    def difference(candidate: dict[str, Any], baseline: dict[str, Any]) -> float | None:
        return max_attribution_difference(candidate["attributions"], baseline["attributions"]) if same_layer else None

    floor = {**compiled["floor"], "n_examples": alibi["n_examples"]}
    out: dict[str, Any] = {"n_examples": alibi["n_examples"], "mean_length": alibi["mean_length"],
                           "reference": {**figures(ref), "speedup": 1.0,
                                         "padding_attribution_max_abs": ref["padding_max_abs"]}}
    for engine in ENGINES:
        run = runs[engine][name]
        out[engine] = {**figures(run), "speedup": per_example_ratio(ref, run),
                       "max_attribution_diff_vs_reference": difference(run, ref),
                       "time_multiple_of_floor": run["median_s"] / floor["median_s"],
                       "predictions_agree_with_reference": run["predicted"][:len(ref["predicted"])] == ref["predicted"]}
    auto = runs[AUTO][name]
    out[AUTO] = {**figures(auto), "speedup": per_example_ratio(ref, auto),
                 "max_attribution_diff_vs_compiled": difference(auto, compiled),
                 "speedup_vs_fixed_steps": compiled["median_s"] / auto["median_s"], "n_steps": auto["n_steps"]}
    out["floor"] = {**figures(floor, rss_key=None), "passes": floor["passes"],
                    "speedup": per_example_ratio(ref, floor), "max_attribution_diff_vs_alibi": difference(floor, alibi)}
    if captum is not None:
        peer = captum[name]
        out["captum"] = {**figures(peer), "speedup": per_example_ratio(ref, peer),
                         "max_attribution_diff_vs_alibi": difference(peer, alibi)}
        for config in (*ENGINES, AUTO):
            out[config]["time_ratio_vs_captum"] = runs[config][name]["median_s"] / peer["median_s"]
    return out


def summarise_inference(layouts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The `evaluate` stage's inference per set, before and after token budgets: seconds, traces, and
    how far the two layouts' class probabilities are apart."""
    out: dict[str, Any] = {}
    for name in layouts["after"]:
        before, after = layouts["before"][name], layouts["after"][name]
        difference = np.abs(np.asarray(before["probabilities"]) - np.asarray(after["probabilities"]))
        out[name] = {"n_examples": after["n_examples"], "tokens": after["tokens"],
                     **{layout: {"seconds": layouts[layout][name]["seconds"], "traces": layouts[layout][name]["traces"]}
                        for layout in ("before", "after")},
                     "time_ratio": after["seconds"] / before["seconds"],
                     "max_probability_diff": float(difference.max(initial=0.0))}
    seconds = {layout: sum(out[name][layout]["seconds"] for name in layouts["after"]) for layout in ("before", "after")}
    out["time_ratio"] = seconds["after"] / seconds["before"]
    return out


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The issues' targets, each with the measured value per engine (or for the whole run) and whether it is met."""
    ig_runs, rows = report["ig"], []

    def per_engine(target: str, required: str, value: Callable[[str], float | None],
                   met: Callable[[float], bool]) -> None:
        values = {engine: value(engine) for engine in ENGINES}
        rows.append({"target": target, "required": required, "values": values,
                     "met": {engine: v is not None and met(v) for engine, v in values.items()}})

    def whole_run(target: str, required: str, value: float | None, met: Callable[[float], bool]) -> None:
        rows.append({"target": target, "required": required, "values": {"all": value},
                     "met": {"all": value is not None and met(value)}})

    def worst(config: str, key: str, pick: Callable[[list[float]], float] = max) -> float | None:
        values = [ig_runs[workload][config].get(key) for workload in ig_runs]
        return None if None in values else pick(values)

    per_engine("IG speed-up on sentences", ">= 10x", lambda e: ig_runs["sentences"][e]["speedup"], lambda v: v >= 10)
    per_engine("IG speed-up on reviews", ">= 3x", lambda e: ig_runs["reviews"][e]["speedup"], lambda v: v >= 3)
    per_engine("attribution difference vs reference", "<= 1e-4",
               lambda e: worst(e, "max_attribution_diff_vs_reference"), lambda v: v <= 1e-4)
    per_engine("median completeness error", "< 1%", lambda e: worst(e, "completeness_error_median"),
               lambda v: v < 0.01)
    per_engine("time as a multiple of the floor", "<= 1.2x", lambda e: worst(e, "time_multiple_of_floor"),
               lambda v: v <= 1.2)
    per_engine("time as a multiple of captum's", "< 1x", lambda e: worst(e, "time_ratio_vs_captum"), lambda v: v < 1)
    whole_run("n_steps auto: speed-up over 50 fixed steps", ">= 1.5x", worst(AUTO, "speedup_vs_fixed_steps", min),
              lambda v: v >= 1.5)
    whole_run("n_steps auto: worst completeness error", f"<= {AUTO_TARGET:.0%}",
              worst(AUTO, "completeness_error_worst"), lambda v: v <= AUTO_TARGET)
    whole_run("n_steps auto: time as a multiple of captum's (50 steps)", "< 1x", worst(AUTO, "time_ratio_vs_captum"),
              lambda v: v < 1)
    whole_run("evaluate: time as a multiple of its 64-row batches", "<= 0.33x", report["evaluate"]["time_ratio"],
              lambda v: v <= 0.33)
    training, memory = report["training"], report["memory"]
    whole_run("fine-tuning speed-up (trimmed vs padded)", ">= 1.5x", training["speedup"], lambda v: v >= 1.5)
    whole_run(f"peak RSS, {memory['large']['n_examples']} vs {memory['small']['n_examples']} reviews", "<= 1x",
              memory["peak_ratio"], lambda v: v <= 1)
    return rows


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info() -> dict[str, Any]:
    def version(package: str) -> str | None:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return None

    return {"cpu_count": os.cpu_count(), "cpu_model": cpu_model(), "platform": platform.platform(),
            "python": platform.python_version(), "tensorflow": version("tensorflow"),
            "transformers": version("transformers"), "alibi": version("alibi"), "numpy": version("numpy"),
            "torch": version("torch"), "captum": version("captum")}


def cell(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def markdown(report: dict[str, Any]) -> str:
    """The short tables printed at the end of a run."""
    explain_engine = report["settings"]["project"]["engine"]
    lines = ["| workload | configuration | examples | s/example | examples/s | speed-up | peak RSS MiB "
             "| max attribution diff | median completeness error | worst completeness error |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for workload, data in report["ig"].items():
        for config in CONFIGURATIONS:
            if config not in data:
                continue
            row = data[config]
            diff = next((v for k, v in row.items() if k.startswith("max_attribution_diff")), None)
            label = LABELS[config] + (" (explain's)" if config == explain_engine else "")
            lines.append(f"| {workload} | {label} | {row['n_examples']} "
                         f"| {cell(row['s_per_example'], '.3f')} "
                         f"| {cell(row['examples_per_s'], '.3f')} | {cell(row['speedup'], '.2f')}x "
                         f"| {cell(row['peak_rss_mib'], '.0f')} | {cell(diff, '.1e')} "
                         f"| {cell(row.get('completeness_error_median'), '.2%')} "
                         f"| {cell(row.get('completeness_error_worst'), '.2%')} |")
    lines.append("\nSpeed-up: the reference's seconds per example over the configuration's. Attribution diff: engines "
                 "vs reference (on the examples it explained), n_steps auto vs the compiled engine's 50 steps, floor "
                 "and captum vs the alibi engine (max over tokens of |a - a_ref| / sum |a_ref|, worst example).")
    if report["captum"].get("skipped"):
        lines.append(f"captum: skipped ({report['captum']['skipped']}).")
    training = report["training"]
    lines += ["", "| fine-tuning | examples/s | mean tokens/row | validation accuracy |", "|---|---:|---:|---:|"]
    for variant in ("trimmed", "padded"):
        row = training[variant]
        lines.append(f"| {variant} | {row['examples_per_s']:.2f} | {row['mean_width']:.0f} "
                     f"| {row['validation_accuracy']:.3f} (n={row['n_validation']}) |")
    lines += ["", "| evaluate | examples | tokens | before: s (traces) | after: s (traces) | after/before "
                  "| max probability diff |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, row in report["evaluate"].items():
        if name != "time_ratio":
            lines.append(f"| {name} | {row['n_examples']} | {row['tokens']} | {row['before']['seconds']:.1f} "
                         f"({row['before']['traces']}) | {row['after']['seconds']:.1f} ({row['after']['traces']}) "
                         f"| {row['time_ratio']:.2f} | {row['max_probability_diff']:.1e} |")
    memory = report["memory"]
    lines.append(f"\nProject IG (engine {memory['engine']}) peak RSS: {memory['small']['peak_rss_mib']:.0f} MiB for "
                 f"{memory['small']['n_examples']} reviews, {memory['large']['peak_rss_mib']:.0f} MiB for "
                 f"{memory['large']['n_examples']}.")
    lines += ["", "| target | required | engine alibi | engine compiled |", "|---|---|---:|---:|"]
    for row in report["targets"]:
        shown = {key: f"{cell(value, '.3g')} {'met' if row['met'][key] else 'NOT met'}"
                 for key, value in row["values"].items()}
        cells = [shown["all"]] * 2 if "all" in shown else [shown[engine] for engine in ENGINES]
        lines.append(f"| {row['target']} | {row['required']} | {' | '.join(cells)} |")
    return "\n".join(lines)
