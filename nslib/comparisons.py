"""Paired comparisons, verdicts and the efficiency arithmetic used to try the paper's claims.

Two configurations trained on the same data set with the same seed share their
split, scaler and shuffling, so their difference is compared seed by seed
(a paired t interval), not as two independent means.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats

HOLDS, DOES_NOT_HOLD, CANNOT_TELL = "holds", "does not hold", "cannot tell at this sample size"
# The columns of every verdicts_*.csv table (notebooks 04 and 05, and the README).
VERDICT_COLUMNS = ["claim", "dataset", "metric", "n_seeds", "mean_diff", "ci_low", "ci_high", "verdict"]


def seed_differences(
    runs: pd.DataFrame,
    dataset: str,
    better: str,
    worse: str,
    metric: str = "auc",
    *,
    by: str = "activation",
    relative: bool = False,
) -> pd.Series:
    """Pair the runs of ``better`` and ``worse`` on ``dataset`` seed by seed: their differences, indexed by seed.

    Runs are told apart by the column ``by`` (``activation``, ``config``, ``role``)
    and must have the columns dataset, seed, status and ``metric``. A seed
    counts when both have an ok run on it; several ok runs of one label and
    seed (a width curve) are averaged first. Each value is ``better - worse``,
    or ``better / worse - 1`` with ``relative``. The series is empty when one of
    the two failed on every seed; a label with no run at all is a ValueError.
    This is the building block of every paired verdict.
    """
    here = runs[runs["dataset"] == dataset]
    known = sorted(set(here[by]))
    absent = [label for label in (better, worse) if label not in known]
    if absent:
        raise ValueError(f"no runs of {absent} on {dataset}; known {by} values there: {known}. Train them first.")
    ok = here[here["status"] == "ok"]
    table = ok.pivot_table(index="seed", columns=by, values=metric, aggfunc="mean").reindex(columns=[better, worse])
    first, second = table[better], table[worse]
    return (first / second - 1 if relative else first - second).dropna().rename(metric)


def verdict_row(
    claim: str, dataset: str, metric: str, values: pd.Series, judge: Callable[[float, float], str] | None = None
) -> dict:
    """A row of ``VERDICT_COLUMNS`` for per-seed ``values``: their mean, 95% t interval and ``judge(low, high)``.

    ``judge`` defaults to ``verdict``; with no values the row has NaNs and "cannot tell".
    """
    low, high = t_interval(values.to_numpy())
    return {
        "claim": claim, "dataset": dataset, "metric": metric, "n_seeds": len(values),
        "mean_diff": float(values.mean()) if len(values) else math.nan,
        "ci_low": low, "ci_high": high, "verdict": (judge or verdict)(low, high),
    }


def paired_difference(
    runs: pd.DataFrame, dataset: str, better: str, worse: str, metric: str = "auc", *, by: str = "activation"
) -> dict:
    """The claim "``better`` beats ``worse``" on ``dataset``: ``verdict_row`` of their ``seed_differences``."""
    diffs = seed_differences(runs, dataset, better, worse, metric, by=by)
    return verdict_row(f"{better} > {worse}", dataset, metric, diffs)


def t_interval(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """Student-t confidence interval of the mean; NaNs when fewer than two values."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return math.nan, math.nan
    half = stats.t.ppf(0.5 + confidence / 2, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
    return float(values.mean() - half), float(values.mean() + half)


def verdict(ci_low: float, ci_high: float) -> str:
    """A claim "A beats B" holds when the interval of A - B lies above zero,
    does not hold when it lies below zero, and cannot be told apart otherwise."""
    if math.isnan(ci_low) or math.isnan(ci_high):
        return CANNOT_TELL
    if ci_low > 0:
        return HOLDS
    if ci_high < 0:
        return DOES_NOT_HOLD
    return CANNOT_TELL


def efficiency(auc: float, params: int) -> float:
    """The paper's efficiency score, AUC / log10(parameters)."""
    return auc / math.log10(params)


def efficiency_gain_parts(
    auc_light: float, auc_heavy: float, params_light: int, params_heavy: int
) -> dict[str, float]:
    """Split the gain E_light / E_heavy - 1 into its two factors.

    (1 + gain) = (1 + parameter part) * (1 + accuracy part), where the parameter
    part is log10(H) / log10(L) - 1 (the gain at equal AUC) and the accuracy part
    is AUC_light / AUC_heavy - 1.
    """
    parameter_part = math.log10(params_heavy) / math.log10(params_light) - 1
    accuracy_part = auc_light / auc_heavy - 1
    gain = efficiency(auc_light, params_light) / efficiency(auc_heavy, params_heavy) - 1
    return {"gain": gain, "parameter_part": parameter_part, "accuracy_part": accuracy_part}


def rank_among(value: float, others: np.ndarray) -> dict[str, float]:
    """Where ``value`` falls among ``others``: its rank (1 = best) and the share it beats."""
    others = np.asarray(others, dtype=float)
    others = others[~np.isnan(others)]
    return {
        "rank": int((others > value).sum()) + 1,
        "out_of": len(others) + 1,
        "share_beaten": float((others < value).mean()) if len(others) else math.nan,
    }
