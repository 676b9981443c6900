"""Fixtures of the Python suite: Orthanc peers with a synthetic corpus and a running
`adit web` (see fixtures.py), shared by all tests of a session."""

from __future__ import annotations

import pytest
from fixtures import Peers, Server, run_peers, run_server


@pytest.fixture(scope="session")
def peers(tmp_path_factory) -> Peers:
    files = tmp_path_factory.mktemp("files")
    with run_peers(files, "series=2", "instances=2", "file-instances=3") as p:
        yield p


@pytest.fixture(scope="session")
def server(peers: Peers, tmp_path_factory) -> Server:
    with run_server(peers, tmp_path_factory.mktemp("adit")) as s:
        yield s


@pytest.fixture(scope="session")
def trial_client(server):
    from adit_client import AditClient

    return AditClient(
        server.url, server.token, trial_protocol_id="TRIAL-1", trial_protocol_name="Trial One"
    )
