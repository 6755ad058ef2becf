"""The controlled family of shapes: its formulas, their measured shapes, the paired gains and the figure."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch

from nslib.experiments import shape_family
from nslib.formulas.activations import activation_label, activation_module


@pytest.mark.parametrize("kind, function", [("cos", torch.cos), ("sin", torch.sin)])
@pytest.mark.parametrize("w", [0.5, 1.0, 4.0])
def test_a_wave_is_its_function_at_its_frequency(kind: str, function, w: float) -> None:
    x = torch.linspace(-3, 3, 101)
    got = activation_module(shape_family.wave(kind, w))(x)
    assert torch.allclose(got, function(w * x), atol=1e-6)


def test_the_family_is_every_wave_at_every_frequency_then_the_references() -> None:
    table = shape_family.members((0.5, 1.0), {"HIGGS formula": "sub(cos(x), cos(abs(cos(x))))"})
    assert table["formula"].tolist() == ["cos(mul(0.5, x))", "cos(x)", "sin(mul(0.5, x))", "sin(x)",
                                         "sub(cos(x), cos(abs(cos(x))))"]
    assert math.isnan(table["w"].iloc[-1])
    configs = shape_family.family_configs(["SPAMBASE"], (1.0,))
    assert configs == [("SPAMBASE", "light", "cos(x)", None), ("SPAMBASE", "light", "sin(x)", None)]
    with pytest.raises(ValueError, match="tanh"):
        shape_family.wave("tanh", 1.0)
    with pytest.raises(ValueError, match="positive frequency"):
        shape_family.wave("cos", 0)


@pytest.mark.parametrize("formula, turning_points", [
    # Worked by hand on [-3, 3]: cos(w x) turns at k pi / w, sin(w x) at (k + 1/2) pi / w.
    ("cos(mul(0.5, x))", 1), ("cos(x)", 1), ("cos(mul(2, x))", 3), ("cos(mul(4, x))", 7),
    ("sin(mul(0.5, x))", 0), ("sin(x)", 2), ("sin(mul(2, x))", 4), ("sin(mul(4, x))", 8),
    ("relu", 0), ("x", 0), ("mul(cos(x), x)", 2),  # x tan(x) = 1 at +-0.86 (and +-3.43, outside)
])
def test_turning_points_are_counted_where_batchnorm_puts_the_inputs(formula: str, turning_points: int) -> None:
    assert shape_family.shape_properties(formula)["turning_points"] == turning_points


def test_the_range_is_measured_on_the_span() -> None:
    shape = shape_family.shape_properties("sub(cos(x), cos(abs(cos(x))))")
    assert shape["high"] == pytest.approx(1 - math.cos(1), abs=1e-9)  # at zero
    assert shape["low"] == pytest.approx(math.cos(3) - math.cos(abs(math.cos(3))), abs=1e-6)  # at the ends


def _runs(gain: float, noise: np.ndarray) -> pd.DataFrame:
    """Light ReLU and cos(x) on ten seeds, cos(x) ahead by ``gain`` plus ``noise``."""
    seeds = range(42, 52)
    base = np.linspace(0.80, 0.85, 10)
    rows = [{"key": f"relu-{s}", "dataset": "SYN", "arch": "light", "activation": activation_label("relu"),
             "seed": s, "auc": b, "status": "ok"} for s, b in zip(seeds, base)]
    rows += [{"key": f"cos-{s}", "dataset": "SYN", "arch": "light", "activation": activation_label("cos(x)"),
              "seed": s, "auc": b + gain + e, "status": "ok"} for s, b, e in zip(seeds, base, noise)]
    return pd.DataFrame(rows)


def test_a_gain_is_the_mean_paired_difference_with_the_corrected_interval() -> None:
    noise = np.array([0.002, -0.002] * 5)
    table = shape_family.gains(_runs(0.01, noise), shape_family.members((1.0,))[:1], ["SYN"], {"SYN": 1000}, "tuned")
    row = table.iloc[0]
    assert row["gain"] == pytest.approx(0.01) and row["n_seeds"] == 10 and row["budget"] == "tuned"
    # sd of the differences 0.002 * sqrt(10/9); corrected se sqrt(1/10 + 200/800) * sd; t(0.975, 9) = 2.2622
    half = 2.2622 * math.sqrt(0.1 + 0.25) * 0.002 * math.sqrt(10 / 9)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((0.01 - half, 0.01 + half), abs=1e-5)
    assert row["turning_points"] == 1


def test_a_gain_without_spread_has_no_interval_and_a_missing_shape_is_named() -> None:
    table = shape_family.gains(_runs(0.01, np.zeros(10)), shape_family.members((1.0,))[:1], ["SYN"], {"SYN": 1000},
                               "paper")
    assert table["gain"].iloc[0] == pytest.approx(0.01) and np.isnan(table["ci_low"].iloc[0])
    with pytest.raises(ValueError, match=r"sin\(x\)"):
        shape_family.gains(_runs(0.01, np.zeros(10)), shape_family.members((1.0,)), ["SYN"], {"SYN": 1000}, "paper")


def test_the_figure_has_a_panel_per_data_set_and_budget() -> None:
    noise = np.array([0.002, -0.002] * 5)
    runs = _runs(0.01, noise)
    one = shape_family.gains(runs, shape_family.members((1.0,))[:1], ["SYN"], {"SYN": 1000}, "paper")
    both = pd.concat([one, one.assign(budget="tuned")], ignore_index=True)
    table = pd.concat([both, both.assign(dataset="OTHER")], ignore_index=True)
    fig = shape_family.plot_gains(table, "HIGGS formula")
    assert len(fig.axes) == 4 and {ax.get_title() for ax in fig.axes} >= {"SYN, paper budget", "OTHER, tuned budget"}
    plt.close(fig)


def test_the_wide_table_says_where_a_gain_has_no_interval_or_no_runs() -> None:
    table = pd.DataFrame({"dataset": ["SYN"] * 3, "budget": ["tuned"] * 3, "shape": ["cos", "sin", "HIGGS formula"],
                          "w": [1.0, 2.0, np.nan], "turning_points": [1, 4, 1], "gain": [0.01, np.nan, 0.02],
                          "ci_low": [np.nan, np.nan, 0.01], "ci_high": [np.nan, np.nan, 0.03]})
    wide = shape_family.wide_table(table)
    assert wide.columns.tolist() == ["shape", "turning points", "SYN, tuned budget"]
    assert wide["SYN, tuned budget"].tolist() == ["+0.0100 (no spread)", "-", "+0.0200 [+0.0100, +0.0300]"]
    assert wide["shape"].tolist() == ["cos(x)", "sin(2x)", "HIGGS formula"]
