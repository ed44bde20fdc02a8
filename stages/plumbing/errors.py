"""The one exception a user sees as a line of text instead of a stack trace, and the two lines a stage
says of an input another stage makes: missing (run that stage) or broken (rebuild it)."""
from __future__ import annotations

from pathlib import Path


class UserError(Exception):
    """A problem the user can fix (a param, a missing file or package); printed as one line."""


def missing(path: Path | str, stage: str, where: str = "") -> UserError:
    """`path` (at `where`, a revision, if given) is not there: run the stage that makes it."""
    return UserError(f"{path}: missing{where}; run `dvc repro {stage}`")


def broken(path: Path | str, problem: str, stage: str) -> UserError:
    """`path` is there but `problem` says what is wrong with it: rerun the stage that makes it, forced."""
    return UserError(f"{path}: {problem}; rebuild it with `dvc repro -f {stage}`")
