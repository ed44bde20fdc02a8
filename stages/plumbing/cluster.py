"""A Ray session for a stage: the cluster at RAY_ADDRESS, or a local instance that only this machine
can reach, quiet unless IG_VERBOSE=1.

Ray runs whatever code it is sent, so it belongs on trusted networks only (Ray's security docs;
CVE-2023-48022). The local instance binds every port to 127.0.0.1 and runs no dashboard; a
cluster's own settings (token authentication, its network) are the README's recipe.
"""
from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlparse

from stages.plumbing.errors import UserError
from stages.plumbing.logs import verbose

INSTALL = "pip install --no-deps -r requirements.lock (it pins ray[data] and pyarrow), or `make setup`"
CONNECT_TIMEOUT_S = 5.0
STAGES_PACKAGE = Path(__file__).resolve().parents[1]  # shipped to the cluster's workers with the job


def cluster_address() -> str | None:
    """RAY_ADDRESS (Ray's own convention), refused at once when nothing listens there."""
    address = os.environ.get("RAY_ADDRESS", "").strip()
    if not address or address == "auto":
        return address or None
    parsed = urlparse(address if "://" in address else f"ray://{address}")
    try:
        host, port = parsed.hostname, parsed.port or 6379
    except ValueError:
        host = None
    if not host:
        raise UserError(f"RAY_ADDRESS={address}: expected host:port of a Ray head node (e.g. 10.0.0.5:6379)")
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as error:
        raise UserError(f"RAY_ADDRESS={address}: no Ray cluster answers there ({error.strerror or error}); "
                        "start one with `ray start --head`, or unset RAY_ADDRESS for a local instance") from None
    return address


@contextlib.contextmanager
def quiet_stderr() -> Iterator[TextIO]:
    """Ray's C++ core writes its notices straight to file descriptor 2: while Ray runs, that goes to
    a log file unless IG_VERBOSE=1 (removed after a run that ends well or on bad input, named after
    one that fails). Yields a stream on the real stderr for progress bars."""
    sys.stderr.flush()
    real = os.dup(2)
    stream = os.fdopen(os.dup(real), "w", buffering=1)
    log_path = None
    try:
        if not verbose():
            with tempfile.NamedTemporaryFile("w", prefix="ray-", suffix=".log", delete=False) as log:
                os.dup2(log.fileno(), 2)
                log_path = log.name
        yield stream
    except UserError:  # one line says what is wrong; Ray's notices would not help
        raise
    except BaseException:
        if log_path:
            print(f"Ray's own messages of this run: {log_path}", file=stream)
            log_path = None
        raise
    finally:
        sys.stderr.flush()
        os.dup2(real, 2)
        os.close(real)
        stream.close()
        if log_path:
            os.unlink(log_path)


@contextlib.contextmanager
def ray_session(gpus_per_worker: float) -> Iterator[TextIO]:
    """Ray initialised for this stage, shut down after; yields the stream progress bars write to."""
    address = cluster_address()
    if address is None:
        # A machine-local instance: node address 127.0.0.1, so every server binds to loopback only
        # (read by Ray when it is imported, and inherited by its processes).
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    try:
        import ray
        import ray.data
    except ImportError as error:
        raise UserError(f"Ray is not installed ({error.name} is missing), and explain.executor = 'ray' needs it: "
                        f"{INSTALL}") from None
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = context.print_on_execution_start = verbose()
    logging.getLogger("ray").setLevel(logging.INFO if verbose() else logging.ERROR)
    with quiet_stderr() as progress:
        ray.init(address=address or "local", include_dashboard=False, log_to_driver=verbose(),
                 logging_level=logging.INFO if verbose() else logging.ERROR,
                 runtime_env={"py_modules": [str(STAGES_PACKAGE)]})
        try:
            check_gpus(ray.cluster_resources(), gpus_per_worker)
            yield progress
        finally:
            ray.shutdown()


def check_gpus(resources: dict[str, Any], gpus_per_worker: float) -> None:
    """Refuse GPUs the cluster does not have, which would leave the workers waiting for ever."""
    available = float(resources.get("GPU", 0))
    if gpus_per_worker > available:
        raise UserError(f"the Ray cluster has {available:g} GPUs, and explain.ray_gpus_per_worker asks "
                        f"{gpus_per_worker:g} per worker; set it to 0 to explain on CPUs")
