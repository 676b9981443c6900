"""The same AditClient calls, printed as one JSON document: run once with this package's
`adit_client` and once with the original `adit-client` 0.52 (in its own venv) by
test_side_by_side.py, which compares the two outputs.

Usage: python same_calls.py URL TOKEN AE STUDY_UID SERIES_UID IMAGE_UID PATIENT_ID
"""

import json
import sys

from adit_client import AditClient


def dump(ds):
    """A dataset as DICOM JSON, with the transfer syntax it came in."""
    out = ds.to_json_dict()
    meta = getattr(ds, "file_meta", None)
    if meta is not None and "TransferSyntaxUID" in meta:
        out["transfer_syntax"] = str(meta.TransferSyntaxUID)
    return out


def by_uid(items, key):
    return sorted(items, key=lambda item: item[key]["Value"][0] if key in item else "")


def main():
    url, token, ae, study, series, image, patient_id = sys.argv[1:8]
    trial = AditClient(url, token, trial_protocol_id="TRIAL-S", trial_protocol_name="Side")
    plain = AditClient(url, token)
    sop = "00080018"
    result = {
        "studies": by_uid(
            [dump(d) for d in plain.search_for_studies(ae, {"PatientID": patient_id})], "0020000D"
        ),
        "series": by_uid([dump(d) for d in plain.search_for_series(ae, study)], "0020000E"),
        "images": by_uid([dump(d) for d in plain.search_for_images(ae, study, series)], sop),
        "retrieve_study": by_uid(
            [dump(d) for d in trial.retrieve_study(ae, study, pseudonym="SBS-1")], sop
        ),
        "retrieve_series": by_uid(
            [dump(d) for d in trial.retrieve_series(ae, study, series, pseudonym="SBS-1")], sop
        ),
        "retrieve_image": dump(trial.retrieve_image(ae, study, series, image, pseudonym="SBS-1")),
        "study_metadata": by_uid(trial.retrieve_study_metadata(ae, study, pseudonym="SBS-1"), sop),
        "series_metadata": by_uid(
            trial.retrieve_series_metadata(ae, study, series, pseudonym="SBS-1"), sop
        ),
        "image_metadata": trial.retrieve_image_metadata(ae, study, series, image),
        # Without pseudonym and trial: adit-client 0.52 drops them in iter_* (its bug).
        "iter_study": by_uid([dump(d) for d in plain.iter_study(ae, study)], sop),
        "iter_series": by_uid([dump(d) for d in plain.iter_series(ae, study, series)], sop),
    }
    json.dump(result, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main()
