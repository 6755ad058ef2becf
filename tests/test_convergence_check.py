"""The convergence check widens the tuning search and reports how far each tuned mean moves."""

from __future__ import annotations

import os

import pandas as pd
import pytest
import script_module

from nslib.experiments.profiles import get_profile


@pytest.fixture(scope="module")
def script():
    return script_module.load("convergence_check")


def test_the_wider_search_doubles_cap_and_patience_and_adds_a_learning_rate_on_each_side(script):
    wide = script.wider(get_profile("full"))
    assert wide.tune_lrs == (3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1)
    assert (wide.tune_epochs, wide.tune_patience, wide.tune_seeds) == (200, 20, (42, 43, 44))


def test_the_table_goes_between_the_pages_markers_and_nowhere_else(script, tmp_path):
    doc = tmp_path / "page.md"
    doc.write_text("# Title\n\nbefore\n<!-- convergence:start -->\nold\n<!-- convergence:end -->\nafter\n")
    table = pd.DataFrame({"config": ["Light ReLU", "Heavy ReLU"], "study_auc_mean": [0.93, 0.95],
                          "wider_auc_mean": [0.9312, 0.9489], "moved": [0.0012, -0.0011], "within": [True, True]})
    script.write_doc(table, doc)
    text = doc.read_text()
    assert text.startswith("# Title\n\nbefore\n<!-- convergence:start -->\n| config") and text.endswith("after\n")
    assert "\nold\n" not in text and "+0.0012" in text and "-0.0011" in text and "0.9312" in text
    assert "Largest move: 0.0012 AUC (tolerance 0.002); 2 of 2 configurations within it." in text


@pytest.mark.skipif(not os.environ.get("NSLIB_DATA_MIRROR"), reason="needs the data (NSLIB_DATA_MIRROR)")
def test_the_check_runs_end_to_end_on_the_quick_profile(script, tmp_path, monkeypatch):
    monkeypatch.setenv("NSLIB_DERIVED_DIR", str(tmp_path))
    table = script.check("quick")
    assert list(table["config"]) == ["Light ReLU", "Light GELU", "Light SiLU", "Transfer (HIGGS)"]
    assert table["study_auc_mean"].between(0.5, 1).all()
    assert (table["moved"] == table["wider_auc_mean"] - table["study_auc_mean"]).all()
    assert (table["within"] == (table["moved"].abs() <= 0.002)).all()
    # The wider search started one learning rate further out on each side, and trained past the study's cap.
    assert all({"0.0003", "0.03"} <= set(wide.split(";")) for wide in table["wider_lrs"])
    assert table["wider_epochs"].max() <= 12 and table["study_epochs"].max() <= 6
    assert (table["wider_minus_relu"] == table["wider_auc_mean"] - table["wider_auc_mean"][0]).all()
