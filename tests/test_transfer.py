"""The transfer trial of notebook 04: its grid, claims, transfer matrix and random-formula control."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from synthetic import synthetic_dataset as synthetic

from nslib.engine.grid import run_grid
from nslib.experiments import transfer
from nslib.experiments.profiles import get_profile
from nslib.stats.paper import HIGGS_FORMULA_REPORTED
from nslib.stats.register import OWN_QUESTION, judge_family

FORMULAS = {"HIGGS": "sin(x)", "FOREST_COVER": "abs(x)", "SPAMBASE": "add(x, sin(x))"}
# GP seeds on HIGGS: seed 42 found FORMULAS["HIGGS"] (spelt differently), 43 another formula, 44 the same as 43,
# 45 the paper's reported x*cos(x).
GP_FORMULAS = {42: "sin( x )", 43: "cos(x)", 44: "cos(x)", 45: HIGGS_FORMULA_REPORTED}


def runs_table(rows: list[tuple]) -> pd.DataFrame:
    """Run rows as run_grid gives them: (dataset, arch, activation label, seed, auc, acc, status)."""
    frame = pd.DataFrame(rows, columns=["dataset", "arch", "activation", "seed", "auc", "acc", "status"])
    frame["formula"] = frame["activation"].where(~frame["activation"].isin(["ReLU", "GELU", "SiLU"]), "")
    frame["reason"] = np.where(frame["status"] == "ok", "", "the output overflowed")
    return frame


def paired_runs(better: list[float], worse: list[float], *, dataset="FOREST_COVER", label="sin(x)") -> list[tuple]:
    """Light runs of ``label`` and ReLU with the given AUCs (accuracy 0.1 below), seeds 42, 43, ..."""
    rows = []
    for seed, (b, w) in enumerate(zip(better, worse), start=42):
        rows += [(dataset, "light", label, seed, b, b - 0.1, "ok"), (dataset, "light", "ReLU", seed, w, w - 0.1, "ok")]
    return rows


# ------------------------------------------------------------------ the grid


def test_transfer_specs_trains_every_formula_on_every_data_set_the_extras_on_the_target_and_no_heavy_model():
    specs = transfer.transfer_specs(list(FORMULAS), FORMULAS, GP_FORMULAS, seeds=(42, 43), epochs=3)
    # Per seed: relu, gelu, silu and the three discovered formulas on each data set; on the target
    # FOREST_COVER also the paper's x*cos(x) and GP seed 43's cos(x) (seeds 42 and 44 repeat formulas); the shape
    # controls cos(x), sin(x) and x*cos(x) on FOREST_COVER (all three already there) and SPAMBASE (sin(x) is the
    # HIGGS formula, there already: cos(x) and x*cos(x) are new).
    assert len(specs) == 2 * (6 + 8 + 8)
    assert len({spec.key for spec in specs}) == len(specs)
    assert {spec.arch for spec in specs} == {"light"}
    assert {spec.epochs for spec in specs} == {3}

    def on(dataset):
        return {spec.formula or spec.activation for spec in specs if spec.dataset == dataset and spec.seed == 42}

    discovered = {"sin(x)", "abs(x)", "add(x, sin(x))"}
    assert on("HIGGS") == {"relu", "gelu", "silu", *discovered}
    assert on("SPAMBASE") == {"relu", "gelu", "silu", *discovered, HIGGS_FORMULA_REPORTED, "cos(x)"}
    assert on("FOREST_COVER") == {"relu", "gelu", "silu", *discovered, HIGGS_FORMULA_REPORTED, "cos(x)"}


def test_transfer_specs_lists_a_formula_shared_by_two_data_sets_once():
    formulas = {"HIGGS": "sin(x)", "FOREST_COVER": "sin(x)"}
    specs = transfer.transfer_specs(list(formulas), formulas, {}, seeds=(42,), epochs=3)
    assert [spec.activation for spec in specs if spec.dataset == "FOREST_COVER"] == [
        "relu", "gelu", "silu", "sin(x)", HIGGS_FORMULA_REPORTED, "cos(x)"  # cos(x): a shape control
    ]


def test_transfer_specs_needs_the_higgs_formula():
    with pytest.raises(ValueError, match="no formula for HIGGS"):
        transfer.transfer_specs(["SPAMBASE"], {"SPAMBASE": "sin(x)"}, {}, seeds=(42,), epochs=3)


def test_label_configs_names_the_papers_reported_formula_and_each_gp_seeds_formula():
    gp_formulas = {42: "sin(x)", 43: "cos(x)", 44: "cos(x)", 45: "mul(x, x)"}
    runs = runs_table([
        ("FOREST_COVER", "light", "mul(cos(x), x)", 42, 0.8, 0.7, "ok"),
        ("FOREST_COVER", "light", "sin(x)", 42, 0.8, 0.7, "ok"),
        ("FOREST_COVER", "light", "cos(x)", 42, 0.8, 0.7, "ok"),
        ("FOREST_COVER", "light", "mul(x, x)", 42, 0.8, 0.7, "ok"),
        ("FOREST_COVER", "light", "ReLU", 42, 0.8, 0.7, "ok"),
    ])
    labels = transfer.label_configs(runs, FORMULAS, gp_formulas)["config"].tolist()
    assert labels == [
        "Paper's HIGGS formula x*cos(x)",
        "Transfer (HIGGS)",  # GP seed 42's formula is the data set's formula: its role wins
        "HIGGS formula, GP seed 43",  # seeds 43 and 44 found the same formula: the first seed names it
        "HIGGS formula, GP seed 45",
        "Light ReLU",
    ]


def test_gp_seed_formulas_run_the_profiles_stability_study(monkeypatch):
    calls = []

    def recording_stability(data, seeds, **settings):
        calls.append((data.name, tuple(seeds), settings))
        return pd.DataFrame({"seed": list(seeds), "formula": [f"formula {seed}" for seed in seeds]})

    monkeypatch.setattr(transfer, "stability", recording_stability)
    profile = get_profile("quick")
    assert transfer.gp_seed_formulas(synthetic("HIGGS"), profile) == {42: "formula 42", 43: "formula 43"}
    assert calls == [("HIGGS", (42, 43), {"population_size": 100, "generations": 2})]


def test_check_parameters_names_what_is_wrong():
    with pytest.raises(ValueError, match=r"lacks \['FOREST_COVER'\]"):
        transfer.check_parameters(["HIGGS", "SPAMBASE"], 20, 0)
    with pytest.raises(ValueError, match="N_RANDOM=0"):
        transfer.check_parameters(["HIGGS", "FOREST_COVER"], 0, 0)
    with pytest.raises(ValueError, match="RANDOM_SEED=-1"):
        transfer.check_parameters(["HIGGS", "FOREST_COVER"], 20, -1)
    transfer.check_parameters(["HIGGS", "FOREST_COVER"], 20, 0)


# ------------------------------------------------------------------ claims


def test_transfer_claims_ask_each_question_once_so_that_holds_means_the_claim_is_right():
    claims = transfer.transfer_claims(list(FORMULAS), GP_FORMULAS, FORMULAS)
    # GP seeds 42, 44 and 45 found formulas already asked about (the Transfer, seed 43's, x*cos(x)): only 43 is asked.
    # The shape controls: cos(x) is GP seed 43's formula and sin(x) the HIGGS formula, so only x*cos(x) is left.
    assert [claim.id for claim in claims] == [
        "04-transfer-relu", "04-transfer-gelu", "04-transfer-silu", "04-transfer-xcosx-relu",
        "04-transfer-xcosx-gelu", "04-transfer-xcosx-silu", "04-shape-FOREST_COVER-xcosx",
        "04-shape-SPAMBASE-xcosx", "04-transfer-gp43", "04-boundary-relu", "04-boundary-specialist",
    ]
    pairs = {claim.id: (claim.dataset, claim.better, claim.worse) for claim in claims}
    assert pairs["04-transfer-gelu"] == ("FOREST_COVER", "Transfer (HIGGS)", "Light GELU")
    assert pairs["04-transfer-xcosx-silu"] == ("FOREST_COVER", "Paper's HIGGS formula x*cos(x)", "Light SiLU")
    assert pairs["04-shape-SPAMBASE-xcosx"] == ("SPAMBASE", "Transfer (HIGGS)", "Paper's HIGGS formula x*cos(x)")
    assert pairs["04-transfer-gp43"] == ("FOREST_COVER", "HIGGS formula, GP seed 43", "Light ReLU")
    assert pairs["04-boundary-relu"] == ("SPAMBASE", "Light ReLU", "Transfer (HIGGS)")
    assert pairs["04-boundary-specialist"] == ("SPAMBASE", "Specialist", "Transfer (HIGGS)")


def test_only_the_papers_own_claims_carry_its_words():
    claims = transfer.transfer_claims(list(FORMULAS), GP_FORMULAS, FORMULAS)
    paper = {claim.id for claim in claims if claim.paper_words}
    assert paper == {"04-transfer-relu", "04-transfer-gelu", "04-transfer-silu", "04-boundary-relu",
                     "04-transfer-xcosx-relu", "04-transfer-xcosx-gelu", "04-transfer-xcosx-silu"}
    assert all("outperforming ReLU, GELU, and SiLU" in claim.paper_words for claim in claims
               if claim.id.startswith("04-transfer-xcosx"))
    assert all(claim.kind == "paper" and claim.source for claim in claims if claim.id in paper)
    assert all(claim.kind == OWN_QUESTION and not claim.source for claim in claims if claim.id not in paper)


def test_transfer_claims_leave_spambase_out_when_it_is_not_loaded():
    claims = transfer.transfer_claims(["HIGGS", "FOREST_COVER"], GP_FORMULAS, FORMULAS)
    assert {claim.dataset for claim in claims} == {"FOREST_COVER"}
    assert not [claim for claim in claims if claim.id.startswith("04-boundary")]


def test_a_users_data_set_is_the_transfer_target_and_its_claims_are_not_the_papers():
    names = ["HIGGS", "SPAMBASE", "tumours"]
    assert transfer.target_of(names) == "tumours"
    assert transfer.target_of(["HIGGS", "FOREST_COVER", "SPAMBASE"]) == "FOREST_COVER"
    formulas = {"HIGGS": "cos(x)", "SPAMBASE": "sin(x)", "tumours": "abs(x)"}
    mine = [claim for claim in transfer.transfer_claims(names, {42: "cos(x)"}, formulas) if claim.dataset == "tumours"]
    assert [(c.id, c.better, c.worse) for c in mine] == [
        ("04-transfer-relu", "Transfer (HIGGS)", "Light ReLU"),
        ("04-transfer-gelu", "Transfer (HIGGS)", "Light GELU"),
        ("04-transfer-silu", "Transfer (HIGGS)", "Light SiLU"),
        ("04-transfer-xcosx-relu", "Paper's HIGGS formula x*cos(x)", "Light ReLU"),
        ("04-transfer-xcosx-gelu", "Paper's HIGGS formula x*cos(x)", "Light GELU"),
        ("04-transfer-xcosx-silu", "Paper's HIGGS formula x*cos(x)", "Light SiLU"),
        # cos(x) is the HIGGS formula and sin(x) SPAMBASE's here: they have those names, and are not asked
        ("04-shape-tumours-xcosx", "Transfer (HIGGS)", "Paper's HIGGS formula x*cos(x)"),
    ]
    assert all(claim.kind == OWN_QUESTION for claim in mine)
    transfer.check_parameters(names, 3, 0)
    with pytest.raises(ValueError, match=r"lacks \['HIGGS'\].*tumours"):
        transfer.check_parameters(["tumours"], 3, 0)


def test_transfer_configs_add_the_papers_formula_and_the_gp_seeds_formulas_on_the_target_only():
    configs = transfer.transfer_configs(["HIGGS", "FOREST_COVER"], FORMULAS, {43: "cos(x)"})
    assert {arch for _, arch, _, _ in configs} == {"light"}
    extras = [(dataset, activation) for dataset, _, activation, _ in configs
              if activation in (HIGGS_FORMULA_REPORTED, "cos(x)")]
    assert extras == [("FOREST_COVER", HIGGS_FORMULA_REPORTED), ("FOREST_COVER", "cos(x)")]  # listed once each
    assert ("FOREST_COVER", "light", "sin(x)", None) in configs  # the Transfer


def test_rank_claim_is_an_own_question_about_the_higgs_formula_on_each_data_set():
    claim = transfer.rank_claim("SPAMBASE")
    assert (claim.id, claim.claim, claim.dataset) == ("04-rank-SPAMBASE", transfer.RANK_CLAIM, "SPAMBASE")
    assert (claim.better, claim.kind) == ("Transfer (HIGGS)", OWN_QUESTION)


# ------------------------------------------------------------------ pairing and the matrix


def test_seed_differences_pair_by_seed_and_skip_seeds_where_either_run_failed():
    runs = runs_table(paired_runs([0.80, 0.82, 0.90], [0.70, 0.71, 0.60]))
    runs.loc[(runs["seed"] == 44) & (runs["activation"] == "ReLU"), "status"] = "failed"
    diffs = transfer.seed_differences(runs, "FOREST_COVER", "sin(x)", "relu")
    assert diffs.to_dict() == pytest.approx({42: 0.10, 43: 0.11})


def test_seed_differences_never_pair_a_heavy_relu_with_a_light_one():
    runs = runs_table(paired_runs([0.80], [0.70]) + [("FOREST_COVER", "heavy", "ReLU", 42, 0.99, 0.9, "ok")])
    assert transfer.seed_differences(runs, "FOREST_COVER", "sin(x)", "relu").tolist() == pytest.approx([0.10])


def test_seed_differences_name_the_activation_that_was_never_trained():
    runs = runs_table(paired_runs([0.80], [0.70]))
    with pytest.raises(ValueError, match=r"no runs of \['cos\(x\)'\] on FOREST_COVER"):
        transfer.seed_differences(runs, "FOREST_COVER", "cos(x)", "relu")


def test_transfer_matrix_gives_the_mean_and_sd_of_the_paired_differences():
    rows = paired_runs([0.80, 0.83, 0.81], [0.79, 0.80, 0.80])
    rows += paired_runs([0.60, 0.62, 0.61], [0.79, 0.80, 0.80], label="abs(x)")[::2]
    runs = runs_table(rows)
    matrix = transfer.transfer_matrix(runs, {"HIGGS": "sin(x)", "FOREST_COVER": "abs(x)"})
    assert list(matrix.columns) == transfer.MATRIX_COLUMNS
    assert matrix[["target", "source"]].values.tolist() == [["FOREST_COVER", "HIGGS"], ["FOREST_COVER", "FOREST_COVER"]]
    higgs = matrix.iloc[0]
    assert higgs["n_seeds"] == 3
    assert higgs["diff_mean"] == pytest.approx(np.mean([0.01, 0.03, 0.01]))
    assert higgs["diff_sd"] == pytest.approx(np.std([0.01, 0.03, 0.01], ddof=1))
    assert higgs["auc_mean"] == pytest.approx(np.mean([0.80, 0.83, 0.81]))
    assert matrix.iloc[1]["diff_mean"] == pytest.approx(np.mean([0.60 - 0.79, 0.62 - 0.80, 0.61 - 0.80]))


def test_plot_transfer_matrix_writes_mean_and_sd_in_each_cell():
    runs = runs_table(paired_runs([0.80, 0.83, 0.81], [0.79, 0.80, 0.80]))
    fig = transfer.plot_transfer_matrix(transfer.transfer_matrix(runs, {"FOREST_COVER": "sin(x)"}))
    texts = [text.get_text() for text in fig.axes[0].texts]
    assert texts == ["+0.017\n± 0.012"]
    plt.close(fig)


# ------------------------------------------------------------------ the random control


def test_random_formulas_collapse_keep_repeats_and_mark_constants(monkeypatch):
    programs = ["sub(X1, X1)", "abs(-0.5)", "sin(X2)", "sin(X7)"]
    monkeypatch.setattr(transfer, "random_programs", lambda n, seed, n_features: programs[:n])
    draws = transfer.random_formulas(4, seed=0, n_features=8)
    assert draws["formula"].tolist() == ["sub(x, x)", "abs(-0.500)", "sin(x)", "sin(x)"]
    assert draws["constant"].tolist() == [True, True, False, False]
    assert draws["first_draw"].tolist() == [1, 2, 3, 3]
    assert draws["simplified"].tolist() == ["0", "0.500", "sin(x)", "sin(x)"]


def test_random_formulas_are_fixed_by_the_seed():
    first = transfer.random_formulas(5, seed=3, n_features=54)
    assert first.equals(transfer.random_formulas(5, seed=3, n_features=54))
    assert not first["program"].equals(transfer.random_formulas(5, seed=4, n_features=54)["program"])


def test_random_formulas_refuse_a_count_that_is_not_positive():
    with pytest.raises(ValueError, match="n=0"):
        transfer.random_formulas(0, seed=0, n_features=54)


def test_control_specs_train_each_distinct_formula_and_reference_once_per_seed():
    specs = transfer.control_specs("FOREST_COVER", ["sin(x)", "cos(x)", "sin(x)"], (42, 43), 3, ["relu", "sin(x)"])
    assert [(spec.activation, spec.seed) for spec in specs] == [
        ("relu", 42), ("relu", 43), ("sin(x)", 42), ("sin(x)", 43), ("cos(x)", 42), ("cos(x)", 43)
    ]


def test_control_specs_at_a_tuned_budget_carry_its_learning_rate_and_epochs():
    specs = transfer.control_specs("SPAMBASE", ["cos(x)"], (42,), 28, ["relu"], lr=0.01)
    assert [(spec.activation, spec.epochs, spec.lr) for spec in specs] == [("relu", 28, 0.01), ("cos(x)", 28, 0.01)]


def test_budget_check_sets_a_references_family_budget_beside_its_own_on_the_seeds_both_have():
    budgets = pd.DataFrame({"dataset": ["SPAMBASE", "SPAMBASE"], "arch": ["light", "light"],
                            "activation": ["cos(x)", "ReLU"], "lr": [0.01, 0.003], "epochs": [28, 40]})
    own = runs_table([
        ("SPAMBASE", "light", "cos(x)", 42, 0.90, 0.80, "ok"),
        ("SPAMBASE", "light", "cos(x)", 43, 0.92, 0.82, "ok"),
        ("SPAMBASE", "light", "cos(x)", 44, 0.50, 0.50, "ok"),  # no family run on seed 44: left out
    ])
    family = runs_table([
        ("SPAMBASE", "light", "cos(x)", 42, 0.89, 0.79, "ok"),
        ("SPAMBASE", "light", "cos(x)", 43, 0.90, 0.80, "ok"),
        ("SPAMBASE", "light", "sin(x)", 42, 0.70, 0.60, "ok"),  # no budget of its own: not checked
    ])
    table = transfer.budget_check(family, own, budgets, {"cos(x)": "cos(x)", "sin(x)": "sin(x)"}, ["SPAMBASE"])
    assert table[["reference", "own_lr", "own_epochs", "seeds"]].values.tolist() == [["cos(x)", 0.01, 28, 2]]
    assert table.loc[0, "own_mean"] == pytest.approx(0.91) and table.loc[0, "family_mean"] == pytest.approx(0.895)
    assert table.loc[0, "family_minus_own"] == pytest.approx(-0.015)


def test_control_results_give_repeated_draws_the_same_numbers_and_show_failures():
    draws = pd.DataFrame({"draw": [1, 2, 3], "formula": ["sin(x)", "mul(x, x)", "sin(x)"],
                          "constant": [False, False, False], "first_draw": [1, 2, 1]})
    runs = runs_table([
        ("FOREST_COVER", "light", "sin(x)", 42, 0.80, 0.70, "ok"),
        ("FOREST_COVER", "light", "sin(x)", 43, 0.84, 0.74, "ok"),
        ("FOREST_COVER", "light", "mul(x, x)", 42, math.nan, math.nan, "failed"),
    ])
    results = transfer.control_results(draws, runs, "FOREST_COVER")
    assert results["auc_mean"].tolist()[::2] == [pytest.approx(0.82)] * 2
    assert (results.loc[1, "ok"], results.loc[1, "failed"]) == (0, 1)
    assert math.isnan(results.loc[1, "auc_mean"]) and results.loc[1, "reason"] == "the output overflowed"
    some = transfer.control_results(draws.iloc[1:], runs, "FOREST_COVER")  # a subset keeps its rows' numbers
    assert some.loc[2, "auc_mean"] == pytest.approx(0.82) and some.loc[1, "failed"] == 1
    with pytest.raises(ValueError, match=r"no runs on FOREST_COVER of the random formulas \['cos\(x\)'\]"):
        transfer.control_results(pd.DataFrame({"formula": ["cos(x)"]}), runs, "FOREST_COVER")


def test_draw_table_has_one_row_per_draw_whose_formula_has_every_seed_ok():
    draws = pd.DataFrame({"draw": [1, 2, 3, 4], "formula": ["sin(x)", "mul(x, x)", "sin(x)", "cos(x)"]})
    runs = runs_table([
        ("FOREST_COVER", "light", "sin(x)", 42, 0.80, 0.70, "ok"),
        ("FOREST_COVER", "light", "sin(x)", 43, 0.84, 0.74, "ok"),
        ("FOREST_COVER", "light", "mul(x, x)", 42, 0.60, 0.50, "ok"),
        ("FOREST_COVER", "light", "mul(x, x)", 43, math.nan, math.nan, "failed"),  # not on every seed: left out
        ("FOREST_COVER", "light", "cos(x)", 42, 0.75, 0.65, "ok"),
        ("FOREST_COVER", "light", "cos(x)", 43, 0.77, 0.67, "ok"),
        ("FOREST_COVER", "heavy", "cos(x)", 42, 0.99, 0.99, "ok"),  # Heavy is not a draw
        ("FOREST_COVER", "light", "ReLU", 42, 0.90, 0.80, "ok"),  # a reference, not a draw
        ("SPAMBASE", "light", "sin(x)", 42, 0.10, 0.10, "ok"),  # another data set
    ])
    table = transfer.draw_table(draws, runs, "FOREST_COVER")
    assert list(table.index) == [1, 3, 4]  # draw 2's formula failed on seed 43; draw 3 repeats draw 1
    assert list(table.columns) == [42, 43]
    assert table.loc[1].tolist() == pytest.approx([0.80, 0.84]) and table.loc[3].tolist() == pytest.approx([0.80, 0.84])
    assert table.loc[4].tolist() == pytest.approx([0.75, 0.77])
    assert transfer.draw_table(draws, runs, "FOREST_COVER", metric="acc").loc[4].tolist() == pytest.approx(
        [0.65, 0.67])


def test_reference_table_gives_each_references_mean_and_the_share_of_draws_it_beats():
    runs = runs_table([
        ("FOREST_COVER", "light", "x", 42, 0.78, 0.70, "ok"),
        ("FOREST_COVER", "light", "x", 43, 0.80, 0.70, "ok"),
        ("FOREST_COVER", "light", "ReLU", 42, 0.86, 0.70, "ok"),
        ("FOREST_COVER", "light", "ReLU", 43, 0.84, 0.70, "ok"),
    ])
    results = pd.DataFrame({"auc_mean": [0.70, 0.75, 0.80, 0.85, math.nan]})  # the last draw failed on every seed
    table = transfer.reference_table(runs, results, {"x": "x", "Light ReLU": "relu"}, "FOREST_COVER")
    # x: mean 0.79 beats 0.70 and 0.75 of 4 draws; ReLU: mean 0.85 beats 0.70, 0.75, 0.80 (not itself).
    assert table["mean"].tolist() == pytest.approx([0.79, 0.85])
    assert table["draws"].tolist() == [4, 4]
    assert table["share_beaten"].tolist() == pytest.approx([2 / 4, 3 / 4])
    assert table.index.tolist() == ["x", "Light ReLU"]
    with pytest.raises(ValueError, match=r"no Light runs of \['cos\(x\)'\] on FOREST_COVER"):
        transfer.reference_table(runs, results, {"cos": "cos(x)"}, "FOREST_COVER")


def test_the_one_operator_references_are_named_formulas_in_x():
    assert transfer.ONE_OPERATOR_REFERENCES == {"x": "x", "sin(x)": "sin(x)", "cos(x)": "cos(x)",
                                                "x cos(x)": "mul(cos(x), x)"}


def test_plot_random_control_marks_the_references_shades_the_band_and_counts_failed_formulas():
    results = pd.DataFrame({"auc_mean": [0.8, 0.5, math.nan], "constant": [False, True, False]})
    marks = {"HIGGS formula": 0.85, "Light ReLU": 0.83}
    fig = transfer.plot_random_control(results, marks, "FOREST_COVER", band=(0.84, 0.86))
    assert [text.get_text() for text in fig.legends[0].get_texts()] == [
        "HIGGS formula (0.850)", "Light ReLU (0.830)", "HIGGS formula's interval"
    ]
    assert "1 failed on every seed" in fig.get_suptitle()
    rows = [label.get_text() for label in fig.axes[0].get_yticklabels()]
    assert rows == ["formula in x (2 draws)", "constant formula (1 draws)"]
    assert fig.axes[1].get_xlim() == pytest.approx((0.81, 0.855))  # the zoom: marks and the draws near them
    plt.close(fig)
    fig = transfer.plot_random_control(results, marks, "FOREST_COVER")
    assert len(fig.legends[0].get_texts()) == 2
    plt.close(fig)


# ------------------------------------------------------------------ end to end


def test_the_trial_runs_end_to_end_on_small_data_with_the_training_engine():
    datasets = {name: synthetic(name, seed=i) for i, name in enumerate(FORMULAS)}
    specs = transfer.transfer_specs(list(FORMULAS), FORMULAS, GP_FORMULAS, seeds=(42, 43), epochs=1)
    runs = transfer.label_configs(run_grid(specs, datasets, progress=False), FORMULAS, GP_FORMULAS)
    matrix = transfer.transfer_matrix(runs, FORMULAS)
    assert matrix["n_seeds"].tolist() == [2] * 9
    # Every claim's configurations are among the labelled runs, repeated GP formulas included.
    claims = transfer.transfer_claims(list(FORMULAS), GP_FORMULAS, FORMULAS)
    judged = judge_family(claims, runs, {name: len(data.y) for name, data in datasets.items()})
    assert judged["id"].tolist() == [claim.id for claim in claims]
    assert judged["n_seeds"].eq(2).all() and judged["n_test"].eq(60).all()


def test_the_shape_controls_run_on_the_target_and_spambase_with_the_names_label_configs_gives_them():
    configs = transfer.transfer_configs(list(FORMULAS), FORMULAS, {})
    shapes = {(dataset, activation) for dataset, _, activation, _ in configs
              if activation in ("cos(x)", "sin(x)", HIGGS_FORMULA_REPORTED) and dataset != "HIGGS"}
    assert shapes == {(name, shape) for name in ("FOREST_COVER", "SPAMBASE")
                      for shape in ("cos(x)", "sin(x)", HIGGS_FORMULA_REPORTED)}
    assert transfer.shape_labels({"HIGGS": "abs(x)"}, {}) == {
        "cos": "cos(x)", "sin": "sin(x)", "xcosx": "Paper's HIGGS formula x*cos(x)"}
    assert transfer.shape_labels({"HIGGS": "abs(x)"}, {43: "cos( x )"}) == {
        "sin": "sin(x)", "xcosx": "Paper's HIGGS formula x*cos(x)"}
    runs = runs_table([("SPAMBASE", "light", "cos(x)", 42, 0.8, 0.7, "ok"),
                       ("SPAMBASE", "light", "mul(cos(x), x)", 42, 0.8, 0.7, "ok")])
    assert transfer.label_configs(runs, {"HIGGS": "abs(x)"}, {})["config"].tolist() == [
        "cos(x)", "Paper's HIGGS formula x*cos(x)"]
