"""Per-seed pairing and the efficiency arithmetic used to try the paper's claims.

Runs with the same data set and seed share split, scaler and shuffling, so two configurations
are compared seed by seed, not as two independent means; ``nslib.stats.register`` judges the differences.
"""

from __future__ import annotations

import math

import pandas as pd


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
    """``better - worse`` (``better / worse - 1`` with ``relative``) in ``metric`` on ``dataset``, indexed by the
    seeds where both labels (in column ``by``) have ok runs, several such runs averaged; empty when one failed
    on every seed, a ValueError when one has no run at all."""
    here = runs[runs["dataset"] == dataset]
    known = sorted(set(here[by]))
    absent = [label for label in (better, worse) if label not in known]
    if absent:
        raise ValueError(f"no runs of {absent} on {dataset}; known {by} values there: {known}. Train them first.")
    ok = here[here["status"] == "ok"]
    table = ok.pivot_table(index="seed", columns=by, values=metric, aggfunc="mean").reindex(columns=[better, worse])
    first, second = table[better], table[worse]
    return (first / second - 1 if relative else first - second).dropna().rename(metric)


def efficiency(auc: float, params: int) -> float:
    """The paper's efficiency score, AUC / log10(parameters)."""
    return auc / math.log10(params)


def efficiency_gain_parts(
    auc_light: float, auc_heavy: float, params_light: int, params_heavy: int
) -> dict[str, float]:
    """The gain E_light / E_heavy - 1 and its factors: (1 + gain) = (1 + parameter part) * (1 + accuracy part),
    parameter part log10(H) / log10(L) - 1 (the gain at equal AUC), accuracy part AUC_light / AUC_heavy - 1."""
    parameter_part = math.log10(params_heavy) / math.log10(params_light) - 1
    accuracy_part = auc_light / auc_heavy - 1
    gain = efficiency(auc_light, params_light) / efficiency(auc_heavy, params_heavy) - 1
    return {"gain": gain, "parameter_part": parameter_part, "accuracy_part": accuracy_part}
