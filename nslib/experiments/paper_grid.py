"""The paper's grid (notebook 03, used again by 04 and 05), and the role each run plays in it.

Per data set: Heavy ReLU, Light ReLU/GELU/SiLU and Light with a discovered formula, its
own ("Specialist") or another data set's ("Transfer"). ``formulas_for`` turns names into
formulas, ``specs_for`` builds every grid's specs, and ``with_roles`` names runs by role.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd

from nslib.core.progress import progress as progress_bar
from nslib.data.catalog import Dataset
from nslib.engine.specs import RunSpec, make_spec
from nslib.experiments.profiles import Profile
from nslib.formulas.activations import NAMED_LABELS
from nslib.formulas.parser import parse
from nslib.stats import paper
from nslib.stats.register import Claim

if TYPE_CHECKING:
    import matplotlib.pyplot as plt

SPECIALIST = "Specialist"
# The activations the paper compares its formulas with, and its fixed configurations as (arch, activation):
# a new named activation (nslib.formulas.activations) joins neither, so it never becomes a paper claim.
PAPER_ACTIVATIONS = ("relu", "gelu", "silu")
PAPER_BASELINES = (("heavy", "relu"), *(("light", activation) for activation in PAPER_ACTIVATIONS))
# The order tables and plots show configs in.
CONFIG_ORDER = ("Heavy ReLU", "Light ReLU", "Light GELU", "Light SiLU", SPECIALIST)


def transfer_label(source: str) -> str:
    """The config label of a run using ``source``'s formula on another data set: ``Transfer (HIGGS)``."""
    return f"Transfer ({source})"


def formulas_for(datasets: Mapping[str, Dataset], profile: Profile, *, progress: bool = True) -> dict[str, str]:
    """Each data set's collapsed formula from ``nslib.formulas.discovery.discover`` with seed 42 and ``profile``'s GP
    settings, as notebook 02 runs it, so read from the shared ``formulas.json`` cache when it holds them."""
    # Imported here: gplearn and sklearn stay out of processes that only build specs (the bench).
    from nslib.formulas.discovery import discover

    return {
        name: discover(data, population_size=profile.gp_population, generations=profile.gp_generations).formula
        for name, data in progress_bar(datasets.items(), desc="discovery", disable=not progress)
    }


Config = tuple[str, str, str, Sequence[int] | None]  # (data set, arch, activation, widths or None)


def specs_for(
    configs: Iterable[Config], seeds: Sequence[int], epochs: int, *, lr: float = 1e-3, validation: float = 0.0,
    patience: int = 0,
) -> list[RunSpec]:
    """One ``RunSpec`` per configuration and seed (``make_spec``), each distinct run listed once, in order.

    A configuration is ``(dataset, arch, activation, widths)``: ``widths=None``
    takes the arch's widths; ``activation`` is a built-in or a formula in ``x``.
    Runs that are the same (a Transfer formula equal to the Specialist) are
    listed once, since ``run_grid`` refuses repeats.
    """
    specs: dict[str, RunSpec] = {}
    for dataset, arch, activation, widths in configs:
        for seed in seeds:
            spec = make_spec(dataset, arch, activation, seed, epochs=epochs, lr=lr, validation=validation,
                             patience=patience, widths=widths)
            specs.setdefault(spec.key, spec)
    return list(specs.values())


def discovered_activations(
    datasets: Iterable[str], formulas: Mapping[str, str], transfer_from: str | None = None
) -> dict[str, list[str]]:
    """Per data set, its own formula and, with ``transfer_from`` (e.g. ``"HIGGS"``), that data set's formula
    on every other one; a ValueError names the data sets that have no formula in ``formulas``."""
    names = list(datasets)
    missing = [name for name in [*names, transfer_from] if name is not None and name not in formulas]
    if missing:
        raise ValueError(
            f"no formula for {missing}; pass formulas=formulas_for(...) covering every data set "
            "in the grid and the transfer source."
        )
    return {name: [formulas[name]] + ([formulas[transfer_from]] if transfer_from not in (None, name) else [])
            for name in names}


def paper_configs(
    datasets: Iterable[str], formulas: Mapping[str, str], transfer_from: str | None = None
) -> list[Config]:
    """The paper's grid as configurations: per data set, the baselines, then ``discovered_activations``
    (Specialist, Transfer) as Light networks.

    ``datasets`` are names (a dict of Datasets works too); ``formulas`` maps each
    name to its formula in ``x`` (from ``formulas_for``).
    """
    configs = []
    for name, discovered in discovered_activations(datasets, formulas, transfer_from).items():
        configs += [(name, arch, activation, None) for arch, activation in PAPER_BASELINES]
        configs += [(name, "light", formula, None) for formula in discovered]
    return configs


def paper_specs(
    datasets: Iterable[str],
    formulas: Mapping[str, str],
    seeds: Sequence[int],
    epochs: int,
    transfer_from: str | None = None,
) -> list[RunSpec]:
    """``paper_configs`` with every seed; a Transfer run equal to the Specialist is listed once (as Specialist)."""
    return specs_for(paper_configs(datasets, formulas, transfer_from), seeds, epochs)


def grid_claims(datasets: Iterable[str]) -> list[Claim]:
    """Notebook 03's family: per data set, does Light GELU, Light SiLU, the Specialist or Heavy ReLU beat Light ReLU?

    These are the compendium's own questions (the paper's claims are judged in
    notebooks 04 and 05), in ROC AUC.
    """
    return [
        Claim(f"03-{name}-{config.lower().replace(' ', '-')}", f"{config} beats Light ReLU", name, config, "Light ReLU")
        for name in datasets for config in ("Light GELU", "Light SiLU", SPECIALIST, "Heavy ReLU")
    ]


def with_roles(runs: pd.DataFrame, formulas: Mapping[str, str]) -> pd.DataFrame:
    """A copy of ``runs`` with a ``config`` column: ``"<Arch> <activation>"`` for a built-in (``"Heavy ReLU"``),
    ``"Specialist"`` for the row's own data set's formula, else ``"Transfer (<source>)"`` for the first other
    data set with that formula, else the formula's text. Formulas are compared parsed, so spacing does not matter."""
    missing = [column for column in ("dataset", "arch", "activation", "formula") if column not in runs.columns]
    if missing:
        raise ValueError(f"runs lack the columns {missing}; pass a table from run_grid or RunStore().read().")
    known = {name: str(parse(formula)) for name, formula in formulas.items()}

    def config(row: pd.Series) -> str:
        if row["activation"] in NAMED_LABELS:
            return f"{str(row['arch']).capitalize()} {row['activation']}"
        formula = str(parse(row["formula"] or row["activation"]))
        if known.get(row["dataset"]) == formula:
            return SPECIALIST
        sources = [name for name, text in known.items() if text == formula and name != row["dataset"]]
        return transfer_label(sources[0]) if sources else formula

    return runs.assign(config=[config(row) for _, row in runs.iterrows()])


def config_order(configs: Iterable[str], first: Sequence[str] = CONFIG_ORDER) -> list[str]:
    """The distinct ``configs`` in the paper's order: those in ``first`` as listed (baselines, Specialist),
    Transfers, then the rest sorted."""
    def rank(config: str) -> tuple[int, str]:
        if config in first:
            return first.index(config), ""
        return (len(first), config) if config.startswith("Transfer (") else (len(first) + 1, config)

    return sorted(set(configs), key=rank)


def in_order(frame: pd.DataFrame, by: Sequence[str], orders: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """``frame`` sorted by ``by``, each column in ``orders`` in its listed order, the others ascending; renumbered."""
    ranks = {column: {value: rank for rank, value in enumerate(values)} for column, values in orders.items()}
    ordered = frame.sort_values(list(by), key=lambda c: c.map(ranks[c.name]) if c.name in ranks else c)
    return ordered.reset_index(drop=True)


def versus_paper_code(runs: pd.DataFrame) -> pd.DataFrame:
    """Our mean accuracy and AUC of ok runs per data set and config (``with_roles``) beside the paper's code's
    on the mirror (its ``Transfer`` is our ``Transfer (HIGGS)``), where it has a number; ``within``: accuracy
    difference at most ``paper.ACCURACY_TOLERANCE`` (``docs/method.md``: 1.5 points)."""
    if "config" not in runs.columns:
        raise ValueError("runs lack the 'config' column; label them first with with_roles(runs, formulas).")
    ok = runs[runs["status"] == "ok"]
    ours = ok.groupby(["dataset", "config"], sort=False).agg(
        seeds=("seed", "nunique"), acc=("acc", "mean"), auc=("auc", "mean")
    )
    theirs = paper.PAPER_CODE_ON_MIRROR.replace({"config": {"Transfer": transfer_label("HIGGS")}}).rename(
        columns={"acc": "acc_paper", "auc": "auc_paper"}
    )
    table = ours.join(theirs.set_index(["dataset", "config"]), how="inner")
    table["acc_diff"] = table["acc"] - table["acc_paper"]
    table["auc_diff"] = table["auc"] - table["auc_paper"]
    table["within"] = table["acc_diff"].abs() <= paper.ACCURACY_TOLERANCE
    return table.reset_index()[
        ["dataset", "config", "seeds", "acc", "acc_paper", "acc_diff", "auc", "auc_paper", "auc_diff", "within"]
    ]


def loss_curves(runs: pd.DataFrame, by: Sequence[str] = ("dataset", "config", "seed")) -> pd.DataFrame:
    """The per-epoch training loss of each run in long form: the ``by`` columns, ``epoch`` (from 1), ``train_loss``."""
    missing = [column for column in (*by, "train_loss") if column not in runs.columns]
    if missing:
        raise ValueError(f"runs lack the columns {missing}; label them with with_roles first if 'config' is one.")
    split = runs[list(by)].assign(train_loss=runs["train_loss"].astype(str).str.split(";")).reset_index(drop=True)
    losses = split.explode("train_loss").query("train_loss != ''")
    epochs = losses.groupby(level=0).cumcount() + 1
    losses = losses.assign(epoch=epochs, train_loss=losses["train_loss"].astype(float))
    return losses[[*by, "epoch", "train_loss"]].reset_index(drop=True)


def plot_configs(runs: pd.DataFrame, metric: str = "auc", label: str = "test ROC AUC") -> plt.Figure:
    """One panel per data set, each with its own y-axis: every ok run of each config (``with_roles``) as a point
    coloured by seed, and the mean ± std."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from nslib.core.plots import LEGEND_RIGHT, dataset_panels, fixed_jitter

    ok = runs[runs["status"] == "ok"].astype({"seed": str})
    if ok.empty:
        raise ValueError("no finished runs to plot: every run failed or the table is empty.")
    fig, axes, by_dataset = dataset_panels(ok, 4.6, 4.4)
    for ax, (name, data) in zip(axes, by_dataset):
        order = config_order(data["config"])
        with fixed_jitter():
            sns.stripplot(data=data, x="config", y=metric, hue="seed", order=order, dodge=False, jitter=0.15,
                          size=6, alpha=0.8, ax=ax, legend=ax is axes[-1])
        sns.pointplot(data=data, x="config", y=metric, order=order, errorbar="sd", color="black",
                      markers="_", markersize=18, linestyle="none", ax=ax)
        ax.set(title=name, xlabel="", ylabel=label)
        plt.setp(ax.get_xticklabels(), rotation=45, ha="right", rotation_mode="anchor")
    axes[-1].legend(title="seed", **LEGEND_RIGHT)
    fig.tight_layout()
    return fig
