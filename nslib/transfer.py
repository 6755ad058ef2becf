"""Putting the transfer claim on trial: the grid, the transfer matrix, a random-formula control and verdicts.

The paper says the formula GP finds on HIGGS beats ReLU, GELU and SiLU on
Forest Cover and loses on Spambase. Notebook 04 tries that with more seeds,
with every data set's formula on every data set (the transfer matrix), and
against the control the paper lacks: formulas drawn at random from the grammar
GP searches, collapsed the same way. Comparisons are paired by seed (runs with
the same data set and seed share split, scaler and shuffling) and named by
activation spec, so they stay right when two data sets' formulas happen to be
the same. Defined for notebook 04.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from scipy import stats

from nslib import comparisons
from nslib.activations import BUILTINS, activation_label
from nslib.checks import check_int
from nslib.comparisons import CANNOT_TELL, DOES_NOT_HOLD, HOLDS, VERDICT_COLUMNS, rank_among, t_interval, verdict, verdict_row
from nslib.data import REGISTRY
from nslib.discovery import random_programs, simplified_text
from nslib.grids import paper_specs, specs_for, with_roles
from nslib.paper import HIGGS_FORMULA_REPORTED
from nslib.symbolic import parse
from nslib.training import RunSpec

SOURCE = "HIGGS"
PAPER_FORMULA_LABEL = "Paper's HIGGS formula x*cos(x)"
BASELINE = "relu"
TOP_SHARE = 0.25  # "ranks in the top 25% of random formulas"
RANK_CLAIM = "HIGGS formula ranks in the top 25% of random formulas"
METRIC_NAMES = {"auc": "ROC AUC", "acc": "accuracy"}
MATRIX_COLUMNS = ["target", "source", "formula", "n_seeds", "auc_mean", "diff_mean", "diff_sd", "ci_low", "ci_high"]


def target_of(datasets: Sequence[str]) -> str:
    """The data set the transfer is judged on: the user's own (a name outside the registry), else FOREST_COVER."""
    own = [name for name in datasets if name not in REGISTRY]
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
    seeds: Sequence[int],
    epochs: int,
    extra_formulas: Sequence[str] = (HIGGS_FORMULA_REPORTED,),
) -> list[RunSpec]:
    """Light runs for sections 1-3 of notebook 04: the paper's grid without Heavy, and the whole matrix.

    Per data set and seed: Light ReLU, GELU, SiLU and the Specialist, the
    HIGGS formula on every other data set (``nslib.grids.paper_specs``), then
    every data set's formula in ``formulas`` and each of ``extra_formulas`` (the
    paper's reported HIGGS formula) on every data set. Heavy is left out: no
    transfer claim is about it, and it costs about four Light runs.
    """
    if SOURCE not in formulas:
        raise ValueError(f"no formula for {SOURCE}, the transfer source; pass formulas=formulas_for(...) with it.")
    lights = [spec for spec in paper_specs(datasets, formulas, seeds, epochs, transfer_from=SOURCE)
              if spec.arch == "light"]
    matrix = [(target, "light", formula, None) for target in datasets for formula in [*formulas.values(), *extra_formulas]]
    listed = {spec.key for spec in lights}
    return lights + [spec for spec in specs_for(matrix, seeds, epochs) if spec.key not in listed]


def label_configs(runs: pd.DataFrame, formulas: Mapping[str, str]) -> pd.DataFrame:
    """``nslib.grids.with_roles``, with the paper's reported HIGGS formula named ``PAPER_FORMULA_LABEL``.

    A config that is still a formula's text after ``with_roles`` is one no data
    set found; the paper's formula is the only such one in notebook 04's grid.
    """
    labelled = with_roles(runs, formulas)
    labelled["config"] = labelled["config"].replace({str(parse(HIGGS_FORMULA_REPORTED)): PAPER_FORMULA_LABEL})
    return labelled


def _light(runs: pd.DataFrame) -> pd.DataFrame:
    # Runs are paired by activation label: Heavy ReLU must not mix with Light ReLU.
    return runs[runs["arch"] == "light"]


def seed_differences(runs: pd.DataFrame, dataset: str, better: str, worse: str, metric: str = "auc") -> pd.Series:
    """``better - worse`` in ``metric`` per seed on ``dataset`` among Light runs (``comparisons.seed_differences``).

    ``better`` and ``worse`` are activation specs (``"relu"``, a formula); the
    result is indexed by seed, and empty when one of them failed on every seed.
    """
    return comparisons.seed_differences(_light(runs), dataset, activation_label(better), activation_label(worse), metric)


def transfer_matrix(runs: pd.DataFrame, formulas: Mapping[str, str], baseline: str = BASELINE) -> pd.DataFrame:
    """Every source data set's formula on every target: mean AUC and its paired difference from Light ReLU.

    One row per (target, source) with the columns of ``MATRIX_COLUMNS``: the
    seeds where both runs are ok, the formula's mean AUC over those seeds, and
    the mean, sd and 95% t interval of its AUC minus ``baseline``'s, seed by
    seed (``seed_differences``). Targets are the data sets ``runs`` holds, in
    the order of ``formulas``.
    """
    light = _light(runs)
    targets = [name for name in formulas if name in set(light["dataset"])]
    rows = []
    for target in targets:
        here = light[(light["dataset"] == target) & (light["status"] == "ok")]
        for source, formula in formulas.items():
            diffs = seed_differences(light, target, formula, baseline)
            own = here[(here["activation"] == activation_label(formula)) & here["seed"].isin(diffs.index)]
            low, high = t_interval(diffs.to_numpy())
            rows.append({
                "target": target, "source": source, "formula": formula, "n_seeds": len(diffs),
                "auc_mean": own["auc"].mean(), "diff_mean": diffs.mean(), "diff_sd": diffs.std(ddof=1),
                "ci_low": low, "ci_high": high,
            })
    return pd.DataFrame(rows, columns=MATRIX_COLUMNS)


def plot_transfer_matrix(matrix: pd.DataFrame, baseline_label: str = "Light ReLU") -> plt.Figure:
    """A heatmap of ``transfer_matrix``: colour the mean AUC difference, text its mean ± sd over seeds."""
    if matrix.empty:
        raise ValueError(
            "the transfer matrix is empty: no data set in the runs has a formula in formulas; "
            "build it with transfer_matrix(runs, formulas) on runs of those data sets."
        )
    means = matrix.pivot(index="target", columns="source", values="diff_mean")
    targets, sources = list(dict.fromkeys(matrix["target"])), list(dict.fromkeys(matrix["source"]))
    means = means.loc[targets, sources]
    sds = matrix.pivot(index="target", columns="source", values="diff_sd").loc[targets, sources]
    text = means.map(lambda m: f"{m:+.3f}") + "\n± " + sds.map(lambda s: f"{s:.3f}")
    limit = float(np.nanmax(np.abs(means.to_numpy()))) or 1.0
    fig, ax = plt.subplots(figsize=(1.9 * len(sources) + 2.5, 1.2 * len(targets) + 1.5))
    sns.heatmap(
        means, annot=text, fmt="", cmap="vlag_r", center=0, vmin=-limit, vmax=limit, linewidths=1, ax=ax,
        cbar_kws={"label": f"AUC minus {baseline_label} (mean over seeds)"},
    )
    ax.set(xlabel="formula discovered on (source)", ylabel="trained on (target)",
           title=f"Each data set's formula on each data set: AUC difference from {baseline_label}")
    ax.tick_params(axis="y", rotation=0)
    return fig


@dataclass(frozen=True)
class Comparison:
    """A claim "``better`` beats ``worse`` on ``dataset``", tried seed by seed.

    ``better`` and ``worse`` are activation specs (``"relu"`` or a formula), so
    the claim names the runs unambiguously; ``claim`` is its text for tables.
    """

    claim: str
    dataset: str
    better: str
    worse: str

    def result(self, runs: pd.DataFrame, metric: str = "auc") -> dict:
        """The two paired by seed on Light runs (``seed_differences``), as a row with ``VERDICT_COLUMNS``.

        When one side failed on every seed there is nothing to pair: the row has
        ``n_seeds`` 0, NaNs and "cannot tell" (the failures show in the run tables).
        """
        diffs = seed_differences(runs, self.dataset, self.better, self.worse, metric)
        return verdict_row(self.claim, self.dataset, metric, diffs)


def _builtin_label(name: str) -> str:
    return f"Light {BUILTINS[name][0]}"


def paper_claims(datasets: Sequence[str], formulas: Mapping[str, str]) -> list[Comparison]:
    """The paper's transfer claims that ``datasets`` allow, framed so that "holds" means the paper is right.

    On FOREST_COVER: the HIGGS formula beats Light ReLU, GELU and SiLU, and so
    does the formula the paper reports for HIGGS (x*cos(x)). On SPAMBASE (the
    "boundary condition"): the HIGGS formula is worse than the Specialist and
    worse than Light ReLU, so those claims put the HIGGS formula second. On a
    user's data set (a name outside the registry), the paper's transfer claim
    asked of it: the HIGGS formula beats Light ReLU, GELU and SiLU.
    """
    higgs = formulas[SOURCE]
    claims = []
    if "FOREST_COVER" in datasets:
        for name, formula in (("HIGGS formula", higgs), (PAPER_FORMULA_LABEL, HIGGS_FORMULA_REPORTED)):
            claims += [Comparison(f"{name} beats {_builtin_label(b)}", "FOREST_COVER", formula, b) for b in BUILTINS]
    for own in (name for name in datasets if name not in REGISTRY):
        claims += [Comparison(f"HIGGS formula beats {_builtin_label(b)}", own, higgs, b) for b in BUILTINS]
    if "SPAMBASE" in datasets:
        claims += [
            Comparison("HIGGS formula is worse than the Specialist", "SPAMBASE", formulas["SPAMBASE"], higgs),
            Comparison("HIGGS formula is worse than Light ReLU", "SPAMBASE", BASELINE, higgs),
        ]
    return claims


def claim_table(
    runs: pd.DataFrame, claims: Sequence[Comparison], metrics: Sequence[str] = ("auc", "acc")
) -> pd.DataFrame:
    """One row per claim and metric, with ``VERDICT_COLUMNS`` (claims missing their runs raise a ValueError)."""
    rows = [claim.result(runs, metric) for metric in metrics for claim in claims]
    return pd.DataFrame(rows, columns=VERDICT_COLUMNS)


def plot_paired(table: pd.DataFrame) -> plt.Figure:
    """A forest plot of ``claim_table``: each claim's mean paired difference and 95% CI, one panel per metric."""
    metrics = list(dict.fromkeys(table["metric"]))
    labels = list(dict.fromkeys(table["dataset"] + ": " + table["claim"]))
    colours = sns.color_palette("colorblind")
    palette = {HOLDS: colours[2], DOES_NOT_HOLD: colours[3], CANNOT_TELL: colours[7]}
    fig, axes = plt.subplots(1, len(metrics), figsize=(6 * len(metrics), 0.45 * len(labels) + 1.6),
                             sharey=True, squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        part = table[table["metric"] == metric].assign(label=lambda t: t["dataset"] + ": " + t["claim"])
        y = part["label"].map({label: i for i, label in enumerate(labels)})
        for name, group in part.groupby("verdict"):
            rows = y[group.index]
            ax.errorbar(group["mean_diff"], rows, fmt="o", color=palette[name], label=name, capsize=3,
                        xerr=[group["mean_diff"] - group["ci_low"], group["ci_high"] - group["mean_diff"]])
        ax.axvline(0, color="grey", linewidth=1, linestyle="--")
        ax.set(yticks=range(len(labels)), yticklabels=labels, ylim=(len(labels) - 0.5, -0.5),
               xlabel=f"claimed winner minus the other ({METRIC_NAMES.get(metric, metric)}, paired by seed)")
    # One legend for all panels, below them, so that it hides no interval.
    handles = {label: handle for ax in axes[0] for handle, label in zip(*ax.get_legend_handles_labels())}
    fig.legend(handles.values(), handles.keys(), title="verdict (95% CI)", loc="upper center",
               bbox_to_anchor=(0.5, 0.0), ncol=len(handles))
    fig.suptitle("The paper's transfer claims, seed by seed: mean difference and 95% confidence interval")
    return fig


def random_formulas(n: int, *, seed: int, n_features: int) -> pd.DataFrame:
    """``n`` random programs from gplearn's generator, collapsed like the discovered ones.

    One row per draw: ``draw`` (from 1), the ``program``, its collapsed
    ``formula``, sympy's ``simplified`` text, ``constant`` (the collapsed
    formula does not depend on x, as sympy writes it, e.g. ``sub(x, x)``) and
    ``first_draw``, the first draw with the same formula: repeats are kept as
    draws (the grammar made them) but train once.
    """
    check_int("n", n, example="20")
    programs = random_programs(n, seed=seed, n_features=n_features)
    formulas = [str(parse(program).collapse()) for program in programs]
    first = {}
    rows = []
    for draw, (program, formula) in enumerate(zip(programs, formulas), start=1):
        first.setdefault(formula, draw)
        rows.append({
            "draw": draw, "program": program, "formula": formula, "simplified": simplified_text(formula),
            "constant": not parse(formula).to_sympy().free_symbols, "first_draw": first[formula],
        })
    return pd.DataFrame(rows)


def control_specs(
    dataset: str, formulas: Iterable[str], seeds: Sequence[int], epochs: int, references: Sequence[str]
) -> list[RunSpec]:
    """Light runs of each distinct formula and each reference (``"relu"``, the HIGGS formula) on ``dataset``."""
    return specs_for([(dataset, "light", activation, None) for activation in [*references, *formulas]], seeds, epochs)


def per_activation(runs: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Per activation label on ``dataset`` (Light runs): runs ``ok`` and ``failed``, mean AUC and accuracy over
    the ok ones (NaN if none), and the first failure's ``reason``."""
    part = _light(runs)
    part = part[part["dataset"] == dataset]
    ok = part[part["status"] == "ok"].groupby("activation")[["auc", "acc"]].mean()
    counts = part.groupby("activation")["status"].agg(
        ok=lambda s: int((s == "ok").sum()), failed=lambda s: int((s != "ok").sum())
    )
    reasons = part[part["status"] != "ok"].groupby("activation")["reason"].first()
    table = counts.join(ok.rename(columns={"auc": "auc_mean", "acc": "acc_mean"})).join(reasons)
    return table.fillna({"reason": ""})


def control_results(draws: pd.DataFrame, runs: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """``draws`` (from ``random_formulas``) with each draw's runs ok, failed, mean AUC and accuracy on ``dataset``."""
    table = per_activation(runs, dataset)
    labels = draws["formula"].map(activation_label)
    missing = sorted(set(labels) - set(table.index))
    if missing:
        raise ValueError(f"no runs on {dataset} of the random formulas {missing}; train control_specs(...) first.")
    return draws.join(table.loc[labels].reset_index(drop=True))


def rank_claim(value: float, others: Sequence[float], top_share: float = TOP_SHARE, confidence: float = 0.95) -> dict:
    """Does ``value`` rank in the top ``top_share`` of ``others`` (random formulas' mean AUCs)?

    ``rank_among`` gives the rank and the share of ``others`` it beats (NaNs,
    formulas whose every run failed, are left out). The claim is that in the
    grammar's whole distribution the share beaten is at least ``1 - top_share``;
    the draws are a binomial sample of it, so the share gets a Clopper-Pearson
    (exact) interval, and the verdict is ``verdict`` applied to the interval
    minus ``1 - top_share``: "holds" only if the whole interval lies above it.
    ``mean_diff``, ``ci_low`` and ``ci_high`` are the share and its interval minus ``1 - top_share``.
    """
    ranked = rank_among(value, np.asarray(others, dtype=float))
    valid = ranked["out_of"] - 1
    if valid == 0 or math.isnan(value):
        return {**ranked, "beaten": 0, "mean_diff": math.nan, "ci_low": math.nan, "ci_high": math.nan,
                "verdict": verdict(math.nan, math.nan)}
    beaten = round(ranked["share_beaten"] * valid)
    interval = stats.binomtest(beaten, valid).proportion_ci(confidence, method="exact")
    threshold = 1 - top_share
    low, high = interval.low - threshold, interval.high - threshold
    return {**ranked, "beaten": beaten, "mean_diff": ranked["share_beaten"] - threshold,
            "ci_low": low, "ci_high": high, "verdict": verdict(low, high)}


def plot_random_control(results: pd.DataFrame, marks: Mapping[str, float], dataset: str) -> plt.Figure:
    """Each random draw's mean AUC as a point (constant formulas on their own row), ``marks`` (name: AUC) as lines.

    The left panel shows every draw; the right one zooms in on the marks and
    the draws near them, where the comparison is decided.
    """
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
        sns.stripplot(shown, x="auc_mean", y="kind", order=[names[False], names[True]], hue="kind",
                      legend=False, jitter=0.25, size=7, alpha=0.8, ax=ax)
        for (name, auc), colour in zip(marks.items(), sns.color_palette("dark", len(marks))):
            ax.axvline(auc, color=colour, linewidth=2, linestyle="--", label=f"{name} ({auc:.3f})")
        ax.set(xlabel=xlabel, ylabel="", title=title)
    axes[1].set_xlim(*zoom)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(marks))
    note = f"; {failed} failed on every seed, not shown" if failed else ""
    fig.suptitle(f"{len(results)} random formulas from GP's grammar on {dataset}{note}")
    return fig


def reference_ranks(
    runs: pd.DataFrame, results: pd.DataFrame, references: Mapping[str, str], dataset: str, metric: str = "auc"
) -> pd.DataFrame:
    """Each reference's (name: activation spec) mean ``metric`` on ``dataset`` and its ``rank_claim`` among the draws.

    ``runs`` are the control runs (the draws' seeds), ``results`` the table of
    ``control_results``; a reference is averaged over the same runs' seeds.
    """
    table = per_activation(runs, dataset)
    absent = [spec for spec in references.values() if activation_label(spec) not in table.index]
    if absent:
        raise ValueError(f"no Light runs of {absent} on {dataset}; train control_specs(...) first.")
    rows = {}
    for name, spec in references.items():
        value = table.loc[activation_label(spec), f"{metric}_mean"]
        rows[name] = {"metric": metric, "mean": value, **rank_claim(value, results[f"{metric}_mean"])}
    return pd.DataFrame.from_dict(rows, orient="index")


def verdict_table(paired: pd.DataFrame, ranks: Mapping[str, Mapping], dataset: str, n_seeds: int) -> pd.DataFrame:
    """The verdicts of notebook 04: ``claim_table``'s rows and, per metric in ``ranks``, the rank claim's row.

    ``ranks`` maps a metric to the HIGGS formula's row of ``reference_ranks``;
    its row's ``mean_diff``, ``ci_low`` and ``ci_high`` are the share of random
    formulas beaten, and its interval, minus 0.75. Rows are ordered AUC first.
    """
    rank_rows = pd.DataFrame([
        {"claim": RANK_CLAIM, "dataset": dataset, "metric": metric, "n_seeds": n_seeds,
         **{column: rank[column] for column in ("mean_diff", "ci_low", "ci_high", "verdict")}}
        for metric, rank in ranks.items()
    ], columns=VERDICT_COLUMNS)
    table = pd.concat([paired, rank_rows], ignore_index=True)
    order = {metric: i for i, metric in enumerate(METRIC_NAMES)}
    return table.sort_values("metric", key=lambda m: m.map(order), kind="stable").reset_index(drop=True)


def verdict_summary(verdicts: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """``verdict_table`` with one row per claim: per metric, "mean [low, high]" and the verdict, side by side."""
    text = verdicts.assign(
        estimate=[f"{m:+.{digits}f} [{lo:+.{digits}f}, {hi:+.{digits}f}]"
                  for m, lo, hi in zip(verdicts["mean_diff"], verdicts["ci_low"], verdicts["ci_high"])]
    )
    wide = text.pivot_table(index=["claim", "dataset"], columns="metric", values=["estimate", "verdict"],
                            aggfunc="first", sort=False)
    wide.columns = [f"{METRIC_NAMES.get(metric, metric)}: {part}" for part, metric in wide.columns]
    metrics = [METRIC_NAMES.get(m, m) for m in dict.fromkeys(verdicts["metric"])]
    return wide[[f"{m}: {part}" for m in metrics for part in ("estimate", "verdict")]]
