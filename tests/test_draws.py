"""Notebook 04's trial of the method over its draws: samples, per-draw verdicts, shares and the register rows."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from synthetic import synthetic_dataset

from nslib.experiments import draws
from nslib.experiments.profiles import get_profile
from nslib.stats.register import METHOD, PAPER, TUNED, tally

SEEDS = range(42, 52)
WIGGLE = [0.001, -0.001] * 5  # seed-to-seed noise with mean exactly 0


def light_runs(dataset: str, label: str, base: float, offset: float) -> list[dict]:
    return [{"dataset": dataset, "arch": "light", "activation": label, "seed": seed, "auc": base + offset + w,
             "status": "ok"} for seed, w in zip(SEEDS, WIGGLE)]


def runs_for(sin_gain: float, cos_gain: float) -> pd.DataFrame:
    """ReLU 0.80, GELU 0.81, SiLU 0.79 on FOREST_COVER, ReLU 0.90 on SPAMBASE; the draws' sin(x) and cos(x)
    ``sin_gain`` and ``cos_gain`` above ReLU on both (GELU and SiLU stay flat, so the wiggle is theirs)."""
    rows = []
    for dataset, bases in (("FOREST_COVER", {"ReLU": 0.80, "GELU": 0.81, "SiLU": 0.79}),
                           ("SPAMBASE", {"ReLU": 0.90})):
        rows += [dict(run, auc=value) for name, value in bases.items()
                 for run, value in zip(light_runs(dataset, name, value, 0), [value] * 10)]
        rows += light_runs(dataset, "sin(x)", bases["ReLU"], sin_gain) + light_runs(dataset, "cos(x)", bases["ReLU"],
                                                                                     cos_gain)
    return pd.DataFrame(rows)


DRAWS = pd.DataFrame({"gp_seed": [42, 43], "sample": [0, 0], "protocol": [True, False],
                      "formula": ["sin(x)", "cos(x)"]})
ROWS = {"FOREST_COVER": 1000, "SPAMBASE": 1000}


def test_sample_zero_is_the_data_set_and_a_later_sample_keeps_nine_tenths_of_its_rows_in_order():
    data = synthetic_dataset(n=200)
    assert draws.draw_sample(data, 0) is data
    one, again, two = draws.draw_sample(data, 1), draws.draw_sample(data, 1), draws.draw_sample(data, 2)
    assert one.n_rows == 180 and np.array_equal(one.X, again.X)
    assert not np.array_equal(one.X, two.X)
    rows = [int(np.flatnonzero((data.X == row).all(axis=1))[0]) for row in one.X]
    assert rows == sorted(rows) and one.y.tolist() == data.y[rows].tolist()


def test_the_profiles_hold_at_least_twenty_draws_in_full_and_fewer_in_quick():
    full, quick = get_profile("full"), get_profile("quick")
    assert len(full.method_gp_seeds) >= 5 and full.method_samples >= 4 and 42 in full.method_gp_seeds
    assert len(quick.method_gp_seeds) * quick.method_samples < len(full.method_gp_seeds) * full.method_samples


def test_each_draw_is_judged_on_each_claim_by_its_paired_differences():
    table = draws.judge_draws(DRAWS, {PAPER: runs_for(0.02, -0.02)}, ROWS)
    assert list(table.columns) == draws.DRAWS_COLUMNS and len(table) == 2 * 4
    got = table.set_index(["gp_seed", "claim_id"])
    # sin(x) is 0.82 on FOREST_COVER: +0.02 over ReLU, +0.01 over GELU 0.81, +0.03 over SiLU 0.79; on SPAMBASE
    # ReLU minus sin(x) is -0.02.
    assert got.loc[(42, "transfer-relu"), "mean"] == pytest.approx(0.02)
    assert got.loc[(42, "transfer-gelu"), "mean"] == pytest.approx(0.01)
    assert got.loc[(42, "transfer-silu"), "mean"] == pytest.approx(0.03)
    assert got.loc[(42, "boundary-relu"), "mean"] == pytest.approx(-0.02)
    assert got.loc[42, "verdict"].tolist() == ["holds", "holds", "holds", "does not hold"]
    # cos(x) is 0.78: below all three, and ReLU beats it on SPAMBASE, as the boundary says.
    assert got.loc[43, "verdict"].tolist() == ["does not hold", "does not hold", "does not hold", "holds"]
    assert got.loc[(43, "transfer-silu"), "mean"] == pytest.approx(-0.01)
    assert set(table["n_seeds"]) == {10} and table["protocol"].tolist() == [True] * 4 + [False] * 4


def test_clopper_pearson_shares_match_their_closed_forms_at_the_ends():
    # k = 0: the upper end solves (1 - p)^n = 0.025; k = n: the lower end solves p^n = 0.025.
    assert draws.share_interval(0, 20) == pytest.approx((0.0, 1 - 0.025 ** (1 / 20)))
    assert draws.share_interval(20, 20) == pytest.approx((0.025 ** (1 / 20), 1.0))
    assert np.isnan(draws.share_interval(0, 0)[0])


def test_the_method_verdict_holds_only_when_the_whole_interval_lies_above_one_half():
    assert draws.method_verdict(0.51, 0.9) == "holds"
    assert draws.method_verdict(0.1, 0.49) == "does not hold"
    assert draws.method_verdict(0.3, 0.8) == "cannot tell"


def test_method_verdicts_count_the_draws_and_keep_the_protocol_verdict_and_register_as_method_rows():
    table = draws.judge_draws(DRAWS, {PAPER: runs_for(0.02, -0.02), TUNED: runs_for(0.02, 0.02)}, ROWS)
    verdicts = draws.method_verdicts(table)
    assert list(verdicts.columns) == draws.VERDICTS_COLUMNS and len(verdicts) == 8
    got = verdicts.set_index(["claim_id", "budget"])
    relu = got.loc[("transfer-relu", PAPER)]
    assert (relu["n_draws"], relu["n_holds"], relu["share_holds"], relu["n_does_not_hold"]) == (2, 1, 0.5, 1)
    assert relu["protocol_verdict"] == "holds"
    # At the tuned budget both formulas are 0.02 above ReLU: 2 of 2 hold, lower end sqrt(0.025).
    both = got.loc[("transfer-relu", TUNED)]
    assert both["n_holds"] == 2 and both["ci_low"] == pytest.approx(0.025 ** 0.5)
    rows = draws.method_rows(verdicts)
    assert set(rows) == {PAPER, TUNED}
    paper_rows = rows[PAPER].set_index("id")
    assert set(paper_rows["kind"]) == {METHOD} and paper_rows.loc["04-method-transfer-relu", "n_seeds"] == 2
    assert paper_rows.loc["04-method-transfer-relu", "verdict"] == "cannot tell"
    assert paper_rows.loc["04-method-boundary-relu", "paper_words"].startswith("Spambase")
    register = rows[PAPER].rename(columns={"verdict": "verdict_paper_budget"}).assign(verdict_tuned_budget="")
    assert tally(register).to_numpy().sum() == 0  # method rows are never counted as the paper's claims


def test_the_tuned_family_budget_is_the_protocol_formulas_on_each_target():
    budgets = pd.DataFrame({"dataset": ["FOREST_COVER", "FOREST_COVER", "SPAMBASE"], "arch": "light",
                            "activation": ["ReLU", "sin(x)", "sin(x)"], "lr": [0.01, 0.03, 0.003],
                            "epochs": [30, 12, 7]})
    assert draws.family_budgets(budgets, "sin( x )", ["FOREST_COVER", "SPAMBASE"]) == {
        "FOREST_COVER": (0.03, 12), "SPAMBASE": (0.003, 7)}
    with pytest.raises(ValueError, match="no tuned budget"):
        draws.family_budgets(budgets, "cos(x)", ["FOREST_COVER"])


def test_draw_specs_train_each_distinct_formula_once_per_target_and_seed_at_its_budget():
    table = pd.concat([DRAWS, DRAWS.assign(sample=1)])
    specs = draws.draw_specs(table, ["FOREST_COVER", "SPAMBASE"], {"FOREST_COVER": [42], "SPAMBASE": [42, 43]},
                             {"FOREST_COVER": (0.03, 12), "SPAMBASE": (0.001, 15)})
    assert sorted((s.dataset, s.activation, s.seed) for s in specs) == [
        ("FOREST_COVER", "cos(x)", 42), ("FOREST_COVER", "sin(x)", 42), ("SPAMBASE", "cos(x)", 42),
        ("SPAMBASE", "cos(x)", 43), ("SPAMBASE", "sin(x)", 42), ("SPAMBASE", "sin(x)", 43)]
    assert {(s.dataset, s.lr, s.epochs) for s in specs} == {("FOREST_COVER", 0.03, 12), ("SPAMBASE", 0.001, 15)}


def test_the_draws_train_on_fewer_seeds_only_where_one_run_is_long():
    full = get_profile("full")
    seeds = tuple(range(42, 52))
    # 68,178 rows: 54,542 train (80%); x 98 epochs is 5.3 million row-epochs, over the 2 million of a long run;
    # x 15 epochs 0.8 million. Spambase's 4,601 rows train on 3,680: 28 epochs are 0.1 million.
    rows = {"FOREST_COVER": 68178, "SPAMBASE": 4601}
    assert draws.draw_seeds(seeds, {"FOREST_COVER": (0.03, 98), "SPAMBASE": (0.01, 28)}, rows, full) == {
        "FOREST_COVER": (42, 43, 44, 45, 46), "SPAMBASE": seeds}
    assert draws.draw_seeds(seeds, {"FOREST_COVER": (1e-3, 15)}, rows, full) == {"FOREST_COVER": seeds}
    # The threshold is on rows x epochs: 36 epochs are 1.96 million (all seeds), 37 are 2.02 million (five).
    assert len(draws.draw_seeds(seeds, {"FOREST_COVER": (1e-3, 36)}, rows, full)["FOREST_COVER"]) == 10
    assert len(draws.draw_seeds(seeds, {"FOREST_COVER": (1e-3, 37)}, rows, full)["FOREST_COVER"]) == 5


def test_the_draws_figure_has_one_panel_per_budget_and_marks_the_protocol():
    table = draws.judge_draws(DRAWS, {PAPER: runs_for(0.02, -0.02), TUNED: runs_for(0.02, 0.02)}, ROWS)
    fig = draws.plot_draws(table)
    assert len(fig.axes) == 2 and all("budget" in ax.get_title() for ax in fig.axes)
    assert "protocol" in " ".join(text.get_text() for text in fig.legends[0].get_texts())
    plt.close(fig)


def test_with_baselines_keeps_the_baselines_own_runs_and_the_draws_formulas_only():
    own = pd.DataFrame({"dataset": "FOREST_COVER", "arch": ["light", "light", "heavy", "light"],
                        "activation": ["ReLU", "sin(x)", "ReLU", "GELU"], "seed": 42, "auc": [0.8, 0.7, 0.9, 0.81]})
    drawn = pd.DataFrame({"dataset": "FOREST_COVER", "arch": "light", "activation": ["sin(x)", "ReLU"], "seed": 42,
                          "auc": [0.82, 0.5]})
    both = draws.with_baselines(own, drawn)
    assert sorted(zip(both["activation"], both["auc"])) == [("GELU", 0.81), ("ReLU", 0.8), ("sin(x)", 0.82)]


def test_family_check_sets_each_gp_seeds_own_tuned_budget_beside_the_family_budget():
    table = draws.judge_draws(DRAWS, {TUNED: runs_for(0.02, -0.02)}, ROWS)
    # Section 3 tuned sin(x) on its own: 0.03 above ReLU there (the family budget gave it 0.02).
    own_runs = pd.DataFrame(light_runs("FOREST_COVER", "ReLU", 0.80, 0) + light_runs("FOREST_COVER", "sin(x)", 0.83, 0))
    budgets = pd.DataFrame({"dataset": "FOREST_COVER", "arch": "light", "activation": ["sin(x)"], "lr": [0.01],
                            "epochs": [20]})
    check = draws.family_check(table, own_runs.assign(arch="light"), budgets, {42: "sin(x)", 43: "cos(x)"})
    assert check["gp_seed"].tolist() == [42]  # cos(x) has no budget of its own here
    row = check.iloc[0]
    assert (row["own_lr"], row["own_epochs"], row["family_verdict"]) == (0.01, 20, "holds")
    assert row["own_mean"] == pytest.approx(0.03) and row["family_mean"] == pytest.approx(0.02)


def test_no_target_of_the_claims_gives_an_empty_table():
    assert draws.judge_draws(DRAWS, {PAPER: runs_for(0.02, -0.02)}, {"HIGGS": 1000}).empty


def test_leaving_out_each_discovery_samples_draws_shows_where_the_method_verdict_moves():
    # 20 draws, 15 of which hold (share 0.75, Clopper-Pearson 0.509 to 0.913: holds). Sample 0 holds in all
    # five of its draws: without it 10 of 15 (0.667, interval reaching below one half: cannot tell).
    holds_per_sample = {0: 5, 1: 3, 2: 3, 3: 4}
    rows = [{"gp_seed": 42 + seed, "sample": sample, "protocol": sample == 0 and seed == 0, "formula": "f",
             "claim_id": "transfer-relu", "claim": "T beats ReLU", "dataset": "FC", "budget": PAPER,
             "verdict": "holds" if seed < holds else "does not hold"}
            for sample, holds in holds_per_sample.items() for seed in range(5)]
    table = draws.without_each_sample(pd.DataFrame(rows))
    (row,) = table.to_dict("records")
    assert (row["claim_id"], row["budget"], row["n_draws"], row["all draws"]) == ("transfer-relu", PAPER, 20, "holds")
    assert row["share_holds"] == pytest.approx(0.75)
    assert [row[f"without sample {k}"] for k in range(4)] == [
        "67%: cannot tell", "80%: holds", "80%: holds", "73%: cannot tell"]
    assert not row["stable"]
    steady = draws.without_each_sample(pd.DataFrame([{**r, "verdict": "holds"} for r in rows]))
    assert bool(steady["stable"].iloc[0]) and steady["without sample 2"].iloc[0] == "100%: holds"


def test_the_protocol_check_sets_the_protocol_draw_on_every_seed_beside_its_first_five():
    every = runs_for(0.02, -0.02)
    table = draws.judge_draws(DRAWS, {PAPER: every[every["seed"] < 47]}, ROWS)
    # On the other five seeds the protocol's formula loses its gain over ReLU: its mean on all ten is zero.
    every.loc[(every["activation"] == "sin(x)") & (every["seed"] >= 47), "auc"] -= 0.04
    check = draws.protocol_check(table, DRAWS, {PAPER: every}, ROWS).set_index("claim_id")
    assert list(check.columns) == draws.CHECK_COLUMNS[1:]
    assert list(check.index) == ["transfer-relu", "transfer-gelu", "transfer-silu", "boundary-relu"]  # seed 42 only
    assert check.loc["transfer-relu", "draw: mean"] == pytest.approx(0.0202)  # +0.02 and the first five wiggles
    assert check.loc["transfer-relu", "all: mean"] == pytest.approx(0.0)
    assert check.loc["transfer-relu", "draw: verdict"] == "holds"
    assert check.loc["transfer-relu", "all: verdict"] != "holds"
    assert (check["draw: seeds"] == 5).all() and (check["all: seeds"] == 10).all()


def test_family_check_compares_the_budgets_on_the_seeds_the_draws_trained_on():
    table = draws.judge_draws(DRAWS, {TUNED: runs_for(0.02, -0.02)}, ROWS)
    own_runs = pd.DataFrame(light_runs("FOREST_COVER", "ReLU", 0.80, 0) + light_runs("FOREST_COVER", "sin(x)", 0.83, 0))
    own_runs.loc[(own_runs["activation"] == "sin(x)") & (own_runs["seed"] >= 47), "auc"] += 0.05
    budgets = pd.DataFrame({"dataset": "FOREST_COVER", "arch": "light", "activation": ["sin(x)"], "lr": [0.01],
                            "epochs": [20]})
    every = draws.family_check(table, own_runs, budgets, {42: "sin(x)"})
    first_five = draws.family_check(table, own_runs, budgets, {42: "sin(x)"}, seeds=range(42, 47))
    assert every["own_mean"].iloc[0] == pytest.approx(0.055)  # 0.03 on seeds 42-46, 0.08 on 47-51
    assert first_five["own_mean"].iloc[0] == pytest.approx(0.03)
