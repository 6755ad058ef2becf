"""The fair trial's statistics, checked against hand computations and scipy's own tests."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.model_selection import train_test_split

from nslib.stats.register import (
    OWN_QUESTION,
    REGISTER_COLUMNS,
    Claim,
    judge_family,
    rank_row,
    record,
    side_by_side,
    split_sizes,
    tally,
)
from nslib.stats.register_plot import plot_claims
from nslib.stats.significance import (
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
    judge_where,
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


def test_a_claim_with_the_same_difference_on_every_seed_cannot_tell_and_the_family_is_still_judged() -> None:
    # Accuracy on a tiny test split can move by exactly the same amount on every seed: no test applies.
    table = judge(_claims(("stuck", [0.01] * 10), ("clear gain", _steady(0.02, 0.002)))).set_index("claim")
    stuck = table.loc["stuck"]
    assert (stuck["verdict"], stuck["p"], stuck["p_tost"], stuck["mean"]) == ("cannot tell", 1.0, 1.0, 0.01)
    assert (stuck["ci_low"], stuck["ci_high"]) == (0.01, 0.01)
    assert table.loc["clear gain", "verdict"] == "holds"


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


# ------------------------------------------------------------ claims on runs: judge_family and split_sizes

SEEDS = list(range(42, 52))
BASE = [0.70, 0.80, 0.75, 0.90, 0.72, 0.78, 0.85, 0.74, 0.81, 0.77]  # seeds differ far more than the effects
GAINS = [0.010, 0.020, 0.000, 0.030, 0.015, 0.012, 0.018, 0.005, 0.025, 0.015]  # mean 0.015


def _config_runs(dataset: str = "D", metric: str = "auc", **configs: list[float]) -> pd.DataFrame:
    """Finished runs, one per seed from 42, of each keyword's configuration (underscores for spaces)."""
    return pd.DataFrame([
        {"dataset": dataset, "config": name.replace("_", " "), "seed": seed, "status": "ok", metric: value}
        for name, values in configs.items() for seed, value in zip(SEEDS, values)
    ])


def _by_hand(d: list[float], n_train: int, n_test: int) -> tuple[float, float, float]:
    """Mean, corrected standard error and two-sided p of paired differences, with numpy and scipy only."""
    d = np.asarray(d)
    se = math.sqrt((1 / len(d) + n_test / n_train) * np.var(d, ddof=1))
    return d.mean(), se, 2 * stats.t.sf(abs(d.mean()) / se, len(d) - 1)


def test_judge_family_pairs_runs_by_seed_and_applies_the_corrected_test_and_holm_by_hand() -> None:
    noise = [0.004, -0.006, 0.001, 0.003, -0.002, 0.000, -0.005, 0.006, -0.001, 0.002]
    runs = _config_runs(A=[b + g for b, g in zip(BASE, GAINS)], B=BASE, C=[b + n for b, n in zip(BASE, noise)])
    claims = [Claim("gain", "A beats B", "D", "A", "B"), Claim("noise", "C beats B", "D", "C", "B")]
    table = judge_family(claims, runs, {"D": 1000})  # 800 training rows, 200 test rows
    mean_a, se_a, p_a = _by_hand(GAINS, 800, 200)
    mean_c, se_c, p_c = _by_hand(noise, 800, 200)
    assert (mean_a, p_a < p_c) == (pytest.approx(0.015), True)
    assert table["id"].tolist() == ["gain", "noise"]
    assert table[["n_train", "n_test", "n_seeds"]].values.tolist() == [[800, 200, 10], [800, 200, 10]]
    assert table["mean"].tolist() == pytest.approx([mean_a, mean_c])
    assert table["se"].tolist() == pytest.approx([se_a, se_c])
    assert table["p"].tolist() == pytest.approx([p_a, p_c])
    # Holm with two p-values: the smaller doubled, the larger at least that.
    assert table["p_holm"].tolist() == pytest.approx([2 * p_a, min(1.0, max(2 * p_a, p_c))])
    half = stats.t.ppf(1 - 0.05 / 4, 9) * se_a  # the smallest p is tested at 1 - alpha / 2
    assert (table.loc[0, "ci_low"], table.loc[0, "ci_high"]) == pytest.approx((mean_a - half, mean_a + half))
    assert table["verdict"].tolist() == [HOLDS, CANNOT_TELL]


def test_judge_family_reaches_holds_does_not_hold_and_cannot_tell_on_runs() -> None:
    rng = np.random.default_rng(5)
    runs = _config_runs(
        Winner=[b + 0.01 + 0.001 * e for b, e in zip(BASE, rng.normal(size=10))],
        Loser=[b - 0.05 + 0.002 * e for b, e in zip(BASE, rng.normal(size=10))],
        Coin=[b + 0.02 * e for b, e in zip(BASE, rng.normal(size=10))],
        Base=BASE,
    )
    claims = [Claim(name, f"{name} beats Base", "D", name, "Base") for name in ("Winner", "Loser", "Coin")]
    table = judge_family(claims, runs, {"D": 5000})
    assert table["verdict"].tolist() == [HOLDS, DOES_NOT_HOLD, CANNOT_TELL]


def test_judge_family_leaves_failed_runs_out_of_the_pairs() -> None:
    runs = _config_runs(A=[b + g for b, g in zip(BASE, GAINS)], B=BASE)
    runs.loc[(runs["config"] == "A") & (runs["seed"] == 45), "status"] = "failed"  # the 0.030 gain
    kept = GAINS[:3] + GAINS[4:]
    row = judge_family([Claim("gain", "A beats B", "D", "A", "B")], runs, {"D": 1000}).iloc[0]
    mean, se, p = _by_hand(kept, 800, 200)
    assert row["n_seeds"] == 9
    assert (row["mean"], row["se"], row["p"]) == pytest.approx((mean, se, p))


def test_judge_family_takes_a_relative_difference_minus_the_claimed_offset() -> None:
    # "A is more than 18% more efficient than B": A / B - 1 - 0.18 per seed.
    ratios = [1.20, 1.22, 1.19, 1.21, 1.25, 1.20, 1.23, 1.18, 1.24, 1.22]
    runs = _config_runs(metric="efficiency", A=[0.2 * r for r in ratios], B=[0.2] * 10)
    claim = Claim("gain", "A gains 18%", "D", "A", "B", metric="efficiency", relative=True, offset=0.18, margin=0.01)
    row = judge_family([claim], runs, {"D": 1000}).iloc[0]
    mean, se, p = _by_hand([r - 1.18 for r in ratios], 800, 200)
    assert row["mean"] == pytest.approx(np.mean(ratios) - 1.18)
    assert (row["se"], row["p"], row["margin"]) == pytest.approx((se, p, 0.01))
    assert row["metric"] == "efficiency"


def test_judge_family_marks_the_papers_claims_and_its_own_questions() -> None:
    runs = _config_runs(A=[b + g for b, g in zip(BASE, GAINS)], B=BASE)
    claims = [Claim("paper", "A beats B", "D", "A", "B", paper_words='"A is better"', source="abstract"),
              Claim("own", "A beats B again", "D", "A", "B")]
    table = judge_family(claims, runs, {"D": 1000})
    assert table["kind"].tolist() == ["paper", OWN_QUESTION]
    assert table["paper_words"].tolist() == ['"A is better"', ""]


def test_judge_family_names_a_configuration_that_was_never_trained() -> None:
    with pytest.raises(ValueError, match=r"no runs of \['Z'\] on D"):
        judge_family([Claim("z", "Z beats B", "D", "Z", "B")], _config_runs(B=BASE), {"D": 1000})


@pytest.mark.parametrize("n_rows", [5, 7, 1001, 4601, 20978, 581012])
@pytest.mark.parametrize("test_size", [0.2, 0.25, 0.33])
def test_split_sizes_are_the_lengths_of_sklearns_train_test_split(n_rows: int, test_size: float) -> None:
    train, test = train_test_split(np.arange(n_rows), test_size=test_size, random_state=0)
    assert split_sizes(n_rows, test_size) == (len(train), len(test))


# ------------------------------------------------------------ the claims register


def _judged(gains: list[float], *claims: Claim) -> pd.DataFrame:
    runs = _config_runs(A=[b + g for b, g in zip(BASE, gains)], B=BASE)
    return judge_family(list(claims), runs, {"D": 1000})


PAPER_CLAIM = Claim("03-a", "A beats B", "D", "A", "B", paper_words='"A wins"', source="Table 2")
OWN_CLAIM = Claim("03-own", "A beats B by hand", "D", "A", "B")
LOSSES = [-g - 0.01 for g in GAINS]


@pytest.fixture
def derived(tmp_path, monkeypatch):
    """The register is written into an empty folder of its own."""
    monkeypatch.setenv("NSLIB_DERIVED_DIR", str(tmp_path))
    return tmp_path


def _read(folder) -> pd.DataFrame:
    return pd.read_csv(folder / "claims.csv", keep_default_na=False, dtype={"family": str})


def test_record_writes_both_budgets_verdicts_side_by_side_in_the_register(derived) -> None:
    judged = {"paper": _judged(GAINS, PAPER_CLAIM, OWN_CLAIM), "tuned": _judged(LOSSES, PAPER_CLAIM, OWN_CLAIM)}
    record("03", judged)
    register = _read(derived)
    assert list(register.columns) == REGISTER_COLUMNS
    assert {"verdict_paper_budget", "verdict_tuned_budget", "paper_words", "kind"} <= set(register.columns)
    assert register["id"].tolist() == ["03-a", "03-own"]
    assert register["family"].tolist() == ["03", "03"]
    assert register["kind"].tolist() == ["paper", OWN_QUESTION]
    assert register["paper_words"].tolist() == ['"A wins"', ""]
    assert register["verdict_paper_budget"].tolist() == [HOLDS, HOLDS]
    assert register["verdict_tuned_budget"].tolist() == [DOES_NOT_HOLD, DOES_NOT_HOLD]
    assert register["mean_paper"].tolist() == pytest.approx([0.015, 0.015])
    assert register["mean_tuned"].tolist() == pytest.approx([-0.025, -0.025])
    assert register["n_seeds_tuned"].tolist() == [10, 10]
    assert register["test"].tolist() == ["corrected resampled t, Holm within 03, margin 0.005"] * 2


def test_record_leaves_a_claim_missing_at_one_budget_unjudged_there_with_its_note(derived) -> None:
    judged = {"paper": _judged(GAINS, PAPER_CLAIM, OWN_CLAIM), "tuned": _judged(LOSSES, PAPER_CLAIM)}
    record("03", judged, notes={"03-own": "A failed at every tuned learning rate"})
    register = _read(derived).set_index("id")
    assert register.loc["03-own", "verdict_paper_budget"] == HOLDS
    assert register.loc["03-own", "verdict_tuned_budget"] == ""
    assert register.loc["03-own", "mean_tuned"] == ""
    assert register.loc["03-own", "note"] == "A failed at every tuned learning rate"
    assert register.loc["03-a", "note"] == ""


def test_record_replaces_its_own_familys_rows_and_keeps_the_others(derived) -> None:
    # Family names that look like numbers ("03") must still be found in the file and replaced.
    record("03", {"paper": _judged(GAINS, PAPER_CLAIM, OWN_CLAIM), "tuned": _judged(GAINS, PAPER_CLAIM, OWN_CLAIM)})
    other = Claim("04-a", "A beats B on D", "D", "A", "B")
    record("04", {"paper": _judged(LOSSES, other), "tuned": _judged(LOSSES, other)})
    assert _read(derived)["id"].tolist() == ["03-a", "03-own", "04-a"]
    returned = record("03", {"paper": _judged(LOSSES, PAPER_CLAIM), "tuned": _judged(LOSSES, PAPER_CLAIM)})
    register = _read(derived)
    assert register["id"].tolist() == ["04-a", "03-a"]
    assert register.set_index("id").loc["03-a", "verdict_paper_budget"] == DOES_NOT_HOLD
    assert returned["id"].tolist() == ["04-a", "03-a"]


def test_record_keeps_a_rank_rows_own_test_name(derived) -> None:
    claim = Claim("04-rank-D", "A ranks in the top 25% of random formulas", "D", "A", "random formulas")
    result = {"n_seeds": 10, "share_above": 0.05, "share_inside": 0.10, "ci_low": 0.79, "ci_high": 0.81,
              "verdict": HOLDS}
    judged = {budget: pd.concat([_judged(GAINS, OWN_CLAIM), pd.DataFrame([rank_row(claim, result)])],
                                ignore_index=True) for budget in ("paper", "tuned")}
    record("04", judged)
    rank = _read(derived).set_index("id").loc["04-rank-D"]
    assert rank["test"] == RANK_SHARE
    assert rank["p_holm_paper"] == ""
    assert float(rank["mean_tuned"]) == pytest.approx(0.15)


def test_record_refuses_an_unknown_budget(derived) -> None:
    with pytest.raises(ValueError, match=r"budgets \['long'\] are not known"):
        record("03", {"long": _judged(GAINS, PAPER_CLAIM)})


def test_rank_row_puts_the_share_at_or_above_the_reference_in_the_mean_column() -> None:
    claim = Claim("04-rank-D", "A ranks in the top 25%", "D", "A", "random formulas")
    row = rank_row(claim, {"n_seeds": 10, "share_above": 0.1, "share_inside": 0.2, "ci_low": 0.7, "ci_high": 0.9,
                           "verdict": CANNOT_TELL})
    assert row["mean"] == pytest.approx(0.3)
    assert (row["n_seeds"], row["ci_low"], row["ci_high"], row["verdict"]) == (10, 0.7, 0.9, CANNOT_TELL)
    assert row["test"] == RANK_SHARE and math.isnan(row["p_holm"])
    assert (row["id"], row["kind"], row["dataset"]) == ("04-rank-D", OWN_QUESTION, "D")


def test_tally_counts_only_the_papers_claims_and_shows_what_was_not_judged() -> None:
    register = pd.DataFrame({
        "kind": ["paper", "paper", "paper", "paper", OWN_QUESTION, OWN_QUESTION],
        "verdict_paper_budget": [HOLDS, DOES_NOT_HOLD, CANNOT_TELL, HOLDS, HOLDS, EQUIVALENT],
        "verdict_tuned_budget": [HOLDS, EQUIVALENT, "", DOES_NOT_HOLD, HOLDS, HOLDS],
    })
    counts = tally(register)
    assert counts.index.tolist() == [HOLDS, DOES_NOT_HOLD, EQUIVALENT, CANNOT_TELL, "not judged"]
    assert counts["paper"].tolist() == [2, 1, 0, 1, 0]
    assert counts["tuned"].tolist() == [1, 1, 1, 0, 1]


def test_tally_reads_a_missing_verdict_from_a_csv_as_not_judged(tmp_path) -> None:
    path = tmp_path / "claims.csv"
    path.write_text("kind,verdict_paper_budget,verdict_tuned_budget\npaper,holds,\n")
    counts = tally(pd.read_csv(path))
    assert counts.loc["not judged", "tuned"] == 1 and counts.loc[HOLDS, "paper"] == 1


def test_side_by_side_shows_each_budgets_estimate_and_verdict_per_claim() -> None:
    judged = {"paper": _judged(GAINS, PAPER_CLAIM), "tuned": _judged(LOSSES, PAPER_CLAIM)}
    table = side_by_side(judged, digits=3)
    row = table.loc["03-a"]
    mean, se, _ = _by_hand(GAINS, 800, 200)
    half = stats.t.ppf(1 - 0.05 / 2, 9) * se  # one claim: the 95% interval
    assert row["paper: estimate"] == f"{mean:+.3f} [{mean - half:+.3f}, {mean + half:+.3f}]"
    assert (row["paper: verdict"], row["tuned: verdict"]) == (HOLDS, DOES_NOT_HOLD)


def test_plot_claims_draws_one_panel_per_budget() -> None:
    judged = {"paper": _judged(GAINS, PAPER_CLAIM, OWN_CLAIM), "tuned": _judged(LOSSES, PAPER_CLAIM, OWN_CLAIM)}
    fig = plot_claims(judged, "notebook 03")
    assert [ax.get_title() for ax in fig.axes] == ["paper budget", "tuned budget"]
    assert fig.get_suptitle() == "notebook 03"
    plt.close(fig)


def test_judge_where_tests_only_the_testable_claims_and_names_the_others() -> None:
    claims = _claims(("a", list(D)), ("b", list(D + 0.01)), ("c", [0.02]), ("d", []))
    judged = judge_where(claims, pd.Series([True, True, False, False]), "no test (why)").set_index("claim")
    both = judge(claims.iloc[:2]).set_index("claim")
    # Holm over the two testable claims only, as if the others were not there.
    assert judged.loc[["a", "b"], "p_holm"].tolist() == both["p_holm"].tolist()
    assert judged.loc[["a", "b"], "verdict"].tolist() == both["verdict"].tolist()
    assert judged.loc["c", "verdict"] == judged.loc["d", "verdict"] == "no test (why)"
    assert (judged.loc["c", "n_seeds"], judged.loc["c", "mean"], judged.loc["d", "n_seeds"]) == (1, 0.02, 0)
    assert math.isnan(judged.loc["d", "mean"]) and math.isnan(judged.loc["c", "ci_low"])
    assert judge_where(claims.iloc[:2], pd.Series([True, True]), "x").equals(judge(claims.iloc[:2]))


def test_judge_where_with_no_testable_claim_names_them_all_with_the_same_columns() -> None:
    claims = _claims(("c", [0.02]), ("d", []))
    judged = judge_where(claims, pd.Series([False, False]), "no test (why)")
    assert judged["claim"].tolist() == ["c", "d"] and judged.index.tolist() == [0, 1]
    assert judged["verdict"].tolist() == ["no test (why)"] * 2 and judged["n_seeds"].tolist() == [1, 0]
    assert {"mean", "ci_low", "ci_high"} <= set(judged.columns) and judged["ci_high"].isna().all()
