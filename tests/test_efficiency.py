"""The efficiency score's parts, the width curve, the claims of notebook 05 and the HIGGS row-count curve."""

from __future__ import annotations

import math
from functools import partial

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from synthetic import synthetic_dataset

from nslib.data.catalog import Dataset
from nslib.engine.grid import run_grid
from nslib.engine.runstore import RunStore
from nslib.experiments import efficiency, efficiency_plots, paper_grid
from nslib.stats import curves, paper
from nslib.stats.comparisons import seed_differences
from nslib.stats.register import OWN_QUESTION, judge_family
from nslib.stats.significance import DOES_NOT_HOLD, HOLDS

synthetic = partial(synthetic_dataset, n=400)

FORMULAS = {"HIGGS": "mul(cos(x), x)", "FOREST_COVER": "sin(x)", "SPAMBASE": "add(x, sin(x))"}
PARAMS = {"heavy": 26601, "light": 4161}


def run_rows(dataset: str, config: str, aucs: list[float], *, arch: str | None = None, widths: str = "64-32",
             params: int | None = None, role: str | None = None) -> list[dict]:
    """Finished runs of one configuration, one per seed from 42, as run_grid and with_roles label them."""
    arch = arch or ("heavy" if config.startswith("Heavy") else "light")
    params = params or PARAMS[arch]
    return [
        {"dataset": dataset, "arch": arch, "config": config, "role": role or config.split(" ")[-1], "seed": 42 + i,
         "widths": widths, "status": "ok", "acc": auc - 0.1, "auc": auc, "params": params,
         "efficiency": auc / math.log10(params)}
        for i, auc in enumerate(aucs)
    ]


def grid(heavy: list[float], **light: list[float]) -> pd.DataFrame:
    """A HIGGS grid: Heavy ReLU with ``heavy`` AUCs and each keyword (underscores for spaces) a Light config."""
    rows = run_rows("HIGGS", "Heavy ReLU", heavy)
    for name, aucs in light.items():
        rows += run_rows("HIGGS", name.replace("_", " "), aucs, arch="light")
    return pd.DataFrame(rows)




# ------------------------------------------------------------ parameters and specs


def test_curve_widths_accept_papermill_lists_and_return_tuples():
    assert efficiency.check_curve_widths([[8, 4], [64, 32]]) == ((8, 4), (64, 32))


@pytest.mark.parametrize("bad", [None, [], [8, 4], [[8, 4], [8, 4]], [[8, 0]], "8-4"])
def test_bad_curve_widths_name_the_parameter_and_an_example(bad):
    with pytest.raises(ValueError, match=r"WIDTHS=.*\[\[8, 4\]"):
        efficiency.check_curve_widths(bad)


def test_the_papers_sizes_keep_their_names_and_others_are_widths():
    assert efficiency.arch_of((64, 32)) == "light"
    assert efficiency.arch_of([200, 100]) == "heavy"
    assert efficiency.arch_of((8, 4)) == "width"


def test_the_curves_light_and_heavy_points_are_the_paper_grids_runs():
    widths = ((8, 4), (64, 32), (200, 100))
    curve = efficiency.curve_specs(["HIGGS", "SPAMBASE"], FORMULAS, (42, 43), widths, 15, transfer_from="HIGGS")
    grid_specs = paper_grid.paper_specs(["HIGGS", "SPAMBASE"], FORMULAS, (42, 43), 15, transfer_from="HIGGS")
    shared = {spec.key for spec in curve} & {spec.key for spec in grid_specs}
    # Per seed: HIGGS's Heavy ReLU, Light ReLU and Specialist; SPAMBASE's the same and its Transfer.
    assert len(shared) == 2 * (3 + 4)
    assert len(curve) == 2 * 3 * 2 + 3 * 3 * 2


def test_the_transfer_formula_goes_to_the_other_data_sets_only():
    curve = efficiency.curve_specs(["HIGGS", "SPAMBASE"], FORMULAS, (42,), ((8, 4),), 3, transfer_from="HIGGS")
    assert [(s.dataset, s.activation) for s in curve if s.formula == "mul(cos(x), x)"] == [
        ("HIGGS", "mul(cos(x), x)"), ("SPAMBASE", "mul(cos(x), x)")
    ]
    assert {s.arch for s in curve} == {"width"}


def test_a_transfer_formula_equal_to_the_specialist_is_listed_once():
    formulas = {"HIGGS": "sin(x)", "SPAMBASE": "sin(x)"}
    curve = efficiency.curve_specs(["SPAMBASE"], formulas, (42,), ((8, 4),), 3, transfer_from="HIGGS")
    assert len(curve) == 2


def test_curve_specs_without_a_formula_say_which_is_missing():
    with pytest.raises(ValueError, match="HIGGS"):
        efficiency.curve_specs(["SPAMBASE"], {"SPAMBASE": "sin(x)"}, (42,), ((8, 4),), 3, transfer_from="HIGGS")


def test_named_sizes_are_the_papers_parameter_counts():
    higgs_shaped = Dataset(name="HIGGS", X=np.zeros((4, 28), np.float32), y=np.array([0, 1, 0, 1]),
                           feature_names=[f"f{i}" for i in range(28)], provenance=synthetic().provenance)
    data = {"HIGGS": higgs_shaped}
    assert efficiency.named_sizes(data) == {
        "HIGGS": {"Light": paper.PARAMS["HIGGS", "light"], "Heavy": paper.PARAMS["HIGGS", "heavy"]}
    }


def test_curve_runs_at_the_papers_sizes_are_read_back_not_trained_again(tmp_path):
    data = {"SYNTHETIC": synthetic()}
    formulas = {"SYNTHETIC": "sin(x)"}
    store = RunStore(tmp_path / "runs.csv")
    run_grid(paper_grid.paper_specs(data, formulas, (42,), 1), data, store=store, progress=False)
    before = len(store.read())
    curve_specs = efficiency.curve_specs(data, formulas, (42,), ((4, 2), (64, 32)), 1)
    curve_runs = efficiency.with_activation_roles(run_grid(curve_specs, data, store=store, progress=False), formulas)
    assert len(store.read()) == before + 2  # only the (4, 2) ReLU and Specialist runs are new
    assert set(curve_runs["role"]) == {"ReLU", paper_grid.SPECIALIST}


# ------------------------------------------------------------ the grid's efficiency


def test_the_gain_over_heavy_is_the_ratio_of_mean_efficiencies_minus_one():
    summary = efficiency.config_summary(grid([0.74, 0.76], Light_ReLU=[0.72, 0.70]))
    heavy_e = np.mean([0.74, 0.76]) / math.log10(26601)
    light_e = np.mean([0.72, 0.70]) / math.log10(4161)
    gains = summary.set_index("config")["gain_vs_heavy"]
    assert gains["Heavy ReLU"] == pytest.approx(0.0)
    assert gains["Light ReLU"] == pytest.approx(light_e / heavy_e - 1)


def test_config_summary_needs_the_config_column():
    with pytest.raises(ValueError, match="with_roles"):
        efficiency.config_summary(grid([0.7]).drop(columns="config"))


def test_table2_has_the_papers_columns_then_the_extras_and_the_papers_names():
    runs = grid([0.74, 0.76], Light_ReLU=[0.72, 0.70], Specialist=[0.6, 0.62])
    runs = pd.concat([runs, pd.DataFrame(run_rows("HIGGS", "Transfer (HIGGS)", [0.7, 0.7], arch="light"))])
    table = efficiency.table2(efficiency.config_summary(runs))
    assert list(table.columns) == [
        "Dataset", "Architecture", "Activation", "Acc", "AUC", "Params", "Efficiency",
        "Acc_std", "AUC_std", "Gain_vs_Heavy", "Seeds",
    ]
    assert list(zip(table["Architecture"], table["Activation"])) == [
        ("Heavy", "ReLU"), ("Light", "ReLU"), ("Light", "Hybrid (Specialist)"), ("Light", "Hybrid (Transfer)")
    ]
    assert table["Seeds"].tolist() == [2, 2, 2, 2]


@pytest.mark.parametrize(
    ("config", "name"),
    [("Light GELU", "GELU"), ("Heavy ReLU", "ReLU"), ("Specialist", "Hybrid (Specialist)"),
     ("Transfer (HIGGS)", "Hybrid (Transfer)"), ("Transfer (SPAMBASE)", "Hybrid (Transfer from SPAMBASE)")],
)
def test_configs_get_the_papers_activation_names(config, name):
    assert efficiency.paper_activation_name(config) == name


def test_at_equal_auc_the_whole_gain_is_the_parameter_ratio():
    parts = efficiency.gain_parts(efficiency.config_summary(grid([0.75], Light_ReLU=[0.75])))
    row = parts.iloc[0]
    assert row["accuracy_part"] == pytest.approx(0.0)
    assert row["gain"] == pytest.approx(row["parameter_part"])
    assert row["parameter_part"] == pytest.approx(math.log10(26601) / math.log10(4161) - 1)


def test_a_light_model_at_the_break_even_auc_has_heavys_efficiency():
    parts = efficiency.gain_parts(efficiency.config_summary(grid([0.75], Light_ReLU=[0.70])))
    break_even = parts.iloc[0]["break_even_auc"]
    assert break_even / math.log10(4161) == pytest.approx(0.75 / math.log10(26601))
    assert break_even < 0.70  # a Light model with a lower AUC than Heavy still "gains"


def test_the_best_light_model_is_the_one_with_the_highest_mean_efficiency():
    summary = efficiency.config_summary(grid([0.8], Light_ReLU=[0.70], Light_GELU=[0.72], Specialist=[0.6]))
    assert efficiency.best_light(summary)["config"].tolist() == ["Light GELU"]


def test_relative_seed_differences_pair_each_light_run_with_heavy_of_the_same_seed():
    runs = grid([0.70, 0.80], Light_ReLU=[0.70, 0.60])
    gains = seed_differences(runs, "HIGGS", "Light ReLU", efficiency.HEAVY, "efficiency", by="config", relative=True)
    ratio = math.log10(26601) / math.log10(4161)
    assert gains.tolist() == pytest.approx([ratio - 1, ratio * 0.6 / 0.8 - 1])


def test_efficiency_claims_register_each_papers_sentence_once_in_its_words():
    claims = efficiency.efficiency_claims(["HIGGS", "FOREST_COVER", "SPAMBASE"])
    ids = [claim.id for claim in claims]
    assert len(ids) == len(set(ids))
    assert ids == [
        "05-gain-HIGGS", "05-above18-HIGGS-specialist", "05-below21-HIGGS-specialist", "05-auc-HIGGS",
        "05-above18-FOREST_COVER-specialist", "05-below21-FOREST_COVER-specialist",
        "05-above18-FOREST_COVER-transfer-higgs", "05-below21-FOREST_COVER-transfer-higgs", "05-auc-FOREST_COVER",
        "05-outperform-acc-light-relu", "05-outperform-acc-light-gelu", "05-outperform-acc-light-silu",
        "05-outperform-efficiency-light-relu", "05-outperform-efficiency-light-gelu",
        "05-outperform-efficiency-light-silu", "05-reduction-accuracy",
        "05-above18-SPAMBASE-specialist", "05-below21-SPAMBASE-specialist",
        "05-above18-SPAMBASE-transfer-higgs", "05-below21-SPAMBASE-transfer-higgs", "05-auc-SPAMBASE",
    ]
    by_id = {claim.id: claim for claim in claims}
    gain = by_id["05-gain-HIGGS"]  # Table 2's best HIGGS model is Light ReLU, +21.2%
    assert (gain.better, gain.worse, gain.metric, gain.relative, gain.offset, gain.below) == (
        "Light ReLU", "Heavy ReLU", "efficiency", True, 0.18, False)
    assert '"+21.2% vs Heavy"' in gain.paper_words and gain.kind == "paper"
    above, below = by_id["05-above18-SPAMBASE-transfer-higgs"], by_id["05-below21-SPAMBASE-transfer-higgs"]
    assert (above.better, above.offset, above.below, below.offset, below.below) == (
        "Transfer (HIGGS)", 0.18, False, 0.21, True)
    assert above.paper_words == below.paper_words and "18-21% higher efficiency" in above.paper_words
    outperform = [c for c in claims if c.id.startswith("05-outperform")]
    assert {(c.dataset, c.better, c.metric) for c in outperform} == {
        ("FOREST_COVER", "Transfer (HIGGS)", "acc"), ("FOREST_COVER", "Transfer (HIGGS)", "efficiency")}
    assert {c.worse for c in outperform} == {"Light ReLU", "Light GELU", "Light SiLU"}
    assert all(c.kind == "paper" and c.margin == 0.005 for c in outperform)
    loss = by_id["05-reduction-accuracy"]
    assert (loss.better, loss.worse, loss.metric, loss.offset, loss.below) == (
        "Heavy ReLU", "Transfer (HIGGS)", "acc", 0.01, True)
    assert "5.5x" in loss.paper_words
    auc = [claim for claim in claims if claim.id.startswith("05-auc")]
    assert all(c.kind == OWN_QUESTION and (c.metric, c.relative, c.offset) == ("auc", False, 0) for c in auc)


def test_efficiency_claims_on_a_users_data_set_try_light_relu_and_the_specialist_without_the_papers_words():
    gain, above, below, auc = efficiency.efficiency_claims(["tumours"])
    assert (gain.id, gain.better, gain.worse, gain.offset) == ("05-gain-tumours", "Light ReLU", "Heavy ReLU", 0.18)
    assert (above.better, below.better) == ("Specialist", "Specialist")
    assert {c.kind for c in (gain, above, below, auc)} == {OWN_QUESTION}
    assert (auc.better, auc.kind) == ("Light ReLU", OWN_QUESTION)


def test_a_below_claim_is_judged_on_the_offset_minus_the_difference():
    # Heavy 0.80 and the transfer 0.795 +- 0.001 in accuracy: Heavy leads by 0.5 point, 1 - 0.5 = 0.5 point to spare.
    heavy = [0.80] * 10
    transfer = [0.795 + 0.001 * (-1) ** seed for seed in range(10)]
    runs = pd.concat([grid(heavy).assign(config="Heavy ReLU", acc=heavy),
                      grid(heavy).assign(config="Transfer (HIGGS)", acc=transfer)]).assign(dataset="FOREST_COVER")
    claims = [c for c in efficiency.efficiency_claims(["HIGGS", "FOREST_COVER"]) if c.id == "05-reduction-accuracy"]
    row = judge_family(claims, runs, {"FOREST_COVER": 68178}).iloc[0]
    assert row["mean"] == pytest.approx(0.01 - 0.005)
    assert row["verdict"] == HOLDS


def test_a_gain_claim_on_an_untrained_config_lists_the_known_ones():
    runs = grid([0.70, 0.71], Light_ReLU=[0.69, 0.70])
    with pytest.raises(ValueError, match=r"no runs of \['Transfer \(HIGGS\)'\].*Heavy ReLU"):
        judge_family(efficiency.efficiency_claims(["FOREST_COVER"]), runs.assign(dataset="FOREST_COVER"),
                     {"FOREST_COVER": 1000})


def test_gains_steadily_near_the_parameter_ratio_hold_the_18_percent_claim_while_light_loses_in_auc():
    # Light keeps about 98% of Heavy's AUC on every seed: gain = 1.223 * 0.98 - 1, about 19.9%, above 18%.
    heavy = [0.70, 0.72, 0.74, 0.71, 0.73, 0.75, 0.70, 0.72, 0.74, 0.73]
    kept = [0.980, 0.981, 0.979, 0.980, 0.982, 0.978, 0.980, 0.981, 0.979, 0.980]
    runs = grid(heavy, Light_ReLU=[k * a for k, a in zip(kept, heavy)])
    claims = [c for c in efficiency.efficiency_claims(["HIGGS"]) if c.id in ("05-gain-HIGGS", "05-auc-HIGGS")]
    table = judge_family(claims, runs, {"HIGGS": 20978}).set_index("id")
    ratio = math.log10(26601) / math.log10(4161)
    gain = table.loc["05-gain-HIGGS"]
    assert gain["mean"] == pytest.approx(np.mean([ratio * k - 1 - 0.18 for k in kept]))
    assert (gain["n_seeds"], gain["verdict"]) == (10, HOLDS)
    auc = table.loc["05-auc-HIGGS"]
    assert auc["mean"] == pytest.approx(np.mean([(k - 1) * a for k, a in zip(kept, heavy)]))
    assert auc["verdict"] == DOES_NOT_HOLD


def test_pairing_by_role_averages_each_seed_over_the_widths():
    rows = []
    for widths, params, shift in (("8-4", 300, 0.02), ("64-32", 4161, 0.04)):
        at_width = {"arch": "width", "widths": widths, "params": params}
        rows += run_rows("HIGGS", "Width ReLU", [0.70, 0.71, 0.72], role="ReLU", **at_width)
        rows += run_rows("HIGGS", paper_grid.SPECIALIST, [0.70 + shift, 0.71 + shift, 0.72 + shift],
                         role=paper_grid.SPECIALIST, **at_width)
    diffs = seed_differences(pd.DataFrame(rows), "HIGGS", paper_grid.SPECIALIST, "ReLU", by="role")
    assert diffs.index.tolist() == [42, 43, 44]
    assert diffs.tolist() == pytest.approx([0.03] * 3)  # the mean of +0.02 at 8-4 and +0.04 at 64-32


def test_the_headline_comparison_sets_our_same_config_beside_the_papers():
    summary = efficiency.config_summary(grid([0.74], Light_ReLU=[0.72], Specialist=[0.73]))
    table = efficiency.headline_comparison(summary)
    (row,) = table.to_dict("records")
    assert row["paper_model"] == "Light ReLU" and row["ours_acc"] == pytest.approx(0.62)
    assert row["best_model"] == "Light Hybrid (Specialist)"
    assert row["acc_diff"] == pytest.approx(0.62 - 0.710)


# ------------------------------------------------------------ the width curve


def curve_runs() -> pd.DataFrame:
    """ReLU on HIGGS at three widths: AUC grows slowly with size, so E peaks at the smallest."""
    rows = []
    for widths, params, auc in (("64-32", 4161, 0.72), ("8-4", 297, 0.68), ("200-100", 26601, 0.74)):
        rows += run_rows("HIGGS", "Width ReLU", [auc, auc + 0.01], arch="width", widths=widths, params=params,
                         role="ReLU")
    return pd.DataFrame(rows)


def test_the_curve_table_runs_from_the_smallest_network_to_the_largest():
    curve = efficiency.curve_table(curve_runs())
    assert curve["params"].tolist() == [297, 4161, 26601]
    assert curve["auc_mean"].tolist() == pytest.approx([0.685, 0.725, 0.745])


def test_e_peaks_at_the_smallest_network_while_auc_peaks_at_the_largest():
    (row,) = efficiency.curve_extremes(efficiency.curve_table(curve_runs())).to_dict("records")
    assert row["best_auc_widths"] == "200-100" and row["best_e_widths"] == "8-4" and row["smallest"]


def test_width_differences_pair_the_activations_at_each_width():
    runs = curve_runs()
    # The Specialist loses 0.01 on seed 42 and 0.02 on seed 43 at every width.
    loss = np.where(runs["seed"] == 42, 0.01, 0.02)
    specialist = runs.assign(role=paper_grid.SPECIALIST, config=paper_grid.SPECIALIST, auc=runs["auc"] - loss)
    table = efficiency.width_differences(pd.concat([runs, specialist]), paper_grid.SPECIALIST)
    assert list(table.columns) == ["dataset", "widths", "params", "n_seeds", "mean_diff", "sd_diff"]
    assert table["widths"].tolist() == ["8-4", "64-32", "200-100"]
    assert table["mean_diff"].tolist() == pytest.approx([-0.015] * 3)
    assert table["sd_diff"].tolist() == pytest.approx([np.std([0.01, 0.02], ddof=1)] * 3)
    assert table["n_seeds"].tolist() == [2, 2, 2]


# ------------------------------------------------------------ the reference models


def baseline_rows() -> pd.DataFrame:
    return pd.DataFrame(
        [{"dataset": "HIGGS", "model": model, "seed": seed, "acc": acc, "auc": auc, "seconds": 1.0}
         for model, acc, auc in (("gradient boosting", 0.72, 0.80), ("logistic regression", 0.64, 0.68))
         for seed in (42, 43)]
    )


def test_the_baseline_summary_quotes_the_papers_code_for_gradient_boosting_only():
    table = efficiency.baseline_summary(baseline_rows()).set_index("model")
    assert table.loc["gradient boosting", "paper_code_auc"] == paper.GRADIENT_BOOSTING_ON_MIRROR["HIGGS"][1]
    assert math.isnan(table.loc["logistic regression", "paper_code_auc"])
    assert table.loc["gradient boosting", "seeds"] == 2


def test_boosting_beats_every_mlp_only_when_it_is_above_all_of_them():
    summary = efficiency.config_summary(grid([0.74], Light_ReLU=[0.72]))
    baselines = efficiency.baseline_summary(baseline_rows())
    (row,) = efficiency.mlps_versus_baselines(summary, baselines).to_dict("records")
    assert row["best_mlp"] == "Heavy ReLU" and row["boosting_beats_every_mlp"]
    curve = efficiency.curve_table(curve_runs().assign(auc=0.81, acc=0.73))
    (row,) = efficiency.mlps_versus_baselines(summary, baselines, curve).to_dict("records")
    assert not row["boosting_beats_every_mlp"] and row["best_mlp"].startswith("ReLU ")


# ------------------------------------------------------------ figures


def test_the_figures_have_one_panel_per_data_set_and_a_log_parameter_axis():
    runs = pd.concat([grid([0.74, 0.75], Light_ReLU=[0.72, 0.73]),
                      grid([0.74, 0.75], Light_ReLU=[0.72, 0.73]).assign(dataset="SPAMBASE")])
    summary = efficiency.config_summary(runs)
    fig = efficiency_plots.plot_gain_parts(efficiency.gain_parts(summary))
    assert len(fig.axes) == 2 and fig.axes[0].get_ylabel() == "change against Heavy ReLU (%)"
    fig = efficiency_plots.plot_accuracy_vs_params(summary)
    assert [ax.get_xscale() for ax in fig.axes] == ["log", "log"]
    fig = efficiency_plots.plot_curve(efficiency.curve_table(curve_runs()), {"HIGGS": {"Light": 4161, "Heavy": 26601}})
    assert len(fig.axes) == 3 and fig.axes[-1].get_xlabel() == "trainable parameters (log scale)"
    plt.close("all")


def test_roles_list_the_builtins_first_then_the_discovered_activations():
    roles = ["Transfer (HIGGS)", paper_grid.SPECIALIST, "ReLU"]
    assert paper_grid.config_order(roles, efficiency.ROLE_ORDER) == ["ReLU", paper_grid.SPECIALIST, "Transfer (HIGGS)"]


def test_paper_best_names_table_2s_best_model_per_data_set_as_our_config_labels():
    assert efficiency.PAPER_BEST == {"HIGGS": "Light ReLU", "FOREST_COVER": "Transfer (HIGGS)",
                                     "SPAMBASE": paper_grid.SPECIALIST}


# ------------------------------------------------------------ the HIGGS row count

A, B, C = 0.75, 2.0, 0.5  # acc(n) = 0.75 - 2 / sqrt(n): 0.687 at 1,000 rows, 0.7437 at 100,000
ROW_COUNTS = (1000, 2000, 4000, 8000, 16000)
SEED_NOISE = (-0.002, -0.001, 0.0, 0.001, 0.002)  # sums to zero: each row count's mean lies on the curve


def row_runs(config: str = "Light ReLU", a: float = A) -> pd.DataFrame:
    """Runs of ``config`` at each row count and five seeds, their accuracies on a known power law."""
    return pd.DataFrame([
        {"config": config, "rows": n, "seed": 42 + i, "status": "ok", "acc": a - B * n ** -C + noise}
        for n in ROW_COUNTS for i, noise in enumerate(SEED_NOISE)
    ])


def test_row_curve_recovers_a_known_power_law_and_its_interval_brackets_the_truth():
    fits = curves.row_curve(row_runs(), target_rows=100_000, n_boot=200, random_state=0)
    (fit,) = fits.to_dict("records")
    assert (fit["a"], fit["b"], fit["c"]) == pytest.approx((A, B, C), rel=1e-3)
    truth = A - B * 100_000 ** -C
    assert fit["estimate"] == pytest.approx(truth, abs=1e-4)
    assert fit["low"] < truth < fit["high"]
    assert fit["high"] - fit["low"] < 0.02
    assert (fit["rows_max"], fit["target_rows"]) == (16000, 100_000)
    assert fit["acc_at_max"] == pytest.approx(A - B * 16000 ** -C)


def test_row_curve_fits_each_config_and_leaves_failed_runs_out():
    runs = pd.concat([row_runs(), row_runs("Heavy ReLU", a=0.78)], ignore_index=True)
    runs = pd.concat([runs, pd.DataFrame([{"config": "Heavy ReLU", "rows": 1000, "seed": 50, "status": "failed",
                                           "acc": 0.1}])], ignore_index=True)
    fits = curves.row_curve(runs, target_rows=100_000, n_boot=50).set_index("config")
    assert fits.index.tolist() == ["Light ReLU", "Heavy ReLU"]
    assert fits["a"].tolist() == pytest.approx([0.75, 0.78], rel=1e-3)


def test_row_curve_needs_three_row_counts():
    runs = row_runs()
    with pytest.raises(ValueError, match=r"Light ReLU: .* at least 3 row counts, got \[1000, 2000\]"):
        curves.row_curve(runs[runs["rows"] <= 2000], target_rows=100_000, n_boot=10)


def test_plot_row_curve_draws_the_points_the_extrapolation_and_the_papers_figure():
    runs = row_runs()
    fig = efficiency_plots.plot_row_curve(runs, curves.row_curve(runs, 100_000, n_boot=20), 0.71, "paper: 71.0%")
    (ax,) = fig.axes
    assert ax.get_xscale() == "log"
    assert sorted(text.get_text() for text in ax.get_legend().get_texts()) == ["Light ReLU", "paper: 71.0%"]
    assert ax.get_xlim()[1] > 100_000
    plt.close(fig)
