"""The Ray executor's isolation: a local instance listens on loopback only; without RAY_ADDRESS the
stage starts its own instance beside one already running on the machine and leaves that one untouched,
and with RAY_ADDRESS it joins that one only."""
from __future__ import annotations

import json
import os
import secrets
import select
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import dvc_env
from tools.local_ray import (
    command_name,
    descendants,
    free_port,
    in_session,
    kill_session,
    ray_start,
    short_temp_dir,
    stop_instance,
)

LISTENING = "0A"  # TCP state LISTEN in /proc/net/tcp


def listening_addresses(pids: set[int]) -> set[str]:
    """The addresses the processes `pids` listen on (IPv4 and IPv6)."""
    inodes = set()
    for pid in pids:
        try:
            inodes |= {os.readlink(fd).removeprefix("socket:[").removesuffix("]")
                       for fd in Path(f"/proc/{pid}/fd").iterdir() if os.readlink(fd).startswith("socket:")}
        except OSError:
            continue
    addresses = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == LISTENING and fields[9] in inodes:
                address = bytes.fromhex(fields[1].split(":")[0])
                addresses.add(socket.inet_ntop(socket.AF_INET if len(address) == 4 else socket.AF_INET6,
                                               address if len(address) == 4 else b"".join(
                                                   address[i:i + 4][::-1] for i in range(0, 16, 4)))
                              if len(address) == 16 else socket.inet_ntoa(address[::-1]))
    return addresses


def test_a_local_instance_listens_on_loopback_only():
    probe = ("from stages.plumbing.cluster import ray_session\n"
             "with ray_session(0):\n    print('up', flush=True)\n    input()\n")
    session = subprocess.Popen([sys.executable, "-c", probe], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True, env={k: v for k, v in dvc_env().items() if k != "RAY_ADDRESS"})
    try:
        assert session.stdout.readline().strip() == "up"
        addresses = listening_addresses(descendants(session.pid))
        assert addresses and addresses <= {"127.0.0.1", "::ffff:127.0.0.1", "::1"}, addresses
    finally:
        session.communicate("\n", timeout=120)


GCS_VIEW = """\
import json, sys
from ray._raylet import GcsClient
gcs = GcsClient(address=sys.argv[1])
print(json.dumps({"nodes": {n.node_id.hex(): n.state == n.ALIVE for n in gcs.get_all_node_info().values()},
                  "jobs": {j.job_id.hex(): [j.driver_pid, j.is_dead] for j in gcs.get_all_job_info().values()}}))
"""


def gcs_view(instance: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The nodes (alive or not) and jobs (driver pid, dead or not) in the instance's GCS, by id."""
    result = subprocess.run([sys.executable, "-c", GCS_VIEW, instance["address"]], env=instance["env"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def running_instance() -> Iterator[dict[str, Any]]:
    """A Ray instance already running on this machine, as `ray start --head` leaves one: found through
    ray_current_cluster in Ray's temp dir, which RAY_TMPDIR (in `env`) points at here instead of /tmp/ray.
    Token authentication is set explicitly: Ray turns it on by itself once ~/.ray/auth_token exists."""
    root = short_temp_dir()
    env = {**{k: v for k, v in dvc_env().items() if k != "RAY_ADDRESS"}, "RAY_TMPDIR": root,
           "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16)}
    sessions: list[int] = []
    try:
        ray_start(sessions, "--head", f"--port={free_port()}", f"--temp-dir={root}/ray", "--num-cpus=1",
                  "--include-dashboard=false", f"--ray-client-server-port={free_port()}",
                  f"--dashboard-agent-listen-port={free_port()}", "--disable-usage-stats", env=env)
        yield {"address": Path(root, "ray", "ray_current_cluster").read_text().strip(), "root": root,
               "sid": sessions[0], "env": env}
    finally:
        stop_instance(sessions, root)


SESSION_PROBE = """\
import json
import stages.explain  # the stage's imports, then its way into Ray
from stages.attribution.distributed import ray_session
with ray_session(0):
    import ray
    node, context = ray._private.worker._global_node, ray.get_runtime_context()
    task_node = ray.get(ray.remote(lambda: ray.get_runtime_context().get_node_id()).remote())
    print(json.dumps({"gcs": node.gcs_address, "ip": node.node_ip_address, "session": node.get_session_dir_path(),
                      "node": context.get_node_id(), "task_node": task_node, "job": context.get_job_id()}), flush=True)
    input()
"""


@pytest.fixture
def stage_session() -> Iterator[Callable[[dict[str, str]], subprocess.Popen]]:
    """Opens the stage's Ray session in a process (and session) of its own, held open until a line on its
    stdin; whatever is left of them at the end is killed."""
    opened: list[subprocess.Popen] = []

    def open_session(env: dict[str, str]) -> subprocess.Popen:
        opened.append(subprocess.Popen([sys.executable, "-c", SESSION_PROBE], cwd=Path(__file__).parents[1], env=env,
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                       start_new_session=True))
        return opened[-1]

    yield open_session
    for session in opened:
        session.kill()
        kill_session(session.pid)


def session_info(session: subprocess.Popen, timeout: float = 240) -> dict[str, str]:
    """What the session probe says once Ray is up and a task has run there."""
    ready, _, _ = select.select([session.stdout], [], [], timeout)
    assert ready, f"no Ray session within {timeout:g} s"
    line = session.stdout.readline()
    assert line, f"the session probe ended (exit status {session.wait(timeout=60)})"
    return json.loads(line)


def ray_servers(pids: set[int]) -> dict[str, set[int]]:
    """The GCS and raylet processes among `pids`, by name."""
    servers: dict[str, set[int]] = {"gcs_server": set(), "raylet": set()}
    for pid in pids:
        servers.get(command_name(pid), set()).add(pid)
    return servers


def session_dirs(root: str) -> set[str]:
    return {str(path) for path in Path(root, "ray").glob("session_2*")}


def test_without_ray_address_the_stage_starts_its_own_instance_beside_a_running_one(running_instance, stage_session):
    """`ray.init()` would join the running instance (its address is in ray_current_cluster); the stage
    starts its own, on loopback, leaves the other's nodes and job table as they were, and is gone after."""
    address, root, head = running_instance["address"], running_instance["root"], running_instance["sid"]
    before, servers, dirs = gcs_view(running_instance), ray_servers(in_session(head)), session_dirs(root)
    session = stage_session(running_instance["env"])
    try:
        info = session_info(session)
        own = in_session(session.pid)
        assert info["gcs"] != address and info["gcs"].startswith("127.0.0.1:"), info
        assert info["ip"] == "127.0.0.1" and info["node"] not in before["nodes"] and info["task_node"] == info["node"]
        assert session_dirs(root) - dirs == {info["session"]}
        assert all(ray_servers(own).values()), own  # its GCS and raylet are the stage's processes
        addresses = listening_addresses(own)
        assert addresses and addresses <= {"127.0.0.1", "::ffff:127.0.0.1", "::1"}, addresses
        assert gcs_view(running_instance) == before  # no job of the stage's there, no node added
    finally:
        session.communicate("\n", timeout=120)
    assert session.returncode == 0
    deadline = time.monotonic() + 30
    while in_session(session.pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not in_session(session.pid), "the stage's Ray instance outlived the stage"
    host, port = info["gcs"].rsplit(":", 1)
    with pytest.raises(ConnectionRefusedError), socket.create_connection((host, int(port)), timeout=5):
        pass
    after = gcs_view(running_instance)
    assert after == before and all(after["nodes"].values()), (before, after)
    assert ray_servers(in_session(head)) == servers
    assert Path(root, "ray", "ray_current_cluster").read_text().strip() == address


def test_with_ray_address_the_stage_joins_that_instance_only(running_instance, stage_session):
    address, root = running_instance["address"], running_instance["root"]
    before, dirs = gcs_view(running_instance), session_dirs(root)
    session = stage_session({**running_instance["env"], "RAY_ADDRESS": address})
    try:
        info = session_info(session)
        assert info["gcs"] == address and info["node"] in before["nodes"], info
        assert info["task_node"] == info["node"]
        during = gcs_view(running_instance)
        assert during["nodes"] == before["nodes"]
        assert {job: during["jobs"][job] for job in during["jobs"].keys() - before["jobs"].keys()} == {
            info["job"]: [session.pid, False]}
        assert not any(ray_servers(in_session(session.pid)).values())  # no instance of its own
        assert session_dirs(root) == dirs
    finally:
        session.communicate("\n", timeout=120)
    assert session.returncode == 0
    after = gcs_view(running_instance)
    assert after["nodes"] == before["nodes"] and all(after["nodes"].values())
    assert after["jobs"] == {**before["jobs"], info["job"]: [session.pid, True]}
