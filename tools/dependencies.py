"""The project modules each stage runs, and the stages an edit to each module re-runs.

Usage: python -m tools.dependencies [--write]   (`make deps`)
A stage's modules are the import closure of its entry point (`python -m stages.<name>` in dvc.yaml):
every project module it imports, at any depth, imports inside functions included. DVC re-runs a stage
when any file it lists changes, so these lists are also the cost of every code change. Without
--write: print the blast-radius table (module -> stages). With --write: rewrite each stage's module
deps in dvc.yaml to its closure, and the table in docs/layout.md.
"""
from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "stages"
TEMPLATES = f"{PACKAGE}/report/templates"  # the Jinja2 templates every page is made from
PAGE_MODULE = f"{PACKAGE}.report.html"
LAYOUT = ROOT / "docs" / "layout.md"
TABLE_START, TABLE_END = "<!-- blast radius: make deps -->", "<!-- end of blast radius -->"


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


def imports_of(module: str) -> set[str]:
    return project_imports((ROOT / f"{module.replace('.', '/')}.py").read_text(encoding="utf-8"))


def closure(module: str) -> set[str]:
    """`module` and every project module it imports, transitively."""
    seen, pending = set(), [module]
    while pending:
        current = pending.pop()
        if current not in seen:
            seen.add(current)
            pending += imports_of(current)
    return seen


def stages() -> dict[str, dict]:
    """dvc.yaml's stages, a foreach stage by its template (`do`)."""
    listed = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    return {name: stage.get("do", stage) for name, stage in listed.items()}


def entry_point(stage: dict) -> str:
    command = stage["cmd"].split()
    if command[:2] != ["python", "-m"]:
        raise ValueError(f"expected `python -m {PACKAGE}.<module> ...`, got {stage['cmd']!r}")
    return command[2]


def module_deps(stage: dict) -> list[str]:
    """The files of the stage's import closure as dvc.yaml lists them: its entry point first, the rest sorted."""
    entry = entry_point(stage)
    modules = closure(entry)
    files = {f"{module.replace('.', '/')}.py" for module in modules - {entry}}
    files |= {TEMPLATES} if PAGE_MODULE in modules else set()
    return [f"{entry.replace('.', '/')}.py", *sorted(files)]


def listed_deps(stage: dict) -> list[str]:
    return [dep for dep in stage["deps"] if isinstance(dep, str) and dep.startswith(f"{PACKAGE}/")]


def blast_radius() -> dict[str, list[str]]:
    """Each module file (and the templates) -> the stages that list it, in dvc.yaml's order; a foreach
    stage as `name@N`, for its instances (`explain@0`, `explain@1`, ...)."""
    raw = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    labels = {name: f"{name}@N" if "foreach" in stage else name for name, stage in raw.items()}
    files = sorted(str(path.relative_to(ROOT)) for path in (ROOT / PACKAGE).rglob("*.py")
                   if path.name != "__init__.py") + [TEMPLATES]
    return {file: [labels[name] for name, stage in stages().items() if file in listed_deps(stage)] for file in files}


def table() -> str:
    lines = ["| module | stages an edit re-runs |", "|---|---|"]
    lines += [f"| `{file}` | {', '.join(names) if names else '(none: not run by a stage)'} |"
              for file, names in blast_radius().items()]
    return "\n".join(lines)


def rewritten_dvc_yaml(text: str) -> str:
    """dvc.yaml with each stage's run of `- stages/...` deps replaced by its import closure."""
    wanted = {name: module_deps(stage) for name, stage in stages().items()}
    lines, out, current, replaced = text.split("\n"), [], None, set()
    for line in lines:
        stage_line = re.match(r"^  ([a-z_]+):$", line)
        if stage_line:
            current = stage_line.group(1)
        dep = re.match(rf"^(\s+)- {PACKAGE}/\S+$", line)
        if dep and current in wanted:
            if (current, "deps") not in replaced:
                out += [f"{dep.group(1)}- {file}" for file in wanted[current]]
                replaced.add((current, "deps"))
            continue
        out.append(line)
    return "\n".join(out)


def write() -> None:
    dvc_yaml = ROOT / "dvc.yaml"
    dvc_yaml.write_text(rewritten_dvc_yaml(dvc_yaml.read_text(encoding="utf-8")), encoding="utf-8")
    layout = LAYOUT.read_text(encoding="utf-8")
    before, _, rest = layout.partition(TABLE_START)
    _, _, after = rest.partition(TABLE_END)
    LAYOUT.write_text(f"{before}{TABLE_START}\n{table()}\n{TABLE_END}{after}", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite dvc.yaml's module deps and docs/layout.md")
    if parser.parse_args().write:
        write()
    print(table())


if __name__ == "__main__":
    main()
