"""Test peers for the Python suite and the benchmarks, as context managers: Orthanc peers with a
synthetic corpus (from adit-testkit's `testkit-peers`) and a running `adit web` on a fresh
SQLite database with a user, a token and the peers as nodes.

`scripts/test-python` builds both binaries and passes their paths in `ADIT_BIN` and
`TESTKIT_PEERS`. Everything listens on free loopback ports and is stopped on exit.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from collections.abc import Iterator
from contextlib import contextmanager

SECRET = "python-test-secret"
STARTUP_S = 120


def _binary(var: str) -> str:
    path = os.environ.get(var)
    if not path or not Path(path).is_file():
        raise RuntimeError(f"{var} must name a built binary (run scripts/test-python)")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Peers:
    """What `testkit-peers` started: Orthanc peers and the corpus loaded into the first."""

    peers: list[dict]
    manifest: dict
    files: Path
    files_manifest: dict

    @property
    def source(self) -> dict:
        return self.peers[0]

    @property
    def dest(self) -> dict:
        return self.peers[1]

    @property
    def patient(self) -> dict:
        return self.manifest["patients"][0]

    @property
    def study(self) -> dict:
        return self.patient["studies"][0]

    @property
    def n_instances(self) -> int:
        return sum(len(s["sop_instance_uids"]) for s in self.study["series"])


@contextmanager
def run_peers(files: Path, *args: str) -> Iterator[Peers]:
    """Orthanc peers ORTHANCA (with the corpus) and ORTHANCB; `args` go to testkit-peers."""
    proc = subprocess.Popen(
        [_binary("TESTKIT_PEERS"), "ae=ORTHANCA", "ae=ORTHANCB", f"files={files}", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    try:
        line = proc.stdout.readline()
        if not line:
            proc.wait(timeout=30)
            raise RuntimeError(f"testkit-peers exited with {proc.returncode} before starting")
        info = json.loads(line)
        yield Peers(info["peers"], info["manifest"], Path(info["files"]), info["files_manifest"])
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Server:
    """A running `adit web` and a token of a user allowed everything on the peers."""

    url: str
    token: str
    secret: str


def _wait_healthy(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"adit web exited early with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health/", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"adit web not healthy within {STARTUP_S} s")


@contextmanager
def run_server(peers: Peers, data: Path) -> Iterator[Server]:
    """`adit web` on a fresh SQLite database in `data`, with both peers as nodes."""
    adit = _binary("ADIT_BIN")
    env = {k: v for k, v in os.environ.items() if k != "ADIT_CONFIG"}
    env["ADIT_DATA_DIR"] = str(data)
    env["ADIT_DATABASE_URL"] = f"sqlite://{data / 'adit.db'}"

    def run(*args: str) -> str:
        out = subprocess.run([adit, *args], env=env, capture_output=True, text=True)
        assert out.returncode == 0, f"adit {args} failed:\n{out.stdout}\n{out.stderr}"
        return out.stdout

    run("migrate")
    run("admin", "create-user", "--username", "alice", "--password", "pw")
    run("admin", "create-group", "--name", "radiology", "--members", "alice")
    source, dest = peers.source, peers.dest
    run(
        "admin", "add-server", "--name", "source", "--ae-title", source["ae_title"],
        "--host", "127.0.0.1", "--port", str(source["dicom_port"]),
        "--dicomweb-root", source["dicomweb_root"],
    )  # fmt: skip
    run(
        "admin", "add-server", "--name", "dest", "--ae-title", dest["ae_title"],
        "--host", "127.0.0.1", "--port", str(dest["dicom_port"]),
    )  # fmt: skip
    run("admin", "grant", "--group", "radiology", "--node", "source", "--source")
    run("admin", "grant", "--group", "radiology", "--node", "source-web", "--source")
    run(
        "admin", "grant", "--group", "radiology", "--node", "dest",
        "--source", "--destination",
    )  # fmt: skip
    run("admin", "grant", "--group", "radiology", "--permission", "all")
    token = run("admin", "create-token", "--username", "alice").strip().splitlines()[-1].strip()

    port = _free_port()
    env["ADIT_HTTP_ADDR"] = f"127.0.0.1:{port}"
    env["ADIT_SECRET_KEY"] = SECRET
    log = open(data / "web.log", "wb")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen([adit, "web"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield Server(url, token, SECRET)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
