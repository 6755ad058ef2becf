"""Why would a cosine transfer? A controlled family of shapes, trained like any activation.

The HIGGS formula ``sub(cos(x), cos(abs(cos(x))))`` is a bounded, even, periodic function of
``cos(x)``. Notebook 04 asks what its gain over Light ReLU on the transfer target is made of by
training one family whose members differ in one property at a time: ``cos(w x)`` (even, bounded,
never monotone) and ``sin(w x)`` (odd, bounded, monotone over most of BatchNorm's output when ``w``
is small) for the frequencies ``w`` of ``Profile.frequencies``. Each member is tuned and trained
like every other configuration, at the paper's budget and at the tuned one, and its gain over
Light ReLU is the paired difference over the same seeds, with the corrected resampled interval
the register uses (95%, one interval at a time: this section describes, it does not judge).

A member's shape is measured, not assumed (``shape_properties``): its turning points within
``SPAN`` standard deviations of zero, where BatchNorm puts nearly all of a unit's inputs, and its
range there. BatchNorm's learned scale comes before the activation, so ``w`` is where a network
starts, not a frequency it must keep.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from nslib.experiments import transfer
from nslib.experiments.paper_grid import Config
from nslib.formulas.activations import activation_module
from nslib.stats.register import split_sizes
from nslib.stats.significance import corrected_t, has_spread, interval

WAVES = ("cos", "sin")
SPAN = 3.0  # standard deviations either side of zero: 99.7% of a standardised unit's inputs
LEVEL = 0.95
FAMILY_FILE = "shape_family.csv"
HIGGS_LABEL = "HIGGS formula"  # the name notebook 04 gives the HIGGS formula among the references
COLUMNS = ["dataset", "budget", "shape", "w", "formula", "turning_points", "low", "high", "n_seeds", "gain",
           "ci_low", "ci_high"]


def wave(kind: str, w: float) -> str:
    """The formula of ``kind`` (``"cos"`` or ``"sin"``) at frequency ``w``: ``cos(x)`` at 1, else ``cos(mul(w, x))``."""
    if kind not in WAVES:
        raise ValueError(f"kind={kind!r} is not a wave of the family; use one of {list(WAVES)}.")
    if not w > 0:
        raise ValueError(f"w={w!r} must be a positive frequency, for example 2.0.")
    return f"{kind}(x)" if w == 1 else f"{kind}(mul({w:g}, x))"


def members(frequencies: Sequence[float], references: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The family: one row per wave and frequency, with its ``formula``; then each of ``references`` (a name, such as
    ``"HIGGS formula"``, and its formula) with no frequency."""
    waves = [{"shape": kind, "w": float(w), "formula": wave(kind, w)} for kind in WAVES for w in frequencies]
    named = [{"shape": name, "w": np.nan, "formula": formula} for name, formula in (references or {}).items()]
    return pd.DataFrame(waves + named)


def family_configs(targets: Sequence[str], frequencies: Sequence[float]) -> list[Config]:
    """Light configurations of every wave of the family on every data set of ``targets``."""
    return [(name, "light", formula, None) for name in targets for formula in members(frequencies)["formula"]]


def shape_properties(formula: str, span: float = SPAN, points: int = 60_001) -> dict[str, float]:
    """``formula``'s turning points (sign changes of its slope) on ``[-span, span]``, and its lowest and highest
    value there, measured on a grid of ``points`` values."""
    x = torch.linspace(-span, span, points, dtype=torch.float64)
    with torch.no_grad():
        y = activation_module(formula).double()(x).numpy()
    slope = np.sign(np.diff(y))
    slope = slope[slope != 0]  # a flat stretch (ReLU's left half) turns nothing
    return {"turning_points": int((slope[1:] != slope[:-1]).sum()), "low": float(y.min()), "high": float(y.max())}


def gains(
    runs: pd.DataFrame, shapes: pd.DataFrame, datasets: Sequence[str], rows: Mapping[str, int], budget: str,
    baseline: str = "relu",
) -> pd.DataFrame:
    """Each shape's (rows of ``shapes``: ``shape``, ``w``, ``formula``) gain in ROC AUC over Light ``baseline`` on each
    data set: the mean paired difference over the seeds where both ran, with its corrected ``LEVEL`` interval."""
    table = []
    for name in datasets:
        n_train, n_test = split_sizes(rows[name])
        for shape in shapes.itertuples():
            differences = transfer.seed_differences(runs, name, shape.formula, baseline)
            low, high = (interval(**_t(differences, n_train, n_test), level=LEVEL) if has_spread(differences)
                         else (np.nan, np.nan))
            table.append({"dataset": name, "budget": budget, "shape": shape.shape, "w": shape.w,
                          "formula": shape.formula, **shape_properties(shape.formula), "n_seeds": len(differences),
                          "gain": float(differences.mean()) if len(differences) else np.nan,
                          "ci_low": low, "ci_high": high})
    return pd.DataFrame(table, columns=COLUMNS)


def _t(differences: pd.Series, n_train: int, n_test: int) -> dict[str, float]:
    result = corrected_t(differences, n_train, n_test)
    return {"mean": result["mean"], "se": result["se"], "df": int(result["df"])}


def label(shape: str, w: float) -> str:
    """A member for reading: ``cos(x)``, ``sin(2x)``; a reference shape by its name."""
    if pd.isna(w):
        return shape
    return f"{shape}(x)" if w == 1 else f"{shape}({w:g}x)"


def wide_table(table: pd.DataFrame) -> pd.DataFrame:
    """``gains``'s rows as one row per shape (its turning points, then per data set and budget its gain and
    interval as text, "-" where it was not trained)."""
    labelled = table.assign(label=[label(shape, w) for shape, w in zip(table["shape"], table["w"])],
                            panel=table["dataset"] + ", " + table["budget"] + " budget",
                            cell=list(map(_gain_text, table["gain"], table["ci_low"], table["ci_high"])))
    cells = labelled.pivot(index="label", columns="panel", values="cell")
    shapes = labelled.drop_duplicates("label").set_index("label")["turning_points"]
    cells = cells.reindex(index=shapes.index, columns=list(dict.fromkeys(labelled["panel"]))).fillna("-")
    return pd.concat([shapes.rename("turning points"), cells], axis=1).rename_axis("shape").reset_index()


def _gain_text(gain: float, low: float, high: float) -> str:
    """A gain with its interval, "+0.0100 (no spread)" where the differences did not vary, "-" where none ran."""
    if pd.isna(gain):
        return "-"
    return f"{gain:+.4f} (no spread)" if pd.isna(low) else f"{gain:+.4f} [{low:+.4f}, {high:+.4f}]"


def plot_gains(table: pd.DataFrame, reference: str) -> plt.Figure:
    """A panel per data set (rows) and budget (columns): each wave's gain over Light ReLU against its frequency (log
    scale) with its interval, and the ``reference`` shape's gain (the HIGGS formula) as a line in a shaded band."""
    names, budgets = table["dataset"].unique(), table["budget"].unique()
    frequencies = sorted(table["w"].dropna().unique())
    fig, axes = plt.subplots(len(names), len(budgets), figsize=(5.0 * len(budgets), 3.4 * len(names)), squeeze=False)
    for (row, name), (column, budget) in itertools.product(enumerate(names), enumerate(budgets)):
        ax, here = axes[row][column], table[(table["dataset"] == name) & (table["budget"] == budget)]
        for kind, marker in zip(WAVES, ("o", "s")):
            waves = here[here["shape"] == kind].sort_values("w")
            errors = [waves["gain"] - waves["ci_low"], waves["ci_high"] - waves["gain"]]
            ax.errorbar(waves["w"], waves["gain"], yerr=errors, marker=marker, capsize=3, label=f"{kind}(w x)")
        ref = here[here["shape"] == reference]
        if len(ref):
            ax.axhspan(float(ref["ci_low"].iloc[0]), float(ref["ci_high"].iloc[0]), color="grey", alpha=0.2)
            ax.axhline(float(ref["gain"].iloc[0]), color="grey", linestyle="--", label=reference)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xscale("log", base=2)
        ax.set_xticks(frequencies, [f"{w:g}" for w in frequencies])
        ax.set(title=f"{name}, {budget} budget", xlabel="frequency w", ylabel="AUC minus Light ReLU")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    return fig
