"""Notebook 05: where the paper's efficiency gain (E = AUC / log10(parameters)) comes from.

The paper reports Light 18-21% more efficient than Heavy; the gain splits into a
parameter part and an AUC part. A curve of two-layer widths, whose Light- and
Heavy-sized runs are the paper grid's own runs (same keys), shows more than two points.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from nslib import paper
from nslib.activations import BUILTIN_LABELS
from nslib.comparisons import efficiency, efficiency_gain_parts, seed_differences
from nslib.data import Dataset
from nslib.grids import (
    SPECIALIST, config_order, discovered_activations, in_order, specs_for, transfer_label, with_roles,
)
from nslib.models import ARCHITECTURES, check_widths, count_params_of
from nslib.plots import LEGEND_RIGHT, dataset_panels
from nslib.results import summarise
from nslib.training import RunSpec
from nslib.verdicts import Claim

HEAVY = "Heavy ReLU"
CLAIMED_GAIN = (0.18, 0.21)  # "18-21% more parameter efficient" (the paper's Table 2 summary)
TABLE2_COLUMNS = {  # config_summary's column: its name in the paper's Table 2 (the last four are ours)
    "dataset": "Dataset", "arch": "Architecture", "config": "Activation", "acc_mean": "Acc", "auc_mean": "AUC",
    "params": "Params", "efficiency_mean": "Efficiency", "acc_std": "Acc_std", "auc_std": "AUC_std",
    "gain_vs_heavy": "Gain_vs_Heavy", "n": "Seeds",
}
# The model the paper's Table 2 names best on each data set, as our config label.
PAPER_BEST = {"HIGGS": "Light ReLU", "FOREST_COVER": transfer_label("HIGGS"), "SPAMBASE": SPECIALIST}
# The width curve's order of roles (an activation at any width): the built-ins, then the Specialist.
ROLE_ORDER = (*BUILTIN_LABELS, SPECIALIST)
GAIN_MARGIN = 0.005  # half a point of efficiency gain: the smallest difference of interest
_METRIC_LABELS = {"acc": "test accuracy (share correct)", "auc": "test ROC AUC",
                  "efficiency": "E = AUC / log10(params)"}


# ------------------------------------------------------------ parameters and specs


def check_curve_widths(widths: object) -> tuple[tuple[int, ...], ...]:
    """Validate a ``WIDTHS`` notebook parameter: distinct hidden-width lists (papermill's ``-y``) or tuples
    (a profile's), returned as tuples."""
    problem = ""
    if isinstance(widths, (list, tuple)) and widths and all(isinstance(w, (list, tuple)) for w in widths):
        try:
            checked = tuple(check_widths(tuple(w)) for w in widths)
        except ValueError as error:
            problem = f" ({error})"
        else:
            if len(set(checked)) == len(checked):
                return checked
            problem = " (a width is listed twice)"
    raise ValueError(
        f"WIDTHS={widths!r} must be a non-empty list of distinct hidden-width lists{problem}, for example "
        "[[8, 4], [64, 32], [200, 100]] (papermill: -y 'WIDTHS: [[8, 4], [64, 32]]'), or None for the profile's."
    )


def arch_of(widths: Sequence[int]) -> str:
    """``"heavy"`` or ``"light"`` at the paper's widths, else ``"width"``: so the curve's points at the paper's
    sizes have the grid's run keys, and ``run_grid`` reads them back instead of training them again."""
    return next((name for name, named in ARCHITECTURES.items() if tuple(widths) == named), "width")


def curve_specs(
    datasets: Iterable[str],
    formulas: Mapping[str, str],
    seeds: Sequence[int],
    widths: Sequence[Sequence[int]],
    epochs: int,
    transfer_from: str | None = None,
) -> list[RunSpec]:
    """The width curve: per data set, ReLU and ``discovered_activations`` at every width and seed, each run once."""
    configs = [
        (name, arch_of(w), activation, tuple(w))
        for name, discovered in discovered_activations(datasets, formulas, transfer_from).items()
        for activation in ["relu", *discovered] for w in widths
    ]
    return specs_for(configs, seeds, epochs)


def named_sizes(datasets: Mapping[str, Dataset]) -> dict[str, dict[str, int]]:
    """Per data set, the parameter counts of the paper's Light and Heavy networks (for marking plots)."""
    return {name: {arch.capitalize(): count_params_of(data.n_features, ARCHITECTURES[arch])
                   for arch in ("light", "heavy")}
            for name, data in datasets.items()}


# ------------------------------------------------------------ the paper's grid


def with_activation_roles(runs: pd.DataFrame, formulas: Mapping[str, str]) -> pd.DataFrame:
    """``with_roles``, plus a ``role`` column that ignores the architecture: the built-in's name (``"ReLU"``)
    or the formula's config (``"Specialist"``), so that runs of one activation at different widths share a role."""
    out = with_roles(runs, formulas)
    out["role"] = np.where(out["activation"].isin(BUILTIN_LABELS), out["activation"], out["config"])
    return out


def config_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over seeds per data set and configuration (``runs`` labelled by ``with_roles``), with the
    paper's ``gain_vs_heavy``: mean E over Heavy ReLU's mean E on that data set, minus one (NaN without it)."""
    if "config" not in runs.columns:
        raise ValueError("runs lack the 'config' column; label them first with nslib.grids.with_roles(runs, formulas).")
    summary = summarise(runs, by=["dataset", "arch", "config"])
    orders = {"dataset": summary["dataset"].unique(), "config": config_order(summary["config"])}
    summary = in_order(summary, ["dataset", "config"], orders)
    heavy = summary[summary["config"] == HEAVY].set_index("dataset")["efficiency_mean"]
    summary["gain_vs_heavy"] = summary["efficiency_mean"] / summary["dataset"].map(heavy) - 1
    return summary


def paper_activation_name(config: str) -> str:
    """The paper's name for a configuration's activation: ``"ReLU"``, ``"Hybrid (Specialist)"``, ``"Hybrid
    (Transfer)"`` (the paper's only transfer, HIGGS's formula); another transfer names its source."""
    arch, _, activation = config.partition(" ")
    if arch in ("Heavy", "Light", "Width") and activation in BUILTIN_LABELS:
        return activation
    if config in (SPECIALIST, transfer_label("HIGGS")):
        return f"Hybrid ({arch})"  # "Specialist" or "Transfer"
    if config.startswith("Transfer ("):
        return f"Hybrid (Transfer from {config[len('Transfer ('):-1]})"
    return config


def table2(summary: pd.DataFrame) -> pd.DataFrame:
    """``config_summary`` in the paper's Table 2 columns (``TABLE2_COLUMNS``), one row per configuration."""
    table = summary.assign(arch=summary["arch"].str.capitalize(), config=summary["config"].map(paper_activation_name),
                           params=summary["params"].astype(int))
    return table[list(TABLE2_COLUMNS)].rename(columns=TABLE2_COLUMNS)


def gain_parts(summary: pd.DataFrame) -> pd.DataFrame:
    """Each configuration's gain over Heavy ReLU in ``config_summary`` split into its parameter part and its
    AUC part (``efficiency_gain_parts``), with ``break_even_auc``: the AUC at which its E would equal Heavy's."""
    heavy = summary[summary["config"] == HEAVY].set_index("dataset")
    rows = []
    for row in summary[(summary["config"] != HEAVY) & summary["dataset"].isin(heavy.index)].itertuples():
        auc_heavy, params_heavy = heavy.loc[row.dataset, "auc_mean"], int(heavy.loc[row.dataset, "params"])
        parts = efficiency_gain_parts(row.auc_mean, auc_heavy, int(row.params), params_heavy)
        rows.append(
            {"dataset": row.dataset, "config": row.config, "params": int(row.params), "params_heavy": params_heavy,
             "auc": row.auc_mean, "auc_heavy": auc_heavy, **parts,
             "break_even_auc": efficiency(auc_heavy, params_heavy) * math.log10(row.params)}
        )
    return pd.DataFrame(rows)


def best_light(summary: pd.DataFrame) -> pd.DataFrame:
    """Per data set, the Light configuration with the highest mean efficiency, so also the highest mean AUC
    (the paper's "best model"); picked on the runs it is then judged on, which flatters it a little."""
    light = summary[summary["arch"] == "light"].dropna(subset=["efficiency_mean"])
    best = light.loc[light.groupby("dataset", sort=False)["efficiency_mean"].idxmax()]
    return best.reset_index(drop=True)


def efficiency_claims(datasets: Iterable[str]) -> list[Claim]:
    """Notebook 05's family: per data set, is Table 2's best model (``PAPER_BEST``; Light ReLU on your own data)
    more than 18% more efficient than Heavy ReLU, seed by seed (the paper's claim), and does it beat Heavy ReLU in
    AUC, so that the gain is more than the parameter ratio (an own question)?"""
    claims = []
    headline = paper.HEADLINE.set_index("dataset")["efficiency_gain"]
    for name in datasets:
        config = PAPER_BEST.get(name, "Light ReLU")
        words = (f'"18-21%" more parameter efficient; Table 2: {config} "+{headline[name]:.1%} vs Heavy"'
                 if name in headline.index else "")
        claims += [
            Claim(f"05-gain-{name}", f"{config} is more than 18% more efficient than {HEAVY}", name, config, HEAVY,
                  metric="efficiency", relative=True, offset=CLAIMED_GAIN[0], margin=GAIN_MARGIN,
                  paper_words=words, source="abstract; Table 2" if words else ""),
            Claim(f"05-auc-{name}", f"{config} beats {HEAVY} in AUC", name, config, HEAVY),
        ]
    return claims


def headline_comparison(summary: pd.DataFrame) -> pd.DataFrame:
    """The paper's headline table (``nslib.paper.HEADLINE``) beside ours, per data set: ``ours_*`` for the
    paper's best configuration, ``best_*`` for our own (``best_light``), which may be another one."""
    ours = table2(summary).set_index(["Dataset", "Architecture", "Activation"])
    best = best_light(summary).set_index("dataset")
    rows = []
    for claim in paper.HEADLINE[paper.HEADLINE["dataset"].isin(best.index)].itertuples():
        key, top = (claim.dataset, claim.arch, claim.activation), best.loc[claim.dataset]
        found = key in ours.index
        rows.append({
            "dataset": claim.dataset, "paper_model": f"{claim.arch} {claim.activation}", "paper_acc": claim.acc,
            "paper_params": claim.params, "paper_gain": claim.efficiency_gain,
            "ours_acc": ours.loc[key, "Acc"] if found else math.nan,
            "ours_params": int(ours.loc[key, "Params"]) if found else pd.NA,
            "ours_gain": ours.loc[key, "Gain_vs_Heavy"] if found else math.nan,
            "best_model": f"Light {paper_activation_name(top['config'])}", "best_acc": top["acc_mean"],
            "best_gain": top["gain_vs_heavy"],
        })
    columns = ["dataset", "paper_model", "paper_acc", "paper_params", "paper_gain", "ours_acc", "ours_params",
               "ours_gain", "best_model", "best_acc", "best_gain"]
    table = pd.DataFrame(rows, columns=columns)
    table["acc_diff"] = table["ours_acc"] - table["paper_acc"]
    table["gain_diff"] = table["ours_gain"] - table["paper_gain"]
    return table


# ------------------------------------------------------------ the width curve


def curve_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per data set, role and widths of ``with_activation_roles`` runs: the parameter count, seeds, and mean and
    std of acc, AUC and E, from the smallest network to the largest."""
    summary = summarise(runs, by=["dataset", "role", "widths", "arch"])
    orders = {"dataset": summary["dataset"].unique(), "role": config_order(summary["role"], ROLE_ORDER)}
    columns = ["dataset", "role", "widths", "arch", "params", "n", "failed"]
    columns += [f"{metric}_{part}" for metric in ("acc", "auc", "efficiency") for part in ("mean", "std")]
    return in_order(summary, ["dataset", "role", "params"], orders)[columns]


def curve_extremes(curve: pd.DataFrame) -> pd.DataFrame:
    """Per data set and role, the widths with the best mean AUC and the widths with the best mean E.

    ``smallest`` says whether the best E sits at the curve's smallest network:
    what a score that divides by log10(params) tends to reward.
    """
    points = curve.dropna(subset=["auc_mean"])
    groups = points.groupby(["dataset", "role"], sort=False)
    top_auc = points.loc[groups["auc_mean"].idxmax()].reset_index(drop=True)
    top_e = points.loc[groups["efficiency_mean"].idxmax()].reset_index(drop=True)
    return pd.DataFrame({
        "dataset": top_auc["dataset"], "role": top_auc["role"], "best_auc_widths": top_auc["widths"],
        "best_auc": top_auc["auc_mean"], "best_auc_params": top_auc["params"].astype(int),
        "best_e_widths": top_e["widths"], "best_e": top_e["efficiency_mean"], "auc_at_best_e": top_e["auc_mean"],
        "best_e_params": top_e["params"].astype(int), "smallest": top_e["params"] == groups["params"].min().to_numpy(),
    })


def width_differences(
    curve_runs: pd.DataFrame, role: str, reference: str = "ReLU", metric: str = "auc"
) -> pd.DataFrame:
    """``role - reference`` in ``metric`` at each width where both have ok runs, paired by seed
    (``seed_differences``): mean, sd (NaN with a single seed) and seeds, a description."""
    columns = ["dataset", "widths", "params", "n_seeds", "mean_diff", "sd_diff"]
    runs = curve_runs[curve_runs["role"].isin([role, reference])]
    rows = []
    for (dataset, widths, params), part in runs.groupby(["dataset", "widths", "params"], sort=False):
        if part["role"].nunique() == 2:
            diffs = seed_differences(part, dataset, role, reference, metric, by="role")
            if len(diffs):
                rows.append({"dataset": dataset, "widths": widths, "params": int(params), "n_seeds": len(diffs),
                             "mean_diff": float(diffs.mean()), "sd_diff": float(diffs.std(ddof=1))})
    table = pd.DataFrame(rows, columns=columns)
    return in_order(table, ["dataset", "params"], {"dataset": curve_runs["dataset"].unique()})


# ------------------------------------------------------------ the reference models


def baseline_summary(baselines: pd.DataFrame) -> pd.DataFrame:
    """``nslib.baselines.baseline_table`` rows as mean and std over seeds, beside the paper's code's
    gradient boosting on the mirror (``nslib.paper.GRADIENT_BOOSTING_ON_MIRROR``; NaN for other models)."""
    table = baselines.groupby(["dataset", "model"], sort=False).agg(
        seeds=("seed", "nunique"), acc=("acc", "mean"), acc_std=("acc", "std"),
        auc=("auc", "mean"), auc_std=("auc", "std"), seconds=("seconds", "mean"),
    ).reset_index()
    reference = pd.DataFrame(
        [(dataset, "gradient boosting", *figures) for dataset, figures in paper.GRADIENT_BOOSTING_ON_MIRROR.items()],
        columns=["dataset", "model", "paper_code_acc", "paper_code_auc"],
    )
    return table.merge(reference, on=["dataset", "model"], how="left")


def mlps_versus_baselines(
    summary: pd.DataFrame, baselines: pd.DataFrame, curve: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per data set: the MLP with the highest mean AUC in the grid (``config_summary``) and the curve
    (``curve_table``, when given) against gradient boosting (``baseline_summary``), and whether boosting's
    mean AUC and accuracy are both above every MLP's."""
    tables = [summary.assign(model=summary["config"])]
    if curve is not None:
        tables.append(curve.assign(model=curve["role"] + " " + curve["widths"]))
    mlps = pd.concat(tables, ignore_index=True)[["dataset", "model", "auc_mean", "acc_mean"]].dropna()
    boosting = baselines[baselines["model"] == "gradient boosting"].set_index("dataset")
    rows = []
    for dataset, table in mlps[mlps["dataset"].isin(boosting.index)].groupby("dataset", sort=False):
        top, gb = table.loc[table["auc_mean"].idxmax()], boosting.loc[dataset]
        beats = gb["auc"] > table["auc_mean"].max() and gb["acc"] > table["acc_mean"].max()
        rows.append(
            {"dataset": dataset, "best_mlp": top["model"], "best_mlp_auc": top["auc_mean"],
             "best_mlp_acc": table["acc_mean"].max(), "boosting_auc": gb["auc"], "boosting_acc": gb["acc"],
             "boosting_beats_every_mlp": bool(beats)}
        )
    return pd.DataFrame(rows)


# ------------------------------------------------------------ figures


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


# ------------------------------------------------------------ the HIGGS row count


def _power_law(n: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
    return a - b * np.power(n, -c)


def _fit_power_law(rows: np.ndarray, accuracy: np.ndarray) -> np.ndarray:
    from scipy.optimize import curve_fit

    start = (min(1.0, accuracy.max() + 0.02), 1.0, 0.5)
    params, _ = curve_fit(_power_law, rows, accuracy, p0=start, bounds=([0.5, 0, 0.01], [1, np.inf, 2]),
                          maxfev=20_000)
    return params


def row_curve(runs: pd.DataFrame, target_rows: int, n_boot: int = 500, random_state: int = 0) -> pd.DataFrame:
    """Per config, a learning curve acc(n) = a - b n^(-c) over the row counts in ``runs``, read at ``target_rows``.

    The curve is fit by least squares to the mean accuracy per row count
    (column ``rows``). ``low`` and ``high`` are the 2.5% and 97.5% points of the
    extrapolated accuracy over ``n_boot`` refits to the seeds resampled with
    replacement at each row count: with few row counts and three parameters
    the extrapolation is an estimate, and the interval says how loose.
    """
    ok = runs[runs["status"] == "ok"]
    rng = np.random.default_rng(random_state)
    out = []
    for config, part in ok.groupby("config", sort=False):
        samples = {int(n): accuracy.to_numpy(dtype=float) for n, accuracy in part.groupby("rows")["acc"]}
        if len(samples) < 3:
            raise ValueError(
                f"{config}: a curve with three parameters needs at least 3 row counts, got {list(samples)}."
            )
        sizes = np.array(list(samples), dtype=float)
        means = np.array([values.mean() for values in samples.values()])
        params = _fit_power_law(sizes, means)
        boot = []
        for _ in range(n_boot):
            resampled = np.array([rng.choice(values, len(values)).mean() for values in samples.values()])
            boot.append(_power_law(target_rows, *_fit_power_law(sizes, resampled)))
        low, high = np.percentile(boot, [2.5, 97.5])
        out.append({"config": config, "rows_max": int(sizes[-1]), "acc_at_max": float(means[-1]),
                    "target_rows": target_rows, "estimate": float(_power_law(target_rows, *params)),
                    "low": float(low), "high": float(high), "a": params[0], "b": params[1], "c": params[2]})
    return pd.DataFrame(out)


def plot_row_curve(runs: pd.DataFrame, fits: pd.DataFrame, paper_acc: float, paper_label: str) -> plt.Figure:
    """Mean accuracy per row count with the fitted curves extended to ``target_rows`` and the paper's figure."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ok = runs[runs["status"] == "ok"]
    for (config, part), colour in zip(ok.groupby("config", sort=False), sns.color_palette("colorblind")):
        means = part.groupby("rows")["acc"].agg(["mean", "std"])
        ax.errorbar(means.index, means["mean"], yerr=means["std"], fmt="o", color=colour, capsize=3, label=config)
        fit = fits.set_index("config").loc[config]
        grid = np.geomspace(means.index.min(), fit["target_rows"], 100)
        ax.plot(grid, _power_law(grid, fit["a"], fit["b"], fit["c"]), color=colour, linestyle="--")
        ax.errorbar([fit["target_rows"]], [fit["estimate"]], yerr=[[fit["estimate"] - fit["low"]],
                    [fit["high"] - fit["estimate"]]], fmt="s", color=colour, capsize=4)
    ax.axhline(paper_acc, color="black", linewidth=1, label=paper_label)
    ax.set(xscale="log", xlabel="HIGGS rows used (80% train, 20% test)", ylabel="test accuracy (mean ± sd over seeds)",
           title="Accuracy against rows, extrapolated to the paper's row count")
    ax.legend(loc="lower right")
    return fig
