"""The fair trial's statistics, checked against hand computations and scipy's own tests."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nslib.verdicts import (
    CANNOT_TELL,
    DOES_NOT_HOLD,
    EQUIVALENT,
    HOLDS,
    RANK_SHARE,
    VERDICTS,
    corrected_t,
    decide,
    holm,
    interval,
    judge,
    rank_share,
)

D = np.array([0.010, 0.020, 0.000, 0.030, 0.015])  # five seeds' paired differences


def _claims(*rows: tuple[str, list[float]], n_train: int = 8000, n_test: int = 2000) -> pd.DataFrame:
    return pd.DataFrame(
        [{"claim": name, "differences": np.array(d), "n_train": n_train, "n_test": n_test} for name, d in rows]
    )


def test_corrected_t_matches_the_nadeau_bengio_formula_worked_by_hand() -> None:
    # mean 0.015; squared deviations 0.005^2, 0.005^2, 0.015^2, 0.015^2, 0 sum to 5.0e-4; s^2 = 1.25e-4.
    s2 = (0.005**2 + 0.005**2 + 0.015**2 + 0.015**2 + 0.0) / 4
    se = math.sqrt((1 / 5 + 2000 / 8000) * s2)  # (0.2 + 0.25) * 1.25e-4 = 5.625e-5
    assert se == pytest.approx(0.0075)
    test = corrected_t(D, n_train=8000, n_test=2000)
    assert test["mean"] == pytest.approx(0.015)
    assert test["se"] == pytest.approx(0.0075)
    assert test["df"] == 4
    assert test["t"] == pytest.approx(2.0)
    assert test["p"] == pytest.approx(2 * stats.t.sf(2.0, 4))  # 0.1161
    assert test["p"] == pytest.approx(0.116117, abs=1e-6)


def test_the_correction_widens_the_plain_paired_t_by_the_split_overlap() -> None:
    plain = corrected_t(D, n_train=10**9, n_test=1)
    corrected = corrected_t(D, n_train=8000, n_test=2000)
    assert plain["t"] / corrected["t"] == pytest.approx(math.sqrt((1 / 5 + 0.25) / (1 / 5)))


def test_a_negligible_test_share_gives_scipys_paired_t_test() -> None:
    rng = np.random.default_rng(0)
    d = rng.normal(0.004, 0.006, size=10)
    test = corrected_t(d, n_train=10**12, n_test=1)
    assert test["p"] == pytest.approx(stats.ttest_1samp(d, 0.0).pvalue, rel=1e-6)


def test_tost_is_the_larger_of_scipys_two_one_sided_tests_in_the_plain_limit() -> None:
    rng = np.random.default_rng(1)
    d = rng.normal(0.001, 0.004, size=10)
    above = stats.ttest_1samp(d, -0.005, alternative="greater").pvalue
    below = stats.ttest_1samp(d, 0.005, alternative="less").pvalue
    test = corrected_t(d, n_train=10**12, n_test=1, margin=0.005)
    assert test["p_tost"] == pytest.approx(max(above, below), rel=1e-6)


def test_tost_worked_by_hand_with_the_correction() -> None:
    # D: mean 0.015, corrected se 0.0075; margin 0.02: t against +0.02 is (0.015 - 0.02) / 0.0075 = -2/3,
    # against -0.02 it is 0.035 / 0.0075 = 14/3; the binding one is the first.
    test = corrected_t(D, n_train=8000, n_test=2000, margin=0.02)
    assert test["p_tost"] == pytest.approx(stats.t.cdf(-2 / 3, 4))


def test_interval_is_the_textbook_t_interval() -> None:
    low, high = interval(0.015, 0.0075, 4, 0.95)
    half = 2.7764451051977987 * 0.0075  # t(0.975, 4) from a table
    assert (low, high) == pytest.approx((0.015 - half, 0.015 + half))


def test_holm_adjusts_a_worked_example() -> None:
    # Sorted: 0.005, 0.01, 0.03, 0.04 -> 4*0.005 = 0.02, 3*0.01 = 0.03, 2*0.03 = 0.06, max(0.06, 1*0.04) = 0.06.
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_caps_at_one_and_leaves_a_single_p_value_alone() -> None:
    # Sorted: 0.01, 0.6, 0.7 -> 0.03, min(1, 1.2) = 1, max(1, 0.7) = 1.
    assert holm([0.6, 0.7, 0.01]) == pytest.approx([1.0, 1.0, 0.03])
    assert holm([0.2]) == pytest.approx([0.2])


def _steady(mean: float, spread: float, n: int = 10) -> list[float]:
    # Ten values with exactly this mean, alternating around it.
    return [mean + spread * (1 if i % 2 else -1) for i in range(n)]


def test_each_of_the_four_verdicts_is_reached() -> None:
    table = judge(
        _claims(
            ("clear gain", _steady(0.02, 0.002)),
            ("clear loss", _steady(-0.02, 0.002)),
            ("negligible", _steady(0.0004, 0.0005)),
            ("noise", _steady(0.0, 0.02)),
        )
    )
    assert dict(zip(table["claim"], table["verdict"])) == {
        "clear gain": HOLDS,
        "clear loss": DOES_NOT_HOLD,
        "negligible": EQUIVALENT,
        "noise": CANNOT_TELL,
    }


def test_a_precise_but_tiny_effect_is_equivalent_not_a_win() -> None:
    # 0.0004 AUC on every seed to within 0.00005: significant, but far inside the 0.005 margin.
    row = judge(_claims(("tiny", _steady(0.0004, 0.00005))), margin=0.005).iloc[0]
    assert row["p_holm"] < 1e-3
    assert row["verdict"] == EQUIVALENT


def test_a_claim_that_holds_alone_cannot_be_told_among_many() -> None:
    d = _steady(0.006, 0.003)  # corrected t about 3.2 on 9 df: p about 0.01
    alone = judge(_claims(("gain", d)), margin=0.001).iloc[0]
    assert alone["verdict"] == HOLDS
    crowd = judge(_claims(("gain", d), *[(f"noise {i}", _steady(0.0, 0.05)) for i in range(19)]), margin=0.001)
    assert crowd.iloc[0]["p_holm"] == pytest.approx(20 * alone["p"])
    assert crowd.iloc[0]["verdict"] == CANNOT_TELL


def test_the_interval_excludes_zero_exactly_when_holm_rejects() -> None:
    rng = np.random.default_rng(2)
    table = judge(_claims(*[(f"c{i}", rng.normal(rng.normal(0, 0.01), 0.01, 10)) for i in range(30)]))
    assert ((table["ci_low"] > 0) | (table["ci_high"] < 0)).tolist() == (table["p_holm"] <= 0.05).tolist()
    assert table["ci_level"].between(0.95, 1 - 0.05 / 30 + 1e-12).all()


def test_the_smallest_p_value_gets_the_bonferroni_interval() -> None:
    table = judge(_claims(("big", _steady(0.05, 0.01)), ("small", _steady(0.001, 0.01))))
    big = table.iloc[0]
    low, high = big["mean"] + np.array([-1, 1]) * stats.t.ppf(1 - 0.05 / 4, 9) * big["se"]
    assert big["ci_level"] == pytest.approx(1 - 0.05 / 2)
    assert (big["ci_low"], big["ci_high"]) == pytest.approx((low, high))


def test_random_families_always_get_exactly_one_verdict_by_the_table() -> None:
    rng = np.random.default_rng(3)
    for m in rng.integers(1, 25, size=50):
        rows = [(f"c{i}", rng.normal(rng.normal(0, 0.01), rng.uniform(0.0005, 0.02), 10)) for i in range(m)]
        table = judge(_claims(*rows))
        equivalent = table["p_tost_holm"] <= 0.05
        significant = table["p_holm"] <= 0.05
        rules = pd.DataFrame({
            EQUIVALENT: equivalent,
            HOLDS: ~equivalent & significant & (table["mean"] > 0),
            DOES_NOT_HOLD: ~equivalent & significant & (table["mean"] < 0),
            CANNOT_TELL: ~equivalent & ~significant,
        })
        assert (rules.sum(axis=1) == 1).all()
        assert table["verdict"].tolist() == rules.idxmax(axis=1).tolist()


def test_decide_returns_one_of_the_four_verdicts_for_any_numbers() -> None:
    rng = np.random.default_rng(4)
    seen = {decide(m, p, pt) for m, p, pt in zip(rng.normal(size=400), rng.uniform(size=400), rng.uniform(size=400))}
    assert seen == set(VERDICTS)


def test_judge_keeps_extra_columns_and_takes_a_per_claim_margin() -> None:
    claims = _claims(("acc gain", _steady(0.004, 0.001)), ("auc gain", _steady(0.004, 0.001)))
    claims["dataset"] = ["HIGGS", "HIGGS"]
    claims["margin"] = [0.01, 0.001]
    table = judge(claims)
    assert table["dataset"].tolist() == ["HIGGS", "HIGGS"]
    assert table["margin"].tolist() == [0.01, 0.001]
    assert table["verdict"].tolist() == [EQUIVALENT, HOLDS]
    assert "differences" not in table.columns


def test_fewer_than_two_seeds_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 2 per-seed values"):
        corrected_t([0.01], n_train=800, n_test=200)


def test_nan_differences_are_refused_with_their_positions() -> None:
    with pytest.raises(ValueError, match=r"positions \[1\].*both configurations finished"):
        corrected_t([0.01, math.nan, 0.02], n_train=800, n_test=200)


@pytest.mark.parametrize("n_train, n_test", [(0, 200), (800, -1), (800.0, 200)])
def test_non_positive_or_non_integer_sizes_are_refused(n_train: object, n_test: object) -> None:
    with pytest.raises(ValueError, match="must be an integer >= 1"):
        corrected_t([0.01, 0.02], n_train=n_train, n_test=n_test)


def test_identical_differences_on_every_seed_are_refused() -> None:
    with pytest.raises(ValueError, match="no spread"):
        corrected_t([0.01, 0.01, 0.01], n_train=800, n_test=200)


def test_a_bad_margin_is_refused() -> None:
    with pytest.raises(ValueError, match="margin=0 must be positive"):
        corrected_t(D, n_train=800, n_test=200, margin=0)


def test_judge_names_the_claim_with_bad_input_and_the_missing_columns() -> None:
    with pytest.raises(ValueError, match=r"claim 'short': differences needs at least 2"):
        judge(_claims(("fine", [0.1, 0.2]), ("short", [0.1])))
    with pytest.raises(ValueError, match=r"missing \['n_test'\]"):
        judge(pd.DataFrame({"claim": ["a"], "differences": [[0.1, 0.2]], "n_train": [800]}))
    with pytest.raises(ValueError, match="alpha=1.5 must be a number strictly between 0 and 1"):
        judge(_claims(("fine", [0.1, 0.2])), alpha=1.5)


def test_holm_refuses_numbers_that_are_not_p_values() -> None:
    with pytest.raises(ValueError, match=r"p-values in \[0, 1\], got \[0.1, 1.2\]"):
        holm([0.1, 1.2])
    with pytest.raises(ValueError, match="non-empty"):
        holm([])


REFERENCE = [0.80, 0.82, 0.81, 0.79, 0.83]  # mean 0.81, s^2 = 0.00025 (deviations -1, 1, 0, -2, 2 hundredths)


def _reference_interval(n_train: int = 8000, n_test: int = 2000) -> tuple[float, float]:
    se = math.sqrt((1 / 5 + n_test / n_train) * 0.00025)
    half = stats.t.ppf(0.975, 4) * se
    return 0.81 - half, 0.81 + half


def test_rank_share_counts_draws_around_the_reference_interval() -> None:
    low, high = _reference_interval()  # about (0.7806, 0.8394)
    draws = np.array([[0.70, 0.72], [0.75, 0.75], [0.80, 0.82], [0.90, 0.92], [0.60, 0.62], [0.65, 0.66],
                      [0.70, 0.70], [0.50, 0.52]])
    result = rank_share(REFERENCE, draws, n_train=8000, n_test=2000, q=0.25)
    assert (result["ci_low"], result["ci_high"]) == pytest.approx((low, high))
    assert result["statistic"] == RANK_SHARE
    # Draw means 0.71, 0.75, 0.81 (inside), 0.91 (above), 0.61, 0.655, 0.70, 0.51.
    assert (result["share_above"], result["share_inside"], result["share_below"]) == (1 / 8, 1 / 8, 6 / 8)
    assert result["n_draws"] == 8
    assert all(type(result[key]) is float for key in ("mean", "se", "ci_low", "ci_high"))
    assert result["verdict"] == HOLDS  # 2 of 8 draws are above or inside: 25%, not more


def test_rank_share_does_not_hold_when_more_than_q_draws_are_clearly_better() -> None:
    draws = [[0.90, 0.90]] * 3 + [[0.5, 0.5]] * 7  # 30% clearly above
    assert rank_share(REFERENCE, draws, 8000, 2000, q=0.25)["verdict"] == DOES_NOT_HOLD


def test_rank_share_cannot_tell_when_draws_inside_the_interval_decide() -> None:
    draws = [[0.90, 0.90]] * 2 + [[0.81, 0.81]] * 2 + [[0.5, 0.5]] * 6  # 20% above, 20% inside
    assert rank_share(REFERENCE, draws, 8000, 2000, q=0.25)["verdict"] == CANNOT_TELL


def test_rank_share_refuses_failed_draws_and_a_flat_list() -> None:
    with pytest.raises(ValueError, match=r"rows \[1\].*leave out draws whose runs failed"):
        rank_share(REFERENCE, [[0.8, 0.8], [math.nan, 0.7]], 8000, 2000)
    with pytest.raises(ValueError, match="one row per random draw"):
        rank_share(REFERENCE, [0.8, 0.7], 8000, 2000)
