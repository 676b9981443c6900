"""The drop-in `adit_client.AditClient` against `adit web` with Orthanc behind it."""

from __future__ import annotations

import inspect
import types
from io import BytesIO

import pydicom
import pytest

from adit_client import AditClient
from adit_rs import HttpStatusError, PeerConnectionError

PSEUDONYM = "SUBJ-42"
SOURCES = ["ORTHANCA", "source-web"]


@pytest.fixture(scope="module")
def trial(server) -> AditClient:
    return AditClient(
        server.url, server.token, trial_protocol_id="TRIAL-1", trial_protocol_name="Trial One"
    )


@pytest.fixture(scope="module")
def plain(server) -> AditClient:
    return AditClient(server.url, server.token)


def assert_pseudonymized(ds: pydicom.Dataset, peers) -> None:
    assert ds.PatientID == PSEUDONYM
    assert str(ds.PatientName) != peers.patient["patient_name"]
    assert ds.StudyInstanceUID != peers.study["study_instance_uid"]
    assert ds.ClinicalTrialProtocolID == "TRIAL-1"
    assert ds.ClinicalTrialProtocolName == "Trial One"


@pytest.mark.parametrize("source", SOURCES)
def test_search_levels(trial, peers, source):
    study_uid = peers.study["study_instance_uid"]
    studies = trial.search_for_studies(source, {"PatientID": peers.patient["patient_id"]})
    assert all(isinstance(s, pydicom.Dataset) for s in studies)
    assert study_uid in [s.StudyInstanceUID for s in studies]
    series = trial.search_for_series(source, study_uid)
    expected = {s["series_instance_uid"] for s in peers.study["series"]}
    assert {s.SeriesInstanceUID for s in series} == expected
    first = peers.study["series"][0]
    images = trial.search_for_images(source, study_uid, first["series_instance_uid"])
    assert {i.SOPInstanceUID for i in images} == set(first["sop_instance_uids"])


@pytest.mark.parametrize("source", SOURCES)
def test_retrieve_with_pseudonym_and_trial(trial, peers, source):
    study_uid = peers.study["study_instance_uid"]
    datasets = trial.retrieve_study(source, study_uid, pseudonym=PSEUDONYM)
    assert len(datasets) == peers.n_instances
    for ds in datasets:
        assert_pseudonymized(ds, peers)
        assert ds.pixel_array.size > 0

    series_uid = peers.study["series"][0]["series_instance_uid"]
    series = trial.retrieve_series(source, study_uid, series_uid, pseudonym=PSEUDONYM)
    assert len(series) == len(peers.study["series"][0]["sop_instance_uids"])
    image_uid = peers.study["series"][0]["sop_instance_uids"][0]
    image = trial.retrieve_image(source, study_uid, series_uid, image_uid, pseudonym=PSEUDONYM)
    assert isinstance(image, pydicom.Dataset)
    assert_pseudonymized(image, peers)


@pytest.mark.parametrize("source", SOURCES)
def test_metadata(trial, peers, source):
    study_uid = peers.study["study_instance_uid"]
    metadata = trial.retrieve_study_metadata(source, study_uid, pseudonym=PSEUDONYM)
    assert len(metadata) == peers.n_instances
    for item in metadata:
        assert "7FE00010" not in item
        assert item["00100020"]["Value"][0] == PSEUDONYM
    series_uid = peers.study["series"][0]["series_instance_uid"]
    series = trial.retrieve_series_metadata(source, study_uid, series_uid, pseudonym=PSEUDONYM)
    assert len(series) == len(peers.study["series"][0]["sop_instance_uids"])
    image_uid = peers.study["series"][0]["sop_instance_uids"][0]
    one = trial.retrieve_image_metadata(source, study_uid, series_uid, image_uid)
    assert one["00080018"]["Value"][0] == image_uid
    assert one["00100020"]["Value"][0] == peers.patient["patient_id"]


def test_iter_study_is_lazy_and_passes_pseudonym_and_trial(trial, peers):
    study_uid = peers.study["study_instance_uid"]
    iterator = trial.iter_study("ORTHANCA", study_uid, pseudonym=PSEUDONYM)
    assert isinstance(iterator, types.GeneratorType)
    first = next(iterator)
    assert_pseudonymized(first, peers)
    rest = list(iterator)
    assert len(rest) + 1 == peers.n_instances
    for ds in rest:
        assert_pseudonymized(ds, peers)


def test_retrieved_datasets_keep_the_files_they_were_read_from(plain, peers):
    # As dcmread(BytesIO(part)) keeps the part as `buffer`, without holding the pixel data
    # twice; what the buffer reads back is the received file, and dcmread reads it alike.
    study_uid = peers.study["study_instance_uid"]
    series_uid = peers.study["series"][0]["series_instance_uid"]
    url = plain._url("ORTHANCA", "wadors", plain._series(study_uid, series_uid))
    parts = plain._session.get_parts("WADO-RS retrieve", url, [])
    datasets = plain.retrieve_series("ORTHANCA", study_uid, series_uid)
    by_uid = {pydicom.dcmread(BytesIO(p)).SOPInstanceUID: p for p in parts}
    assert len(datasets) == len(by_uid) > 0
    for ds in datasets:
        assert ds.buffer.getvalue() == by_uid[ds.SOPInstanceUID]
        ds.buffer.seek(0)
        assert pydicom.dcmread(ds.buffer) == ds


def test_iter_series_without_pseudonym_returns_originals(plain, peers):
    study_uid = peers.study["study_instance_uid"]
    series = peers.study["series"][1]
    got = list(plain.iter_series("ORTHANCA", study_uid, series["series_instance_uid"]))
    assert sorted(ds.SOPInstanceUID for ds in got) == sorted(series["sop_instance_uids"])
    assert all(ds.PatientID == peers.patient["patient_id"] for ds in got)


def test_abandoned_iterator_does_not_block_the_next_call(plain, peers):
    study_uid = peers.study["study_instance_uid"]
    iterator = plain.iter_study("ORTHANCA", study_uid)
    next(iterator)
    iterator.close()
    assert len(plain.retrieve_study("ORTHANCA", study_uid)) == peers.n_instances


def test_store_images(trial, peers):
    files = sorted(peers.files.rglob("*.dcm"))
    assert len(files) == 3
    images = [pydicom.dcmread(f) for f in files]
    result = trial.store_images("ORTHANCB", images)
    assert isinstance(result, pydicom.Dataset)
    assert len(result.ReferencedSOPSequence) == len(images)
    assert "FailedSOPSequence" not in result
    study_uid = images[0].StudyInstanceUID
    found = trial.search_for_studies("ORTHANCB", {"StudyInstanceUID": study_uid})
    assert [s.StudyInstanceUID for s in found] == [study_uid]


def test_http_errors_name_status_and_operation(trial, peers):
    with pytest.raises(HttpStatusError) as unknown_node:
        trial.search_for_studies("NOSUCHNODE")
    assert unknown_node.value.args[1] == 404
    assert "QIDO-RS" in str(unknown_node.value) and "NOSUCHNODE" in str(unknown_node.value)
    with pytest.raises(HttpStatusError) as bad_key:
        trial.search_for_studies("ORTHANCA", {"NoSuchKeyword": "1"})
    assert bad_key.value.args[1] == 400
    with pytest.raises(HttpStatusError) as bad_pseudonym:
        trial.retrieve_study("ORTHANCA", peers.study["study_instance_uid"], pseudonym="BAD*")
    assert bad_pseudonym.value.args[1] == 400


def test_wrong_token_is_rejected(server):
    with pytest.raises(HttpStatusError) as e:
        AditClient(server.url, "not-a-token").search_for_studies("ORTHANCA")
    assert e.value.args[1] in (401, 403)


def test_unreachable_server_is_a_connection_error():
    with socket_closed_port() as port:
        client = AditClient(f"http://127.0.0.1:{port}", "t")
        with pytest.raises(PeerConnectionError) as e:
            client.search_for_studies("ORTHANCA")
    assert f"127.0.0.1:{port}" in str(e.value)


def test_signatures_match_adit_client_052():
    sig = inspect.signature(AditClient.__init__)
    assert list(sig.parameters) == [
        "self", "server_url", "auth_token", "verify", "trial_protocol_id", "trial_protocol_name",
    ]  # fmt: skip
    assert list(inspect.signature(AditClient.retrieve_image).parameters) == [
        "self", "ae_title", "study_uid", "series_uid", "image_uid", "pseudonym",
    ]  # fmt: skip


class socket_closed_port:
    """A loopback port nothing listens on (bound, then closed)."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    def __exit__(self, *exc) -> None:
        return None
