"""The paper's grid: formulas per data set, the run specs, and each run's role in tables."""

from __future__ import annotations

from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from synthetic import synthetic_dataset as synthetic

from nslib.engine.specs import make_spec
from nslib.experiments import paper_grid
from nslib.experiments.profiles import get_profile
from nslib.formulas.activations import activation_label
from nslib.stats import paper

FORMULAS = {"HIGGS": "mul(cos(x), x)", "FOREST_COVER": "sin(x)", "SPAMBASE": "add(x, sin(x))"}




def rows_of(specs) -> pd.DataFrame:
    """The columns of runs.csv that with_roles reads, as run_grid would fill them."""
    return pd.DataFrame(
        {
            "dataset": [spec.dataset for spec in specs],
            "arch": [spec.arch for spec in specs],
            "activation": [activation_label(spec.activation) for spec in specs],
            "formula": [spec.formula for spec in specs],
            "seed": [spec.seed for spec in specs],
        }
    )


@pytest.fixture(autouse=True)
def fresh_derived_dir(tmp_path, monkeypatch):
    """Every test writes formulas.json into its own empty folder."""
    monkeypatch.setenv("NSLIB_DERIVED_DIR", str(tmp_path))
    return tmp_path


def test_formulas_for_discovers_each_data_set_with_the_profiles_gp_settings(monkeypatch):
    calls = []

    def recording_discover(data, **settings):
        calls.append((data.name, settings))
        return SimpleNamespace(formula=f"formula of {data.name}")

    monkeypatch.setattr("nslib.formulas.discovery.discover", recording_discover)
    datasets = {"A": synthetic("A"), "B": synthetic("B")}
    assert paper_grid.formulas_for(datasets, get_profile("quick"), progress=False) == {
        "A": "formula of A", "B": "formula of B"
    }
    assert calls == [(name, {"population_size": 100, "generations": 2}) for name in ("A", "B")]


def test_paper_specs_lists_heavy_relu_three_light_baselines_and_the_specialist_per_seed():
    specs = paper_grid.paper_specs(["HIGGS", "SPAMBASE"], FORMULAS, seeds=(42, 43), epochs=3)
    assert len(specs) == 2 * 2 * 5
    higgs_42 = [(s.arch, s.activation) for s in specs if s.dataset == "HIGGS" and s.seed == 42]
    assert higgs_42 == [
        ("heavy", "relu"), ("light", "relu"), ("light", "gelu"), ("light", "silu"), ("light", "mul(cos(x), x)")
    ]
    assert {s.epochs for s in specs} == {3}


def test_paper_specs_adds_the_transfer_formula_to_every_other_data_set():
    specs = paper_grid.paper_specs(FORMULAS, FORMULAS, seeds=(42,), epochs=15, transfer_from="HIGGS")
    assert len(specs) == 3 * 5 + 2
    transfers = [s.dataset for s in specs if s.formula == "mul(cos(x), x)"]
    assert transfers == ["HIGGS", "FOREST_COVER", "SPAMBASE"]  # HIGGS's is its Specialist


def test_paper_specs_lists_a_transfer_identical_to_the_specialist_once():
    formulas = {"HIGGS": "sin(x)", "SPAMBASE": "sin(x)"}
    specs = paper_grid.paper_specs(["SPAMBASE"], formulas, seeds=(42,), epochs=15, transfer_from="HIGGS")
    assert len(specs) == 5
    assert len({spec.key for spec in specs}) == 5


def test_paper_specs_names_the_data_set_whose_formula_is_missing():
    with pytest.raises(ValueError, match=r"no formula for \['HIGGS'\]"):
        paper_grid.paper_specs(["SPAMBASE"], {"SPAMBASE": "sin(x)"}, seeds=(42,), epochs=15, transfer_from="HIGGS")


def test_paper_configs_list_the_grid_per_data_set_with_the_arch_widths():
    configs = paper_grid.paper_configs(["HIGGS", "SPAMBASE"], FORMULAS, transfer_from="HIGGS")
    assert configs == [
        ("HIGGS", "heavy", "relu", None), ("HIGGS", "light", "relu", None), ("HIGGS", "light", "gelu", None),
        ("HIGGS", "light", "silu", None), ("HIGGS", "light", "mul(cos(x), x)", None),
        ("SPAMBASE", "heavy", "relu", None), ("SPAMBASE", "light", "relu", None), ("SPAMBASE", "light", "gelu", None),
        ("SPAMBASE", "light", "silu", None), ("SPAMBASE", "light", "add(x, sin(x))", None),
        ("SPAMBASE", "light", "mul(cos(x), x)", None),
    ]
    with pytest.raises(ValueError, match=r"no formula for \['SPAMBASE'\]"):
        paper_grid.paper_configs(["SPAMBASE"], {"HIGGS": "sin(x)"})


def test_specs_for_gives_every_spec_the_lr_and_validation_split():
    configs = [("HIGGS", "light", "relu", None), ("HIGGS", "width", "sin(x)", (8, 4))]
    specs = paper_grid.specs_for(configs, (42, 43), 20, lr=3e-3, validation=0.2)
    assert [(s.activation, s.seed, s.widths) for s in specs] == [
        ("relu", 42, (64, 32)), ("relu", 43, (64, 32)), ("sin(x)", 42, (8, 4)), ("sin(x)", 43, (8, 4))
    ]
    assert {(s.lr, s.validation, s.epochs) for s in specs} == {(3e-3, 0.2, 20)}
    assert specs[0].key == make_spec("HIGGS", "light", "relu", 42, epochs=20, lr=3e-3, validation=0.2).key
    # The defaults are the paper's budget: lr 1e-3 and no validation split.
    assert {(s.lr, s.validation) for s in paper_grid.specs_for(configs, (42,), 15)} == {(1e-3, 0.0)}


def test_grid_claims_ask_whether_each_light_alternative_and_heavy_beats_light_relu_as_own_questions():
    claims = paper_grid.grid_claims(["HIGGS", "SPAMBASE"])
    assert [claim.id for claim in claims] == [
        "03-HIGGS-light-gelu", "03-HIGGS-light-silu", "03-HIGGS-specialist", "03-HIGGS-heavy-relu",
        "03-SPAMBASE-light-gelu", "03-SPAMBASE-light-silu", "03-SPAMBASE-specialist", "03-SPAMBASE-heavy-relu",
    ]
    assert {claim.worse for claim in claims} == {"Light ReLU"}
    assert [claim.better for claim in claims[:4]] == ["Light GELU", "Light SiLU", "Specialist", "Heavy ReLU"]
    assert claims[2].claim == "Specialist beats Light ReLU"
    assert all(claim.kind == "own question" and claim.metric == "auc" and not claim.relative for claim in claims)


def test_with_roles_labels_a_shared_formula_by_its_relation_to_the_rows_data_set():
    specs = paper_grid.paper_specs(FORMULAS, FORMULAS, seeds=(42,), epochs=15, transfer_from="HIGGS")
    labelled = paper_grid.with_roles(rows_of(specs), FORMULAS)
    configs = labelled.groupby("dataset", sort=False)["config"].apply(list).to_dict()
    baselines = ["Heavy ReLU", "Light ReLU", "Light GELU", "Light SiLU", "Specialist"]
    assert configs == {
        "HIGGS": baselines,
        "FOREST_COVER": baselines + ["Transfer (HIGGS)"],
        "SPAMBASE": baselines + ["Transfer (HIGGS)"],
    }
    assert "config" not in rows_of(specs).columns  # the input is left as it was


def test_with_roles_compares_formulas_by_structure_not_spacing():
    runs = rows_of([make_spec("SPAMBASE", "light", "add(x,sin(x))", 42)])
    assert paper_grid.with_roles(runs, {"SPAMBASE": "add(x, sin( x ))"})["config"].tolist() == ["Specialist"]


def test_with_roles_keeps_the_text_of_a_formula_no_data_set_found():
    runs = rows_of([make_spec("HIGGS", "light", "abs(x)", 42), make_spec("HIGGS", "heavy", "gelu", 42)])
    assert paper_grid.with_roles(runs, FORMULAS)["config"].tolist() == ["abs(x)", "Heavy GELU"]


def test_with_roles_names_the_columns_it_needs():
    with pytest.raises(ValueError, match=r"lack the columns \['formula'\]"):
        paper_grid.with_roles(pd.DataFrame({"dataset": [], "arch": [], "activation": []}), FORMULAS)


def test_config_order_puts_baselines_specialist_and_transfers_first():
    configs = ["abs(x)", "Transfer (HIGGS)", "Specialist", "Light SiLU", "Heavy ReLU", "Light ReLU", "Light ReLU"]
    assert paper_grid.config_order(configs) == [
        "Heavy ReLU", "Light ReLU", "Light SiLU", "Specialist", "Transfer (HIGGS)", "abs(x)"
    ]


def test_versus_paper_code_sets_our_means_beside_the_paper_codes_cells():
    runs = pd.DataFrame(
        {
            "dataset": ["FOREST_COVER"] * 4,
            "config": ["Heavy ReLU", "Heavy ReLU", "Transfer (HIGGS)", "abs(x)"],
            "seed": [42, 43, 42, 42],
            "acc": [0.820, 0.830, 0.790, 0.5],
            "auc": [0.90, 0.91, 0.88, 0.5],
            "status": ["ok"] * 4,
        }
    )
    table = paper_grid.versus_paper_code(runs).set_index("config")
    assert list(table.index) == ["Heavy ReLU", "Transfer (HIGGS)"]  # no paper number for abs(x)
    cells = paper.PAPER_CODE_ON_MIRROR.set_index(["dataset", "config"])
    assert table.loc["Heavy ReLU", "seeds"] == 2
    assert table.loc["Heavy ReLU", "acc_diff"] == pytest.approx(0.825 - cells.loc[("FOREST_COVER", "Heavy ReLU"), "acc"])
    assert table.loc["Transfer (HIGGS)", "acc_paper"] == cells.loc[("FOREST_COVER", "Transfer"), "acc"]
    assert table["within"].tolist() == [True, False]  # 0.2 points off; 2.7 points off


def test_versus_paper_code_leaves_failed_runs_out():
    runs = pd.DataFrame(
        {"dataset": ["HIGGS"] * 2, "config": ["Light ReLU"] * 2, "seed": [42, 43],
         "acc": [0.667, np.nan], "auc": [0.726, np.nan], "status": ["ok", "failed"]}
    )
    row = paper_grid.versus_paper_code(runs).iloc[0]
    assert (row["seeds"], row["acc_diff"]) == (1, pytest.approx(0.0))


def test_loss_curves_gives_one_row_per_recorded_epoch():
    runs = pd.DataFrame(
        {"dataset": ["HIGGS", "HIGGS"], "config": ["Light ReLU", "Specialist"], "seed": [42, 42],
         "train_loss": ["0.7;0.65;0.6", "0.7"]}
    )
    curves = paper_grid.loss_curves(runs)
    assert curves["epoch"].tolist() == [1, 2, 3, 1]
    assert curves["train_loss"].tolist() == [0.7, 0.65, 0.6, 0.7]
    assert list(curves.columns) == ["dataset", "config", "seed", "epoch", "train_loss"]


def test_plot_configs_draws_one_panel_per_data_set_with_a_point_per_good_run():
    runs = pd.DataFrame(
        {"dataset": ["HIGGS", "HIGGS", "SPAMBASE", "SPAMBASE"], "config": ["Light ReLU", "Specialist"] * 2,
         "seed": [42, 42, 42, 42], "auc": [0.72, 0.66, 0.96, np.nan], "status": ["ok", "ok", "ok", "failed"]}
    )
    fig = paper_grid.plot_configs(runs)
    higgs, spambase = fig.axes
    assert (higgs.get_title(), spambase.get_title()) == ("HIGGS", "SPAMBASE")
    assert [tick.get_text() for tick in higgs.get_xticklabels()] == ["Light ReLU", "Specialist"]
    assert [tick.get_text() for tick in spambase.get_xticklabels()] == ["Light ReLU"]
    assert higgs.get_ylabel() == "test ROC AUC"
    plt.close(fig)
