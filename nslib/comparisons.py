"""Per-seed pairing and the efficiency arithmetic used to try the paper's claims.

Two configurations trained on the same data set with the same seed share their
split, scaler and shuffling, so their difference is compared seed by seed, not
as two independent means; ``nslib.verdicts`` judges those differences.
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
    """Pair the runs of ``better`` and ``worse`` on ``dataset`` seed by seed: ``better - worse`` (or
    ``better / worse - 1`` with ``relative``) in ``metric``, indexed by seed; every paired verdict starts here.

    Runs are told apart by the column ``by`` (``activation``, ``config``, ``role``).
    A seed counts when both have an ok run on it; several ok runs of one label
    and seed (a width curve) are averaged first. The series is empty when one
    of the two failed on every seed; a label with no run at all is a ValueError.
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
