"""The engine check judges the same claims on each engine's runs and counts where the verdicts part."""

from __future__ import annotations

import pandas as pd
import pytest
import script_module

from nslib.stats.register import Claim

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


def test_a_claim_whose_verdict_moves_with_the_engine_is_counted_and_one_that_does_not_is_not(script):
    # Compiled: GELU 0.02 above ReLU, holds; torch: 0.0 apart, equivalent. SiLU is the same in both.
    table = script.compare(CLAIMS, {"compiled": runs(0.02), "torch": runs(0.0)}, ROWS).set_index("id")
    gelu, silu = table.loc["03-X-light-gelu"], table.loc["03-X-light-silu"]
    assert (gelu["compiled_verdict"], gelu["torch_verdict"], gelu["same"]) == ("holds", "equivalent", False)
    assert gelu["compiled_mean"] == pytest.approx(0.02) and gelu["torch_mean"] == pytest.approx(0.0)
    # Two metrics (AUC and accuracy) x three margins: the verdicts part under every one of them.
    assert (gelu["choices_differing"], gelu["choices"]) == (6, 6)
    assert bool(silu["same"]) and silu["choices_differing"] == 0


def test_the_largest_run_difference_is_taken_over_the_same_runs(script):
    largest = script.run_differences({"compiled": runs(0.02), "torch": runs(0.015)})
    assert largest["auc"] == pytest.approx(0.005) and largest["acc"] == pytest.approx(0.005)


def test_the_table_goes_between_the_pages_markers_and_nowhere_else(script, tmp_path):
    doc = tmp_path / "page.md"
    doc.write_text("# Title\n\nbefore\n<!-- engine-verdicts:start -->\nold\n<!-- engine-verdicts:end -->\nafter\n")
    table = script.compare(CLAIMS, {"compiled": runs(0.02), "torch": runs(0.0)}, ROWS)
    script.write_doc(table, pd.Series({"auc": 0.02, "acc": 0.02}), doc)
    text = doc.read_text()
    assert text.startswith("# Title\n\nbefore\n<!-- engine-verdicts:start -->\n| id") and text.endswith("after\n")
    lines = [" ".join(line.split()) for line in text.splitlines()]  # the table's cells without their padding
    assert "| 03-X-light-gelu | +0.0200 | holds | +0.0000 | equivalent | 6 of 6 |" in lines
    assert "1 of 2 verdicts differ between the engines" in text and "old" not in lines
