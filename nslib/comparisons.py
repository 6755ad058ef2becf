"""Paired comparisons, verdicts and the efficiency arithmetic used to try the paper's claims.

Two configurations trained on the same data set with the same seed share their
split, scaler and shuffling, so their difference is compared seed by seed
(a paired t interval), not as two independent means.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

HOLDS, DOES_NOT_HOLD, CANNOT_TELL = "holds", "does not hold", "cannot tell at this sample size"
# The columns of every verdicts_*.csv table (notebooks 04 and 05, and the README).
VERDICT_COLUMNS = ["claim", "dataset", "metric", "n_seeds", "mean_diff", "ci_low", "ci_high", "verdict"]


def paired_difference(
    runs: pd.DataFrame, dataset: str, better: str, worse: str, metric: str = "auc"
) -> dict:
    """Mean of ``better - worse`` in ``metric`` over the seeds both have, with a 95% t interval.

    ``runs`` needs the columns dataset, activation, seed, status and the metric;
    ``better`` and ``worse`` are activation labels (the claim is "better beats worse").
    """
    ok = runs[(runs["dataset"] == dataset) & (runs["status"] == "ok")]
    table = ok.pivot_table(index="seed", columns="activation", values=metric, aggfunc="mean")
    missing = [name for name in (better, worse) if name not in table.columns]
    if missing:
        raise ValueError(
            f"no finished runs of {missing} on {dataset}; known activations there: {sorted(table.columns)}."
        )
    diffs = (table[better] - table[worse]).dropna().to_numpy()
    low, high = t_interval(diffs)
    return {
        "dataset": dataset,
        "claim": f"{better} > {worse}",
        "metric": metric,
        "n_seeds": len(diffs),
        "mean_diff": float(diffs.mean()) if len(diffs) else math.nan,
        "ci_low": low,
        "ci_high": high,
        "verdict": verdict(low, high),
    }


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
