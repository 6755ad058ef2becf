"""Notebook 05: where the paper's efficiency gain (E = AUC / log10(parameters)) comes from.

The paper reports Light 18-21% more efficient than Heavy; the gain splits into a
parameter part and an AUC part. A curve of two-layer widths, whose Light- and
Heavy-sized runs are the paper grid's own runs (same keys), shows more than two points.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from nslib.data.catalog import Dataset
from nslib.engine.models import ARCHITECTURES, check_widths, count_params_of
from nslib.engine.runstore import summarise
from nslib.engine.specs import RunSpec
from nslib.experiments.paper_grid import (
    SPECIALIST,
    config_order,
    discovered_activations,
    grid_claims,
    in_order,
    specs_for,
    transfer_label,
    with_roles,
)
from nslib.formulas.activations import NAMED_LABELS
from nslib.stats import paper
from nslib.stats.comparisons import efficiency, efficiency_gain_parts, seed_differences
from nslib.stats.register import Claim
from nslib.stats.significance import ACC_MARGIN, GAIN_MARGIN

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
ROLE_ORDER = (*NAMED_LABELS, SPECIALIST)
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
    out["role"] = np.where(out["activation"].isin(NAMED_LABELS), out["activation"], out["config"])
    return out


def config_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over seeds per data set and configuration (``runs`` labelled by ``with_roles``), with the
    paper's ``gain_vs_heavy``: mean E over Heavy ReLU's mean E on that data set, minus one (NaN without it)."""
    if "config" not in runs.columns:
        raise ValueError("runs lack the 'config' column; label them first with nslib.experiments.paper_grid.with_roles(runs, formulas).")
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
    if arch in ("Heavy", "Light", "Width") and activation in NAMED_LABELS:
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


# The paper's sentences that notebook 05 judges, in its own words.
HYBRID_WORDS = '"lightweight hybrid architectures consistently achieve 18-21% higher efficiency"'
OUTPERFORM_WORDS = ('"outperforming standard activations (ReLU, GELU, SiLU) in both accuracy and parameter '
                    'efficiency" (the HIGGS formula on Forest Cover; its AUC is notebook 04\'s claim)')
REDUCTION_WORDS = ('"82.4% accuracy with only 5,825 parameters, compared to 83.4% accuracy requiring 31,801 '
                   'parameters ... a 5.5x parameter reduction with only 1% accuracy loss"')
ACCURACY_LOSS = 0.01  # "only 1% accuracy loss": one point of accuracy
TRANSFER_TARGET = "FOREST_COVER"  # the data set the paper's transfer sentences are about


def _slug(config: str) -> str:
    return config.lower().replace(" (", "-").replace(")", "").replace(" ", "-")


def _hybrid_claims(name: str, hybrids: Sequence[str], paper_data: bool) -> list[Claim]:
    """Each Light hybrid against Heavy, at both ends of "18-21%": more than 18%, less than 21%."""
    claims = []
    for config in hybrids:
        words, source = (HYBRID_WORDS, "abstract") if paper_data else ("", "")
        claims += [
            Claim(f"05-above18-{name}-{_slug(config)}", f"{config} is more than 18% more efficient than {HEAVY}",
                  name, config, HEAVY, metric="efficiency", relative=True, offset=CLAIMED_GAIN[0],
                  margin=GAIN_MARGIN, paper_words=words, source=source),
            Claim(f"05-below21-{name}-{_slug(config)}", f"{config} is less than 21% more efficient than {HEAVY}",
                  name, config, HEAVY, metric="efficiency", relative=True, offset=CLAIMED_GAIN[1], below=True,
                  margin=GAIN_MARGIN, paper_words=words, source=source),
        ]
    return claims


def _transfer_claims(transfer: str) -> list[Claim]:
    """On Forest Cover: the transfer beats Light ReLU, GELU and SiLU in accuracy and in efficiency (relative),
    and loses at most one point of accuracy to Heavy (the "5.5x" sentence)."""
    claims = []
    for metric, margin in (("acc", ACC_MARGIN), ("efficiency", GAIN_MARGIN)):
        for config in ("Light ReLU", "Light GELU", "Light SiLU"):
            what = "in accuracy" if metric == "acc" else "in efficiency (relative)"
            claims.append(Claim(f"05-outperform-{metric}-{_slug(config)}", f"{transfer} beats {config} {what}",
                                TRANSFER_TARGET, transfer, config, metric=metric, relative=metric == "efficiency",
                                margin=margin, paper_words=OUTPERFORM_WORDS, source="abstract"))
    claims.append(Claim("05-reduction-accuracy", f"{HEAVY} is less than 1 point more accurate than {transfer}",
                        TRANSFER_TARGET, HEAVY, transfer, metric="acc", offset=ACCURACY_LOSS, below=True,
                        margin=ACC_MARGIN, paper_words=REDUCTION_WORDS, source="results"))
    return claims


def efficiency_claims(datasets: Iterable[str], transfer_from: str = "HIGGS") -> list[Claim]:
    """Notebook 05's family, each of the paper's sentences registered once in its words.

    Per data set: every Light hybrid (the Specialist, and ``transfer_from``'s formula elsewhere) against Heavy
    ReLU at both ends of "18-21%"; Table 2's best model (``PAPER_BEST``) where it is no hybrid (Light ReLU on
    HIGGS: more than 18%, Table 2's "+21.2%"); and, an own question, does the best model beat Heavy ReLU in
    AUC, so that the gain is more than the parameter ratio? On Forest Cover also the transfer's "outperforming"
    in accuracy and efficiency, and its "only 1% accuracy loss" against Heavy. Data sets of your own get the
    same questions with no paper words.
    """
    names = list(datasets)
    claims = []
    headline = paper.HEADLINE.set_index("dataset")["efficiency_gain"]
    transfer = transfer_label(transfer_from)
    for name in names:
        config, paper_data = PAPER_BEST.get(name, "Light ReLU"), name in headline.index
        hybrids = [SPECIALIST] + ([transfer] if transfer_from in names and name != transfer_from else [])
        if config not in hybrids:
            words = f'Table 2: {config} "+{headline[name]:.1%} vs Heavy", its best {name} model' if paper_data else ""
            claims.append(Claim(f"05-gain-{name}", f"{config} is more than 18% more efficient than {HEAVY}", name,
                                config, HEAVY, metric="efficiency", relative=True, offset=CLAIMED_GAIN[0],
                                margin=GAIN_MARGIN, paper_words=words, source="Table 2" if words else ""))
        claims += _hybrid_claims(name, hybrids, paper_data)
        claims.append(Claim(f"05-auc-{name}", f"{config} beats {HEAVY} in AUC", name, config, HEAVY))
        if name == TRANSFER_TARGET and transfer in hybrids:
            claims += _transfer_claims(transfer)
    return claims


def grid_families(datasets: Iterable[str]) -> dict[str, list[Claim]]:
    """The claims judged on the paper grid's runs, by family: notebook 03's own questions and notebook 05's."""
    names = list(datasets)
    return {"03_training": grid_claims(names), "05_efficiency": efficiency_claims(names)}


def headline_comparison(summary: pd.DataFrame) -> pd.DataFrame:
    """The paper's headline table (``nslib.stats.paper.HEADLINE``) beside ours, per data set: ``ours_*`` for the
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
    """``nslib.experiments.baselines.baseline_table`` rows as mean and std over seeds, beside the paper's code's
    gradient boosting on the mirror (``nslib.stats.paper.GRADIENT_BOOSTING_ON_MIRROR``; NaN for other models)."""
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


# ------------------------------------------------------------ the HIGGS row count


