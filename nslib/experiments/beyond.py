"""Beyond the paper: KAN, the rational activation and a searched activation beside the paper's grid.

Notebook 06 puts every model of the compendium on one table per data set:
``with_beyond_roles`` names each run's role (the paper grid's names from
``nslib.experiments.paper_grid.with_roles``, plus ``KAN`` and ``Searched``), ``search_claims``
is the searched activation's family of claims for ``nslib.stats.register``,
``closing_table`` summarises networks and gradient boosting alike (mean and
95% interval over seeds), ``plot_auc_vs_params`` draws AUC against the
parameter count, and ``cost_per_run`` compares training time per run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from nslib.core.plots import dataset_panels
from nslib.engine.runstore import summarise
from nslib.experiments import kan
from nslib.experiments.paper_grid import SPECIALIST, in_order, with_roles
from nslib.formulas.parser import parse
from nslib.stats.register import Claim

KAN = "KAN"
SEARCHED = "Searched"
RATIONAL = "Light Rational"
# The fixed-formula references the searched activation is judged against (label, formula in x).
FORMULA_REFERENCES = (("cos(x)", "cos(x)"), ("x", "x"))
# What the searched activation is judged against, in the order the claims list them.
SEARCH_REFERENCES = ("Light ReLU", "Light GELU", SPECIALIST, *(label for label, _ in FORMULA_REFERENCES))
# The closing table's rows, in order.
MODEL_ORDER = ("Heavy ReLU", "Light ReLU", "Light GELU", SPECIALIST, SEARCHED, RATIONAL, KAN,
               "gradient boosting", "gradient boosting (tuned)")


def _canonical(formula: str) -> str:
    return str(parse(formula))


def with_beyond_roles(runs: pd.DataFrame, formulas: Mapping[str, str], searched: Mapping[str, str]) -> pd.DataFrame:
    """A copy of ``runs`` with a ``config`` column: the grid's names, ``KAN`` and ``Searched``.

    MLP runs are named by ``nslib.experiments.paper_grid.with_roles(runs, formulas)``, except
    that a formula of ``FORMULA_REFERENCES`` that is not the data set's own GP
    formula is named by its label (``cos(x)``) even where it is another data
    set's; runs with ``arch == "kan"`` are ``KAN``; a run whose formula is its
    data set's entry of ``searched`` is ``Searched``, even where that formula is
    also the data set's GP formula or a reference. Formulas are compared after
    parsing.
    """
    if "arch" not in runs.columns:
        raise ValueError("runs lack the 'arch' column; pass a table from run_grid, kan_grid or RunStore().read().")
    is_kan = runs["arch"] == kan.ARCH
    mlp = with_roles(runs[~is_kan], formulas)
    formula = pd.Series([_canonical(text) if text else "" for text in mlp["formula"]], index=mlp.index)
    for label, text in FORMULA_REFERENCES:
        mlp.loc[(formula == _canonical(text)) & (mlp["config"] != SPECIALIST), "config"] = label
    wanted = mlp["dataset"].map({name: _canonical(text) for name, text in searched.items()})
    mlp.loc[(formula != "") & (formula == wanted), "config"] = SEARCHED
    out = pd.concat([mlp, runs[is_kan].assign(config=KAN)])
    return out.loc[runs.index]


def search_claims(searched: Mapping[str, str], formulas: Mapping[str, str]) -> list[Claim]:
    """Per data set: does the searched activation beat Light ReLU, Light GELU, the GP formula, cos(x) and x in test AUC?

    ``searched`` and ``formulas`` map each data set to its searched and its GP
    (Specialist) formula. A reference whose formula is the searched one itself
    (the search found ``cos(x)``) is left out: the two would be the same runs.
    These are the compendium's own questions.
    """
    missing = sorted(set(searched) - set(formulas))
    if missing:
        raise ValueError(f"no GP formula for {missing}; pass formulas=formulas_for(...) covering every searched data set.")
    claims = []
    for name, formula in searched.items():
        same = {label for label, text in FORMULA_REFERENCES if _canonical(text) == _canonical(formula)}
        if _canonical(formulas[name]) == _canonical(formula):
            same.add(SPECIALIST)
        for reference in SEARCH_REFERENCES:
            if reference not in same:
                slug = reference.lower().replace(" ", "-").replace("(", "").replace(")", "")
                claims.append(Claim(f"06-{name}-searched-vs-{slug}", f"the searched activation beats {reference}",
                                    name, SEARCHED, reference))
    return claims


def closing_table(runs: pd.DataFrame, boosting: pd.DataFrame) -> pd.DataFrame:
    """Per data set and model: parameters, seeds, and test AUC and accuracy as mean and 95% interval over seeds.

    ``runs`` are network runs with a ``config`` column (``with_beyond_roles``);
    ``boosting`` holds gradient boosting's rows (``baseline_table`` and
    ``tuned_boosting``: ``dataset``, ``model``, ``seed``, ``acc``, ``auc``),
    whose ``params`` stay empty: a tree ensemble has no weight count. Models
    outside ``MODEL_ORDER`` (logistic regression) are left out. The interval
    is ``nslib.engine.runstore.summarise``'s Student-t interval.
    """
    missing = [column for column in ("dataset", "config", "status", "params") if column not in runs.columns]
    if missing:
        raise ValueError(f"runs lack the columns {missing}; label them first with with_beyond_roles(...).")
    trees = boosting[boosting["model"].isin(MODEL_ORDER)].rename(columns={"model": "config"})
    trees = trees.assign(status="ok", params=pd.NA, efficiency=np.nan)
    rows = pd.concat([runs[runs["config"].isin(MODEL_ORDER)], trees], ignore_index=True)
    table = summarise(rows, by=("dataset", "config"))
    for metric in ("auc", "acc"):
        table[f"{metric}_low"] = table[f"{metric}_mean"] - table[f"{metric}_ci95"]
        table[f"{metric}_high"] = table[f"{metric}_mean"] + table[f"{metric}_ci95"]
    table["params"] = table["params"].astype("Int64")
    table = in_order(table, ["dataset", "config"], {"dataset": rows["dataset"].unique(), "config": MODEL_ORDER})
    columns = ["dataset", "config", "params", "n", "auc_mean", "auc_low", "auc_high", "acc_mean", "acc_low",
               "acc_high"]
    return table[columns].rename(columns={"config": "model"})


def plot_auc_vs_params(table: pd.DataFrame) -> plt.Figure:
    """Test AUC against parameters (log axis), one panel per data set, from ``closing_table``.

    Each network is a point with its 95% interval; gradient boosting, which has
    no weight count, is a horizontal band (its mean and interval) across the panel.
    """
    models = [model for model in MODEL_ORDER if model in set(table["model"])]
    colours = dict(zip(models, sns.color_palette("colorblind", len(models))))
    markers = dict(zip(models, "osD^vP*XX"))
    fig, axes, by_dataset = dataset_panels(table, 5.2, 4.4, layout="constrained")
    for ax, (name, rows) in zip(axes, by_dataset):
        for row in rows.itertuples():
            colour = colours[row.model]
            if pd.isna(row.params):
                ax.axhline(row.auc_mean, color=colour, linestyle="--", label=row.model)
                ax.axhspan(row.auc_low, row.auc_high, color=colour, alpha=0.15)
            else:
                ax.errorbar(row.params, row.auc_mean, yerr=[[row.auc_mean - row.auc_low], [row.auc_high - row.auc_mean]],
                            fmt=markers[row.model], color=colour, capsize=3, label=row.model)
        ax.set_xscale("log")
        ax.set(title=name, xlabel="trainable parameters (log scale)", ylabel="test ROC AUC")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right center", fontsize="small")
    return fig


def cost_per_run(runs: pd.DataFrame, configs: Iterable[str] = (KAN, "Light ReLU")) -> pd.DataFrame:
    """Mean training seconds per run for each of ``configs`` per data set, and each one's ratio to the last.

    ``runs`` need ``config`` (``with_beyond_roles``) and ``seconds`` (each
    run's wall time; the stacked engine records a stack's time divided by its runs).
    """
    configs = list(configs)
    if len(configs) < 2:
        raise ValueError(f"configs={configs} must name at least two configurations: the last is the reference.")
    chosen = runs[runs["config"].isin(configs) & (runs["status"] == "ok")]
    seconds = chosen.pivot_table(index="dataset", columns="config", values="seconds", aggfunc="mean", sort=False)
    absent = [config for config in configs if config not in seconds.columns]
    if absent:
        raise ValueError(f"no finished runs of {absent} in runs; train them first or leave them out of configs.")
    seconds = seconds[configs]
    for config in configs[:-1]:
        seconds[f"{config} / {configs[-1]}"] = seconds[config] / seconds[configs[-1]]
    return seconds.rename_axis(columns=None).reset_index()
