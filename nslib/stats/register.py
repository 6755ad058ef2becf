"""The claims register: every claim a notebook judges, its verdict at both budgets, in ``claims.csv``.

Claims are ``Claim`` records: "``better`` beats ``worse`` on ``dataset``",
optionally with a claimed threshold (``offset``: "more than 18% more
efficient" is a relative efficiency difference minus 0.18). ``judge_family``
pairs each claim's runs seed by seed (``comparisons.seed_differences``) and
judges the family with ``judge``. ``record`` writes a family's rows at both
budgets (the paper's and the tuned one, ``nslib.experiments.tuning``) into the claims
register, ``claims.csv``, where the paper's claims carry its words and the
compendium's own questions carry none and are never counted as the paper's.
Rows of kind ``method`` (notebooks 04 and 05) carry the paper's words too: a
transfer or Specialist claim judged over the method's draws, its estimate the share
of draws for which it holds; ``tally`` leaves them out, so that no claim of the paper counts twice.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from nslib.core.files import replace_family
from nslib.core.paths import derived_dir
from nslib.stats.comparisons import seed_differences
from nslib.stats.significance import (
    DOES_NOT_HOLD,
    HOLDS,
    MARGIN,
    RANK_SHARE,
    VERDICTS,
    judge,
)

PAPER, TUNED = "paper", "tuned"
BUDGETS = (PAPER, TUNED)
REGISTER_FILE = "claims.csv"
OWN_QUESTION = "own question"
METHOD = "method"  # a paper claim judged over the method's draws (notebooks 04, 05): never tallied as the paper's
REGISTER_COLUMNS = [
    "id", "family", "kind", "paper_words", "source", "claim", "dataset", "metric", "test",
    *[f"{field}_{budget}" for budget in BUDGETS for field in ("n_seeds", "mean", "ci_low", "ci_high", "p_holm")],
    "verdict_paper_budget", "verdict_tuned_budget", "below_margin_paper_budget", "below_margin_tuned_budget", "note",
]


@dataclass(frozen=True)
class Claim:
    """One claim: ``better`` beats ``worse`` on ``dataset`` in ``metric``, by more than ``offset``.

    ``better`` and ``worse`` are values of the runs' ``by`` column (``config``).
    With ``relative`` the per-seed difference is better / worse - 1. With
    ``below`` the claim is the other side of the offset, "better - worse is less
    than ``offset``" ("at most 21% more efficient", "at most 1 point less
    accurate"): the judged difference is offset - (better - worse). The paper's
    claims carry its words in ``paper_words`` and where they stand in
    ``source``; the compendium's own questions leave both empty.
    """

    id: str
    claim: str
    dataset: str
    better: str
    worse: str
    metric: str = "auc"
    relative: bool = False
    offset: float = 0.0
    below: bool = False
    margin: float = MARGIN
    paper_words: str = ""
    source: str = ""

    @property
    def kind(self) -> str:
        """``paper`` for a claim of the paper, ``own question`` otherwise."""
        return "paper" if self.paper_words else OWN_QUESTION


def split_sizes(n_rows: int, test_size: float = 0.2) -> tuple[int, int]:
    """The training and test part sizes of ``train_test_split`` (which rounds the test part up)."""
    n_test = math.ceil(n_rows * test_size)
    return n_rows - n_test, n_test


def family_differences(
    claims: Sequence[Claim], runs: pd.DataFrame, rows: Mapping[str, int], *, by: str = "config",
    test_size: float = 0.2,
) -> pd.DataFrame:
    """One row per claim, ready for ``judge``: the claim's fields, its per-seed paired differences (minus the
    offset, or the offset minus them for a ``below`` claim), and the split sizes from ``rows``."""
    family = []
    for claim in claims:
        diffs = seed_differences(runs, claim.dataset, claim.better, claim.worse, claim.metric, by=by,
                                 relative=claim.relative)
        diffs = claim.offset - diffs if claim.below else diffs - claim.offset
        n_train, n_test = split_sizes(rows[claim.dataset], test_size)
        family.append({**asdict(claim), "kind": claim.kind, "differences": diffs.to_numpy(),
                       "n_train": n_train, "n_test": n_test})
    return pd.DataFrame(family)


def judge_family(
    claims: Sequence[Claim], runs: pd.DataFrame, rows: Mapping[str, int], *, by: str = "config",
    test_size: float = 0.2,
) -> pd.DataFrame:
    """Judge one notebook's family of claims on ``runs`` (one budget): ``judge`` of their paired differences.

    ``rows`` maps each data set to its number of rows, which the corrected
    test needs (training and test part sizes of the 80/20 split).
    """
    return judge(family_differences(claims, runs, rows, by=by, test_size=test_size))


def below_margin(table: pd.DataFrame) -> pd.Series:
    """Per judged row, whether it holds or does not hold by less than its margin: significant, yet smaller than
    the smallest difference of interest (TOST could not call it equivalent, the interval being too wide)."""
    significant = table["verdict"].isin([HOLDS, DOES_NOT_HOLD])
    if "test" in table.columns:
        significant &= table["test"] != RANK_SHARE  # a rank share is not a difference
    return significant & (table["mean"].abs() < table["margin"])


def rank_row(claim: Claim, result: Mapping[str, object]) -> dict:
    """A judged row for a rank-type claim from ``verdicts.rank_share``'s result, in ``judge``'s columns."""
    return {**asdict(claim), "kind": claim.kind, "n_seeds": result["n_seeds"], "mean": result["share_above"]
            + result["share_inside"], "ci_low": result["ci_low"], "ci_high": result["ci_high"],
            "p_holm": np.nan, "verdict": result["verdict"], "test": RANK_SHARE}


def _test_name(row: pd.Series) -> str:
    return row.get("test") if isinstance(row.get("test"), str) else (
        f"corrected resampled t, Holm within {row['family']}, margin {row['margin']:g}")


def record(family: str, judged: Mapping[str, pd.DataFrame], notes: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Write ``family``'s claims at both budgets into ``derived_dir()/claims.csv``; return the register.

    ``judged`` maps ``"paper"`` and ``"tuned"`` to ``judge_family`` tables (rank
    rows appended); a claim missing at one budget gets no verdict there and the
    reason from ``notes`` (claim id -> text). Rows of other families in the file
    are kept, this family's replaced.
    """
    unknown = set(judged) - set(BUDGETS)
    if unknown:
        raise ValueError(f"budgets {sorted(unknown)} are not known; use {BUDGETS}.")
    per_budget = []
    for budget, table in judged.items():
        table = table.assign(family=family)
        table["test"] = table.apply(_test_name, axis=1)
        keep = table[["id", "family", "kind", "paper_words", "source", "claim", "dataset", "metric", "test"]]
        numbers = table[["n_seeds", "mean", "ci_low", "ci_high", "p_holm"]].add_suffix(f"_{budget}")
        per_budget.append(pd.concat([keep, numbers, table["verdict"].rename(f"verdict_{budget}_budget"),
                                     below_margin(table).rename(f"below_margin_{budget}_budget")], axis=1))
    merged = per_budget[0]
    for other in per_budget[1:]:
        merged = merged.merge(other, how="outer", on=["id", "family", "kind", "paper_words", "source", "claim",
                                                      "dataset", "metric", "test"], sort=False)
    order = list(dict.fromkeys(claim for table in judged.values() for claim in table["id"]))
    merged = merged.set_index("id").loc[order].reset_index()
    merged["note"] = [dict(notes or {}).get(claim, "") for claim in merged["id"]]
    merged = merged.reindex(columns=REGISTER_COLUMNS)
    return replace_family(derived_dir() / REGISTER_FILE, family, merged)


def tally(register: pd.DataFrame) -> pd.DataFrame:
    """How many of the paper's claims (own questions left out) got each verdict, at each budget."""
    paper = register[register["kind"] == "paper"]
    counts = {
        budget: pd.Series([verdict if isinstance(verdict, str) and verdict else "not judged"
                           for verdict in paper[f"verdict_{budget}_budget"]], dtype=object).value_counts()
        for budget in BUDGETS
    }
    return pd.DataFrame(counts).reindex([*VERDICTS, "not judged"]).fillna(0).astype(int).rename_axis("verdict")


def side_by_side(judged: Mapping[str, pd.DataFrame], digits: int = 4) -> pd.DataFrame:
    """``judge_family`` tables of each budget in one table: per claim, "mean [low, high]" and the verdict per budget
    ("holds, below the margin" where ``below_margin``)."""
    parts = []
    for budget, table in judged.items():
        text = [f"{m:+.{digits}f} [{lo:+.{digits}f}, {hi:+.{digits}f}]"
                for m, lo, hi in zip(table["mean"], table["ci_low"], table["ci_high"])]
        verdicts = np.where(below_margin(table), table["verdict"] + ", below the margin", table["verdict"])
        parts.append(table[["id", "kind", "claim", "dataset"]].assign(**{
            f"{budget}: estimate": text, f"{budget}: verdict": verdicts}).set_index(
                ["id", "kind", "claim", "dataset"]))
    return pd.concat(parts, axis=1).reset_index().set_index("id")
