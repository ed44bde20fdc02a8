"""Ray instances on this machine for the Ray tests and the scaling benchmark: started with `ray start`, each
in a process session of its own, and torn down whole (every process of those sessions, and the temp dir).

`two_nodes()` is the cluster both use: a head and a second node of one CPU each on 127.0.0.1, with token
authentication, every port picked free so that several can run side by side.
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

RAY = Path(sys.executable).parent / "ray"
ONE_CPU_ON_LOOPBACK = ("--num-cpus=1", "--node-ip-address=127.0.0.1", "--disable-usage-stats")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def short_temp_dir() -> str:
    """A fresh folder under /tmp: Ray's Unix socket paths must stay short."""
    return tempfile.mkdtemp(prefix="ray-", dir="/tmp")


def send_signal(pid: int, signum: int) -> None:
    """`os.kill`, where a process already gone is no error."""
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def in_session(sid: int) -> set[int]:
    """The live processes of session `sid`: one started with `start_new_session` and all it started."""
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit():
                state, _, _, session = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:4]
                if int(session) == sid and state != "Z":
                    found.add(int(entry.name))
        except (OSError, ValueError):
            continue
    return found


def processes_under(marker: str) -> list[int]:
    """The processes whose command line holds `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker in (entry / "cmdline").read_bytes().decode(errors="replace"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def command_name(pid: int) -> str:
    """The short name the kernel keeps for a process (`ray::IDLE`, `gcs_server`), or "" once it is gone."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def descendants(root: int) -> set[int]:
    """`root` and every live process it started, directly or not."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit():
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    found, pending = set(), [root]
    while pending:
        pid = pending.pop()
        found.add(pid)
        pending += children.get(pid, [])
    return found


def kill_session(sid: int) -> None:
    for pid in in_session(sid):
        send_signal(pid, signal.SIGKILL)


def ray_start(sessions: list[int], *args: str, env: Mapping[str, str]) -> None:
    """`ray start` in a session of its own, added to `sessions`: what it leaves running (its client server and
    agents too, whose command lines do not name the temp dir) is that session's."""
    start = subprocess.Popen([str(RAY), "start", *args], env=dict(env), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, start_new_session=True)
    sessions.append(start.pid)
    output = start.communicate(timeout=120)[0]
    if start.returncode:
        raise RuntimeError(f"ray start {' '.join(args)} failed:\n{output[-3000:]}")


def stop_instance(sessions: list[int], folder: str) -> None:
    """Kill what the `ray start` sessions left running and anything else under `folder`, then remove it."""
    for sid in sessions:
        kill_session(sid)
    for pid in processes_under(folder):
        send_signal(pid, signal.SIGKILL)
    shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def two_nodes(env: Mapping[str, str]) -> Iterator[dict[str, str]]:
    """A head and a second node of one CPU each: `env` with a fresh auth token and the RAY_ADDRESS that reaches
    them."""
    temp_dir = short_temp_dir()
    port = free_port()
    env = {**env, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16)}
    sessions: list[int] = []
    try:
        ray_start(sessions, "--head", f"--port={port}", "--include-dashboard=false", f"--temp-dir={temp_dir}",
                  f"--ray-client-server-port={free_port()}", f"--dashboard-agent-listen-port={free_port()}",
                  *ONE_CPU_ON_LOOPBACK, env=env)
        ray_start(sessions, f"--address=127.0.0.1:{port}", f"--dashboard-agent-listen-port={free_port()}",
                  *ONE_CPU_ON_LOOPBACK, env=env)
        yield {**env, "RAY_ADDRESS": f"127.0.0.1:{port}"}
    finally:
        stop_instance(sessions, temp_dir)
