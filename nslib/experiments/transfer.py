"""Notebook 04 puts on trial the paper's claim that HIGGS's GP formula beats ReLU, GELU and SiLU on Forest Cover
and loses on Spambase: with more seeds, every data set's formula on every data set (the transfer matrix), and the
control the paper lacks, random formulas from GP's grammar. Runs are paired by seed and named by activation
spec, so two data sets' equal formulas stay one activation; only Light runs are compared, so that Heavy ReLU
never mixes with Light ReLU.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from nslib.core.checks import check_int
from nslib.core.plots import fixed_jitter
from nslib.data.catalog import CATALOG, Dataset
from nslib.engine.specs import RunSpec
from nslib.experiments.paper_grid import (
    PAPER_ACTIVATIONS,
    SPECIALIST,
    Config,
    paper_configs,
    specs_for,
    transfer_label,
    with_roles,
)
from nslib.experiments.profiles import Profile
from nslib.formulas.activations import activation_label
from nslib.formulas.discovery import random_programs, simplified_text, stability
from nslib.formulas.parser import parse
from nslib.stats import comparisons
from nslib.stats.paper import HIGGS_FORMULA_REPORTED
from nslib.stats.register import Claim

SOURCE = "HIGGS"
PAPER_FORMULA_LABEL = "Paper's HIGGS formula x*cos(x)"
TOP_SHARE = 0.25  # "ranks in the top 25% of random formulas"
RANK_CLAIM = "HIGGS formula ranks in the top 25% of random formulas"
MATRIX_COLUMNS = ["target", "source", "formula", "n_seeds", "auc_mean", "diff_mean", "diff_sd"]
PAPER_TRANSFER_WORDS = (
    'the title\'s "Transferring Mathematical Structures from Physics to Ecology"; '
    'Table 2 names "Hybrid (Transfer)" the best Forest Cover model'
)
PAPER_BOUNDARY_WORDS = 'Spambase is the approach\'s "boundary condition": the HIGGS formula does not transfer to it'
PAPER_REPO_WORDS = 'the paper\'s repository: x*cos(x) transfers to Forest Cover, "outperforming ReLU, GELU, and SiLU"'
# The shape controls: is the HIGGS formula more than a plain trigonometric shape (issue 29)?
SHAPES = {"cos": "cos(x)", "sin": "sin(x)", "xcosx": HIGGS_FORMULA_REPORTED}
ONE_OPERATOR_REFERENCES = {"x": "x", "sin(x)": "sin(x)", "cos(x)": "cos(x)", "x cos(x)": HIGGS_FORMULA_REPORTED}


def target_of(datasets: Sequence[str]) -> str:
    """The data set the transfer is judged on: the user's own (a name outside the catalog), else FOREST_COVER."""
    own = [name for name in datasets if name not in CATALOG]
    return own[0] if own else "FOREST_COVER"


def check_parameters(datasets: Sequence[str], n_random: object, random_seed: object) -> None:
    """Validate notebook 04's parameters beyond ``check_selection``: the data sets the claim needs,
    ``N_RANDOM`` and ``RANDOM_SEED``."""
    target = target_of(datasets)
    needed = [name for name in (SOURCE, target) if name not in datasets]
    if needed:
        raise ValueError(
            f"DATASETS={list(datasets)!r} lacks {needed}: the claim on trial is HIGGS's formula on {target} "
            "(FOREST_COVER, or your USER_CSV); keep HIGGS, the source (SPAMBASE is optional)."
        )
    check_int("N_RANDOM", n_random, example="20 (or None for the profile's)")
    check_int("RANDOM_SEED", random_seed, low=0, high=2**32 - 1, example="0")


def transfer_specs(
    datasets: Sequence[str],
    formulas: Mapping[str, str],
    gp_formulas: Mapping[int, str],
    seeds: Sequence[int],
    epochs: int,
) -> list[RunSpec]:
    """Light runs of ``transfer_configs`` and of every formula in ``formulas`` on every data set (the matrix),
    every seed; no Heavy: no transfer claim is about it, and it costs about four Light runs."""
    if SOURCE not in formulas:
        raise ValueError(f"no formula for {SOURCE}, the transfer source; pass formulas=formulas_for(...) with it.")
    matrix = [(target, "light", formula, None) for target in datasets for formula in formulas.values()]
    return specs_for([*transfer_configs(datasets, formulas, gp_formulas), *matrix], seeds, epochs)


def label_configs(runs: pd.DataFrame, formulas: Mapping[str, str], gp_formulas: Mapping[int, str]) -> pd.DataFrame:
    """``nslib.experiments.paper_grid.with_roles``, then formulas that are no data set's seed-42 formula named: x*cos(x) as
    ``PAPER_FORMULA_LABEL``, GP seed s's HIGGS formula as ``gp_seed_label(s)`` (the first seed, if two found it)."""
    names = {str(parse(formula)): gp_seed_label(seed) for seed, formula in reversed(list(gp_formulas.items()))}
    names[str(parse(HIGGS_FORMULA_REPORTED))] = PAPER_FORMULA_LABEL
    labelled = with_roles(runs, formulas)
    labelled["config"] = labelled["config"].replace(names)
    return labelled


def seed_differences(runs: pd.DataFrame, dataset: str, better: str, worse: str, metric: str = "auc") -> pd.Series:
    """``comparisons.seed_differences`` among Light runs, ``better`` and ``worse`` given as activation specs
    (``"relu"``, a formula)."""
    labels = activation_label(better), activation_label(worse)
    return comparisons.seed_differences(runs[runs["arch"] == "light"], dataset, *labels, metric)


def transfer_matrix(runs: pd.DataFrame, formulas: Mapping[str, str]) -> pd.DataFrame:
    """``MATRIX_COLUMNS`` per target in ``runs`` and source, in the order of ``formulas``: seeds where the source's
    formula and Light ReLU are both ok, its mean AUC there, mean and sd of its AUC minus Light ReLU's."""
    light = runs[runs["arch"] == "light"]
    targets = [name for name in formulas if name in set(light["dataset"])]
    rows = []
    for target in targets:
        here = light[(light["dataset"] == target) & (light["status"] == "ok")]
        for source, formula in formulas.items():
            diffs = seed_differences(light, target, formula, "relu")
            own = here[(here["activation"] == activation_label(formula)) & here["seed"].isin(diffs.index)]
            rows.append({
                "target": target, "source": source, "formula": formula, "n_seeds": len(diffs),
                "auc_mean": own["auc"].mean(), "diff_mean": diffs.mean(), "diff_sd": diffs.std(ddof=1),
            })
    return pd.DataFrame(rows, columns=MATRIX_COLUMNS)


def plot_transfer_matrix(matrix: pd.DataFrame) -> plt.Figure:
    """A heatmap of ``transfer_matrix``: colour the mean AUC difference, text its mean ± sd over seeds."""
    if matrix.empty:
        raise ValueError(
            "the transfer matrix is empty: no data set in the runs has a formula in formulas; "
            "build it with transfer_matrix(runs, formulas) on runs of those data sets."
        )
    targets, sources = matrix["target"].unique(), matrix["source"].unique()
    means, sds = (matrix.pivot(index="target", columns="source", values=column).loc[targets, sources]
                  for column in ("diff_mean", "diff_sd"))
    text = means.map(lambda m: f"{m:+.3f}") + "\n± " + sds.map(lambda s: f"{s:.3f}")
    limit = float(np.nanmax(np.abs(means.to_numpy()))) or 1.0
    fig, ax = plt.subplots(figsize=(1.9 * len(sources) + 2.5, 1.2 * len(targets) + 1.5))
    sns.heatmap(
        means, annot=text, fmt="", cmap="vlag_r", center=0, vmin=-limit, vmax=limit, linewidths=1, ax=ax,
        cbar_kws={"label": "AUC minus Light ReLU (mean over seeds)"},
    )
    ax.set(xlabel="formula discovered on (source)", ylabel="trained on (target)",
           title="Each data set's formula on each data set: AUC difference from Light ReLU")
    ax.tick_params(axis="y", rotation=0)
    return fig


def gp_seed_formulas(dataset: Dataset, profile: Profile) -> dict[int, str]:
    """The formula GP finds on ``dataset`` with each of ``profile.gp_stability_seeds`` (notebook 02's study)."""
    table = stability(dataset, profile.gp_stability_seeds, population_size=profile.gp_population,
                      generations=profile.gp_generations)
    return dict(zip(table["seed"].tolist(), table["formula"]))


def gp_seed_label(seed: int) -> str:
    """The config label of the HIGGS formula found with GP seed ``seed``: ``HIGGS formula, GP seed 43``."""
    return f"HIGGS formula, GP seed {seed}"


def transfer_claims(
    datasets: Sequence[str], gp_formulas: Mapping[int, str], formulas: Mapping[str, str]
) -> list[Claim]:
    """Notebook 04's family of mean-difference claims, framed so that "holds" means the claim is right.

    On the target (``target_of``): the paper's claims that ``Transfer (HIGGS)``
    beats Light ReLU, GELU and SiLU, its repository's that x*cos(x) does, and as
    own questions each GP seed's HIGGS formula not already asked about against
    Light ReLU. On SPAMBASE, the paper's boundary: Light ReLU and the Specialist
    beat the HIGGS formula. On both, the shape controls as own questions: the
    HIGGS formula beats cos(x), sin(x) and x*cos(x) (``shape_labels``).
    """
    target = target_of(datasets)
    transfer = transfer_label(SOURCE)
    is_paper = target == "FOREST_COVER"
    claims = [
        Claim(f"04-transfer-{b}", f"{transfer} beats Light {activation_label(b)}", target, transfer,
              f"Light {activation_label(b)}", paper_words=PAPER_TRANSFER_WORDS if is_paper else "",
              source="title; Table 2" if is_paper else "")
        for b in PAPER_ACTIVATIONS
    ]
    claims += [
        Claim(f"04-transfer-xcosx-{b}", f"{PAPER_FORMULA_LABEL} beats Light {activation_label(b)}", target,
              PAPER_FORMULA_LABEL, f"Light {activation_label(b)}", paper_words=PAPER_REPO_WORDS if is_paper else "",
              source="the paper's repository" if is_paper else "")
        for b in PAPER_ACTIVATIONS
    ]
    for dataset in shape_targets(datasets):
        claims += [Claim(f"04-shape-{dataset}-{key}", f"{transfer} beats {label}", dataset, transfer, label)
                   for key, label in shape_labels(formulas, gp_formulas).items()]
    # label_configs names a formula once: seed 42's as the Transfer, x*cos(x) as the paper's, else its first GP seed.
    asked = {str(parse(formulas[SOURCE])), str(parse(HIGGS_FORMULA_REPORTED))}
    for seed, formula in gp_formulas.items():
        if str(parse(formula)) not in asked:
            asked.add(str(parse(formula)))
            claims.append(Claim(f"04-transfer-gp{seed}", f"{gp_seed_label(seed)} beats Light ReLU", target,
                                gp_seed_label(seed), "Light ReLU"))
    if "SPAMBASE" in datasets:
        claims += [
            Claim("04-boundary-relu", f"Light ReLU beats {transfer}", "SPAMBASE", "Light ReLU", transfer,
                  paper_words=PAPER_BOUNDARY_WORDS, source="discussion"),
            Claim("04-boundary-specialist", f"the Specialist beats {transfer}", "SPAMBASE", SPECIALIST, transfer),
        ]
    return claims


def shape_targets(datasets: Sequence[str]) -> list[str]:
    """The data sets of the shape controls: the transfer target and SPAMBASE, where loaded."""
    return [name for name in dict.fromkeys([target_of(datasets), "SPAMBASE"]) if name in datasets]


def shape_labels(formulas: Mapping[str, str], gp_formulas: Mapping[int, str]) -> dict[str, str]:
    """The shape controls (``SHAPES``, by key) as ``label_configs`` names them: x*cos(x) as ``PAPER_FORMULA_LABEL``,
    the others by their formula; a shape that is a data set's or a GP seed's formula is left out (it has that name)."""
    taken = {str(parse(formula)) for formula in [*formulas.values(), *gp_formulas.values()]}
    labels = {}
    for key, shape in SHAPES.items():
        if shape == HIGGS_FORMULA_REPORTED:
            labels[key] = PAPER_FORMULA_LABEL
        elif str(parse(shape)) not in taken:
            labels[key] = str(parse(shape))
    return labels


def transfer_configs(
    datasets: Sequence[str], formulas: Mapping[str, str], gp_formulas: Mapping[int, str]
) -> list[Config]:
    """The Light configurations the family needs: the paper's grid without Heavy, x*cos(x) and the GP seeds' formulas
    on the target, and the shape controls (``SHAPES``) on the target and SPAMBASE."""
    target = target_of(datasets)
    lights = [config for config in paper_configs(datasets, formulas, transfer_from=SOURCE) if config[1] == "light"]
    extra = [(target, formula) for formula in [HIGGS_FORMULA_REPORTED, *gp_formulas.values()]]
    extra += [(name, shape) for name in shape_targets(datasets) for shape in SHAPES.values()]
    configs = lights + [(name, "light", formula, None) for name, formula in extra]
    return list(dict.fromkeys(configs))


def random_formulas(n: int, *, seed: int, n_features: int) -> pd.DataFrame:
    """``n`` random programs from gplearn's generator, collapsed like the discovered ones: per ``draw`` (from 1)
    the ``program``, ``formula``, sympy's ``simplified`` text, ``constant`` (sympy finds no x, e.g. in
    ``sub(x, x)``) and ``first_draw`` with the same formula (repeats stay draws, but train once)."""
    check_int("n", n, example="20")
    programs = random_programs(n, seed=seed, n_features=n_features)
    formulas = [str(parse(program).collapse()) for program in programs]
    table = pd.DataFrame({
        "draw": range(1, len(programs) + 1), "program": programs, "formula": formulas,
        "simplified": [simplified_text(formula) for formula in formulas],
        "constant": [not parse(formula).to_sympy().free_symbols for formula in formulas],
    })
    return table.assign(first_draw=table.groupby("formula")["draw"].transform("first"))


def control_specs(
    dataset: str, formulas: Iterable[str], seeds: Sequence[int], epochs: int, references: Sequence[str],
    lr: float = 1e-3,
) -> list[RunSpec]:
    """Light runs of each distinct formula and each reference (``"relu"``, the HIGGS formula) on ``dataset``, at
    ``epochs`` and ``lr`` (the paper's budget, or the HIGGS formula's tuned one)."""
    return specs_for([(dataset, "light", activation, None) for activation in [*references, *formulas]], seeds, epochs,
                     lr=lr)


def budget_check(family_runs: pd.DataFrame, own_runs: pd.DataFrame, budgets: pd.DataFrame,
                 references: Mapping[str, str], datasets: Sequence[str]) -> pd.DataFrame:
    """What the family budget costs a formula: each reference (name: formula) that has its own tuned budget on a data
    set of ``datasets`` (``budgets``), its mean AUC at that budget (``own_runs``) and at the family budget
    (``family_runs``), over the seeds both have."""
    rows = []
    for name in datasets:
        for reference, formula in references.items():
            label = activation_label(formula)
            own = budgets[(budgets["dataset"] == name) & (budgets["arch"] == "light") & (budgets["activation"] == label)]
            if own.empty:
                continue
            aucs = [runs[(runs["dataset"] == name) & (runs["arch"] == "light") & (runs["activation"] == label)
                         & (runs["status"] == "ok")].groupby("seed")["auc"].mean() for runs in (own_runs, family_runs)]
            seeds = aucs[0].index.intersection(aucs[1].index)
            own_mean, family_mean = (float(auc.loc[seeds].mean()) for auc in aucs)
            rows.append({"dataset": name, "reference": reference, "own_lr": float(own["lr"].iloc[0]),
                         "own_epochs": int(own["epochs"].iloc[0]), "seeds": len(seeds), "own_mean": own_mean,
                         "family_mean": family_mean, "family_minus_own": family_mean - own_mean})
    return pd.DataFrame(rows, columns=["dataset", "reference", "own_lr", "own_epochs", "seeds", "own_mean",
                                       "family_mean", "family_minus_own"])


def per_activation(runs: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Per activation label on ``dataset`` (Light runs): runs ``ok`` and ``failed``, mean AUC and accuracy over
    the ok ones (NaN if none), and the first failure's ``reason``."""
    part = runs[(runs["arch"] == "light") & (runs["dataset"] == dataset)]
    part = part.assign(ok=lambda t: t["status"] == "ok", failed=lambda t: ~t["ok"])
    counts = part.groupby("activation")[["ok", "failed"]].sum()
    means = part[part["ok"]].groupby("activation")[["auc", "acc"]].mean().add_suffix("_mean")
    reasons = part[part["failed"]].groupby("activation")["reason"].first()
    return counts.join(means).join(reasons).fillna({"reason": ""})


def control_results(draws: pd.DataFrame, runs: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """``draws`` (from ``random_formulas``) with each draw's runs ok, failed, mean AUC and accuracy on ``dataset``."""
    table = per_activation(runs, dataset)
    labels = draws["formula"].map(activation_label)
    missing = sorted(set(labels) - set(table.index))
    if missing:
        raise ValueError(f"no runs on {dataset} of the random formulas {missing}; train control_specs(...) first.")
    return draws.join(table.loc[labels].set_axis(draws.index))


def plot_random_control(
    results: pd.DataFrame, marks: Mapping[str, float], dataset: str, band: tuple[float, float] | None = None
) -> plt.Figure:
    """Each random draw's mean AUC as a point (constant formulas on their own row), ``marks`` (name: AUC) as
    lines, ``band`` (the HIGGS formula's interval) shaded; the right panel zooms in on the marks."""
    kinds = {True: "constant formula", False: "formula in x"}
    counts = results["constant"].value_counts()
    names = {flag: f"{kind} ({counts.get(flag, 0)} draws)" for flag, kind in kinds.items()}
    shown = results.dropna(subset=["auc_mean"]).assign(kind=lambda t: t["constant"].map(names))
    failed = int(results["auc_mean"].isna().sum())
    values = [*marks.values(), *shown["auc_mean"]]
    zoom = (min(marks.values()) - 0.02, max(values) + 0.005)
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8), sharey=True, width_ratios=(3, 2), layout="constrained")
    panels = (("all draws", f"ROC AUC on {dataset}'s test split (mean over seeds)"),
              ("zoomed in on the marks", "ROC AUC (same, zoomed in)"))
    for ax, (title, xlabel) in zip(axes, panels):
        with fixed_jitter():
            sns.stripplot(shown, x="auc_mean", y="kind", order=[names[False], names[True]], hue="kind",
                          legend=False, jitter=0.25, size=7, alpha=0.8, ax=ax)
        for (name, auc), colour in zip(marks.items(), sns.color_palette("dark", len(marks))):
            ax.axvline(auc, color=colour, linewidth=2, linestyle="--", label=f"{name} ({auc:.3f})")
        if band is not None:
            ax.axvspan(*band, color="grey", alpha=0.2, label="HIGGS formula's interval")
        ax.set(xlabel=xlabel, ylabel="", title=title)
    axes[1].set_xlim(*zoom)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(marks))
    note = f"; {failed} failed on every seed, not shown" if failed else ""
    fig.suptitle(f"{len(results)} random formulas from GP's grammar on {dataset}{note}")
    return fig


def draw_table(draws: pd.DataFrame, runs: pd.DataFrame, dataset: str, metric: str = "auc") -> pd.DataFrame:
    """The random draws' ``metric`` on ``dataset``: one row per draw (a repeated formula repeats its row, as the
    grammar drew it that often) and one column per seed, the ``draws`` argument of ``verdicts.rank_share``.

    Draws whose formula failed on some seed are left out; ``len(draws) - len(table)`` says how many.
    """
    labels = draws["formula"].map(activation_label)
    here = runs[(runs["arch"] == "light") & (runs["dataset"] == dataset) & runs["activation"].isin(labels)
                & (runs["status"] == "ok")]
    table = here.pivot_table(index="activation", columns="seed", values=metric).dropna()
    kept = labels[labels.isin(table.index)]
    return table.loc[kept].set_axis(draws.loc[kept.index, "draw"] if "draw" in draws else kept.index, axis=0)


def rank_claim(dataset: str) -> Claim:
    """The claim "the HIGGS formula ranks in the top 25% of random formulas" on ``dataset`` (own question)."""
    return Claim(f"04-rank-{dataset}", RANK_CLAIM, dataset, transfer_label(SOURCE), "random formulas")


def reference_table(
    runs: pd.DataFrame, results: pd.DataFrame, references: Mapping[str, str], dataset: str, metric: str = "auc"
) -> pd.DataFrame:
    """Each reference's (name: activation spec) mean ``metric`` on ``dataset`` and the share of random draws it beats.

    ``runs`` hold the references' runs, ``results`` is ``control_results``'s
    table (draws whose runs all failed have no mean and are left out).
    """
    means = per_activation(runs, dataset)[f"{metric}_mean"]
    absent = [spec for spec in references.values() if activation_label(spec) not in means.index]
    if absent:
        raise ValueError(f"no Light runs of {absent} on {dataset}; train control_specs(...) first.")
    others = results[f"{metric}_mean"].dropna()
    mean = pd.Series({name: means[activation_label(spec)] for name, spec in references.items()})
    share_beaten = [float((others < value).mean()) for value in mean]
    table = pd.DataFrame({"dataset": dataset, "mean": mean, "draws": len(others), "share_beaten": share_beaten})
    return table.rename_axis("reference")
