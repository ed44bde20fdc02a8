"""`make` sets up its virtual environment on a machine whose Python 3.11 is not `python3.11` on the PATH."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAKE = shutil.which("make")


def make_venv(tmp_path: Path, tools: dict[str, str]) -> subprocess.CompletedProcess:
    """Build the venv target with a PATH holding only `tools` (name -> executable); uv may not download."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for name, target in tools.items():
        (folder / name).symlink_to(target)
    env = {"PATH": str(folder), "HOME": str(tmp_path), "UV_PYTHON_DOWNLOADS": "never",
           "UV_CACHE_DIR": str(tmp_path / "uv-cache"), "UV_NO_CONFIG": "1"}
    venv = tmp_path / "venv"
    return subprocess.run([MAKE, "-s", "-C", str(ROOT), f"VENV={venv}", f"{venv}/bin/python"], env=env,
                          capture_output=True, text=True, timeout=300)


def test_without_python311_on_the_path_uv_finds_the_machines_311(tmp_path):
    """This machine's 3.11 as plain `python3`, as on a system whose default Python is another version."""
    uv = shutil.which("uv")
    assert uv, "uv is in requirements.lock: run the tests from the project's venv"
    made = make_venv(tmp_path, {"python3": os.path.realpath(sys.executable), "uv": uv})
    assert made.returncode == 0, made.stderr
    version = subprocess.run([str(tmp_path / "venv/bin/python"), "-c", "import sys, pip; print(sys.version_info[:2])"],
                             capture_output=True, text=True, check=True)
    assert version.stdout.strip() == "(3, 11)"


def test_without_python311_and_uv_one_line_says_what_to_install(tmp_path):
    made = make_venv(tmp_path, {})
    assert made.returncode != 0 and not (tmp_path / "venv").exists()
    lines = made.stderr.strip().splitlines()
    assert len(lines) == 1 and re.fullmatch(r"Makefile:\d+: \*\*\* no python3\.11 and no uv on PATH; install Python "
                                            r"3\.11, or uv \(pip install uv\), and run make again\.  Stop\.", lines[0])
