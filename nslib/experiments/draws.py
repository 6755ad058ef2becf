"""The method judged over its own draws: notebook 04's transfer claims for every formula GP finds on HIGGS, not for
one, and the pieces notebook 05's Specialist draws (``specialist_draws``) share.

The paper's claim is about a method (GP on physics data, then transfer), and one run of GP is one draw of it: GP
seed 42 on the full HIGGS sample is the paper's protocol, but another seed, or a HIGGS sample with a few rows
fewer, finds another formula. A draw here is a GP seed and a discovery sample: sample 0 is the data set as
loaded, sample k > 0 the data set less a random ``1 - SAMPLE_KEEP`` of its rows (drawn with seed k), from which
GP's own 10% sample is drawn as always. Each draw's formula is judged on the transfer claims by the existing
judge, on its seeds' paired differences, at the paper's budget and at the tuned one; the method-level verdict
is the share of draws for which a claim holds, with a Clopper-Pearson interval. A draw whose runs failed on all
but one seed has no test: its verdict is ``NOT_JUDGED``, counted among the draws but never among those that hold.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from scipy.stats import binomtest

from nslib.core.plots import fixed_jitter
from nslib.data.catalog import Dataset
from nslib.engine.specs import RunSpec
from nslib.experiments.paper_grid import specs_for
from nslib.experiments.profiles import Profile
from nslib.experiments.transfer import PAPER_BOUNDARY_WORDS, PAPER_TRANSFER_WORDS
from nslib.formulas.activations import activation_label
from nslib.stats.comparisons import seed_differences
from nslib.stats.register import BUDGETS, METHOD, TUNED, split_sizes
from nslib.stats.significance import (
    CANNOT_TELL,
    DOES_NOT_HOLD,
    HOLDS,
    VERDICTS,
    judge_where,
)

SAMPLE_KEEP = 0.9  # a discovery sample k > 0 keeps this share of the rows
NOT_JUDGED = "no test (runs failed)"  # a draw with fewer than two seeds' paired differences
LEVEL = 0.95  # the level of the interval around a share of draws
DRAWS_FILE, VERDICTS_FILE = "method_draws.csv", "method_verdicts.csv"
DRAWS_COLUMNS = ["gp_seed", "sample", "protocol", "formula", "claim_id", "claim", "dataset", "budget", "n_seeds",
                 "mean", "ci_low", "ci_high", "verdict"]
# What training the draws on fewer seeds costs, on the protocol's draw: its row on the draws' seeds beside all seeds'
CHECK_COLUMNS = ["claim_id", "budget", "draw: seeds", "draw: mean", "draw: verdict", "all: seeds", "all: mean",
                 "all: verdict"]
VERDICTS_COLUMNS = ["claim_id", "claim", "dataset", "budget", "n_draws", "n_holds", "share_holds", "ci_low",
                    "ci_high", *[f"n_{v.replace(' ', '_')}" for v in VERDICTS if v != HOLDS], "protocol_verdict"]


@dataclasses.dataclass(frozen=True)
class DrawClaim:
    """A transfer claim judged per draw: the draw's formula beats ``baseline`` (``sign`` +1) on ``dataset``, or
    ``baseline`` beats it (``sign`` -1, the Spambase boundary)."""

    id: str
    claim: str
    dataset: str
    baseline: str
    sign: int
    paper_words: str
    short: str  # the figure's label


DRAW_CLAIMS = (
    DrawClaim("transfer-relu", "Transfer (HIGGS) beats Light ReLU", "FOREST_COVER", "relu", 1, PAPER_TRANSFER_WORDS,
              "formula beats\nLight ReLU\n(FOREST_COVER)"),
    DrawClaim("transfer-gelu", "Transfer (HIGGS) beats Light GELU", "FOREST_COVER", "gelu", 1, PAPER_TRANSFER_WORDS,
              "formula beats\nLight GELU\n(FOREST_COVER)"),
    DrawClaim("transfer-silu", "Transfer (HIGGS) beats Light SiLU", "FOREST_COVER", "silu", 1, PAPER_TRANSFER_WORDS,
              "formula beats\nLight SiLU\n(FOREST_COVER)"),
    DrawClaim("boundary-relu", "Light ReLU beats Transfer (HIGGS)", "SPAMBASE", "relu", -1, PAPER_BOUNDARY_WORDS,
              "Light ReLU beats\nthe formula\n(SPAMBASE)"),
)


def draw_sample(dataset: Dataset, sample: int, keep: float = SAMPLE_KEEP) -> Dataset:
    """Discovery sample ``sample`` of ``dataset``: 0 is the data set itself, k > 0 a random ``keep`` of its rows
    (``RandomState(k)``, in their original order). Its own fingerprint keeps its formulas apart in the cache."""
    if sample == 0:
        return dataset
    rows = np.sort(np.random.RandomState(sample).choice(dataset.n_rows, int(keep * dataset.n_rows), replace=False))
    return dataclasses.replace(dataset, X=dataset.X[rows], y=dataset.y[rows])


def discover_draws(dataset: Dataset, profile: Profile) -> pd.DataFrame:
    """The formula of every draw, ``profile.method_gp_seeds`` x ``profile.method_samples`` samples, with the
    profile's GP settings: one row per draw, ``gp_seed``, ``sample``, ``protocol`` (seed 42 on sample 0), ``formula``."""
    from nslib.formulas.discovery import (
        discover,  # gplearn stays out of processes that only judge
    )

    rows = []
    for sample in range(profile.method_samples):
        data = draw_sample(dataset, sample)
        for seed in profile.method_gp_seeds:
            found = discover(data, seed, population_size=profile.gp_population, generations=profile.gp_generations)
            rows.append({"gp_seed": seed, "sample": sample, "protocol": seed == 42 and sample == 0,
                         "formula": found.formula})
    return pd.DataFrame(rows, columns=["gp_seed", "sample", "protocol", "formula"])


def targets_in(datasets: Sequence[str]) -> list[str]:
    """The data sets of ``DRAW_CLAIMS`` among ``datasets``, in the claims' order."""
    return [name for name in dict.fromkeys(c.dataset for c in DRAW_CLAIMS) if name in datasets]


def draw_seeds(seeds: Sequence[int], budgets: Mapping[str, tuple[float, int]], rows: Mapping[str, int],
               profile: Profile) -> dict[str, tuple[int, ...]]:
    """The seeds the draws train on at ``budgets`` (data set: learning rate, epochs): all of ``seeds``, or the first
    ``profile.draw_seeds`` on a data set where one run is long, over more training rows x epochs than
    ``profile.long_run`` (in the full profile Forest Cover's tuned budgets, the study's most expensive runs)."""
    return {name: tuple(seeds[: profile.draw_seeds]) if split_sizes(rows[name])[0] * epochs > profile.long_run
            else tuple(seeds) for name, (_, epochs) in budgets.items()}


def draw_specs(draws: pd.DataFrame, targets: Sequence[str], seeds: Mapping[str, Sequence[int]],
               budgets: Mapping[str, tuple[float, int]]) -> list[RunSpec]:
    """Light runs of every distinct draw formula on each target, on that target's ``seeds`` (``draw_seeds``), at its
    ``budgets`` entry (learning rate, epochs)."""
    formulas = list(dict.fromkeys(draws["formula"]))
    return [spec for target in targets for spec in specs_for(
        [(target, "light", formula, None) for formula in formulas], seeds[target], budgets[target][1],
        lr=budgets[target][0])]


def family_budgets(budgets: pd.DataFrame, formula: str, targets: Sequence[str]) -> dict[str, tuple[float, int]]:
    """The tuned (learning rate, epochs) of ``formula`` (the protocol's) on each target, from
    ``tuning.choose_budgets``'s table: the budget every draw's formula gets there, as one family."""
    light = budgets[(budgets["arch"] == "light") & (budgets["activation"] == activation_label(formula))]
    chosen = light.set_index("dataset")
    missing = [target for target in targets if target not in chosen.index]
    if missing:
        raise ValueError(f"no tuned budget of {formula} on {missing}; tune it first (tuning.tune_and_train).")
    return {target: (float(chosen.loc[target, "lr"]), int(chosen.loc[target, "epochs"])) for target in targets}


def with_baselines(baseline_runs: pd.DataFrame, draw_runs: pd.DataFrame) -> pd.DataFrame:
    """The Light runs of ``DRAW_CLAIMS``' baselines (ReLU, GELU, SiLU) in ``baseline_runs`` and the draws' runs, one
    table at one budget: the baselines keep their own runs (their own tuned budget), whatever the draws got."""
    names = {activation_label(claim.baseline) for claim in DRAW_CLAIMS}
    baselines = baseline_runs[(baseline_runs["arch"] == "light") & baseline_runs["activation"].isin(names)]
    return pd.concat([baselines, draw_runs[~draw_runs["activation"].isin(names)]], ignore_index=True)


def judge_draws(draws: pd.DataFrame, runs: Mapping[str, pd.DataFrame], rows: Mapping[str, int]) -> pd.DataFrame:
    """Every draw's verdict on every claim of ``DRAW_CLAIMS`` whose data set ``rows`` has, at each budget in ``runs``
    (budget: Light runs holding the baselines and the draws' formulas at that budget): ``judge`` of the claim's
    per-seed paired differences, the draw's claims one family (Holm within it). Columns ``DRAWS_COLUMNS``."""
    claims = [claim for claim in DRAW_CLAIMS if claim.dataset in rows]
    if not claims:
        return pd.DataFrame(columns=DRAWS_COLUMNS)
    out = []
    for budget, table in runs.items():
        light = table[table["arch"] == "light"]
        for draw in draws.itertuples():
            family = []
            for claim in claims:
                diffs = claim.sign * seed_differences(light, claim.dataset, activation_label(draw.formula),
                                                      activation_label(claim.baseline))
                n_train, n_test = split_sizes(rows[claim.dataset])
                family.append({"claim_id": claim.id, "claim": claim.claim, "dataset": claim.dataset,
                               "differences": diffs.to_numpy(), "n_train": n_train, "n_test": n_test})
            judged = judge_testable(pd.DataFrame(family))
            out.append(judged.assign(gp_seed=draw.gp_seed, sample=draw.sample, protocol=draw.protocol,
                                     formula=draw.formula, budget=budget))
    return pd.concat(out, ignore_index=True)[DRAWS_COLUMNS]


def judge_testable(family: pd.DataFrame) -> pd.DataFrame:
    """``judge`` of one draw's claims, Holm over those with at least two seeds' differences; a claim with fewer (its
    runs failed) gets ``NOT_JUDGED`` instead of stopping the whole trial."""
    return judge_where(family, family["differences"].map(len) >= 2, NOT_JUDGED)


def protocol_check(table: pd.DataFrame, draws: pd.DataFrame, runs: Mapping[str, pd.DataFrame],
                   rows: Mapping[str, int]) -> pd.DataFrame:
    """What training the draws on fewer seeds costs, measured on the one draw also trained on every seed: the
    protocol draw's mean and verdict in ``judge_draws``' ``table`` beside its claims judged by ``judge_draws`` again
    on ``runs`` (per budget: the baselines and the protocol's formula on every seed), Holm over the same claims."""
    protocol = draws[draws["protocol"].astype(bool)]
    everything = judge_draws(protocol, runs, rows).set_index(["budget", "claim_id"])
    return pd.DataFrame([check_row(draw, everything.loc[(draw.budget, draw.claim_id)])
                         for draw in table[table["protocol"].astype(bool)].itertuples()], columns=CHECK_COLUMNS)


def check_row(draw: tuple, full: Mapping) -> dict:
    """One row of a protocol check (``CHECK_COLUMNS``): a protocol ``draw`` of a ``judge_draws`` table beside ``full``,
    the same claim judged on every seed (its ``n_seeds``, ``mean`` and ``verdict``)."""
    return {"claim_id": draw.claim_id, "budget": draw.budget, "draw: seeds": draw.n_seeds, "draw: mean": draw.mean,
            "draw: verdict": draw.verdict, "all: seeds": full["n_seeds"], "all: mean": full["mean"],
            "all: verdict": full["verdict"]}


def family_check(table: pd.DataFrame, tuned_runs: pd.DataFrame, budgets: pd.DataFrame,
                 gp_formulas: Mapping[int, str], target: str = "FOREST_COVER",
                 seeds: Sequence[int] | None = None) -> pd.DataFrame:
    """The draws that section 3 tuned on their own (each GP seed's formula on the full sample, on ``target``):
    their own tuned budget and mean difference from Light ReLU there (``tuned_runs``, on ``seeds``, the seeds the
    draws trained on, so that only the budget differs; default every seed), beside the mean and verdict at the
    family budget (``judge_draws``'s ``table``). How far the family budget moves a draw, measured."""
    family = table[(table["budget"] == TUNED) & (table["sample"] == 0) & (table["claim_id"] == "transfer-relu")]
    family = family.set_index("gp_seed")
    light = tuned_runs[tuned_runs["arch"] == "light"]
    if seeds is not None:
        light = light[light["seed"].isin(seeds)]
    rows = []
    for seed, formula in gp_formulas.items():
        own = budgets[(budgets["dataset"] == target) & (budgets["arch"] == "light")
                      & (budgets["activation"] == activation_label(formula))]
        if seed not in family.index or own.empty:
            continue
        diffs = seed_differences(light, target, activation_label(formula), activation_label("relu"))
        rows.append({"gp_seed": seed, "formula": formula, "own_lr": float(own["lr"].iloc[0]),
                     "own_epochs": int(own["epochs"].iloc[0]), "own_mean": diffs.mean(),
                     "family_mean": family.loc[seed, "mean"], "family_verdict": family.loc[seed, "verdict"]})
    return pd.DataFrame(rows, columns=["gp_seed", "formula", "own_lr", "own_epochs", "own_mean", "family_mean",
                                       "family_verdict"])


def share_interval(k: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """The Clopper-Pearson interval of a share of ``k`` in ``n`` draws (NaN for none)."""
    if n == 0:
        return float("nan"), float("nan")
    interval = binomtest(k, n).proportion_ci(level, method="exact")
    return float(interval.low), float(interval.high)


def method_verdicts(table: pd.DataFrame) -> pd.DataFrame:
    """Per claim and budget of ``judge_draws``'s table: draws, how many hold, the share with its interval, the
    counts of the other verdicts and the protocol draw's verdict. Columns ``VERDICTS_COLUMNS``."""
    rows = []
    for (claim_id, budget), part in table.groupby(["claim_id", "budget"], sort=False):
        counts = part["verdict"].value_counts()
        n, k = len(part), int(counts.get(HOLDS, 0))
        low, high = share_interval(k, n)
        protocol = part.loc[part["protocol"].astype(bool), "verdict"]
        rows.append({"claim_id": claim_id, "claim": part["claim"].iloc[0], "dataset": part["dataset"].iloc[0],
                     "budget": budget, "n_draws": n, "n_holds": k, "share_holds": k / n, "ci_low": low,
                     "ci_high": high, **{f"n_{v.replace(' ', '_')}": int(counts.get(v, 0)) for v in VERDICTS
                                         if v != HOLDS},
                     "protocol_verdict": protocol.iloc[0] if len(protocol) else ""})
    return pd.DataFrame(rows, columns=VERDICTS_COLUMNS)


def method_verdict(ci_low: float, ci_high: float) -> str:
    """The method-level verdict on "the method's formulas make the claim hold in most draws": holds when the
    share's interval lies above one half, does not hold when below, else cannot tell."""
    if ci_low > 0.5:
        return HOLDS
    if ci_high < 0.5:
        return DOES_NOT_HOLD
    return CANNOT_TELL


def without_each_sample(table: pd.DataFrame) -> pd.DataFrame:
    """The method-level verdict again with each discovery sample's draws left out, beside the verdict on all draws.

    A discovery sample other than 0 already lacks a tenth of the data set's rows; leaving one out asks whether the
    method's verdict rests on the rows one sample saw. Per claim and budget: the verdict on all draws, the share
    and verdict without each sample (``without sample k``), and ``stable`` when every verdict is the same.
    """
    def verdicts_of(part: pd.DataFrame) -> pd.DataFrame:
        shares = method_verdicts(part).set_index(["claim_id", "budget"])
        return shares.assign(verdict=[method_verdict(lo, hi) for lo, hi in zip(shares["ci_low"], shares["ci_high"])])

    everything = verdicts_of(table)
    out = everything[["claim", "dataset", "n_draws", "share_holds", "verdict"]].rename(
        columns={"verdict": "all draws"})
    for sample in sorted(set(table["sample"])):
        left = verdicts_of(table[table["sample"] != sample])
        out[f"without sample {sample}"] = [f"{share:.0%}: {verdict}" for share, verdict
                                           in zip(left["share_holds"], left["verdict"])]
        out[f"_{sample}"] = left["verdict"]
    verdict_columns = ["all draws", *[f"_{sample}" for sample in sorted(set(table["sample"]))]]
    out["stable"] = out[verdict_columns].nunique(axis=1) == 1
    return out.drop(columns=verdict_columns[1:]).reset_index()


def method_rows(verdicts: pd.DataFrame, words: Mapping[str, str] | None = None,
                prefix: str = "04-method-") -> dict[str, pd.DataFrame]:
    """The claims register's rows of the method-level claims, per budget, for ``register.record``: id ``prefix``
    and the claim id, kind ``method`` (never tallied as the paper's claims), the paper's ``words`` per claim id
    (default ``DRAW_CLAIMS``'), the share of draws as the estimate and the number of draws as ``n_seeds``."""
    words = {claim.id: claim.paper_words for claim in DRAW_CLAIMS} if words is None else words
    out = {}
    for budget in BUDGETS:
        part = verdicts[verdicts["budget"] == budget]
        out[budget] = pd.DataFrame({
            "id": prefix + part["claim_id"], "kind": METHOD, "paper_words": part["claim_id"].map(words),
            "source": "the method over its draws", "claim": "in most draws of the method: " + part["claim"],
            "dataset": part["dataset"], "metric": "share of draws", "n_seeds": part["n_draws"],
            "mean": part["share_holds"], "ci_low": part["ci_low"], "ci_high": part["ci_high"], "p_holm": np.nan,
            "verdict": [method_verdict(lo, hi) for lo, hi in zip(part["ci_low"], part["ci_high"])],
            "test": f"share of draws where the claim holds, Clopper-Pearson {LEVEL:.0%}, above one half",
        }).reset_index(drop=True)
    return out


def plot_draws(table: pd.DataFrame, labels: Mapping[str, str] | None = None,
               title: str = "The method's draws (GP seed x HIGGS sample): each draw's formula on the transfer claims",
               ylabel: str = "claimed winner minus the other\n(ROC AUC, mean over seeds)") -> plt.Figure:
    """Every draw's mean paired difference per claim (positive: the claim is right), one panel per budget, the
    protocol's draw (GP seed 42, sample 0) marked; ``labels`` name the claims on the axis (default
    ``DRAW_CLAIMS``' short labels)."""
    budgets = list(dict.fromkeys(table["budget"]))
    fig, axes = plt.subplots(1, len(budgets), figsize=(6.5 * len(budgets), 4.8), sharey=True, squeeze=False,
                             layout="constrained")
    shorts = {claim.id: claim.short for claim in DRAW_CLAIMS} if labels is None else labels
    per_claim = table.groupby(["budget", "claim_id"]).size()
    table = table.assign(comparison=table["claim_id"].map(shorts))
    order = list(dict.fromkeys(table["comparison"]))
    palette = dict(zip(VERDICTS, ("tab:green", "tab:red", "tab:blue", "tab:gray")))
    for ax, budget in zip(axes[0], budgets):
        part = table[table["budget"] == budget]
        with fixed_jitter():
            sns.stripplot(part, x="comparison", y="mean", order=order, hue="verdict", hue_order=list(VERDICTS),
                          palette=palette, jitter=0.2, size=6, alpha=0.8, ax=ax, legend=ax is axes[0][0])
        protocol = part[part["protocol"].astype(bool)]
        ax.scatter([order.index(c) for c in protocol["comparison"]], protocol["mean"], marker="*", s=260,
                   facecolor="none", edgecolor="black", linewidth=1.5, zorder=5,
                   label="the paper's protocol (GP seed 42, full sample)")
        ax.axhline(0, color="grey", linewidth=1)
        ax.set(xlabel="", ylabel=ylabel,
               title=f"{budget} budget: {per_claim[budget].max()} draws")
    handles, legend_labels = axes[0][0].get_legend_handles_labels()
    axes[0][0].get_legend().remove()
    fig.legend(handles, legend_labels, loc="outside lower center", ncol=len(legend_labels), fontsize="small")
    fig.suptitle(title)
    return fig
