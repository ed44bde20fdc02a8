"""`dvc.yaml` against the code: each stage depends on every project module its entry point imports,
so that editing any of them re-runs the stage."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "stages"


def project_imports(module: str) -> set[str]:
    """Project modules `module` imports, at any depth of its code (imports inside functions count)."""
    tree = ast.parse((ROOT / f"{module.replace('.', '/')}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith(f"{PACKAGE}.")}
        elif isinstance(node, ast.ImportFrom) and node.module == PACKAGE:
            found |= {f"{PACKAGE}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(f"{PACKAGE}."):
            found.add(node.module)
    return found


def closure(module: str) -> set[str]:
    """`module` and every project module it imports, transitively."""
    seen, pending = set(), [module]
    while pending:
        current = pending.pop()
        if current not in seen:
            seen.add(current)
            pending += project_imports(current)
    return seen


STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


def test_the_import_scan_sees_function_level_imports():
    assert {"stages.ig", "stages.models", "stages.tokenize"} <= project_imports("stages.explain")
    assert "stages.params" in closure("stages.explain_pretrained")  # through stages.explain


@pytest.mark.parametrize("name", sorted(STAGES))
def test_a_stage_depends_on_every_module_it_runs(name):
    command = STAGES[name]["cmd"].split()
    assert command[:2] == ["python", "-m"], f"{name}: expected `python -m stages.<module> ...`"
    needed = {f"{module.replace('.', '/')}.py" for module in closure(command[2])}
    listed = {dep for dep in STAGES[name]["deps"] if dep.startswith(f"{PACKAGE}/")}
    assert sorted(needed - listed) == [], f"{name} imports them but does not depend on them"
    assert sorted(listed - needed) == [], f"{name} depends on them but never imports them"
