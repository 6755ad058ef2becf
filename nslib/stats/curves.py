"""Learning curves: accuracy against training rows, fitted by a power law with a bootstrap band.

Notebook 05 asks how many rows a network needs to reach an accuracy; ``row_curve``
fits ``acc(n) = a - b * n^(-c)`` (``power_law``) to each configuration's runs and
bootstraps the fit for an interval at ``target_rows``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def power_law(n: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
    return a - b * np.power(n, -c)


def fit_power_law(rows: np.ndarray, accuracy: np.ndarray) -> np.ndarray:
    from scipy.optimize import curve_fit

    start = (min(1.0, accuracy.max() + 0.02), 1.0, 0.5)
    params, _ = curve_fit(power_law, rows, accuracy, p0=start, bounds=([0.5, 0, 0.01], [1, np.inf, 2]),
                          maxfev=20_000)
    return params


def row_curve(runs: pd.DataFrame, target_rows: int, n_boot: int = 500, random_state: int = 0) -> pd.DataFrame:
    """Per config, a learning curve acc(n) = a - b n^(-c) over the row counts in ``runs``, read at ``target_rows``.

    The curve is fit by least squares to the mean accuracy per row count
    (column ``rows``). ``low`` and ``high`` are the 2.5% and 97.5% points of the
    extrapolated accuracy over ``n_boot`` refits to the seeds resampled with
    replacement at each row count: with few row counts and three parameters
    the extrapolation is an estimate, and the interval says how loose.
    """
    ok = runs[runs["status"] == "ok"]
    rng = np.random.default_rng(random_state)
    out = []
    for config, part in ok.groupby("config", sort=False):
        samples = {int(n): accuracy.to_numpy(dtype=float) for n, accuracy in part.groupby("rows")["acc"]}
        if len(samples) < 3:
            raise ValueError(
                f"{config}: a curve with three parameters needs at least 3 row counts, got {list(samples)}."
            )
        sizes = np.array(list(samples), dtype=float)
        means = np.array([values.mean() for values in samples.values()])
        params = fit_power_law(sizes, means)
        boot = []
        for _ in range(n_boot):
            resampled = np.array([rng.choice(values, len(values)).mean() for values in samples.values()])
            boot.append(power_law(target_rows, *fit_power_law(sizes, resampled)))
        low, high = np.percentile(boot, [2.5, 97.5])
        out.append({"config": config, "rows_max": int(sizes[-1]), "acc_at_max": float(means[-1]),
                    "target_rows": target_rows, "estimate": float(power_law(target_rows, *params)),
                    "low": float(low), "high": float(high), "a": params[0], "b": params[1], "c": params[2]})
    return pd.DataFrame(out)
