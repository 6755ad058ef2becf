"""The README's online path, end to end: data that differ from the committed reference run through.

A local web server on 127.0.0.1 serves files shaped like the three UCI downloads
but holding other rows; ``NSLIB_<NAME>_URL`` and ``NSLIB_<NAME>_SHA256`` point the
loaders at them, with checksums this test controls. The whole reproduce path
(every notebook, then the report) runs with the quick profile into a temporary
folder, without copying anything back.
"""

import hashlib
import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from nslib.core.paths import notebooks, reference_dir
from nslib.publish import reproduction

NAMES = {"HIGGS": "HIGGS.csv.gz", "FOREST_COVER": "covtype.data.gz", "SPAMBASE": "spambase.data"}


@pytest.mark.slow
def test_reproduce_runs_to_the_end_on_other_data_and_says_the_data_differ(uci_server, tmp_path):
    base, files = uci_server
    env = {key: value for key, value in os.environ.items() if not key.startswith("NSLIB_")}
    env["NSLIB_DATA_HOME"] = str(tmp_path / "raw")
    for name, file_name in NAMES.items():
        env[f"NSLIB_{name}_URL"] = f"{base}/{file_name}"
        env[f"NSLIB_{name}_SHA256"] = hashlib.sha256(files[file_name]).hexdigest()
    run_dir = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "nslib.publish.pipeline", "reproduce", "--run-dir", str(run_dir), "--profile", "quick"],
        env=env, capture_output=True, text=True, timeout=1200,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = (run_dir / "REPORT.md").read_text()
    assert "The data differ from the reference's for FOREST_COVER, HIGGS, SPAMBASE" in report
    data = reproduction.data_comparison(run_dir / "derived", reference_dir())
    assert data.loc[list(NAMES), "difference"].tolist() == ["other file"] * 3
    for name in NAMES:
        assert data.loc[name, "sha256 (run)"] in report
    # HIGGS is streamed and only its first rows are kept, so its fingerprint is theirs, not the whole file's.
    for name in ("FOREST_COVER", "SPAMBASE"):
        assert hashlib.sha256(files[NAMES[name]]).hexdigest().startswith(data.loc[name, "sha256 (run)"])
    runs = pd.read_csv(run_dir / "derived" / "runs.csv")
    assert len(runs) > 0 and (runs["status"] == "ok").all()
    assert "runs: " + str(len(runs)) + " trained now, 0 resumed" in result.stdout
    assert "Not copied back" in result.stdout
    timings = json.loads((run_dir / "derived" / "timings.json").read_text())
    assert [row["notebook"] for row in timings["notebooks"]] == [path.name for path in notebooks()]
    assert sum(row["runs_trained"] for row in timings["notebooks"]) == timings["runs"]["trained"] == len(runs)
    assert set(timings["data"]) == set(NAMES) and timings["machine"]["cores"] >= 1
    executed = sorted(path.name for path in (run_dir / "notebooks").glob("*.ipynb"))
    assert executed == [path.name for path in notebooks()]
