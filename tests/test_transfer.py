"""The transfer trial of notebook 04: its grid, transfer matrix, random-formula control and verdicts."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from nslib import transfer
from nslib.comparisons import CANNOT_TELL, DOES_NOT_HOLD, HOLDS, paired_difference
from nslib.paper import HIGGS_FORMULA_REPORTED
from nslib.training import make_spec, run_grid
from synthetic import synthetic_dataset as synthetic

FORMULAS = {"HIGGS": "sin(x)", "FOREST_COVER": "abs(x)", "SPAMBASE": "add(x, sin(x))"}


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


def test_transfer_specs_trains_every_formula_on_every_data_set_once_and_no_heavy_model():
    specs = transfer.transfer_specs(list(FORMULAS), FORMULAS, seeds=(42, 43), epochs=3)
    # relu, gelu, silu and four formulas (three discovered, the paper's) per data set and seed
    assert len(specs) == 3 * 2 * 7
    assert len({spec.key for spec in specs}) == len(specs)
    assert {spec.arch for spec in specs} == {"light"}
    on_spambase = {spec.activation for spec in specs if spec.dataset == "SPAMBASE" and spec.seed == 42}
    assert on_spambase == {"relu", "gelu", "silu", *FORMULAS.values(), HIGGS_FORMULA_REPORTED}


def test_transfer_specs_lists_a_formula_shared_by_two_data_sets_once():
    formulas = {"HIGGS": "sin(x)", "FOREST_COVER": "sin(x)"}
    specs = transfer.transfer_specs(list(formulas), formulas, seeds=(42,), epochs=3, extra_formulas=())
    assert [spec.activation for spec in specs if spec.dataset == "FOREST_COVER"] == ["relu", "gelu", "silu", "sin(x)"]


def test_transfer_specs_needs_the_higgs_formula():
    with pytest.raises(ValueError, match="no formula for HIGGS"):
        transfer.transfer_specs(["SPAMBASE"], {"SPAMBASE": "sin(x)"}, seeds=(42,), epochs=3)


def test_label_configs_names_the_papers_reported_formula():
    runs = runs_table([
        ("FOREST_COVER", "light", HIGGS_FORMULA_REPORTED, 42, 0.8, 0.7, "ok"),
        ("FOREST_COVER", "light", "sin(x)", 42, 0.8, 0.7, "ok"),
        ("FOREST_COVER", "light", "ReLU", 42, 0.8, 0.7, "ok"),
    ])
    labels = transfer.label_configs(runs, FORMULAS)["config"].tolist()
    assert labels == [transfer.PAPER_FORMULA_LABEL, "Transfer (HIGGS)", "Light ReLU"]


def test_check_parameters_names_what_is_wrong():
    with pytest.raises(ValueError, match=r"lacks \['FOREST_COVER'\]"):
        transfer.check_parameters(["HIGGS", "SPAMBASE"], 20, 0)
    with pytest.raises(ValueError, match="N_RANDOM=0"):
        transfer.check_parameters(["HIGGS", "FOREST_COVER"], 0, 0)
    with pytest.raises(ValueError, match="RANDOM_SEED=-1"):
        transfer.check_parameters(["HIGGS", "FOREST_COVER"], 20, -1)
    transfer.check_parameters(["HIGGS", "FOREST_COVER"], 20, 0)


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


def test_transfer_matrix_agrees_with_paired_difference_and_adds_the_sd():
    rows = paired_runs([0.80, 0.83, 0.81], [0.79, 0.80, 0.80])
    rows += paired_runs([0.60, 0.62, 0.61], [0.79, 0.80, 0.80], label="abs(x)")[::2]
    runs = runs_table(rows)
    matrix = transfer.transfer_matrix(runs, {"HIGGS": "sin(x)", "FOREST_COVER": "abs(x)"})
    assert list(matrix.columns) == transfer.MATRIX_COLUMNS
    assert matrix[["target", "source"]].values.tolist() == [["FOREST_COVER", "HIGGS"], ["FOREST_COVER", "FOREST_COVER"]]
    higgs = matrix.iloc[0]
    reference = paired_difference(runs, "FOREST_COVER", "sin(x)", "ReLU")
    assert (higgs["n_seeds"], higgs["diff_mean"]) == (3, pytest.approx(reference["mean_diff"]))
    assert higgs["ci_low"] == pytest.approx(reference["ci_low"])
    assert higgs["ci_high"] == pytest.approx(reference["ci_high"])
    assert higgs["diff_sd"] == pytest.approx(np.std([0.01, 0.03, 0.01], ddof=1))
    assert higgs["auc_mean"] == pytest.approx(np.mean([0.80, 0.83, 0.81]))
    assert matrix.iloc[1]["diff_mean"] == pytest.approx(-0.1867, abs=1e-4)


def test_plot_transfer_matrix_writes_mean_and_sd_in_each_cell():
    runs = runs_table(paired_runs([0.80, 0.83, 0.81], [0.79, 0.80, 0.80]))
    fig = transfer.plot_transfer_matrix(transfer.transfer_matrix(runs, {"FOREST_COVER": "sin(x)"}))
    texts = [text.get_text() for text in fig.axes[0].texts]
    assert texts == ["+0.017\n± 0.012"]
    plt.close(fig)


# ------------------------------------------------------------------ claims


def test_paper_claims_put_the_higgs_formula_second_on_spambase_so_holds_means_the_paper_is_right():
    claims = {(c.claim, c.dataset): (c.better, c.worse) for c in transfer.paper_claims(list(FORMULAS), FORMULAS)}
    assert claims[("HIGGS formula beats Light GELU", "FOREST_COVER")] == ("sin(x)", "gelu")
    assert claims[("HIGGS formula is worse than the Specialist", "SPAMBASE")] == ("add(x, sin(x))", "sin(x)")
    assert claims[("HIGGS formula is worse than Light ReLU", "SPAMBASE")] == ("relu", "sin(x)")
    paper_silu = (f"{transfer.PAPER_FORMULA_LABEL} beats Light SiLU", "FOREST_COVER")
    assert claims[paper_silu] == (HIGGS_FORMULA_REPORTED, "silu")
    assert len(claims) == 8


def test_paper_claims_leave_spambase_out_when_it_is_not_loaded():
    claims = transfer.paper_claims(["HIGGS", "FOREST_COVER"], FORMULAS)
    assert {claim.dataset for claim in claims} == {"FOREST_COVER"}


def test_a_claim_whose_formula_failed_on_every_seed_cannot_be_told():
    runs = runs_table(paired_runs([0.80, 0.81], [0.70, 0.71]))
    runs.loc[runs["activation"] == "sin(x)", "status"] = "failed"
    row = transfer.Comparison("sin beats ReLU", "FOREST_COVER", "sin(x)", "relu").result(runs)
    assert (row["n_seeds"], row["verdict"]) == (0, CANNOT_TELL)


def test_claim_table_gives_one_row_per_claim_and_metric_with_its_verdict():
    runs = runs_table(paired_runs([0.80, 0.81, 0.82], [0.70, 0.705, 0.71]))
    claims = [transfer.Comparison("sin beats ReLU", "FOREST_COVER", "sin(x)", "relu"),
              transfer.Comparison("ReLU beats sin", "FOREST_COVER", "relu", "sin(x)")]
    table = transfer.claim_table(runs, claims)
    assert list(table.columns) == transfer.VERDICT_COLUMNS
    assert table[["metric", "verdict"]].values.tolist() == [
        ["auc", HOLDS], ["auc", DOES_NOT_HOLD], ["acc", HOLDS], ["acc", DOES_NOT_HOLD]
    ]
    fig = transfer.plot_paired(table)
    assert len(fig.axes) == 2
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
    with pytest.raises(ValueError, match=r"no runs on FOREST_COVER of the random formulas \['cos\(x\)'\]"):
        transfer.control_results(pd.DataFrame({"formula": ["cos(x)"]}), runs, "FOREST_COVER")


@pytest.mark.parametrize(
    ("beaten", "expected"),
    [(20, HOLDS), (19, HOLDS), (18, CANNOT_TELL), (11, CANNOT_TELL), (10, DOES_NOT_HOLD), (0, DOES_NOT_HOLD)],
)
def test_rank_claim_holds_only_when_the_exact_interval_of_the_share_beaten_clears_75_percent(beaten, expected):
    # Of 20 draws, 19 beaten gives a Clopper-Pearson lower bound of 0.7513; 10 an upper bound of 0.7281.
    others = [0.5] * beaten + [0.9] * (20 - beaten)
    result = transfer.rank_claim(0.7, others)
    assert (result["beaten"], result["rank"], result["out_of"]) == (beaten, 21 - beaten, 21)
    assert result["mean_diff"] == pytest.approx(beaten / 20 - 0.75)
    assert result["verdict"] == expected


def test_rank_claim_leaves_formulas_that_always_failed_out_of_the_ranking():
    result = transfer.rank_claim(0.7, [0.5, 0.6, math.nan])
    assert (result["beaten"], result["out_of"]) == (2, 3)


def test_reference_ranks_average_each_reference_over_the_control_runs():
    runs = runs_table(paired_runs([0.80, 0.84], [0.70, 0.72]) + [
        ("FOREST_COVER", "light", "cos(x)", 42, 0.75, 0.65, "ok"),
        ("FOREST_COVER", "light", "cos(x)", 43, 0.77, 0.67, "ok"),
    ])
    draws = pd.DataFrame({"draw": [1], "formula": ["cos(x)"], "constant": [False], "first_draw": [1]})
    results = transfer.control_results(draws, runs, "FOREST_COVER")
    ranks = transfer.reference_ranks(runs, results, {"HIGGS formula": "sin(x)", "Light ReLU": "relu"}, "FOREST_COVER")
    assert ranks.loc["HIGGS formula", "mean"] == pytest.approx(0.82)
    assert ranks["rank"].tolist() == [1, 2]


def test_plot_random_control_marks_the_references_and_counts_failed_formulas():
    results = pd.DataFrame({"auc_mean": [0.8, 0.5, math.nan], "constant": [False, True, False]})
    fig = transfer.plot_random_control(results, {"HIGGS formula": 0.85, "Light ReLU": 0.83}, "FOREST_COVER")
    assert [text.get_text() for text in fig.legends[0].get_texts()] == ["HIGGS formula (0.850)", "Light ReLU (0.830)"]
    assert "1 failed on every seed" in fig.get_suptitle()
    rows = [label.get_text() for label in fig.axes[0].get_yticklabels()]
    assert rows == ["formula in x (2 draws)", "constant formula (1 draws)"]
    assert fig.axes[1].get_xlim() == pytest.approx((0.81, 0.855))  # the zoom: marks and the draws near them
    plt.close(fig)


# ------------------------------------------------------------------ verdicts


def test_verdict_table_adds_the_rank_claim_and_puts_auc_first():
    runs = runs_table(paired_runs([0.80, 0.81, 0.82], [0.70, 0.705, 0.71]))
    paired = transfer.claim_table(runs, [transfer.Comparison("sin beats ReLU", "FOREST_COVER", "sin(x)", "relu")])
    ranks = {metric: transfer.rank_claim(0.7, [0.5] * 20) for metric in ("acc", "auc")}
    verdicts = transfer.verdict_table(paired, ranks, "FOREST_COVER", n_seeds=3)
    assert list(verdicts.columns) == transfer.VERDICT_COLUMNS
    assert verdicts[["claim", "metric"]].values.tolist() == [
        ["sin beats ReLU", "auc"], [transfer.RANK_CLAIM, "auc"], ["sin beats ReLU", "acc"], [transfer.RANK_CLAIM, "acc"]
    ]
    summary = transfer.verdict_summary(verdicts)
    assert list(summary.columns) == ["ROC AUC: estimate", "ROC AUC: verdict", "accuracy: estimate", "accuracy: verdict"]
    assert summary.loc[(transfer.RANK_CLAIM, "FOREST_COVER"), "ROC AUC: verdict"] == HOLDS


# ------------------------------------------------------------------ end to end


def test_the_trial_runs_end_to_end_on_small_data_with_the_training_engine():
    datasets = {name: synthetic(name, seed=i) for i, name in enumerate(FORMULAS)}
    specs = transfer.transfer_specs(list(FORMULAS), FORMULAS, seeds=(42, 43), epochs=1)
    runs = run_grid(specs, datasets, progress=False)
    matrix = transfer.transfer_matrix(runs, FORMULAS)
    assert matrix["n_seeds"].tolist() == [2] * 9
    verdicts = transfer.claim_table(runs, transfer.paper_claims(list(FORMULAS), FORMULAS))
    assert len(verdicts) == 2 * 8 and verdicts["n_seeds"].eq(2).all()


def test_a_users_data_set_is_the_transfer_target_with_the_papers_three_claims():
    names = ["HIGGS", "SPAMBASE", "tumours"]
    assert transfer.target_of(names) == "tumours"
    assert transfer.target_of(["HIGGS", "FOREST_COVER", "SPAMBASE"]) == "FOREST_COVER"
    formulas = {"HIGGS": "cos(x)", "SPAMBASE": "sin(x)", "tumours": "abs(x)"}
    mine = [claim for claim in transfer.paper_claims(names, formulas) if claim.dataset == "tumours"]
    assert [(c.claim, c.better, c.worse) for c in mine] == [
        ("HIGGS formula beats Light ReLU", "cos(x)", "relu"),
        ("HIGGS formula beats Light GELU", "cos(x)", "gelu"),
        ("HIGGS formula beats Light SiLU", "cos(x)", "silu"),
    ]
    transfer.check_parameters(names, 3, 0)
    with pytest.raises(ValueError, match=r"lacks \['HIGGS'\].*tumours"):
        transfer.check_parameters(["tumours"], 3, 0)
