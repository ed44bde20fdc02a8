"""Which run produced an output: the DVC experiment or git revision, and the params that differ from
that revision's committed params.yaml."""
from __future__ import annotations

import os
import subprocess
from typing import Any

from ruamel.yaml import YAML, YAMLError

from stages.plumbing.params import PARAMS_FILE, load_params


def git(*args: str) -> str | None:
    """A git command's output, or None outside a repository (or without git)."""
    try:
        result = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
    except OSError:
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def flatten(values: Any, prefix: str = "") -> dict[str, Any]:
    """`{"a": {"b": 1}}` -> `{"a.b": 1}`; lists stay values."""
    if not isinstance(values, dict):
        return {prefix: values}
    flat = {}
    for key, value in values.items():
        flat.update(flatten(value, f"{prefix}{key}."))
    return {key.rstrip("."): value for key, value in flat.items()}


def describe_run() -> dict[str, Any]:
    """The experiment name (under `dvc exp run`), the base revision, and the params changed from it."""
    experiment = os.environ.get("DVC_EXP_NAME")
    base = os.environ.get("DVC_EXP_BASELINE_REV") or git("rev-parse", "HEAD")
    committed_text = git("show", f"{base}:{PARAMS_FILE}") if base else None
    changed: list[str] = []
    if committed_text is not None:
        try:
            committed = flatten(YAML(typ="safe", pure=True).load(committed_text) or {})
        except YAMLError:
            committed = {}
        current = flatten(load_params())
        changed = [f"{key} = {current.get(key)!r} (committed: {committed.get(key)!r})"
                   for key in sorted(set(current) | set(committed)) if current.get(key) != committed.get(key)]
    return {"experiment": experiment, "revision": base[:7] if base else None, "changed": changed}
