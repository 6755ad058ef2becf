"""Notebook 05's Specialist claims judged over the method's draws: every formula GP finds on a data set, not one.

The paper's Specialist is the formula GP seed 42 finds on the data set's full sample: one draw of the method.
Here every data set with the paper's Specialist claims (a data set of your own has none) is drawn as notebook 04
draws HIGGS (``draws.discover_draws``: GP seeds x discovery samples), each draw's formula trains as a Light hybrid
on its own data set, at the paper's budget and at the protocol Specialist's tuned budget there (the draws tuned as
one family, as notebook 04's are), and each draw is judged on the paper's Specialist claims
(``efficiency.efficiency_claims``' paper claims about the Specialist) against Heavy ReLU's runs at the same kind
of budget (the paper's, or Heavy's own tuned one), Holm within the draw's claims. ``draws.method_verdicts`` then
gives the share of draws for which each claim holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from nslib.core.progress import progress
from nslib.data.catalog import Dataset
from nslib.engine.specs import RunSpec
from nslib.experiments.draws import (
    CHECK_COLUMNS,
    DRAWS_COLUMNS,
    check_row,
    discover_draws,
    judge_testable,
)
from nslib.experiments.efficiency import HEAVY
from nslib.experiments.paper_grid import SPECIALIST, specs_for
from nslib.experiments.profiles import Profile
from nslib.formulas.activations import activation_label
from nslib.stats.register import Claim, family_differences

SPECIALIST_DRAWS_FILE, SPECIALIST_VERDICTS_FILE = "specialist_draws.csv", "specialist_verdicts.csv"
PREFIX = "05-"  # the efficiency family's claim ids start with it; a draw's claim id goes without it
METHOD_PREFIX = "05-method-"  # the register's ids of the method-level rows
FOUND_COLUMNS = ["dataset", "gp_seed", "sample", "protocol", "formula"]


def specialist_claims(claims: Sequence[Claim]) -> list[Claim]:
    """The paper's claims about the Specialist among ``claims`` (its own questions left out)."""
    return [claim for claim in claims if claim.better == SPECIALIST and claim.kind == "paper"]


def paper_words(claims: Sequence[Claim]) -> dict[str, str]:
    """The paper's words of each claim, keyed like ``judge_draws``' ``claim_id`` (for ``draws.method_rows``)."""
    return {claim.id.removeprefix(PREFIX): claim.paper_words for claim in claims}


def discover_all(datasets: Mapping[str, Dataset], profile: Profile) -> pd.DataFrame:
    """Every data set's draws (``draws.discover_draws`` on it), one row per draw, columns ``FOUND_COLUMNS``."""
    found = [discover_draws(data, profile).assign(dataset=name)
             for name, data in progress(datasets.items(), total=len(datasets), desc="GP draws, data set by data set")]
    return pd.concat(found, ignore_index=True)[FOUND_COLUMNS] if found else pd.DataFrame(columns=FOUND_COLUMNS)


def draw_specs(draws: pd.DataFrame, seeds: Mapping[str, Sequence[int]],
               budgets: Mapping[str, tuple[float, int]]) -> list[RunSpec]:
    """Light runs of each data set's distinct draw formulas on that data set, on its ``seeds``
    (``draws.draw_seeds``), at its ``budgets`` entry (learning rate, epochs)."""
    specs = []
    for name, part in draws.groupby("dataset", sort=False):
        lr, epochs = budgets[name]
        configs = [(name, "light", formula, None) for formula in dict.fromkeys(part["formula"])]
        specs += specs_for(configs, seeds[name], epochs, lr=lr)
    return specs


def judge_draws(draws: pd.DataFrame, claims: Sequence[Claim], heavy_runs: Mapping[str, pd.DataFrame],
                draw_runs: Mapping[str, pd.DataFrame], rows: Mapping[str, int]) -> pd.DataFrame:
    """Every draw's verdict on the Specialist claims of its data set, at each budget: the draw's runs stand for
    the Specialist against the Heavy ReLU runs of ``heavy_runs`` at that budget (labelled by ``with_roles``; only
    its Heavy ReLU rows are used), paired by seed; a claim whose runs failed gets ``draws.NOT_JUDGED``. Columns
    ``draws.DRAWS_COLUMNS``, with ``claim_id`` the claim's id less ``PREFIX``."""
    out = []
    for budget, runs in draw_runs.items():
        heavy = heavy_runs[budget][heavy_runs[budget]["config"] == HEAVY]
        for draw in draws.itertuples():
            mine = [claim for claim in claims if claim.dataset == draw.dataset]
            if not mine:
                continue
            own = runs[(runs["dataset"] == draw.dataset) & (runs["activation"] == activation_label(draw.formula))]
            judged = judge_testable(family_differences(mine, pd.concat([heavy, own.assign(config=SPECIALIST)]), rows))
            out.append(judged.assign(claim_id=judged["id"].str.removeprefix(PREFIX), gp_seed=draw.gp_seed,
                                     sample=draw.sample, protocol=draw.protocol, formula=draw.formula,
                                     budget=budget))
    if not out:
        return pd.DataFrame(columns=DRAWS_COLUMNS)
    return pd.concat(out, ignore_index=True)[DRAWS_COLUMNS]


def claim_labels(claims: Sequence[Claim]) -> dict[str, str]:
    """Short axis labels of ``claims`` for ``draws.plot_draws``, keyed like ``judge_draws``' ``claim_id``."""
    return {claim.id.removeprefix(PREFIX): f"{'<' if claim.below else '>'} {claim.offset:.0%}\n"
                                           + claim.dataset.replace("_", "\n") for claim in claims}


def protocol_check(table: pd.DataFrame, claims: Sequence[Claim], runs: Mapping[str, pd.DataFrame],
                   rows: Mapping[str, int]) -> pd.DataFrame:
    """What training the draws on fewer seeds costs, measured on the one draw also trained on every seed: the
    protocol draw's mean and verdict in ``judge_draws``' ``table`` beside the same claims judged on all seeds of
    ``runs`` (per budget, labelled by ``with_roles``: its Specialist is the protocol's formula), Holm over the same
    claims of one data set in both."""
    out = []
    for (budget, dataset), part in table[table["protocol"].astype(bool)].groupby(["budget", "dataset"], sort=False):
        mine = [claim for claim in claims if claim.dataset == dataset]
        everything = judge_testable(family_differences(mine, runs[budget], rows)).set_index("id")
        out += [check_row(draw, everything.loc[PREFIX + draw.claim_id]) for draw in part.itertuples()]
    return pd.DataFrame(out, columns=CHECK_COLUMNS)
