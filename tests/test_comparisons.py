"""Paired differences, verdicts and the efficiency arithmetic."""

import math

import numpy as np
import pandas as pd
import pytest

from nslib.comparisons import (
    CANNOT_TELL,
    DOES_NOT_HOLD,
    HOLDS,
    efficiency,
    efficiency_gain_parts,
    paired_difference,
    rank_among,
    t_interval,
    verdict,
)


def _runs(better_aucs: list[float], worse_aucs: list[float]) -> pd.DataFrame:
    rows = []
    for seed, (b, w) in enumerate(zip(better_aucs, worse_aucs)):
        rows.append({"dataset": "D", "activation": "A", "seed": seed, "status": "ok", "auc": b})
        rows.append({"dataset": "D", "activation": "B", "seed": seed, "status": "ok", "auc": w})
    return pd.DataFrame(rows)


def test_a_consistent_paired_improvement_holds_even_when_means_overlap() -> None:
    # Seeds vary a lot, but A beats B by 0.01 on every seed: pairing sees it.
    base = [0.70, 0.80, 0.75, 0.90]
    result = paired_difference(_runs([b + 0.01 for b in base], base), "D", "A", "B")
    assert result["mean_diff"] == pytest.approx(0.01)
    assert result["verdict"] == HOLDS


def test_a_consistent_loss_does_not_hold() -> None:
    result = paired_difference(_runs([0.70, 0.71, 0.69], [0.75, 0.76, 0.74]), "D", "A", "B")
    assert result["verdict"] == DOES_NOT_HOLD


def test_noise_around_zero_cannot_be_told() -> None:
    result = paired_difference(_runs([0.71, 0.69, 0.70], [0.70, 0.70, 0.70]), "D", "A", "B")
    assert result["verdict"] == CANNOT_TELL


def test_failed_runs_are_left_out_of_the_pairs() -> None:
    runs = _runs([0.8, 0.8, 0.8], [0.7, 0.7, 0.7])
    runs.loc[0, "status"] = "failed"
    assert paired_difference(runs, "D", "A", "B")["n_seeds"] == 2


def test_unknown_activation_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"\['A', 'B'\]"):
        paired_difference(_runs([0.8], [0.7]), "D", "C", "B")


def test_t_interval_matches_the_textbook_formula() -> None:
    low, high = t_interval(np.array([1.0, 2.0, 3.0]))
    half = 4.302652729911275 * 1.0 / math.sqrt(3)  # t(0.975, 2) * s / sqrt(n)
    assert (low, high) == pytest.approx((2 - half, 2 + half))


def test_one_value_gives_no_interval_and_no_verdict() -> None:
    assert verdict(*t_interval(np.array([0.5]))) == CANNOT_TELL


def test_equal_auc_gain_is_the_parameter_ratio() -> None:
    parts = efficiency_gain_parts(0.8, 0.8, 4161, 26601)
    assert parts["accuracy_part"] == 0
    assert parts["gain"] == pytest.approx(parts["parameter_part"])
    assert parts["gain"] == pytest.approx(0.2227, abs=1e-4)


def test_gain_factors_multiply_back_to_the_gain() -> None:
    parts = efficiency_gain_parts(0.72, 0.75, 5825, 31801)
    assert (1 + parts["parameter_part"]) * (1 + parts["accuracy_part"]) == pytest.approx(1 + parts["gain"])
    assert parts["gain"] == pytest.approx(efficiency(0.72, 5825) / efficiency(0.75, 31801) - 1)


def test_rank_among_counts_better_others() -> None:
    ranked = rank_among(0.8, np.array([0.9, 0.7, 0.6, np.nan]))
    assert ranked == {"rank": 2, "out_of": 4, "share_beaten": pytest.approx(2 / 3)}
