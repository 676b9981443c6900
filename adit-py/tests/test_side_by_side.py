"""The same calls through this package's AditClient and the original `adit-client` 0.52 (from
PyPI, in its own venv because both provide `adit_client`) return equal datasets.

The venv is created on first use under target/tmp as the original's README allows on Python
3.11: `pip download --python-version 3.12` of its wheel, then `pip install
--ignore-requires-python` next to `dicomweb-client dicognito "numpy<2.3"`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ORIGINAL_VERSION = "0.52.0"
HERE = Path(__file__).resolve().parent
VENV = HERE.parents[1] / "target" / "tmp" / "adit-client-052-venv"


def run(*args: str | Path) -> str:
    out = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    assert out.returncode == 0, f"{args} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout


@pytest.fixture(scope="session")
def original_python() -> Path:
    python = VENV / "bin" / "python"
    ready = VENV / f".adit-client-{ORIGINAL_VERSION}"
    if ready.exists():
        return python
    run(sys.executable, "-m", "venv", "--clear", VENV)
    wheels = VENV / "wheels"
    run(
        python, "-m", "pip", "download", "-q", "--no-deps", "--python-version", "3.12",
        "--only-binary=:all:", "-d", wheels, f"adit-client=={ORIGINAL_VERSION}",
    )  # fmt: skip
    (wheel,) = wheels.glob("adit_client-*.whl")
    run(
        python, "-m", "pip", "install", "-q", "--ignore-requires-python", wheel,
        "dicomweb-client", "dicognito", "numpy<2.3",
    )  # fmt: skip
    run(python, "-c", "import adit_client, dicomweb_client, pydicom")
    ready.write_text("")
    return python


@pytest.mark.parametrize("source", ["ORTHANCA", "source-web"])
def test_same_calls_return_equal_datasets(original_python, server, peers, source):
    series = peers.study["series"][0]
    args = [
        HERE / "same_calls.py",
        server.url,
        server.token,
        source,
        peers.study["study_instance_uid"],
        series["series_instance_uid"],
        series["sop_instance_uids"][0],
        peers.patient["patient_id"],
    ]
    ours = json.loads(run(sys.executable, *args))
    theirs = json.loads(run(original_python, *args))
    assert ours.keys() == theirs.keys()
    for call in ours:
        assert ours[call] == theirs[call], f"{call} differs"
    # Not vacuous: every call returned something, and the pseudonym was applied.
    assert all(ours[call] for call in ours)
    assert {d["00100020"]["Value"][0] for d in ours["retrieve_study"]} == {"SBS-1"}
    assert len(ours["iter_study"]) == peers.n_instances
