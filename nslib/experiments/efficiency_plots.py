"""Notebook 05's figures: the efficiency gain's parts, accuracy against parameters, the width curve, the row curve."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from nslib.core.plots import LEGEND_RIGHT, dataset_panels
from nslib.experiments.efficiency import CLAIMED_GAIN, ROLE_ORDER
from nslib.experiments.paper_grid import config_order
from nslib.stats import paper
from nslib.stats.curves import power_law

_METRIC_LABELS = {"acc": "test accuracy (share correct)", "auc": "test ROC AUC",
                  "efficiency": "E = AUC / log10(params)"}


def plot_gain_parts(parts: pd.DataFrame) -> plt.Figure:
    """One panel per data set: each Light configuration's gain, parameter part and AUC part, in percent,
    with the paper's claimed range shaded."""
    long = parts.melt(
        id_vars=["dataset", "config"], value_vars=["parameter_part", "accuracy_part", "gain"],
        var_name="part", value_name="percent",
    )
    long["percent"] *= 100
    long["part"] = long["part"].map(
        {"parameter_part": "parameter ratio", "accuracy_part": "AUC change", "gain": "efficiency gain"}
    )
    fig, axes, by_dataset = dataset_panels(long, 4.8, 4.2, sharey=True)
    for ax, (name, data) in zip(axes, by_dataset):
        ax.axhspan(100 * CLAIMED_GAIN[0], 100 * CLAIMED_GAIN[1], color="grey", alpha=0.2, label="claimed 18-21%")
        sns.barplot(data=data, x="config", y="percent", hue="part", order=config_order(data["config"]), ax=ax,
                    legend=ax is axes[-1])
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set(title=name, xlabel="", ylabel="change against Heavy ReLU (%)")
        plt.setp(ax.get_xticklabels(), rotation=45, ha="right", rotation_mode="anchor")
    axes[-1].legend(**LEGEND_RIGHT)
    fig.tight_layout()
    return fig


def plot_accuracy_vs_params(summary: pd.DataFrame) -> plt.Figure:
    """One panel per data set: mean accuracy ± std of each configuration against its parameter count (log axis,
    equal counts spread a little sideways), with the paper's reported best model as a star."""
    configs = config_order(summary["config"])
    palette = dict(zip(configs, sns.color_palette(n_colors=len(configs))))
    fig, axes, by_dataset = dataset_panels(summary, 4.8, 4.2)
    for ax, (name, data) in zip(axes, by_dataset):
        for params, group in data.groupby("params"):
            spread = 1.06 ** (np.arange(len(group)) - (len(group) - 1) / 2)
            for (_, row), factor in zip(group.iterrows(), spread):
                ax.errorbar(float(params) * factor, row["acc_mean"], yerr=row["acc_std"], fmt="o", capsize=3,
                            color=palette[row["config"]], label=row["config"])
        for claim in paper.HEADLINE[paper.HEADLINE["dataset"] == name].itertuples():
            ax.plot(claim.params, claim.acc, marker="*", markersize=14, color="black", linestyle="none",
                    label="paper's reported best model")
        sizes = sorted(int(params) for params in data["params"].unique())
        ax.set(xscale="log", xlim=(sizes[0] / 1.6, sizes[-1] * 1.6), title=name,
               xlabel="trainable parameters (log scale)", ylabel="test accuracy (share correct)")
        # The grid has two sizes: label exactly those instead of powers of ten.
        ax.set_xticks(sizes, [f"{size:,}" for size in sizes])
        ax.set_xticks([], minor=True)
    handles = {}
    for ax in axes:
        handles.update(zip(*reversed(ax.get_legend_handles_labels())))
    order = [config for config in configs if config in handles] + [key for key in handles if key not in configs]
    axes[-1].legend([handles[key] for key in order], order, **LEGEND_RIGHT)
    fig.tight_layout()
    return fig


def plot_curve(curve: pd.DataFrame, sizes: Mapping[str, Mapping[str, int]]) -> plt.Figure:
    """A row per metric (acc, AUC, E), one column per data set: each role's mean ± std against the parameter
    count (log axis), with the paper's Light and Heavy sizes (``named_sizes``) as dotted lines."""
    by_dataset = list(curve.groupby("dataset", sort=False))
    roles = config_order(curve["role"], ROLE_ORDER)
    palette = dict(zip(roles, sns.color_palette(n_colors=len(roles))))
    rows = len(_METRIC_LABELS)
    columns = len(by_dataset)
    fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.2 * rows), sharex="col", squeeze=False)
    for column, (name, data) in enumerate(by_dataset):
        for row, (metric, metric_label) in enumerate(_METRIC_LABELS.items()):
            ax = axes[row, column]
            for role in roles:
                points = data[data["role"] == role].sort_values("params")
                ax.errorbar(points["params"].astype(float), points[f"{metric}_mean"], yerr=points[f"{metric}_std"],
                            marker="o", capsize=3, color=palette[role], label=role)
            for label, params in sizes.get(name, {}).items():
                ax.axvline(params, color="grey", linestyle=":", linewidth=1)
                # Left of the line: the Heavy line sits at the right edge of the axis.
                ax.annotate(label, (params, 1), xycoords=("data", "axes fraction"), xytext=(-2, -12),
                            textcoords="offset points", ha="right", fontsize=9, color="dimgrey")
            ax.set(xscale="log", ylabel=metric_label)
            if row == 0:
                ax.set_title(name)
            if row == rows - 1:
                ax.set_xlabel("trainable parameters (log scale)")
    axes[0, -1].legend(title="activation", **LEGEND_RIGHT)
    fig.tight_layout()
    return fig


def plot_row_curve(runs: pd.DataFrame, fits: pd.DataFrame, paper_acc: float, paper_label: str) -> plt.Figure:
    """Mean accuracy per row count with the fitted curves extended to ``target_rows`` and the paper's figure."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ok = runs[runs["status"] == "ok"]
    for (config, part), colour in zip(ok.groupby("config", sort=False), sns.color_palette("colorblind")):
        means = part.groupby("rows")["acc"].agg(["mean", "std"])
        ax.errorbar(means.index, means["mean"], yerr=means["std"], fmt="o", color=colour, capsize=3, label=config)
        fit = fits.set_index("config").loc[config]
        grid = np.geomspace(means.index.min(), fit["target_rows"], 100)
        ax.plot(grid, power_law(grid, fit["a"], fit["b"], fit["c"]), color=colour, linestyle="--")
        ax.errorbar([fit["target_rows"]], [fit["estimate"]], yerr=[[fit["estimate"] - fit["low"]],
                    [fit["high"] - fit["estimate"]]], fmt="s", color=colour, capsize=4)
    ax.axhline(paper_acc, color="black", linewidth=1, label=paper_label)
    ax.set(xscale="log", xlabel="HIGGS rows used (80% train, 20% test)", ylabel="test accuracy (mean ± sd over seeds)",
           title="Accuracy against rows, extrapolated to the paper's row count")
    ax.legend(loc="lower right")
    return fig
