"""Writing stage outputs so that nothing half-written ever looks valid, and
running a stage so that user errors print one line."""
from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from stages.plumbing.errors import UserError, broken, missing
from stages.plumbing.logs import quiet_unless_verbose


def run(main: Callable[[], None]) -> None:
    """Call a stage's `main`, with the libraries' start-up notices hidden (see `logs`); a `UserError`
    becomes one line on stderr and exit status 2."""
    quiet_unless_verbose()
    try:
        main()
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)


@contextlib.contextmanager
def atomic_path(target: Path | str) -> Iterator[Path]:
    """Yield a temporary sibling of `target` to write into; move it into place only on success.

    Works for files and directories. A crash or kill leaves only hidden
    temporary paths, which the next run removes, never a partial `target`;
    a failure keeps the old `target` as it was.
    """
    target = Path(target)
    staging = target.with_name(f".{target.name}.partial")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove(staging)
        _remove(_retired(target))
        yield staging
        _put_in_place(staging, target)
    except OSError as error:
        _remove_quietly(staging)
        if error.errno in WRITE_ERRORS:
            raise UserError(f"{target}: cannot write it ({os.strerror(error.errno)}); "
                            "free some space or fix the folder's permissions, then rerun") from None
        raise
    except BaseException:
        _remove_quietly(staging)
        raise


WRITE_ERRORS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT}


def _retired(target: Path) -> Path:
    return target.with_name(f".{target.name}.old.partial")


def _put_in_place(staging: Path, target: Path) -> None:
    """Rename `staging` to `target`. A file replaces a file in one step; a folder cannot replace, or be
    replaced, that way, so the old target is moved aside first and moved back if the rename fails."""
    if not (staging.is_dir() or target.is_dir()) or not os.path.lexists(target):
        os.replace(staging, target)
        return
    os.replace(target, _retired(target))
    try:
        os.replace(staging, target)
    except OSError:
        os.replace(_retired(target), target)
        raise
    _remove(_retired(target))


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        _remove(path)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def significant(value: float, digits: int = 7) -> float:
    """A float rounded to `digits` significant digits (2.37e-06 stays 2.37e-06): stable, compact JSON."""
    return float(f"{value:.{digits}g}")


def write_json(path: Path | str, payload: Any) -> None:
    """Write JSON with sorted keys and a trailing newline (stable bytes for DVC hashes)."""
    with atomic_path(path) as staging:
        staging.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def write_arrays(path: Path | str, **arrays: np.ndarray) -> None:
    """Write an uncompressed .npz atomically."""
    with atomic_path(path) as staging:
        with open(staging, "wb") as handle:
            np.savez(handle, **arrays)


def read_arrays(path: Path | str, rebuild: str) -> dict[str, np.ndarray]:
    """Read an .npz; a missing or broken file is a `UserError` naming the stage that rebuilds it."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except FileNotFoundError:
        raise missing(path, rebuild) from None
    except Exception as error:  # zipfile/ValueError/OSError: any damage means the same fix
        raise broken(path, f"unreadable ({type(error).__name__})", rebuild) from None


def read_json(path: Path, stage: str) -> Any:
    """A JSON input; a missing or broken file is a `UserError` naming the stage that rebuilds it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise missing(path, stage) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise broken(path, f"unreadable ({type(error).__name__})", stage) from None
