"""How each claim's verdict moves with the analysis choices: the robustness table, ``robustness.csv``.

A referee may ask whether a verdict is an artefact of one choice. Every claim of
a family is judged again, the whole family each time (Holm stays within the
family), under every combination of:

- the budget: the paper's (15 epochs at lr 1e-3) and the tuned one;
- the metric: the claim's own and its other one (AUC and accuracy swap; an
  efficiency claim, E = AUC / log10(params), becomes one on accuracy / log10(params));
- the margin: 0.0025, 0.005 (the register's) and 0.01, in the claim's own units.

A claim is ``robust`` when its verdict is the same under every choice; a choice
under which its differences do not vary at all (no test applies) counts as another
verdict, ``NO_TEST``. The
choices were fixed with the margin, before any verdict was read.

The method's draw (another GP seed's formulas, say) is one more choice: pass
``draws``, a mapping from a label to runs per budget labelled like the main
ones; each draw is crossed with the other choices. The main runs are the draw
``AS_RUN``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace

import pandas as pd

from nslib.core.files import replace_family
from nslib.core.paths import derived_dir
from nslib.stats.register import Claim, family_differences
from nslib.stats.significance import MARGIN, has_spread, judge_where

ROBUSTNESS_FILE = "robustness.csv"
MARGINS = (0.0025, MARGIN, 0.01)
OTHER_METRIC = {"auc": "acc", "acc": "auc", "efficiency": "efficiency_acc"}
AS_RUN = "as run"
NO_TEST = "no test (no spread)"
COLUMNS = ["family", "id", "kind", "claim", "dataset", "draw", "budget", "metric", "margin", "n_seeds", "mean",
           "ci_low", "ci_high", "verdict"]


def with_accuracy_efficiency(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` with ``efficiency_acc``: the paper's efficiency score on accuracy, acc / log10(params)."""
    return runs.assign(efficiency_acc=runs["acc"] / runs["params"].astype(float).map(math.log10))


def choices(
    claims: Sequence[Claim],
    runs: Mapping[str, pd.DataFrame],
    rows: Mapping[str, int],
    *,
    margins: Sequence[float] = MARGINS,
    draws: Mapping[str, Mapping[str, pd.DataFrame]] | None = None,
    family: str = "",
    by: str = "config",
) -> pd.DataFrame:
    """Every claim's verdict under every analysis choice, one row per claim and choice (``COLUMNS``).

    ``runs`` maps each budget (``register.PAPER``, ``register.TUNED``) to its
    labelled runs, as ``judge_family`` takes them; ``draws`` adds further
    draws of the method (label -> budget -> runs).
    """
    scenarios = {AS_RUN: runs, **dict(draws or {})}
    parts = []
    for draw, by_budget in scenarios.items():
        for budget, table in by_budget.items():
            table = with_accuracy_efficiency(table)
            for swapped in (False, True):
                variants = [replace(c, metric=OTHER_METRIC[c.metric]) if swapped else c for c in claims]
                base = family_differences(variants, table, rows, by=by)
                testable = base["differences"].map(has_spread)  # the same difference on every seed: no test
                for margin in margins:
                    parts.append(judge_where(base.assign(margin=margin), testable, NO_TEST).assign(
                        family=family, draw=draw, budget=budget))
    return pd.concat(parts, ignore_index=True)[COLUMNS]


def differing_choices(
    claims: Sequence[Claim],
    runs: Mapping[str, pd.DataFrame],
    others: Mapping[str, Mapping[str, pd.DataFrame]],
    rows: Mapping[str, int],
    *,
    family: str = "",
) -> pd.DataFrame:
    """Per claim and budget (the index), of its analysis choices (metric x margin, ``choices``), in how many some
    other set of runs (``others``: label -> budget -> runs, such as another engine's) gives another verdict than
    ``runs`` (budget -> runs): columns ``sum`` (those that differ) and ``size`` (all)."""
    table = choices(claims, runs, rows, draws=others, family=family)
    wide = table.pivot_table(index=["id", "budget", "metric", "margin"], columns="draw", values="verdict",
                             aggfunc="first")
    moved = pd.concat([wide[label] != wide[AS_RUN] for label in others], axis=1).any(axis=1)
    return moved.groupby(level=["id", "budget"]).agg(["sum", "size"])


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """One row per claim of a ``choices`` table: how many choices, each verdict's count, and ``robust``
    (one verdict under every choice)."""
    keys = ["family", "id", "kind", "claim", "dataset"]
    counts = table.pivot_table(index=keys, columns="verdict", values="margin", aggfunc="size", fill_value=0)
    out = counts.reset_index().rename_axis(columns=None)
    out.insert(len(keys), "choices", counts.sum(axis=1).to_numpy())
    out["robust"] = (counts > 0).sum(axis=1).to_numpy() == 1
    order = {claim: rank for rank, claim in enumerate(dict.fromkeys(table["id"]))}
    return out.sort_values("id", key=lambda ids: ids.map(order)).reset_index(drop=True)


def verdict_grid(table: pd.DataFrame) -> pd.DataFrame:
    """A ``choices`` table wide, for reading: one row per claim, one column per choice
    ("paper, auc, 0.005"; the draw in front when there are several)."""
    several = table["draw"].nunique() > 1
    label = table.apply(lambda r: (f"{r['draw']}, " if several else "") +
                        f"{r['budget']}, {r['metric']}, {r['margin']:g}", axis=1)
    wide = table.assign(choice=label).pivot_table(index="id", columns="choice", values="verdict", aggfunc="first",
                                                 sort=False)
    return wide.reindex(list(dict.fromkeys(table["id"]))).rename_axis(columns=None)


def record(family: str, table: pd.DataFrame) -> pd.DataFrame:
    """Write ``family``'s ``choices`` rows into ``derived_dir()/robustness.csv``, keeping other families' rows
    (``register.record``'s rule); return the whole table."""
    return replace_family(derived_dir() / ROBUSTNESS_FILE, family, table.assign(family=family)[COLUMNS])
