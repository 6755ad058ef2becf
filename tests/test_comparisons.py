"""Per-seed pairing and the efficiency arithmetic (the verdicts themselves are in test_verdicts.py)."""

import math

import pandas as pd
import pytest

from nslib.stats.comparisons import efficiency, efficiency_gain_parts, seed_differences


def _runs(better_aucs: list[float], worse_aucs: list[float]) -> pd.DataFrame:
    rows = []
    for seed, (b, w) in enumerate(zip(better_aucs, worse_aucs)):
        rows.append({"dataset": "D", "activation": "A", "seed": seed, "status": "ok", "auc": b})
        rows.append({"dataset": "D", "activation": "B", "seed": seed, "status": "ok", "auc": w})
    return pd.DataFrame(rows)


def test_a_consistent_improvement_is_the_same_difference_on_every_seed_even_when_means_overlap() -> None:
    # Seeds vary a lot, but A beats B by 0.01 on every seed: pairing sees it.
    base = [0.70, 0.80, 0.75, 0.90]
    diffs = seed_differences(_runs([b + 0.01 for b in base], base), "D", "A", "B")
    assert diffs.index.tolist() == [0, 1, 2, 3]
    assert diffs.tolist() == pytest.approx([0.01] * 4)


def test_differences_are_better_minus_worse_so_a_loss_is_negative() -> None:
    diffs = seed_differences(_runs([0.70, 0.71, 0.69], [0.75, 0.76, 0.74]), "D", "A", "B")
    assert diffs.tolist() == pytest.approx([-0.05] * 3)


def test_relative_differences_are_the_ratio_minus_one() -> None:
    diffs = seed_differences(_runs([0.60, 0.90], [0.50, 0.75]), "D", "A", "B", relative=True)
    assert diffs.tolist() == pytest.approx([0.2, 0.2])


def test_failed_runs_are_left_out_of_the_pairs() -> None:
    runs = _runs([0.8, 0.8, 0.8], [0.7, 0.7, 0.7])
    runs.loc[0, "status"] = "failed"  # A on seed 0
    assert seed_differences(runs, "D", "A", "B").index.tolist() == [1, 2]


def test_a_label_that_failed_on_every_seed_gives_no_pairs() -> None:
    runs = _runs([0.8, 0.8], [0.7, 0.7])
    runs.loc[runs["activation"] == "A", "status"] = "failed"
    assert seed_differences(runs, "D", "A", "B").empty


def test_several_runs_of_one_label_and_seed_are_averaged_first() -> None:
    # A width curve: two A runs on seed 0 (0.8 and 0.9) against one B run (0.7).
    runs = pd.concat([_runs([0.8], [0.7]), _runs([0.9], [0.7]).query("activation == 'A'")], ignore_index=True)
    assert seed_differences(runs, "D", "A", "B").tolist() == pytest.approx([0.15])


def test_pairs_can_be_made_by_another_column() -> None:
    runs = _runs([0.8, 0.9], [0.7, 0.7]).rename(columns={"activation": "config"})
    assert seed_differences(runs, "D", "A", "B", by="config").tolist() == pytest.approx([0.1, 0.2])


def test_unknown_activation_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"no runs of \['C'\] on D; known activation values there: \['A', 'B'\]"):
        seed_differences(_runs([0.8], [0.7]), "D", "C", "B")


def test_equal_auc_gain_is_the_parameter_ratio() -> None:
    parts = efficiency_gain_parts(0.8, 0.8, 4161, 26601)
    assert parts["accuracy_part"] == 0
    assert parts["gain"] == pytest.approx(parts["parameter_part"])
    assert parts["gain"] == pytest.approx(0.2227, abs=1e-4)


def test_gain_factors_multiply_back_to_the_gain() -> None:
    parts = efficiency_gain_parts(0.72, 0.75, 5825, 31801)
    assert (1 + parts["parameter_part"]) * (1 + parts["accuracy_part"]) == pytest.approx(1 + parts["gain"])
    assert parts["gain"] == pytest.approx((0.72 / math.log10(5825)) / (0.75 / math.log10(31801)) - 1)


def test_efficiency_is_auc_over_log10_params() -> None:
    assert efficiency(0.8, 10_000) == pytest.approx(0.2)
