"""Benchmarks of the Python module (adit-py) against the Python tools it replaces:

1. retrieving a 1000-instance study through `adit web` (Orthanc behind it, DIMSE node) with
   our `adit_client.AditClient` vs the original `adit-client` 0.52;
2. pseudonymizing 1000 files with `adit_rs.Pseudonymizer` (1 thread and all cores) vs
   `dicognito`.

Run with scripts/bench-python (builds and installs the wheel, creates both venvs, starts the
peers). Each figure is the median of RUNS runs; prints a Markdown table for docs/benchmarks.md.

Usage: python adit_py_bench.py ORIGINAL_PYTHON [SERIES INSTANCES SIZE RUNS [NODE]]

NODE is the server's node the study is retrieved from: `ORTHANCA` (default; Orthanc as a
DIMSE node, the server fetches by C-GET) or `source-web` (the same Orthanc as a DICOMweb node,
the server fetches by WADO-RS).
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "adit-py" / "tests"))

from fixtures import run_peers, run_server  # noqa: E402

CALLS = HERE / "adit_py_calls.py"


def timed(python, *args):
    # File benchmarks start from an empty output folder, and every run starts with no dirty
    # pages left by the run before: otherwise the kernel's write-back of one tool's output
    # competes for the CPU with the next tool (the CLI benchmark syncs the same way).
    if args[0] in ("dicognito", "pseudonymize"):
        shutil.rmtree(args[2], ignore_errors=True)
    os.sync()
    out = subprocess.run(
        [str(python), str(CALLS), *map(str, args)], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"{args[0]} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def median_of(runs, python, *args):
    results = [timed(python, *args) for _ in range(runs)]
    return statistics.median(r["seconds"] for r in results), results[0]["count"]


def main():
    original = Path(sys.argv[1])
    series, instances, size, runs = (int(a) for a in (sys.argv[2:6] or [10, 100, 128, 3]))
    node = sys.argv[6] if len(sys.argv) > 6 else "ORTHANCA"
    ours = Path(sys.executable)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        with run_peers(
            tmp / "files",
            f"series={series}",
            f"instances={instances}",
            f"size={size}",
            f"file-instances={series * instances}",
        ) as peers, run_server(peers, tmp / "adit") as server:
            study = peers.study["study_instance_uid"]
            # Warm up Orthanc's and the server's caches once for both sides.
            timed(ours, "retrieve", server.url, server.token, node, study)
            t_ours, n_ours = median_of(
                runs, ours, "retrieve", server.url, server.token, node, study
            )
            t_orig, n_orig = median_of(
                runs, original, "retrieve", server.url, server.token, node, study
            )
            t_parts, n_parts = median_of(
                runs, ours, "parts", server.url, server.token, node, study
            )
            assert n_ours == n_orig == n_parts == series * instances, (n_ours, n_orig, n_parts)
            rows.append((f"retrieve_study via adit web from {node}", n_ours, "adit-client 0.52", t_orig, t_ours))
            t_retrieve = t_ours

            files = peers.files
            t_dico, n_dico = median_of(runs, original, "dicognito", files, tmp / "dicognito")
            t_one, n_one = median_of(runs, ours, "pseudonymize", files, tmp / "ours1", 1)
            t_all, n_all = median_of(runs, ours, "pseudonymize", files, tmp / "ours", 0)
            assert n_dico == n_one == n_all == series * instances, (n_dico, n_one, n_all)
            rows.append(("pseudonymize files, 1 thread", n_one, "dicognito", t_dico, t_one))
            rows.append(("pseudonymize files, all cores", n_all, "dicognito", t_dico, t_all))

    print(f"| operation | instances ({size}×{size}) | reference | reference s | adit-py s | ratio |")
    print("|---|---|---|---|---|---|")
    for name, n, ref, t_ref, t_ours in rows:
        print(f"| {name} | {n} | {ref} | {t_ref:.2f} | {t_ours:.2f} | {t_ref / t_ours:.1f}× |")
    print(
        f"\nOf the retrieve, HTTP and multipart alone (HttpSession.get_parts, bytes only): "
        f"{t_parts:.2f} s (retrieve_study: {t_retrieve:.2f} s)."
    )


if __name__ == "__main__":
    main()
