"""The engine API (`adit_rs`) against Orthanc directly: echo, find, retrieve, store,
pseudonymize and transfer."""

from __future__ import annotations

import socket
from pathlib import Path

import pydicom
import pytest

import adit_rs
from adit_rs import (
    AssociationRejectedError,
    InvalidInputError,
    Node,
    PeerConnectionError,
    Pseudonymizer,
)


@pytest.fixture(scope="module")
def dimse(peers) -> Node:
    p = peers.source
    return Node.dimse(p["ae_title"], "127.0.0.1", p["dicom_port"], calling_ae_title="PYTEST")


@pytest.fixture(scope="module")
def web(peers) -> Node:
    return Node.dicomweb(peers.source["dicomweb_root"])


def test_echo(dimse, web):
    assert dimse.echo() >= 0
    assert web.echo() >= 0


def test_echo_on_closed_port_names_peer_and_operation():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    node = Node.dimse("NOBODY", "127.0.0.1", port)
    with pytest.raises(PeerConnectionError) as e:
        node.echo()
    assert "C-ECHO" in str(e.value) and f"127.0.0.1:{port}" in str(e.value)
    assert isinstance(e.value, adit_rs.AditError)


def test_wrong_called_ae_is_rejected_or_refused(peers):
    # Orthanc here accepts any called AE (DicomCheckCalledAet false); an invalid AE title is
    # refused before any network traffic.
    with pytest.raises(InvalidInputError):
        Node.dimse("THIS AE TITLE IS FAR TOO LONG", "127.0.0.1", peers.source["dicom_port"])
    assert issubclass(AssociationRejectedError, PeerConnectionError)


@pytest.mark.parametrize("node_name", ["dimse", "web"])
def test_find_as_datasets_and_dicts(request, peers, node_name):
    node: Node = request.getfixturevalue(node_name)
    study_uid = peers.study["study_instance_uid"]
    studies = node.find("STUDY", {"PatientID": peers.patient["patient_id"]})
    assert study_uid in [s.StudyInstanceUID for s in studies]
    series = node.find("SERIES", {"StudyInstanceUID": study_uid}, as_dict=True)
    got = {s["0020000E"]["Value"][0] for s in series}
    assert got == {s["series_instance_uid"] for s in peers.study["series"]}


def test_find_rejects_unknown_key(dimse):
    with pytest.raises(InvalidInputError) as e:
        dimse.find("STUDY", {"NoSuchKeyword": "1"})
    assert "NoSuchKeyword" in str(e.value)


@pytest.mark.parametrize("node_name", ["dimse", "web"])
def test_retrieve_iterates_and_saves_to_folder(request, peers, node_name, tmp_path):
    node: Node = request.getfixturevalue(node_name)
    study_uid = peers.study["study_instance_uid"]
    expected = {u for s in peers.study["series"] for u in s["sop_instance_uids"]}
    got = {ds.SOPInstanceUID for ds in node.iter_study(study_uid)}
    assert got == expected
    report = node.retrieve_to(tmp_path, study_uid)
    assert report["stored"] == len(expected)
    files = list(tmp_path.rglob("*.dcm"))
    assert {pydicom.dcmread(f).SOPInstanceUID for f in files} == expected


def test_store_to_orthanc(peers):
    dest = Node.dimse(peers.dest["ae_title"], "127.0.0.1", peers.dest["dicom_port"])
    files = sorted(peers.files.rglob("*.dcm"))
    report = dest.store([pydicom.dcmread(f) for f in files[:1]] + files[1:])
    assert report["stored"] == len(files) and report["failed"] == 0
    uid = pydicom.dcmread(files[0]).StudyInstanceUID
    assert len(dest.find("IMAGE", {"StudyInstanceUID": uid})) == len(files)


def test_pseudonymize_matches_the_server(server, trial_client, peers):
    study_uid = peers.study["study_instance_uid"]
    from_server = trial_client.retrieve_study("ORTHANCA", study_uid, pseudonym="SUBJ-7")
    p = Pseudonymizer(
        server.secret,
        pseudonym="SUBJ-7",
        trial_protocol_id="TRIAL-1",
        trial_protocol_name="Trial One",
    )
    originals = {
        ds.SOPInstanceUID: ds
        for ds in Node.dimse(
            peers.source["ae_title"], "127.0.0.1", peers.source["dicom_port"]
        ).iter_study(study_uid)
    }
    by_uid = {ds.SOPInstanceUID: ds for ds in from_server}
    for original_uid, original in originals.items():
        local = p.pseudonymize(original)
        assert local.SOPInstanceUID == p.map_uid(original_uid)
        remote = by_uid[local.SOPInstanceUID]
        assert local.to_json_dict() == remote.to_json_dict()


def test_pseudonymize_folder(tmp_path, peers):
    p = Pseudonymizer("folder-secret")
    report = p.pseudonymize_path(peers.files, tmp_path / "out")
    assert report["written"] == 3 and not report["failed"]
    for f in (tmp_path / "out").rglob("*.dcm"):
        ds = pydicom.dcmread(f)
        assert ds.PatientID == p.pseudonym_for(peers.files_manifest["patients"][0]["patient_id"])


def test_pseudonymize_rejects_garbage():
    with pytest.raises(InvalidInputError):
        Pseudonymizer("s").pseudonymize_bytes(b"not dicom at all")


def test_transfer_with_progress_and_pseudonym(peers, tmp_path):
    source = Node.dimse(peers.source["ae_title"], "127.0.0.1", peers.source["dicom_port"])
    calls = []
    report = adit_rs.transfer(
        source,
        tmp_path,
        peers.study["study_instance_uid"],
        pseudonymizer=Pseudonymizer("transfer-secret", pseudonym="SUBJ-9"),
        progress=lambda done, total: calls.append((done, total)),
    )
    assert report["stored"] == peers.n_instances, report
    assert report["status"] == "Success"
    assert calls and calls[-1][0] == peers.n_instances
    files = list(tmp_path.rglob("*.dcm"))
    assert len(files) == peers.n_instances
    assert all(pydicom.dcmread(f).PatientID == "SUBJ-9" for f in files)


def test_transfer_node_to_node(peers):
    source = Node.dicomweb(peers.source["dicomweb_root"])
    dest = Node.dimse(peers.dest["ae_title"], "127.0.0.1", peers.dest["dicom_port"])
    series = peers.study["series"][0]
    report = adit_rs.transfer(
        source, dest, peers.study["study_instance_uid"], series_uids=[series["series_instance_uid"]]
    )
    assert report["stored"] == len(series["sop_instance_uids"]), report
    found = dest.find("IMAGE", {"StudyInstanceUID": peers.study["study_instance_uid"]})
    assert {f.SOPInstanceUID for f in found} >= set(series["sop_instance_uids"])


def test_transfer_to_missing_folder_parent_is_an_error(peers, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    source = Node.dimse(peers.source["ae_title"], "127.0.0.1", peers.source["dicom_port"])
    report = adit_rs.transfer(source, Path(blocker) / "sub", peers.study["study_instance_uid"])
    assert report["stored"] == 0 and report["status"] != "Success"
