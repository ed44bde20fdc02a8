"""`dvc.yaml` against the code: each stage depends on exactly the project modules its entry point
imports, so that editing one re-runs the stages that run it and no other; the import graph has no
circle and none runs back up the wings; docs/layout.md's blast-radius table is current; no Python file
passes 400 lines."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import make_project, run_dvc
from tools import dependencies
from tools.dependencies import closure, imports_of, listed_deps, module_deps, project_imports, stages

ROOT = Path(__file__).resolve().parents[1]
STAGES = stages()
TRAINING = ("decode", "tokenize", "train", "evaluate")  # the stages before any explanation
MAX_LINES = 400


def test_the_import_scan_sees_every_form_of_import():
    source = """
import stages.plumbing.params
from stages.attribution import ig, quality
from stages.plumbing.models import load_trained

def main():
    from stages import decode
"""
    assert project_imports(source) == {"stages.plumbing.params", "stages.attribution.ig", "stages.attribution.quality",
                                       "stages.plumbing.models", "stages.decode"}
    assert "stages.plumbing.texts" in closure("stages.explain_sentences")  # through stages.attribution.examples


@pytest.mark.parametrize("name", sorted(STAGES))
def test_a_stage_depends_on_exactly_the_modules_it_runs(name):
    needed, listed = set(module_deps(STAGES[name])), set(listed_deps(STAGES[name]))
    assert sorted(needed - listed) == [], f"{name} imports them but does not depend on them (run `make deps`)"
    assert sorted(listed - needed) == [], f"{name} depends on them but never imports them (run `make deps`)"


def test_the_import_graph_has_no_circle():
    modules = {str(path.relative_to(ROOT).with_suffix("")).replace("/", ".")
               for path in (ROOT / "stages").rglob("*.py") if path.name != "__init__.py"}
    for module in sorted(modules):
        assert all(module not in closure(imported) for imported in imports_of(module)), f"{module} imports itself back"


# The wings from the bottom up: a module imports from its own wing or one below, never from one above.
LAYERS = ("plumbing", "attribution", "schemas", "report")


def test_no_import_runs_back_up_the_layers():
    upward = []
    for path in sorted((ROOT / "stages").rglob("*.py")):
        wing = path.relative_to(ROOT / "stages").parts[0]
        if wing not in LAYERS:
            continue  # a stage module: the top, it may import any wing
        for imported in imports_of(str(path.relative_to(ROOT).with_suffix("")).replace("/", ".")):
            imported_wing = imported.split(".")[1]
            if imported_wing not in LAYERS or LAYERS.index(imported_wing) > LAYERS.index(wing):
                upward.append(f"{path.relative_to(ROOT)} imports {imported}")
    assert upward == []


def test_training_runs_no_explanation_code():
    for name in TRAINING:
        assert not [dep for dep in listed_deps(STAGES[name]) if dep.startswith("stages/attribution/")], name
    assert not [dep for dep in listed_deps(STAGES["train"]) if "schemas/explain" in dep]


def test_the_blast_radius_table_in_the_docs_is_current():
    layout = dependencies.LAYOUT.read_text(encoding="utf-8")
    assert f"{dependencies.TABLE_START}\n{dependencies.table()}\n{dependencies.TABLE_END}" in layout, "run `make deps`"
    assert dependencies.rewritten_dvc_yaml((ROOT / "dvc.yaml").read_text()) == (ROOT / "dvc.yaml").read_text()


def test_no_python_file_is_over_400_lines():
    files = [path for folder in ("stages", "tests", "benchmarks", "tools") for path in (ROOT / folder).rglob("*.py")]
    long = {str(path.relative_to(ROOT)): count for path in files
            if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def changed_stages(project: Path) -> set[str]:
    """The stages `dvc status` reports changed."""
    return set(json.loads(run_dvc(project, "status", "--json").stdout or "{}"))


def touch(path: Path) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write("# touched\n")


def declared_outputs(project: Path) -> list[str]:
    """Every out, metric and plot file of dvc.yaml's stages, of shard 0 for the foreach stage."""
    paths = []
    for stage in yaml.safe_load((project / "dvc.yaml").read_text())["stages"].values():
        body = stage.get("do", stage)
        for kind in ("outs", "metrics", "plots"):
            paths += [(entry if isinstance(entry, str) else next(iter(entry))).replace("${item}", "0")
                      for entry in body.get(kind, [])]
    return paths


def test_an_explanation_edit_leaves_the_training_stages_up_to_date(tmp_path):
    """A copy of the project whose every stage is committed on stand-in outputs; appending a comment to
    each module under stages/attribution/, then to the explain section's schema, changes explain@0
    in `dvc status` and none of decode, tokenize, train and evaluate."""
    project = make_project(tmp_path / "project", tmp_path / "checkpoint")
    for output in declared_outputs(project):
        path = project / output
        if path.suffix:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("{}")
        else:  # a folder
            path.mkdir(parents=True, exist_ok=True)
            (path / "stand-in").write_text(output)
    (project / "data/shards/0.json").write_text("{}")
    run_dvc(project, "commit", "-f", "-q")
    assert changed_stages(project) == set()
    for module in sorted((project / "stages" / "attribution").glob("*.py")):
        touch(module)
    changed = changed_stages(project)
    assert "explain@0" in changed and changed.isdisjoint(TRAINING), changed
    run_dvc(project, "commit", "-f", "-q")
    touch(project / "stages" / "schemas" / "explain.py")
    changed = changed_stages(project)
    assert "explain@0" in changed and changed.isdisjoint(TRAINING), changed
