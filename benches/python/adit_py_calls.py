"""One timed side of the Python benchmarks (run by adit_py_bench.py in either venv).

  python adit_py_calls.py retrieve URL TOKEN AE STUDY_UID    -> AditClient.retrieve_study
  python adit_py_calls.py parts URL TOKEN AE STUDY_UID       -> its HTTP part only (bytes)
  python adit_py_calls.py dicognito INPUT OUTPUT             -> dicognito, file by file
  python adit_py_calls.py pseudonymize INPUT OUTPUT THREADS  -> adit_rs.Pseudonymizer

Prints one JSON line: {"seconds": ..., "count": ...}.
"""

import json
import sys
import time
from pathlib import Path


def retrieve(url, token, ae, study_uid):
    from adit_client import AditClient

    client = AditClient(url, token)
    start = time.perf_counter()
    datasets = client.retrieve_study(ae, study_uid)
    return time.perf_counter() - start, len(datasets)


def parts(url, token, ae, study_uid):
    """What retrieve_study costs without building Datasets: HTTP and multipart in Rust."""
    from adit_client import AditClient

    client = AditClient(url, token)
    start = time.perf_counter()
    bodies = client._session.get_parts(
        "WADO-RS retrieve", client._url(ae, "wadors", client._study(study_uid)), []
    )
    return time.perf_counter() - start, len(bodies)


def dicognito(input_dir, output_dir):
    import pydicom
    from dicognito.anonymizer import Anonymizer

    files = sorted(Path(input_dir).rglob("*.dcm"))
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    anonymizer = Anonymizer()
    start = time.perf_counter()
    for i, f in enumerate(files):
        ds = pydicom.dcmread(f)
        anonymizer.anonymize(ds)
        ds.save_as(out / f"{i}.dcm")
    return time.perf_counter() - start, len(files)


def pseudonymize(input_dir, output_dir, threads):
    from adit_rs import Pseudonymizer

    p = Pseudonymizer("benchmark secret")
    start = time.perf_counter()
    report = p.pseudonymize_path(input_dir, output_dir, layout="mirror", threads=int(threads))
    return time.perf_counter() - start, report["written"]


if __name__ == "__main__":
    what, *args = sys.argv[1:]
    seconds, count = {"retrieve": retrieve, "parts": parts, "dicognito": dicognito, "pseudonymize": pseudonymize}[
        what
    ](*args)
    print(json.dumps({"seconds": seconds, "count": count}))
