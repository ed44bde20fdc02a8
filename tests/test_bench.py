"""Smoke test of benchmarks/bench.py: one --quick run end to end on the tiny BERT and a few made-up
reviews, whose report is checked against itself (every derived figure against the raw ones it comes
from), against the inputs it was asked for, against the README's targets and against what it prints."""
from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import re
import statistics
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from benchmarks import bench
from benchmarks.configurations import REFERENCE_STEPS
from benchmarks.report import LABELS
from tests.bench_checks import AUTO_VS_CAPTUM, MEMORY_COUNTS, TARGETS, WHOLE_RUN_TARGETS, assert_shows, table_rows

WORDS = ("the film was a wonderful moving story with great acting but the plot felt dull and slow "
         "i loved every minute of it although the ending was terrible and boring").split()  # one token each
MAX_LEN = 64  # of the token files and of the reference's padding
TRAIN_WORDS = 30  # every training review this long: trimmed batches all have one known width
N_REVIEWS, N_SENTENCES = 2, 4
REFERENCE_EXAMPLES = 3  # the reference explains the first 3 sentences and both reviews
QUICK_STEPS, QUICK_WARMUP_STEPS = 3, 1  # what --quick asks of each fine-tuning variant
QUICK_EVALUATE = {"imdb": ("test", 16), "rotten_tomatoes": ("rotten_tomatoes", 64)}  # token file, --quick's count
ATTRIBUTION_TOLERANCE = 1e-4  # of each example's total |attribution|: the README's target
WORKLOAD_INPUTS = {"sentences": ("rotten_tomatoes", N_SENTENCES), "reviews": ("test", N_REVIEWS)}  # token file, count
ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- inputs and the run

def write_tokens(path: Path, tokenizer: Any, texts: list[str], seed: int) -> None:
    """A token file as the `tokenize` stage writes it: ids and mask padded to MAX_LEN, labels, ids."""
    encoded = tokenizer(texts, padding="max_length", truncation=True, max_length=MAX_LEN, return_tensors="np")
    labels = np.random.default_rng(seed).integers(0, 2, len(texts)).astype(np.int32)
    np.savez(path, input_ids=encoded["input_ids"].astype(np.int32),
             attention_mask=encoded["attention_mask"].astype(np.int32), label=labels,
             id=np.arange(len(texts), dtype=np.int32))


def texts(count: int, low: int, high: int, seed: int) -> list[str]:
    """`count` reviews of `low` to `high - 1` random words."""
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, int(rng.integers(low, high)))) for _ in range(count)]


@dataclass(frozen=True)
class QuickRun:
    """The run's JSON report, what it printed, its token files and the `explain` params it ran with."""

    report: dict[str, Any]
    printed: str
    tokens_dir: Path
    explain_params: dict[str, Any]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory, tiny_bert_dir: Path, vocab_tokenizer: Any) -> QuickRun:
    """One `bench --quick` run, shared by every test of this module (it takes a minute or two)."""
    folder = tmp_path_factory.mktemp("bench")
    tokens = folder / "tokens"
    tokens.mkdir()
    write_tokens(tokens / "train.npz", vocab_tokenizer, texts(24, TRAIN_WORDS, TRAIN_WORDS + 1, seed=1), seed=1)
    write_tokens(tokens / "test.npz", vocab_tokenizer, texts(24, 25, 45, seed=2), seed=2)
    write_tokens(tokens / "rotten_tomatoes.npz", vocab_tokenizer, texts(20, 3, 10, seed=3), seed=3)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["models"]["tiny"] = {**params["models"]["minilm"], "checkpoint": str(tiny_bert_dir), "batch_size": 8}
    params["model"] = "tiny"
    params["explain"]["internal_batch_size"] = 400  # one gradient pass per chunk: a shorter smoke test
    params["explain"]["n_steps"] = REFERENCE_STEPS  # as the reference: attributions comparable to 1e-4
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    out = folder / "results.json"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        bench.main(["--quick", "--model-dir", str(tiny_bert_dir), "--tokens-dir", str(tokens),
                    "--params", str(folder / "params.yaml"), "--out", str(out), "--max-len", str(MAX_LEN),
                    "--n-reviews", str(N_REVIEWS), "--n-sentences", str(N_SENTENCES), "--memory-engine", "compiled",
                    "--reference-examples", str(REFERENCE_EXAMPLES)])
    return QuickRun(json.loads(out.read_text()), printed.getvalue(), tokens, params["explain"])


def captum_installed() -> bool:
    """Whether the benchmark could run its captum peer (it looks for the same two packages)."""
    return all(importlib.util.find_spec(name) for name in ("torch", "captum"))


def same(value: float, expected: float) -> bool:
    """Equal up to float rounding (the report's ratios are computed from the very medians it holds)."""
    return value == pytest.approx(expected, rel=1e-9, abs=0.0)


def configurations(report: dict[str, Any]) -> tuple[str, ...]:
    """The IG configurations the report holds figures of, captum only where it ran."""
    return ("reference", "alibi", "compiled", "auto", "floor") + (("captum",) if "captum" in report["ig"]["reviews"]
                                                                  else ())


def real_lengths(tokens_dir: Path, name: str, count: int) -> list[int]:
    """Token counts without padding of a token file's first `count` rows."""
    with np.load(tokens_dir / f"{name}.npz") as arrays:
        return [int(n) for n in arrays["attention_mask"][:count].sum(axis=1)]


# --------------------------------------------------------------------------- IG figures


def test_each_workload_explains_the_asked_inputs(quick_run: QuickRun) -> None:
    """Both workloads, each with the asked number of examples at their real lengths, in every configuration."""
    report = quick_run.report
    assert set(report["ig"]) == set(WORKLOAD_INPUTS)
    for workload, (file, count) in WORKLOAD_INPUTS.items():
        figures = report["ig"][workload]
        lengths = real_lengths(quick_run.tokens_dir, file, count)
        assert figures["n_examples"] == count
        assert figures["mean_length"] == pytest.approx(np.mean(lengths))
        for config in configurations(report):
            median, explained = figures[config]["median_s"], figures[config]["n_examples"]
            assert explained == (min(count, REFERENCE_EXAMPLES) if config == "reference" else count), (workload, config)
            assert same(figures[config]["examples_per_s"], explained / median), (workload, config)
            assert same(figures[config]["s_per_example"], median / explained), (workload, config)
        # the floor replays the compiled engine's passes: one per interpolation point of each example
        assert figures["floor"]["passes"] == count * REFERENCE_STEPS


def test_medians_come_from_the_timed_calls(quick_run: QuickRun) -> None:
    """--quick times each configuration once; its median is that call (rounded to 0.1 ms in times_s)."""
    report = quick_run.report
    assert report["settings"]["repeats"] == 1
    for workload, figures in report["ig"].items():
        for config in configurations(report):
            times = figures[config]["times_s"]
            assert len(times) == 1, (workload, config)
            assert figures[config]["median_s"] == pytest.approx(statistics.median(times), abs=6e-5), (workload, config)


def test_ratios_are_the_ratios_of_the_medians(quick_run: QuickRun) -> None:
    """speed-up = reference s/example / configuration s/example (the reference explains fewer); multiple of
    the floor = engine median / floor median; ratio to captum = median / captum median; auto's speed-up
    over fixed steps = the compiled engine's median / its own."""
    for workload, figures in quick_run.report["ig"].items():
        reference = figures["reference"]["s_per_example"]
        assert figures["reference"]["speedup"] == 1.0
        for config in configurations(quick_run.report)[1:]:
            assert same(figures[config]["speedup"], reference / figures[config]["s_per_example"]), (workload, config)
        for engine in ("alibi", "compiled"):
            median = figures[engine]["median_s"]
            assert same(figures[engine]["time_multiple_of_floor"], median / figures["floor"]["median_s"]), engine
        assert same(figures["auto"]["speedup_vs_fixed_steps"],
                    figures["compiled"]["median_s"] / figures["auto"]["median_s"]), workload
        for config in ("alibi", "compiled", "auto"):
            median = figures[config]["median_s"]
            if "captum" in figures:
                assert same(figures[config]["time_ratio_vs_captum"], median / figures["captum"]["median_s"]), config
            else:
                assert "time_ratio_vs_captum" not in figures[config]


def test_engines_and_floor_agree_with_the_reference(quick_run: QuickRun) -> None:
    """Attributions within 1e-4 of each example's total, the same predicted classes, no attribution
    on the reference's padding, completeness errors under the README's 1%."""
    for workload, figures in quick_run.report["ig"].items():
        for engine in ("alibi", "compiled"):
            assert figures[engine]["max_attribution_diff_vs_reference"] <= ATTRIBUTION_TOLERANCE, (workload, engine)
            assert figures[engine]["predictions_agree_with_reference"] is True, (workload, engine)
        assert figures["floor"]["max_attribution_diff_vs_alibi"] <= ATTRIBUTION_TOLERANCE, workload
        # input and baseline share every padding token, so their layer outputs there are the same floats
        assert figures["reference"]["padding_attribution_max_abs"] == 0.0, workload
        for config in ("reference", "alibi", "compiled"):
            assert figures[config]["completeness_error_median"] < 0.01, (workload, config)
        # n_steps auto: each example at the 1% target, or at the most steps params.yaml allows
        auto = figures["auto"]
        assert auto["completeness_error_worst"] <= 0.01 or max(auto["n_steps"]) == quick_run.explain_params["max_steps"]
        assert figures["auto"]["max_attribution_diff_vs_compiled"] <= 0.05, workload


def test_peak_memory_is_read_per_process_after_each_workload(quick_run: QuickRun) -> None:
    """Sentences run first in each IG worker, so its reviews peak is at least its sentences peak;
    the floor, timed in the compiled engine's process, has none of its own."""
    ig_runs = quick_run.report["ig"]
    for config in ("reference", "alibi", "compiled", "auto"):
        assert ig_runs["reviews"][config]["peak_rss_mib"] >= ig_runs["sentences"][config]["peak_rss_mib"], config
    assert ig_runs["reviews"]["floor"]["peak_rss_mib"] is None


# --------------------------------------------------------------------------- targets

def test_targets_hold_the_figures_they_summarise(quick_run: QuickRun) -> None:
    """Each target's value is its figure in the report, and `met` is the README's bound applied to it
    (a missing figure, such as captum's without captum, is never met)."""
    report = quick_run.report
    rows = {row["target"]: row for row in report["targets"]}
    assert list(rows) == list(TARGETS)
    for target, (required, figure, compare, bound) in TARGETS.items():
        row = rows[target]
        assert row["required"] == required, target
        keys = ("all",) if target in WHOLE_RUN_TARGETS else ("alibi", "compiled")
        assert set(row["values"]) == set(keys), target
        for key in keys:
            expected = figure(report, key)
            assert row["values"][key] == expected, (target, key)
            assert row["met"][key] is (expected is not None and compare(expected, bound)), (target, key)
    captum_values = [*rows["time as a multiple of captum's"]["values"].values(), rows[AUTO_VS_CAPTUM]["values"]["all"]]
    assert (None in captum_values) is (not captum_installed())


# --------------------------------------------------------------------------- fine-tuning and memory

def test_training_variants_ran_the_asked_steps(quick_run: QuickRun) -> None:
    """Both variants: the quick step counts, throughput = examples / timed seconds, padded batches at
    the token files' width, trimmed ones at the training reviews' real length, accuracy over the
    validation reviews (the first 32 of test.npz, which has 24)."""
    training = quick_run.report["training"]
    assert training["max_len"] == MAX_LEN
    for variant in ("trimmed", "padded"):
        run = training[variant]
        assert (run["steps"], run["warmup_steps"], run["batch_size"]) == (QUICK_STEPS, QUICK_WARMUP_STEPS, 8), variant
        assert same(run["examples_per_s"], run["batch_size"] * run["steps"] / run["seconds"]), variant
        assert run["n_validation"] == 24, variant
        assert run["validation_accuracy"] * 24 == pytest.approx(round(run["validation_accuracy"] * 24)), variant
    assert training["padded"]["mean_width"] == MAX_LEN
    assert training["trimmed"]["mean_width"] == TRAIN_WORDS + 2  # [CLS] words [SEP]
    assert same(training["speedup"], training["trimmed"]["examples_per_s"] / training["padded"]["examples_per_s"])


def test_memory_runs_explain_the_asked_counts(quick_run: QuickRun) -> None:
    """The two memory runs explain --quick's few and many reviews with the asked engine; the ratio and
    increments are those of their peaks, each peak at least the memory held before explaining."""
    memory = quick_run.report["memory"]
    assert memory["engine"] == "compiled"
    assert (memory["small"]["n_examples"], memory["large"]["n_examples"]) == MEMORY_COUNTS
    for size in ("small", "large"):
        run = memory[size]
        assert run["peak_rss_mib"] >= run["rss_after_load_mib"], size
        assert same(memory["ig_increment_mib"][size], run["peak_rss_mib"] - run["rss_after_load_mib"]), size
    assert same(memory["peak_ratio"], memory["large"]["peak_rss_mib"] / memory["small"]["peak_rss_mib"])


def test_inference_layouts_ran_the_same_examples(quick_run: QuickRun) -> None:
    """Both inference layouts on --quick's first reviews and sentences (fewer where a token file is
    shorter): the same probabilities up to float rounding; the token budget traces once for every width,
    the 64-row batches once per set at least; the ratios are those of the seconds."""
    evaluate = quick_run.report["evaluate"]
    assert set(evaluate) == {*QUICK_EVALUATE, "time_ratio"}
    for name, (file, count) in QUICK_EVALUATE.items():
        row, lengths = evaluate[name], real_lengths(quick_run.tokens_dir, file, count)
        assert (row["n_examples"], row["tokens"]) == (len(lengths), sum(lengths)), name
        assert row["max_probability_diff"] <= 1e-5, name
        assert row["before"]["traces"] >= 1, name
        assert same(row["time_ratio"], row["after"]["seconds"] / row["before"]["seconds"]), name
    assert [evaluate[name]["after"]["traces"] for name in QUICK_EVALUATE] == [1, 0]
    seconds = {layout: sum(evaluate[name][layout]["seconds"] for name in QUICK_EVALUATE)
               for layout in ("before", "after")}
    assert same(evaluate["time_ratio"], seconds["after"] / seconds["before"])


def test_machine_records_the_installed_versions(quick_run: QuickRun) -> None:
    """The machine section names the TensorFlow and alibi that ran."""
    machine = quick_run.report["machine"]
    assert machine["tensorflow"] == metadata.version("tensorflow")
    assert machine["alibi"] == metadata.version("alibi")


# --------------------------------------------------------------------------- what it prints

def test_printed_ig_table_shows_the_report(quick_run: QuickRun) -> None:
    """One row per workload and configuration, its numbers the report's, explain's engine marked."""
    report, labels = quick_run.report, {label: config for config, label in LABELS.items()}
    shown = set()
    for row in table_rows(quick_run.printed, lambda cell: cell in WORKLOAD_INPUTS):
        workload, label = row[0], row[1].removesuffix(" (explain's)")
        config = labels[label]
        assert row[1].endswith("(explain's)") is (config == quick_run.explain_params["engine"]), row
        figures = report["ig"][workload][config]
        assert int(row[2]) == figures["n_examples"]
        difference = next((value for key, value in figures.items() if key.startswith("max_attribution_diff")), None)
        for cell, value in zip(row[3:], (figures["s_per_example"], figures["examples_per_s"], figures["speedup"],
                                         figures["peak_rss_mib"], difference,
                                         figures.get("completeness_error_median"),
                                         figures.get("completeness_error_worst")), strict=True):
            assert_shows(cell, value, (workload, config))
        shown.add((workload, config))
    assert shown == {(workload, config) for workload in WORKLOAD_INPUTS for config in configurations(report)}


def test_printed_targets_training_and_memory_show_the_report(quick_run: QuickRun) -> None:
    """The targets table (value and met / NOT met per engine), the fine-tuning and evaluate tables and the
    memory line."""
    report = quick_run.report
    targets = {row["target"]: row for row in report["targets"]}
    rows = table_rows(quick_run.printed, lambda cell: cell in targets)
    assert [row[0] for row in rows] == list(targets)
    for row in rows:
        target = targets[row[0]]
        keys = ["all", "all"] if "all" in target["values"] else ["alibi", "compiled"]
        for cell, key in zip(row[2:], keys):
            value, verdict = re.fullmatch(r"(\S+) (met|NOT met)", cell).groups()
            assert_shows(value, target["values"][key], (row[0], key))
            assert (verdict == "met") is target["met"][key], (row[0], key)

    training = report["training"]
    for variant, examples_per_s, width, accuracy in table_rows(quick_run.printed, lambda c: c in ("trimmed", "padded")):
        assert_shows(examples_per_s, training[variant]["examples_per_s"], variant)
        assert_shows(width, training[variant]["mean_width"], variant)
        value, count = re.fullmatch(r"(\S+) \(n=(\d+)\)", accuracy).groups()
        assert_shows(value, training[variant]["validation_accuracy"], variant)
        assert int(count) == training[variant]["n_validation"]

    for name, examples, tokens, before, after, ratio, difference in table_rows(
            quick_run.printed, lambda cell: cell in QUICK_EVALUATE):
        row = report["evaluate"][name]
        assert (int(examples), int(tokens)) == (row["n_examples"], row["tokens"]), name
        for cell, layout in ((before, "before"), (after, "after")):
            seconds, traces = re.fullmatch(r"(\S+) \((\d+)\)", cell).groups()
            assert_shows(seconds, row[layout]["seconds"], (name, layout))
            assert int(traces) == row[layout]["traces"], (name, layout)
        assert_shows(ratio, row["time_ratio"], name)
        assert_shows(difference, row["max_probability_diff"], name)

    memory = report["memory"]
    line = re.search(r"Project IG \(engine (\w+)\) peak RSS: (\d+) MiB for (\d+) reviews, (\d+) MiB for (\d+)\.",
                     quick_run.printed)
    assert line, quick_run.printed
    engine, small_peak, small_count, large_peak, large_count = line.groups()
    assert engine == memory["engine"]
    assert_shows(small_peak, memory["small"]["peak_rss_mib"], "small")
    assert_shows(large_peak, memory["large"]["peak_rss_mib"], "large")
    assert (int(small_count), int(large_count)) == MEMORY_COUNTS


# --------------------------------------------------------------------------- captum (needs .venv-bench)

def test_captum_matches_the_alibi_engine(quick_run: QuickRun) -> None:
    """With torch and captum (`.venv-bench`): captum ran on both workloads, its attributions within
    1e-4 of the alibi engine's, its completeness errors under 1%."""
    if not captum_installed():
        pytest.skip("captum not installed: torch/captum live in .venv-bench (requirements-bench.txt); "
                    "run this test with .venv-bench/bin/python to check the captum peer")
    report = quick_run.report
    assert report["captum"]["skipped"] is None
    for workload, figures in report["ig"].items():
        peer = figures["captum"]
        assert peer["max_attribution_diff_vs_alibi"] <= ATTRIBUTION_TOLERANCE, workload
        assert peer["completeness_error_median"] < 0.01, workload


def test_captum_missing_is_reported(quick_run: QuickRun) -> None:
    """Without torch/captum the report and the printout say it was skipped and how to install it."""
    if captum_installed():
        pytest.skip("captum installed: test_captum_matches_the_alibi_engine checks it instead")
    skipped = quick_run.report["captum"]["skipped"]
    assert "requirements-bench.txt" in skipped
    assert f"captum: skipped ({skipped})." in quick_run.printed
    assert all("captum" not in figures for figures in quick_run.report["ig"].values())
