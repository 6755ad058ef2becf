"""The efficiency score's parts, the width curve and the verdicts of notebook 05."""

from __future__ import annotations

import math
from functools import partial

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from nslib import efficiency, grids, paper
from nslib.comparisons import CANNOT_TELL, DOES_NOT_HOLD, HOLDS, paired_difference, seed_differences
from nslib.data import Dataset
from nslib.results import RunStore
from nslib.training import run_grid

from synthetic import synthetic_dataset

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
    paper_grid = grids.paper_specs(["HIGGS", "SPAMBASE"], FORMULAS, (42, 43), 15, transfer_from="HIGGS")
    shared = {spec.key for spec in curve} & {spec.key for spec in paper_grid}
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
    run_grid(grids.paper_specs(data, formulas, (42,), 1), data, store=store, progress=False)
    before = len(store.read())
    curve_specs = efficiency.curve_specs(data, formulas, (42,), ((4, 2), (64, 32)), 1)
    curve_runs = efficiency.with_activation_roles(run_grid(curve_specs, data, store=store, progress=False), formulas)
    assert len(store.read()) == before + 2  # only the (4, 2) ReLU and Specialist runs are new
    assert set(curve_runs["role"]) == {"ReLU", grids.SPECIALIST}


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


def test_a_gain_claim_on_an_untrained_config_lists_the_known_ones():
    with pytest.raises(ValueError, match="Light ReLU"):
        efficiency.gain_claim(grid([0.7], Light_ReLU=[0.7]), "HIGGS", "Specialist")


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [(0.185, 0.205, HOLDS), (0.10, 0.15, DOES_NOT_HOLD), (0.22, 0.30, DOES_NOT_HOLD),
     (0.17, 0.20, CANNOT_TELL), (0.10, 0.30, CANNOT_TELL), (math.nan, math.nan, CANNOT_TELL)],
)
def test_a_claimed_range_holds_only_when_the_interval_lies_inside_it(low, high, expected):
    assert efficiency.range_verdict(low, high, (0.18, 0.21)) == expected


def test_gains_steadily_near_the_parameter_ratio_hold_the_18_to_21_percent_claim():
    # Light loses 2% of Heavy's AUC on every seed: gain = 1.223 * 0.98 - 1, about 19.9%.
    heavy = [0.70, 0.72, 0.74]
    row = efficiency.gain_claim(grid(heavy, Light_ReLU=[0.98 * a for a in heavy]), "HIGGS", "Light ReLU")
    assert row["mean_diff"] == pytest.approx((math.log10(26601) / math.log10(4161)) * 0.98 - 1)
    assert row["n_seeds"] == 3 and row["verdict"] == HOLDS


def test_pairing_by_role_averages_each_seed_over_the_widths():
    rows = []
    for widths, params, shift in (("8-4", 300, 0.02), ("64-32", 4161, 0.04)):
        at_width = {"arch": "width", "widths": widths, "params": params}
        rows += run_rows("HIGGS", "Width ReLU", [0.70, 0.71, 0.72], role="ReLU", **at_width)
        rows += run_rows("HIGGS", grids.SPECIALIST, [0.70 + shift, 0.71 + shift, 0.72 + shift],
                         role=grids.SPECIALIST, **at_width)
    row = paired_difference(pd.DataFrame(rows), "HIGGS", grids.SPECIALIST, "ReLU", by="role")
    assert row["mean_diff"] == pytest.approx(0.03)
    assert row["n_seeds"] == 3 and row["verdict"] == HOLDS


def test_verdicts_try_three_claims_with_the_notebooks_columns():
    runs = grid([0.74, 0.75, 0.76], Light_ReLU=[0.72, 0.73, 0.74], Specialist=[0.60, 0.61, 0.62])
    runs["widths"] = np.where(runs["arch"] == "heavy", "200-100", "64-32")
    summary = efficiency.config_summary(runs)
    table = efficiency.verdicts(runs, runs, summary, [grids.SPECIALIST])
    assert list(table.columns) == efficiency.VERDICT_COLUMNS
    claims = (efficiency.GAIN_CLAIM, efficiency.AUC_CLAIM, efficiency.CURVE_CLAIM)
    assert [text.startswith(claim) for text, claim in zip(table["claim"], claims)] == [True, True, True]
    assert table["verdict"].tolist()[1:] == [DOES_NOT_HOLD, DOES_NOT_HOLD]


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
    specialist = runs.assign(role=grids.SPECIALIST, config=grids.SPECIALIST, auc=runs["auc"] - 0.01)
    table = efficiency.width_differences(pd.concat([runs, specialist]), grids.SPECIALIST)
    assert table["widths"].tolist() == ["8-4", "64-32", "200-100"]
    assert table["mean_diff"].tolist() == pytest.approx([-0.01] * 3)
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
    fig = efficiency.plot_gain_parts(efficiency.gain_parts(summary))
    assert len(fig.axes) == 2 and fig.axes[0].get_ylabel() == "change against Heavy ReLU (%)"
    fig = efficiency.plot_accuracy_vs_params(summary)
    assert [ax.get_xscale() for ax in fig.axes] == ["log", "log"]
    fig = efficiency.plot_curve(efficiency.curve_table(curve_runs()), {"HIGGS": {"Light": 4161, "Heavy": 26601}})
    assert len(fig.axes) == 3 and fig.axes[-1].get_xlabel() == "trainable parameters (log scale)"
    plt.close("all")


def test_roles_list_the_builtins_first_then_the_discovered_activations():
    roles = ["Transfer (HIGGS)", grids.SPECIALIST, "ReLU"]
    assert efficiency.role_order(roles) == ["ReLU", grids.SPECIALIST, "Transfer (HIGGS)"]
