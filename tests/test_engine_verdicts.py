"""The engine check judges the same claims on each engine's runs and counts where the verdicts part."""

from __future__ import annotations

import os

import pandas as pd
import pytest
import script_module

from nslib.stats.register import PAPER, TUNED, Claim

SEEDS = range(42, 52)
WIGGLE = [0.001, -0.001] * 5  # seed-to-seed noise with mean exactly 0
CLAIMS = {"03_training": [Claim("03-X-light-gelu", "Light GELU beats Light ReLU", "X", "Light GELU", "Light ReLU"),
                          Claim("03-X-light-silu", "Light SiLU beats Light ReLU", "X", "Light SiLU", "Light ReLU")]}
ROWS = {"X": 5000}


@pytest.fixture(scope="module")
def script():
    return script_module.load("engine_verdicts")


def runs(gelu: float) -> pd.DataFrame:
    """Light ReLU at 0.80 AUC and accuracy, SiLU 0.02 above it, GELU ``gelu`` above it, on ten seeds."""
    return pd.DataFrame([{"key": f"{config}-{seed}", "dataset": "X", "config": config, "seed": seed, "params": 1000,
                          "auc": 0.80 + gain + sign * w, "acc": 0.80 + gain + sign * w, "status": "ok"}
                         for config, gain, sign in (("Light ReLU", 0.0, 1), ("Light SiLU", 0.02, -1),
                                                    ("Light GELU", gelu, -1))
                         for seed, w in zip(SEEDS, WIGGLE)])


def test_a_claim_whose_verdict_moves_with_the_engine_is_counted_at_its_budget_and_one_that_does_not_is_not(script):
    # Paper budget: GELU 0.02 above ReLU with both engines. Tuned: compiled 0.02 above, holds; torch 0.0, equivalent.
    table = script.compare(CLAIMS, {"compiled": {PAPER: runs(0.02), TUNED: runs(0.02)},
                                    "torch": {PAPER: runs(0.02), TUNED: runs(0.0)}}, ROWS).set_index(["id", "budget"])
    gelu, silu = table.loc[("03-X-light-gelu", TUNED)], table.loc[("03-X-light-silu", TUNED)]
    assert (gelu["compiled_verdict"], gelu["torch_verdict"], gelu["same"]) == ("holds", "equivalent", False)
    assert gelu["compiled_mean"] == pytest.approx(0.02) and gelu["torch_mean"] == pytest.approx(0.0)
    # Two metrics (AUC and accuracy) x three margins: the verdicts part under every one of them.
    assert (gelu["choices_differing"], gelu["choices"]) == (6, 6)
    assert bool(silu["same"]) and silu["choices_differing"] == 0
    paper = table.loc[("03-X-light-gelu", PAPER)]
    assert bool(paper["same"]) and paper["choices_differing"] == 0 and paper["torch_verdict"] == "holds"


def test_the_largest_run_difference_is_taken_over_the_same_runs_per_budget(script):
    largest = script.run_differences({"compiled": {PAPER: runs(0.02), TUNED: runs(0.02)},
                                      "torch": {PAPER: runs(0.015), TUNED: runs(0.02)}})
    assert largest.loc[PAPER, "auc"] == pytest.approx(0.005) and largest.loc[PAPER, "acc"] == pytest.approx(0.005)
    assert largest.loc[TUNED, "auc"] == 0.0


def test_the_table_goes_between_the_pages_markers_and_nowhere_else(script, tmp_path):
    doc = tmp_path / "page.md"
    doc.write_text("# Title\n\nbefore\n<!-- engine-verdicts:start -->\nold\n<!-- engine-verdicts:end -->\nafter\n")
    both = {"compiled": {PAPER: runs(0.02), TUNED: runs(0.02)}, "torch": {PAPER: runs(0.0), TUNED: runs(0.02)}}
    script.write_doc(script.compare(CLAIMS, both, ROWS), script.run_differences(both), doc)
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
