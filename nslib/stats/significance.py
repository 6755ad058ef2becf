"""The fair trial's statistics: the corrected t-test, Holm's adjustment, TOST and the verdict rule.

A claim "A beats B" is judged on its per-seed paired differences d_1..d_J
(A minus B in a metric, both trained and tested on seed j's split; positive
means the claim is right). Each seed re-splits the same rows, so the J test
sets overlap and a plain paired t-test understates the variance. We use the
corrected resampled t-test of Nadeau and Bengio (2003, Machine Learning
52:239-281), as recommended by Bouckaert and Frank (2004, PAKDD): the variance
of the mean difference is (1/J + n_test/n_train) s^2, with s^2 the sample
variance of the d_j, and t has J - 1 degrees of freedom. With an 80/20 split
and J = 10 this widens the standard error by a factor sqrt(3.5) = 1.87.
We chose it over repeated k-fold cross-validation because the grid already
trains one random 80/20 split per seed; ten seeds are used wherever a claim is
judged.

Each notebook's claims form one family. Two-sided p-values for "no difference"
are adjusted by Holm's (1979) step-down procedure within the family, and so are
the p-values of the equivalence test, the two one-sided tests (TOST) of
Schuirmann (1987) against the margin: for each kind of statement the chance of
any false one in the family stays at most ``alpha``. The interval shown for a
claim has the level at which Holm's procedure tested it, 1 - alpha * p / p_holm
(1 - alpha / m for the smallest of m p-values, between 1 - alpha and
1 - alpha / m always), so it excludes zero exactly when p_holm <= alpha.

The margin delta is the smallest effect of interest, by default 0.005 AUC. It
is close to the seed-to-seed standard deviation of a single Light network's AUC
in our grid (about 0.003 on Forest Cover and 0.008-0.009 on HIGGS and Spambase,
ten seeds each), so a smaller difference is smaller than what re-running the
same configuration with another seed changes; and half a point of AUC is below
any difference for which a practitioner would pick one activation over another.
Accuracy claims take ``ACC_MARGIN``, half a point of accuracy, for the same
reasons: the seed-to-seed sd of the paired accuracy differences in our grid is of
the same size as that of the AUC differences (``docs/method.md``, "The margin",
gives both), and half a point of accuracy is below what decides a choice of
activation. Both margins were fixed before any verdict was read; how each
verdict moves with the margin (0.0025, 0.005, 0.01) is ``nslib.stats.robustness``'s
table. Pass a per-claim ``margin`` for other metrics.

Decision table (alpha = 0.05; the first matching row wins, so the four verdicts
are exhaustive and mutually exclusive):

=====================  ========================================================
verdict                rule
=====================  ========================================================
``equivalent``         Holm-adjusted TOST p <= alpha: the difference lies inside
                       (-delta, +delta), even when it is significantly nonzero
``holds``              Holm-adjusted p <= alpha and mean > 0
``does not hold``      Holm-adjusted p <= alpha and mean < 0
``cannot tell``        otherwise
=====================  ========================================================

Rank-type claims ("the HIGGS formula ranks in the top 25% of random formulas")
are not mean differences and get their own statistic, labelled ``rank share``:
see ``rank_share``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from nslib.core.checks import check_int

HOLDS, DOES_NOT_HOLD, EQUIVALENT, CANNOT_TELL = "holds", "does not hold", "equivalent", "cannot tell"
VERDICTS = (HOLDS, DOES_NOT_HOLD, EQUIVALENT, CANNOT_TELL)
ALPHA = 0.05
MARGIN = 0.005  # AUC; the smallest difference of interest (module docstring)
ACC_MARGIN = 0.005  # accuracy (a fraction, so half a point); the same reasoning as MARGIN
GAIN_MARGIN = 0.005  # relative efficiency gain (E_a / E_b - 1): half a point of gain
RANK_SHARE = "rank share"


def _check_fraction(name: str, value: float, example: str) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value < 1:
        raise ValueError(f"{name}={value!r} must be a number strictly between 0 and 1, for example {example}.")
    return float(value)


def _check_values(name: str, values: Sequence[float] | np.ndarray | pd.Series) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or len(values) < 2:
        raise ValueError(
            f"{name} needs at least 2 per-seed values in a flat sequence, got shape {values.shape}; "
            "judge claims on 10 seeds."
        )
    if not np.isfinite(values).all():
        raise ValueError(
            f"{name} has NaN or infinite values at positions {np.flatnonzero(~np.isfinite(values)).tolist()}: "
            "pair only seeds where both configurations finished."
        )
    return values


def has_spread(differences: Sequence[float] | np.ndarray) -> bool:
    """Whether per-seed differences vary at all: a test needs at least two values that are not all the same."""
    d = np.asarray(differences, dtype=float)
    return len(d) >= 2 and bool(np.ptp(d) > 0)


def corrected_t(
    differences: Sequence[float] | np.ndarray | pd.Series, n_train: int, n_test: int, margin: float = MARGIN
) -> dict[str, float]:
    """The corrected resampled t-test of per-seed paired differences.

    Returns the mean difference, its corrected standard error
    sqrt((1/J + n_test/n_train) s^2), the degrees of freedom J - 1, the t
    statistic, the two-sided p-value for "no difference" and the TOST p-value
    for "the difference lies outside (-margin, +margin)".
    """
    d = _check_values("differences", differences)
    n_train = check_int("n_train", n_train, example="80000")
    n_test = check_int("n_test", n_test, example="20000")
    if not margin > 0:
        raise ValueError(f"margin={margin!r} must be positive, for example {MARGIN} (AUC).")
    s2 = d.var(ddof=1)
    if s2 == 0:
        raise ValueError(
            f"the differences are {d[0]!r} on every seed (no spread), so no test applies: "
            "check that the two configurations really differ and use different seeds."
        )
    df = len(d) - 1
    mean = float(d.mean())
    se = math.sqrt((1 / len(d) + n_test / n_train) * s2)
    p_above = stats.t.sf((mean + margin) / se, df)  # H0: difference <= -margin
    p_below = stats.t.cdf((mean - margin) / se, df)  # H0: difference >= +margin
    return {
        "mean": mean,
        "se": se,
        "df": df,
        "t": mean / se,
        "p": float(2 * stats.t.sf(abs(mean) / se, df)),
        "p_tost": float(max(p_above, p_below)),
    }


def interval(mean: float, se: float, df: int, level: float) -> tuple[float, float]:
    """The two-sided t interval mean +- t(1 - (1 - level)/2, df) * se."""
    half = float(stats.t.ppf(0.5 + _check_fraction("level", level, "0.95") / 2, df)) * se
    return mean - half, mean + half


def holm(p_values: Sequence[float] | np.ndarray | pd.Series) -> np.ndarray:
    """Holm's (1979) step-down adjusted p-values, in the order given.

    The k-th smallest of m p-values becomes max over j <= k of
    min(1, (m - j + 1) p_(j)); a claim is rejected at family-wise level alpha
    when its adjusted p-value is at most alpha.
    """
    p = np.asarray(p_values, dtype=float)
    if p.ndim != 1 or len(p) == 0 or not ((p >= 0) & (p <= 1)).all():
        raise ValueError(f"holm needs a flat, non-empty sequence of p-values in [0, 1], got {p.tolist()}.")
    order = np.argsort(p, kind="stable")
    steps = np.maximum.accumulate((len(p) - np.arange(len(p))) * p[order])
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(steps, 1.0)
    return adjusted


def decide(mean: float, p_holm: float, p_tost_holm: float, alpha: float = ALPHA) -> str:
    """The verdict of one claim, by the decision table in the module docstring."""
    if p_tost_holm <= alpha:
        return EQUIVALENT
    if p_holm <= alpha and mean > 0:
        return HOLDS
    if p_holm <= alpha and mean < 0:
        return DOES_NOT_HOLD
    return CANNOT_TELL


def judge(claims: pd.DataFrame, alpha: float = ALPHA, margin: float = MARGIN) -> pd.DataFrame:
    """Judge one notebook's family of claims: one row per claim, with its verdict.

    ``claims`` needs the columns ``claim`` (a name), ``differences`` (the
    per-seed paired differences, positive when the claim is right),
    ``n_train`` and ``n_test``; an optional ``margin`` column overrides
    ``margin`` per claim. Other columns (dataset, metric, ...) are kept. Added:
    n_seeds, mean, se, ci_level, ci_low, ci_high, p, p_holm, margin, p_tost,
    p_tost_holm and verdict. A claim whose difference is the same on every seed
    has no test: it is "cannot tell", with p-values of 1.
    """
    alpha = _check_fraction("alpha", alpha, "0.05")
    missing = [c for c in ("claim", "differences", "n_train", "n_test") if c not in claims.columns]
    if missing or claims.empty:
        raise ValueError(
            f"claims needs one row per claim with the columns claim, differences, n_train and n_test; "
            f"missing {missing}, {len(claims)} rows."
        )
    margins = claims["margin"] if "margin" in claims.columns else pd.Series(margin, index=claims.index)
    rows = []
    for (_, row), delta in zip(claims.iterrows(), margins):
        d = np.asarray(row["differences"], dtype=float)
        if len(d) >= 2 and np.isfinite(d).all() and not has_spread(d):
            # The same difference on every seed (accuracy on a tiny test split can do that): no test applies,
            # so the claim gets p-values of 1 and "cannot tell", and the rest of the family is judged as usual.
            test = {"mean": float(d[0]), "se": 0.0, "df": len(d) - 1, "t": math.nan, "p": 1.0, "p_tost": 1.0}
        else:
            try:
                test = corrected_t(d, row["n_train"], row["n_test"], delta)
            except ValueError as error:
                raise ValueError(f"claim {row['claim']!r}: {error}") from error
        rows.append({"n_seeds": test["df"] + 1, **test, "margin": float(delta)})
    out = claims.drop(columns=["differences", "margin"], errors="ignore").reset_index(drop=True)
    out = pd.concat([out, pd.DataFrame(rows)], axis=1)
    out["p_holm"] = holm(out["p"])
    out["p_tost_holm"] = holm(out["p_tost"])
    # The level at which Holm tested each claim; alpha / m where p underflowed to 0.
    ratio = np.divide(out["p"], out["p_holm"], out=np.full(len(out), 1 / len(out)), where=out["p_holm"] > 0)
    out["ci_level"] = 1 - alpha * ratio
    bounds = [interval(r.mean, r.se, r.df, r.ci_level) for r in out.itertuples()]
    out["ci_low"], out["ci_high"] = [b[0] for b in bounds], [b[1] for b in bounds]
    out["verdict"] = [decide(r.mean, r.p_holm, r.p_tost_holm, alpha) for r in out.itertuples()]
    columns = [
        "n_seeds", "mean", "se", "ci_level", "ci_low", "ci_high", "p", "p_holm", "margin", "p_tost", "p_tost_holm",
        "verdict",
    ]
    return out[[c for c in out.columns if c not in columns + ["df", "t"]] + columns]


def judge_where(claims: pd.DataFrame, testable: pd.Series, untested: str) -> pd.DataFrame:
    """``judge`` of the claims where ``testable`` is true, Holm over those only; every other claim gets the verdict
    ``untested`` with its seed count and mean difference (NaN without one) and no interval, so that one claim
    without a test does not stop its family."""
    if testable.all():
        return judge(claims)
    rest = claims[~testable]
    rest = rest.assign(n_seeds=rest["differences"].map(len),
                       mean=rest["differences"].map(lambda d: float(np.mean(d)) if len(d) else math.nan),
                       ci_low=math.nan, ci_high=math.nan, verdict=untested).drop(columns="differences")
    if not testable.any():
        return rest.reset_index(drop=True)
    return pd.concat([judge(claims[testable]), rest], ignore_index=True)


def rank_share(
    reference: Sequence[float] | np.ndarray | pd.Series,
    draws: pd.DataFrame | np.ndarray,
    n_train: int,
    n_test: int,
    q: float = 0.25,
    level: float = 1 - ALPHA,
) -> dict[str, float | int | str]:
    """The ``rank share`` statistic of "the reference ranks in the top ``q`` of random draws".

    ``reference`` holds the reference's per-seed metric (higher is better),
    ``draws`` one row per random draw and one column per seed. Each draw is
    summarised by its mean over seeds; the reference by its mean with the
    corrected resampled interval at ``level`` (variance (1/J + n_test/n_train)
    s^2, t with J - 1 degrees of freedom). Draws whose mean lies above the
    interval are clearly better, below it clearly worse, inside it cannot be
    told apart from the reference. The claim ``holds`` when the draws above or
    inside the interval make up at most ``q`` of all draws, ``does not hold``
    when the draws above it alone make up more than ``q``, and ``cannot tell``
    otherwise; "equivalent" does not apply to a rank. Draw means keep their
    own seed noise, which widens their spread. To count the claim in a family
    of m claims, pass ``level = 1 - alpha / m``.
    """
    values = _check_values("reference", reference)
    n_train = check_int("n_train", n_train, example="80000")
    n_test = check_int("n_test", n_test, example="20000")
    q = _check_fraction("q", q, "0.25")
    grid = np.asarray(draws, dtype=float)
    if grid.ndim != 2 or grid.size == 0:
        raise ValueError(
            f"draws must be a table with one row per random draw and one column per seed, got shape {grid.shape}."
        )
    if not np.isfinite(grid).all():
        raise ValueError(
            f"draws has NaN or infinite values in rows {sorted(set(np.nonzero(~np.isfinite(grid))[0].tolist()))}: "
            "leave out draws whose runs failed and say how many."
        )
    mean = float(values.mean())
    se = math.sqrt((1 / len(values) + n_test / n_train) * values.var(ddof=1))
    low, high = interval(mean, se, len(values) - 1, level)
    draw_means = grid.mean(axis=1)
    n_above, n_below = int((draw_means > high).sum()), int((draw_means < low).sum())
    n_inside = len(draw_means) - n_above - n_below
    allowed = q * len(draw_means)
    verdict = HOLDS if n_above + n_inside <= allowed else DOES_NOT_HOLD if n_above > allowed else CANNOT_TELL
    return {
        "statistic": RANK_SHARE,
        "n_seeds": len(values),
        "n_draws": len(draw_means),
        "mean": mean,
        "se": se,
        "ci_level": level,
        "ci_low": low,
        "ci_high": high,
        "share_above": n_above / len(draw_means),
        "share_inside": n_inside / len(draw_means),
        "share_below": n_below / len(draw_means),
        "q": q,
        "verdict": verdict,
    }


