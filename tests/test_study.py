"""``make study`` end to end: a headerless CSV with text labels, every notebook, and its report."""

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest


@pytest.mark.slow
def test_study_on_a_headerless_csv_with_text_labels_uses_every_row_and_judges_the_transfer(uci_server, tmp_path):
    rng = np.random.default_rng(3)
    rows = 1200
    X = rng.normal(size=(rows, 6)).round(4)
    label = np.where(X[:, 0] - X[:, 3] + 0.3 * rng.normal(size=rows) > 0, "M", "B")
    csv = tmp_path / "tumours.data"
    # No header row: the first line is data and must not be lost.
    pd.DataFrame(X).assign(label=label).to_csv(csv, header=False, index=False)
    env = {key: value for key, value in os.environ.items() if not key.startswith("NSLIB_")}
    env.update(NSLIB_HIGGS_URL=f"{uci_server[0]}/HIGGS.csv.gz", NSLIB_DATA_HOME=str(tmp_path / "raw"))
    result = subprocess.run(
        [sys.executable, "-m", "nslib.publish.pipeline", "study", "--csv", str(csv), "--label", "-1",
         "--positive", "M", "--name", "pytest-study", "--profile", "quick", "--fresh"],
        env=env, capture_output=True, text=True, timeout=1200,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    from nslib.core.paths import PROJECT_ROOT

    run_dir = PROJECT_ROOT / "build" / "study" / "pytest-study"
    report = (run_dir / "REPORT.md").read_text()
    data = pd.read_csv(run_dir / "derived" / "datasets.csv").set_index("dataset")
    name = next(index for index in data.index if index != "HIGGS")
    assert data.loc[name, "rows used"] == rows
    register = pd.read_csv(run_dir / "derived" / "claims.csv")
    mine = register[register["dataset"] == name]
    for rival in ("ReLU", "GELU", "SiLU"):
        assert mine["claim"].str.contains(f"Transfer \\(HIGGS\\) beats Light {rival}").any(), mine
    assert set(mine["verdict_paper_budget"]) <= {"holds", "does not hold", "equivalent", "cannot tell"}
    assert "The questions, judged" in report and "holds no row" not in report
    assert "gradient boosting" in report
    assert (run_dir / "derived" / "timings.json").exists()


def test_study_report_opens_with_the_compendiums_version(tmp_path):
    from nslib import __version__
    from nslib.publish import study_report

    (tmp_path / "derived").mkdir()
    pd.DataFrame({"dataset": ["MINE"], "source": ["/home/me/mine.csv"], "rows used": [150.0]}).to_csv(
        tmp_path / "derived" / "datasets.csv", index=False)
    text = study_report.write_report(tmp_path, "MINE", ["File `mine.csv`"]).read_text()
    assert text.splitlines()[2] == f"nsa-compendium {__version__} (cite it with `CITATION.cff`)."
    assert "- source: mine.csv" in text and "- rows used: 150" in text
