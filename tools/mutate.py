"""`make mutate`: mutation testing (mutmut 3) of every module that computes a published figure or verdict,
each module against the test files that exercise it.

Per module, a scratch copy of the checkout (tracked and untracked, not ignored files) under `.mutate/<module>/`
gets a `[tool.mutmut]` section naming the module and its test files, and `mutmut run` mutates it there; within
those files mutmut runs each mutant against only the tests that call the mutated function. The run prints, per
module, the mutants killed, survived, timed out or crashed, and reached by no test, and writes every surviving
mutant's diff to `.mutate/survivors.diff`. A survivor listed in docs/figures.md's table of equivalent mutants (it
cannot change any output; the reason is in the table) is counted apart; any other survivor fails the run.
Then each misreading of a figure's definition in tools/misreadings.py (the meanings mutmut cannot write) is
planted in the module's scratch copy in turn: its test files must fail, or the run fails.

Usage: python -m tools.mutate [MODULE ...]   (default: every module of MODULES; a module as its path)
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import MODEL_CACHE_VARIABLE
from tools.misreadings import MISREADINGS, Misreading

ROOT = Path(__file__).resolve().parents[1]
SCRATCH = ROOT / ".mutate"
EQUIVALENTS_DOC = ROOT / "docs" / "figures.md"

DATASET_TESTS = ("tests/test_dataset_view.py", "tests/test_properties.py")
# module -> the test files that exercise it
MODULES: dict[str, tuple[str, ...]] = {
    "stages/attribution/faithfulness.py": ("tests/test_figures.py",),
    "stages/attribution/agreement.py": ("tests/test_agreement.py", "tests/test_figures.py", "tests/test_compare.py"),
    "stages/attribution/quality.py": ("tests/test_figures.py", "tests/test_render.py", "tests/test_properties.py"),
    "stages/attribution/randomisation.py": ("tests/test_randomisation.py", "tests/test_figures.py"),
    "stages/attribution/word_stats.py": DATASET_TESTS,
    "stages/attribution/log_odds.py": DATASET_TESTS,
    "stages/attribution/word_flags.py": DATASET_TESTS,
    "stages/attribution/dataset_view.py": (*DATASET_TESTS, "tests/test_compare.py", "tests/test_significance.py"),
    "stages/attribution/significance.py": ("tests/test_significance.py", "tests/test_dataset_view.py"),
    "stages/attribution/bootstrap.py": ("tests/test_significance.py", "tests/test_properties.py"),
    "stages/attribution/auto_steps.py": ("tests/test_auto_steps.py", "tests/test_figures.py"),
    "stages/attribution/records.py": ("tests/test_figures.py", "tests/test_explain.py", "tests/test_shards.py"),
    "stages/attribution/record_table.py": ("tests/test_record_table.py", "tests/test_shards.py",
                                           "tests/test_properties.py"),
    "stages/attribution/shortcut.py": ("tests/test_shortcut.py",),
    "stages/attribution/plausibility.py": ("tests/test_plausibility.py",),
    "stages/attribution/word_alignment.py": ("tests/test_plausibility.py",),
    "stages/evaluate.py": ("tests/test_evaluate.py",),
    "tools/compare.py": ("tests/test_compare.py", "tests/test_compare_views.py", "tests/test_figures.py",
                         "tests/test_properties.py"),
    "stages/report/views.py": ("tests/test_render.py", "tests/test_report_views.py"),
    "stages/report/readers.py": ("tests/test_render.py", "tests/test_report_views.py"),
}
# Lines that compute no figure: a stage's command line, dvclive's own settings, the stage an error message
# names to re-run. mutmut leaves lines matching these alone.
NOT_FIGURES = (r"ArgumentParser\(", r"\.add_argument\(", r"with Live\(", r"rebuild=", r"\bstage=", r"\bbroken\(",
               r"\bmissing\(")
# Tests marked `stage_process` run a stage or tool in a subprocess (the shortcut check and plausibility on a copy
# of the project, compare's exit status), which mutmut neither traces nor can run its mutants in; the other tests
# of the same functions pin their figures.
# mutmut's runs and the planted misreadings' (tools/mutmut_plugin.py: why the plugin)
PYTEST_OPTIONS = ("-m", "not stage_process", "-p", "no:cacheprovider", "-p", "tools.mutmut_plugin")

STATUSES = ("killed", "survived", "timeout", "segfault", "no tests")
# A mutant that hangs the tests, or crashes their process (killed by a signal: mutmut's "segfault", e.g. a buffer
# doubled on every word until memory runs out), is caught as surely as one that fails them.
DETECTED = ("killed", "timeout", "segfault")
MUTANT_LINE = re.compile(r"^\s+(\S+): (.+)$")


@dataclass
class ModuleResult:
    module: str
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)
    survivors: list[str] = field(default_factory=list)  # not killed, not listed as equivalent
    equivalent: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # listed as equivalent, yet killed: renumbered, or not equivalent
    misreadings: int = 0
    passed_misreadings: list[str] = field(default_factory=list)  # planted, and the tests still passed


def equivalent_mutants(doc: Path = EQUIVALENTS_DOC) -> set[str]:
    """The mutant names in the first column of docs/figures.md's rows that start with a mutmut name."""
    return set(re.findall(r"^\| `([\w.]+__mutmut_\d+)` \|", doc.read_text(), flags=re.MULTILINE))


def listed_for(module: str, equivalents: set[str]) -> set[str]:
    """The equivalents listed for `module`'s mutants (mutmut names them `<dotted module>.x_<function>__mutmut_<n>`,
    a method `<dotted module>.xǁ<class>ǁ<method>__mutmut_<n>`)."""
    prefix = module.removesuffix(".py").replace("/", ".") + ".x"
    return {name for name in equivalents if name.startswith(prefix)}


def project_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def toml_list(values: list[str] | tuple[str, ...]) -> str:
    """A TOML array of strings (a JSON string is a TOML basic string: the same escapes)."""
    return "[" + ", ".join(json.dumps(value) for value in values) + "]"


def mutmut_section(module: str, tests: tuple[str, ...], files: list[str]) -> str:
    """mutmut runs the tests inside its own copy, `mutants/`: the sources, and every other top-level entry
    of the checkout the tests read (params.yaml, dvc.yaml, .dvc/, the committed outputs). Each mutant's tests
    run in a process forked from a server that imported them (TensorFlow is not fork-safe once it has run),
    and build their session fixtures there (the tiny models are only loaded: `test_environment`) and trace
    TensorFlow's functions again: seconds that mutmut's default timeout (15x the test's own duration, plus
    1 s) does not allow, hence 60 s more."""
    others = sorted({name.split("/")[0] for name in files} - {"stages", "tools"})
    return (f'\n[tool.mutmut]\nsource_paths = ["stages", "tools"]\nonly_mutate = ["{module}"]\n'
            f'also_copy = {toml_list(others)}\n'
            f'pytest_add_cli_args_test_selection = {toml_list(list(tests))}\n'
            f'pytest_add_cli_args = {toml_list(PYTEST_OPTIONS)}\n'
            f'do_not_mutate_patterns = {toml_list(NOT_FIGURES)}\n'
            'process_isolation = "forkserver"\ntimeout_constant = 60.0\n')


def scratch_copy(module: str) -> Path:
    folder = SCRATCH / module.removesuffix(".py").replace("/", ".")
    shutil.rmtree(folder, ignore_errors=True)
    files = project_files()
    for name in files:
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    with open(folder / "pyproject.toml", "a") as config:
        config.write(mutmut_section(module, MODULES[module], files))
    return folder


def test_environment(folder: Path) -> dict[str, str]:
    """The tests' tiny models saved once in the copy and reused by every mutant's session: seconds a mutant."""
    return {**os.environ, MODEL_CACHE_VARIABLE: str((folder / "model-cache").resolve())}


def mutmut(folder: Path, *arguments: str) -> str:
    return subprocess.run([sys.executable, "-m", "mutmut", *arguments], cwd=folder, capture_output=True, text=True,
                          check=True).stdout


def mutmut_run(folder: Path) -> None:
    """`mutmut run`, its progress in the copy's mutmut.log."""
    log = folder / "mutmut.log"
    with open(log, "w") as output:
        finished = subprocess.run([sys.executable, "-m", "mutmut", "run"], cwd=folder, stdout=output,
                                  stderr=subprocess.STDOUT, env=test_environment(folder))
    if finished.returncode != 0:
        raise RuntimeError(f"mutmut run failed (exit {finished.returncode}): the module's tests must pass "
                           f"unmutated; see {log}")


def mutate(module: str, equivalents: set[str], diffs: list[str]) -> ModuleResult:
    folder = scratch_copy(module)
    started = time.monotonic()
    mutmut_run(folder)
    result = ModuleResult(module, 0.0, dict.fromkeys(STATUSES, 0))
    for line in mutmut(folder, "results", "--all", "true").splitlines():
        match = MUTANT_LINE.match(line)
        if not match:
            continue
        name, status = match.groups()
        result.counts[status] = result.counts.get(status, 0) + 1
        if status in DETECTED:
            continue
        if name in equivalents:
            result.equivalent.append(name)
            diffs.append(f"# listed as equivalent in docs/figures.md\n{mutmut(folder, 'show', name)}")
        else:
            result.survivors.append(name)
            diffs.append(mutmut(folder, "show", name))
    # a mutant's number is its place in its function: an edit above it renumbers it, and the row would then
    # describe another mutant
    result.stale = sorted(listed_for(module, equivalents) - set(result.equivalent))
    for misreading in (m for m in MISREADINGS if m.module == module):
        result.misreadings += 1
        if not plant(folder, misreading):
            result.passed_misreadings.append(misreading.figure)
            diffs.append(f"# misreading not caught: {misreading.figure}\n--- {module}\n+++ {module}\n"
                         f"-{misreading.right}\n+{misreading.wrong}\n")
    result.seconds = time.monotonic() - started
    return result


def pytest_arguments(module: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-x", "-q", *PYTEST_OPTIONS, *MODULES[module]]


def plant(folder: Path, misreading: Misreading) -> bool:
    """Plant the misreading in the scratch copy, run the module's tests, restore it: True if they failed."""
    source = (ROOT / misreading.module).read_text()
    if source.count(misreading.right) != 1:
        sys.exit(f"tools/misreadings.py: {misreading.figure}: {misreading.right!r} is not once in {misreading.module}")
    target = folder / misreading.module
    target.write_text(source.replace(misreading.right, misreading.wrong))
    try:
        finished = subprocess.run(pytest_arguments(misreading.module), cwd=folder, capture_output=True, text=True,
                                  env=test_environment(folder))
    finally:
        target.write_text(source)
    if finished.returncode not in (0, 1):
        sys.exit(f"{misreading.module}: planting {misreading.figure!r} broke the test run "
                 f"(exit {finished.returncode}):\n{finished.stdout[-2000:]}")
    return finished.returncode == 1


def table(results: list[ModuleResult]) -> str:
    header = f"{'module':<40} {'killed':>7} {'survived':>9} {'hung/crashed':>12} {'no tests':>9} {'equivalent':>11} " \
             f"{'left':>5} {'misreadings caught':>19} {'time':>7}"
    lines = [header]
    for result in results:
        counts = result.counts
        lines.append(f"{result.module:<40} {counts['killed']:>7} {counts['survived']:>9} "
                     f"{counts['timeout'] + counts['segfault']:>12} "
                     f"{counts['no tests']:>9} {len(result.equivalent):>11} {len(result.survivors):>5} "
                     f"{result.misreadings - len(result.passed_misreadings):>13} of {result.misreadings:<3} "
                     f"{result.seconds:>6.0f}s")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="module paths (default: all of MODULES)")
    args = parser.parse_args()
    unknown = [module for module in args.modules if module not in MODULES]
    if unknown:
        sys.exit(f"{', '.join(unknown)}: not a mutated module; choose from {', '.join(MODULES)}")
    missing = sorted({test for tests in MODULES.values() for test in tests if not (ROOT / test).is_file()})
    if missing:
        sys.exit(f"tools/mutate.py: MODULES names test files that do not exist: {', '.join(missing)}")
    equivalents = equivalent_mutants()
    diffs: list[str] = []
    results = []
    failed = []
    for module in args.modules or MODULES:
        print(f"mutating {module} ...", flush=True)
        try:
            results.append(mutate(module, equivalents, diffs))
        except RuntimeError as error:
            print(f"{module}: {error}", flush=True)
            failed.append(module)
            continue
        print(table(results[-1:]).splitlines()[1], flush=True)
        (SCRATCH / "survivors.diff").write_text("\n".join(diffs))  # so far: a long run can be read as it goes
    print(table(results))
    left = sum(len(result.survivors) for result in results)
    missed = sum(len(result.passed_misreadings) for result in results)
    print(f"{left} surviving non-equivalent mutants, {missed} misreadings the tests missed; "
          f"their diffs: {SCRATCH / 'survivors.diff'}")
    stale = [name for result in results for name in result.stale]
    if stale:
        print(f"listed as equivalent in docs/figures.md but killed (renumbered since, or not equivalent): "
              f"{', '.join(stale)}")
    if failed:
        print(f"not mutated, their tests failing unmutated: {', '.join(failed)}")
    if left or missed or failed or stale:
        sys.exit(1)


if __name__ == "__main__":
    main()
