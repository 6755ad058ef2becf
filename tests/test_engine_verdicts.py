"""The engine check judges the same claims on each engine's runs and counts where the verdicts part."""

from __future__ import annotations

import os

import pandas as pd
import pytest
import script_module
from synthetic import LIGHT_CLAIMS, LIGHT_ROWS, light_runs

from nslib.stats.register import PAPER, TUNED


@pytest.fixture(scope="module")
def script():
    return script_module.load("engine_verdicts")



def test_a_claim_whose_verdict_moves_with_the_engine_is_counted_at_its_budget_and_one_that_does_not_is_not(script):
    # Paper budget: GELU 0.02 above ReLU with both engines. Tuned: compiled 0.02 above, holds; torch 0.0, equivalent.
    runs = {"compiled": {PAPER: light_runs(0.02), TUNED: light_runs(0.02)},
            "torch": {PAPER: light_runs(0.02), TUNED: light_runs(0.0)}}
    table = script.compare(LIGHT_CLAIMS, runs, LIGHT_ROWS).set_index(["id", "budget"])
    gelu, silu = table.loc[("03-X-light-gelu", TUNED)], table.loc[("03-X-light-silu", TUNED)]
    assert (gelu["compiled_verdict"], gelu["torch_verdict"], gelu["same"]) == ("holds", "equivalent", False)
    assert gelu["compiled_mean"] == pytest.approx(0.02) and gelu["torch_mean"] == pytest.approx(0.0)
    # Two metrics (AUC and accuracy) x three margins: the verdicts part under every one of them.
    assert (gelu["choices_differing"], gelu["choices"]) == (6, 6)
    assert bool(silu["same"]) and silu["choices_differing"] == 0
    paper = table.loc[("03-X-light-gelu", PAPER)]
    assert bool(paper["same"]) and paper["choices_differing"] == 0 and paper["torch_verdict"] == "holds"


def test_the_largest_run_difference_is_taken_over_the_same_runs_per_budget(script):
    largest = script.run_differences({"compiled": {PAPER: light_runs(0.02), TUNED: light_runs(0.02)},
                                      "torch": {PAPER: light_runs(0.015), TUNED: light_runs(0.02)}})
    assert largest.loc[PAPER, "auc"] == pytest.approx(0.005) and largest.loc[PAPER, "acc"] == pytest.approx(0.005)
    assert largest.loc[TUNED, "auc"] == 0.0


def test_the_table_goes_between_the_pages_markers_and_nowhere_else(script, tmp_path):
    doc = tmp_path / "page.md"
    doc.write_text("# Title\n\nbefore\n<!-- engine-verdicts:start -->\nold\n<!-- engine-verdicts:end -->\nafter\n")
    both = {"compiled": {PAPER: light_runs(0.02), TUNED: light_runs(0.02)},
            "torch": {PAPER: light_runs(0.0), TUNED: light_runs(0.02)}}
    script.write_doc(script.compare(LIGHT_CLAIMS, both, LIGHT_ROWS), script.run_differences(both), doc)
    text = doc.read_text()
    assert text.startswith("# Title\n\nbefore\n<!-- engine-verdicts:start -->\n| id") and text.endswith("after\n")
    lines = [" ".join(line.split()) for line in text.splitlines()]  # the table's cells without their padding
    assert "| 03-X-light-gelu | paper | +0.0200 | holds | +0.0000 | equivalent | 6 of 6 |" in lines
    assert "| 03-X-light-gelu | tuned | +0.0200 | holds | +0.0200 | holds | 0 of 6 |" in lines
    assert "At the paper budget, 1 of 2 verdicts differ between the engines" in text
    assert "At the tuned budget, 0 of 2 verdicts differ" in text and "0.0200 AUC" in text and "old" not in lines


@pytest.mark.skipif(not os.environ.get("NSLIB_DATA_MIRROR"), reason="needs the data (NSLIB_DATA_MIRROR)")
def test_the_check_runs_end_to_end_on_the_quick_profile_at_both_budgets(script, tmp_path, monkeypatch):
    monkeypatch.setenv("NSLIB_DERIVED_DIR", str(tmp_path))
    monkeypatch.setenv("NSLIB_ENGINE", "compiled")  # the check sets it; this puts it back afterwards
    table, largest = script.check("quick")
    ids = [claim.id for claims in script.efficiency.grid_families(script.DATASETS).values() for claim in claims]
    assert sorted(zip(table["id"], table["budget"])) == sorted((i, b) for i in ids for b in (PAPER, TUNED))
    assert list(largest.index) == [PAPER, TUNED] and (largest.to_numpy() >= 0).all()
    torch_runs = pd.read_csv(tmp_path / script.TORCH_STORE)
    assert set(torch_runs["device"]) == {"cpu (torch engine)"}
    assert torch_runs["epochs"].nunique() > 1  # the tuned budgets' epochs besides the paper's
