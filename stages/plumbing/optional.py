"""The outputs of an optional stage that was not asked to run: DVC still needs every declared output."""
from __future__ import annotations

from pathlib import Path

from stages.plumbing.artifacts import write_json


def write_not_run(out_json: Path, metrics_json: Path, output_format: int) -> None:
    """An output that says the stage was not run (the report says so) and empty metrics (`dvc exp show` shows
    no column rather than a made-up figure)."""
    write_json(out_json, {"format": output_format, "enabled": False})
    write_json(metrics_json, {})
