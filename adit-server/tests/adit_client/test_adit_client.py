"""The real `adit-client` 0.52 (PyPI) against a running `adit web`.

Run by adit-server/tests/adit_client.rs, which starts Orthanc peers and the server, creates the
venv and passes everything through the environment. Exits non-zero on the first failed check.
"""

import glob
import os
import sys

import pydicom
import requests
from adit_client import AditClient

URL = os.environ["ADIT_URL"]
TOKEN = os.environ["ADIT_TOKEN"]
SOURCES = os.environ["ADIT_SOURCES"].split(",")
DEST = os.environ["ADIT_DEST"]
STUDY_UID = os.environ["STUDY_UID"]
PATIENT_ID = os.environ["PATIENT_ID"]
PATIENT_NAME = os.environ["PATIENT_NAME"]
N_SERIES = int(os.environ["N_SERIES"])
N_INSTANCES = int(os.environ["N_INSTANCES"])
UPLOAD_DIR = os.environ["UPLOAD_DIR"]
PSEUDONYM = "SUBJ-42"


def expect_status(status, call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except requests.HTTPError as e:
        assert e.response.status_code == status, (e.response.status_code, e.response.text)
        return
    raise AssertionError(f"expected HTTP {status} from {call.__name__}{args}")


def check_source(client, plain, source):
    studies = client.search_for_studies(source, {"PatientID": PATIENT_ID})
    assert STUDY_UID in [s.StudyInstanceUID for s in studies], studies
    series = client.search_for_series(source, STUDY_UID)
    assert len(series) == N_SERIES, series
    series_uid = series[0].SeriesInstanceUID
    images = client.search_for_images(source, STUDY_UID, series_uid)
    assert len(images) >= 1, images
    image_uid = images[0].SOPInstanceUID

    datasets = client.retrieve_study(source, STUDY_UID, pseudonym=PSEUDONYM)
    assert len(datasets) == N_INSTANCES, len(datasets)
    for ds in datasets:
        assert ds.PatientID == PSEUDONYM, ds.PatientID
        assert str(ds.PatientName) != PATIENT_NAME, ds.PatientName
        assert ds.StudyInstanceUID != STUDY_UID
        assert ds.ClinicalTrialProtocolID == "TRIAL-1"
        assert ds.ClinicalTrialProtocolName == "Trial One"
        assert ds.pixel_array.size > 0

    metadata = client.retrieve_study_metadata(source, STUDY_UID, pseudonym=PSEUDONYM)
    assert len(metadata) == N_INSTANCES
    for item in metadata:
        assert "7FE00010" not in item
        assert item["00100020"]["Value"][0] == PSEUDONYM

    series_datasets = client.retrieve_series(source, STUDY_UID, series_uid, pseudonym=PSEUDONYM)
    assert all(ds.PatientID == PSEUDONYM for ds in series_datasets)
    image = client.retrieve_image(source, STUDY_UID, series_uid, image_uid, pseudonym=PSEUDONYM)
    assert image.PatientID == PSEUDONYM
    image_metadata = client.retrieve_image_metadata(
        source, STUDY_UID, series_uid, image_uid, pseudonym=PSEUDONYM
    )
    assert image_metadata["00100020"]["Value"][0] == PSEUDONYM

    # Without pseudonym and trial: the original data.
    originals = plain.retrieve_series(source, STUDY_UID, series_uid)
    assert all(ds.PatientID == PATIENT_ID for ds in originals)
    assert sum(1 for _ in plain.iter_study(source, STUDY_UID)) == N_INSTANCES

    # ADIT's bugs fixed: 400 for an unknown key and for a bad pseudonym.
    expect_status(400, client.search_for_studies, source, {"NoSuchKeyword": "1"})
    expect_status(400, client.retrieve_study, source, STUDY_UID, pseudonym="BAD*")


def main():
    client = AditClient(URL, TOKEN, trial_protocol_id="TRIAL-1", trial_protocol_name="Trial One")
    plain = AditClient(URL, TOKEN)
    for source in SOURCES:
        check_source(client, plain, source)
        print(f"adit-client: search/retrieve through {source} ok", flush=True)

    expect_status(404, client.search_for_studies, "NOSUCHNODE")

    files = sorted(glob.glob(os.path.join(UPLOAD_DIR, "**", "*.dcm"), recursive=True))
    assert files, UPLOAD_DIR
    images = [pydicom.dcmread(f) for f in files]
    result = client.store_images(DEST, images)
    assert len(result.ReferencedSOPSequence) == len(images), result
    assert "FailedSOPSequence" not in result, result
    uploaded = {ds.StudyInstanceUID for ds in images}
    for study_uid in uploaded:
        found = client.search_for_studies(DEST, {"StudyInstanceUID": study_uid})
        assert len(found) == 1, found
    print(f"adit-client: stored {len(images)} images through {DEST} ok", flush=True)
    print("adit-client: all checks passed", flush=True)


if __name__ == "__main__":
    try:
        main()
    except Exception:
        import traceback

        traceback.print_exc()
        sys.exit(1)
