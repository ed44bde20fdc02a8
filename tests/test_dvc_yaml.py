"""`dvc.yaml` against the code: each stage depends on every project module its entry point imports,
so that editing any of them re-runs the stage."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "stages"


def is_module(name: str) -> bool:
    return (ROOT / f"{name.replace('.', '/')}.py").is_file()


def project_imports(source: str) -> set[str]:
    """Project modules the Python `source` imports, at any depth of its code (imports inside
    functions count); `from stages.wing import module` names that module."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith(f"{PACKAGE}.")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == PACKAGE:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if is_module(submodule) else node.module)
    return {name for name in found if is_module(name)}


def closure(module: str) -> set[str]:
    """`module` and every project module it imports, transitively."""
    seen, pending = set(), [module]
    while pending:
        current = pending.pop()
        if current not in seen:
            seen.add(current)
            pending += project_imports((ROOT / f"{current.replace('.', '/')}.py").read_text())
    return seen


STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


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
    assert "stages.plumbing.texts" in closure("stages.explain_sentences")  # through stages.attribution.explaining


@pytest.mark.parametrize("name", sorted(STAGES))
def test_a_stage_depends_on_every_module_it_runs(name):
    stage = STAGES[name].get("do", STAGES[name])  # a foreach stage's template
    command = stage["cmd"].split()
    assert command[:2] == ["python", "-m"], f"{name}: expected `python -m stages.<module> ...`"
    modules = closure(command[2])
    needed = {f"{module.replace('.', '/')}.py" for module in modules}
    if "stages.plumbing.html" in modules:  # pages are made from the Jinja2 templates
        needed.add(f"{PACKAGE}/templates")
    listed = {dep for dep in stage["deps"] if dep.startswith(f"{PACKAGE}/")}
    assert sorted(needed - listed) == [], f"{name} imports them but does not depend on them"
    assert sorted(listed - needed) == [], f"{name} depends on them but never imports them"
