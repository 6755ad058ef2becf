"""The fair budget: learning rate and epochs chosen per configuration on validation curves, never on the test split."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest
from synthetic import synthetic_dataset

from nslib.engine.runstore import RunStore
from nslib.experiments.profiles import get_profile
from nslib.experiments.tuning import (
    BUDGETS_FILE,
    VALIDATION,
    choose_budgets,
    edge_summary,
    next_lr,
    record,
    tune_and_train,
    tuned_specs,
    tuning_specs,
    validation_curves,
)

CONFIGS = [("SYNTHETIC", "light", "relu", None), ("SYNTHETIC", "light", "sin(x)", None)]


def tuning_rows(activation: str, curves: dict[float, list[str]], formula: str = "") -> list[dict]:
    """Tuning runs of one Light configuration on D: per learning rate, one ``val_auc`` text per seed from 42."""
    return [
        {"dataset": "D", "arch": "light", "widths": "64-32", "activation": activation, "formula": formula, "lr": lr,
         "seed": 42 + i, "status": "ok" if text and ";" in text else "failed", "val_auc": text}
        for lr, texts in curves.items() for i, text in enumerate(texts)
    ]


def test_choose_budgets_takes_the_best_lr_and_epoch_of_the_seed_mean_and_ties_go_to_fewer_epochs():
    rows = tuning_rows("ReLU", {
        # Mean curve 0.71, 0.76, 0.76: best 0.76, first reached at epoch 2 (epoch 3 ties).
        1e-3: ["0.70;0.75;0.74", "0.72;0.77;0.78"],
        # Seed 42 alone peaks at 0.80, but the mean curve (0.70, 0.72) is worse than 1e-3's.
        1e-2: ["0.80;0.74", "0.60;0.70"],
    })
    (budget,) = choose_budgets(pd.DataFrame(rows)).to_dict("records")
    assert budget == {"dataset": "D", "arch": "light", "widths": "64-32", "activation": "ReLU", "formula": "",
                      "lr": 1e-3, "epochs": 2, "val_auc": pytest.approx(0.76), "lrs": "0.001;0.01", "curve_epochs": 3,
                      "lr_edge": True, "epoch_edge": False, "at_edge": True}


def test_choose_budgets_marks_a_choice_at_the_edge_of_the_learning_rates_or_of_the_curve():
    inside = tuning_rows("ReLU", {1e-3: ["0.6;0.7;0.6"], 1e-2: ["0.7;0.8;0.7"], 1e-1: ["0.5;0.6;0.5"]})
    top = tuning_rows("GELU", {1e-3: ["0.6;0.7;0.6"], 1e-2: ["0.7;0.9;0.7"]})  # the highest lr tried wins
    rising = tuning_rows("SiLU", {1e-3: ["0.6;0.7;0.8"], 1e-2: ["0.7;0.9;0.95"], 1e-1: ["0.6;0.7"]})  # last epoch
    # Seed 43 stopped early after 2 epochs and stays at 0.8: mean 0.7, 0.8, 0.85, 0.8 peaks inside the curve.
    short = tuning_rows("Mish", {1e-3: ["0.6;0.6"], 1e-2: ["0.7;0.8;0.9;0.8", "0.7;0.8"], 1e-1: ["0.6;0.5"]})
    budgets = choose_budgets(pd.DataFrame(inside + top + rising + short), cap=4).set_index("activation")
    assert budgets[["lr_edge", "epoch_edge", "at_edge"]].values.tolist() == [
        [False, False, False], [True, False, True], [False, True, True], [False, False, False]]
    assert budgets.loc["Mish", "curve_epochs"] == 4 and budgets.loc["Mish", "epochs"] == 3
    assert budgets.loc["Mish", "val_auc"] == pytest.approx(0.85) and budgets.loc["SiLU", "epochs"] == 3
    assert budgets.loc["GELU", "lrs"] == "0.001;0.01"
    # Fewer epochs than the patience before the curve's end, with a seed still running at the cap of 4: Mish's
    # seed 42 was not watched long enough past epoch 3. Below a cap of 5 every seed had stopped: not an edge.
    late = choose_budgets(pd.DataFrame(short + rising), cap=4, patience=2).set_index("activation")["epoch_edge"]
    assert late.to_dict() == {"Mish": True, "SiLU": True}
    assert not choose_budgets(pd.DataFrame(short), cap=4, patience=1)["epoch_edge"].any()
    assert not choose_budgets(pd.DataFrame(short), cap=5, patience=2)["epoch_edge"].any()
    # The cap is an edge even where the curve fell before it: here it peaks at the cap of 2.
    assert choose_budgets(pd.DataFrame(tuning_rows("ReLU", {1e-3: ["0.5;0.7;0.6"], 1e-2: ["0.1"]})),
                          cap=2)["epoch_edge"].tolist() == [True]


def test_next_lr_walks_the_one_three_ten_ladder_and_stops_at_its_ends():
    assert next_lr(3e-2, +1) == 0.1 and next_lr(0.1, +1) == 0.3 and next_lr(0.3, +1) == 1.0
    assert next_lr(1e-3, -1) == 3e-4 and next_lr(3e-4, -1) == 1e-4 and next_lr(3e-3, -1) == 1e-3
    assert next_lr(1.0, +1) is None and next_lr(1e-6, -1) is None


def test_choose_budgets_skips_an_lr_whose_seed_failed_and_ends_a_curve_where_a_seed_failed():
    rows = tuning_rows("sin(x)", {
        1e-3: ["", "0.99;0.99;0.99"],  # seed 42 failed before its first epoch ended: this lr is skipped
        1e-2: ["0.60;0.65;0.66", "0.62;0.67;0.68"],  # mean 0.61, 0.66, 0.67: epoch 3
        # Seed 43 failed after one epoch: the mean curve is (0.50 + 0.70) / 2 = 0.60 long, not seed 42's 0.95.
        3e-2: ["0.50;0.90;0.95", "0.70"],
    }, formula="sin(x)")
    (budget,) = choose_budgets(pd.DataFrame(rows)).to_dict("records")
    assert (budget["lr"], budget["epochs"], budget["val_auc"]) == (1e-2, 3, pytest.approx(0.67))
    assert budget["formula"] == "sin(x)"


def test_choose_budgets_gives_one_row_per_configuration_in_the_order_of_the_runs():
    rows = tuning_rows("SiLU", {1e-3: ["0.5;0.6"], 1e-2: ["0.7;0.65"]})
    rows += tuning_rows("ReLU", {1e-3: ["0.8;0.9"], 1e-2: ["0.85;0.7"]})
    budgets = choose_budgets(pd.DataFrame(rows))
    assert budgets[["activation", "lr", "epochs"]].values.tolist() == [["SiLU", 1e-2, 1], ["ReLU", 1e-3, 2]]
    assert budgets["val_auc"].tolist() == pytest.approx([0.7, 0.9])


def test_choose_budgets_names_a_configuration_that_failed_at_every_lr():
    rows = tuning_rows("ReLU", {1e-3: ["0.8;0.9"]}) + tuning_rows("sin(x)", {1e-3: [""], 1e-2: [""]}, "sin(x)")
    with pytest.raises(ValueError, match=r"every tuning run of sin\(x\) \(light 64-32\) on D failed.*'reason'"):
        choose_budgets(pd.DataFrame(rows))


def test_choose_budgets_refuses_runs_without_validation_curves():
    with pytest.raises(ValueError, match=r"no validation curves.*tuning_specs"):
        choose_budgets(pd.DataFrame(tuning_rows("ReLU", {1e-3: ["", ""]})))
    with pytest.raises(ValueError, match="no validation curves"):
        choose_budgets(pd.DataFrame(columns=["dataset", "val_auc"]))


def test_tuning_specs_hold_out_a_validation_split_at_every_lr_seed_and_configuration():
    specs = tuning_specs(CONFIGS, seeds=(42, 43), lrs=(1e-3, 1e-2, 3e-2), max_epochs=30, patience=5)
    assert len(specs) == 2 * 2 * 3 and {spec.patience for spec in specs} == {5}
    assert len({spec.key for spec in specs}) == len(specs)
    assert {spec.validation for spec in specs} == {0.2} and VALIDATION == 0.2
    assert {spec.epochs for spec in specs} == {30}
    for activation in ("relu", "sin(x)"):
        assert sorted({spec.lr for spec in specs if spec.activation == activation}) == [1e-3, 1e-2, 3e-2]
        assert sorted({spec.seed for spec in specs if spec.activation == activation}) == [42, 43]


def test_tuned_specs_train_every_seed_at_the_chosen_budget_on_the_whole_training_part():
    budgets = pd.DataFrame([
        {"dataset": "D", "arch": "light", "widths": "64-32", "activation": "ReLU", "formula": "", "lr": 0.01,
         "epochs": 7, "val_auc": 0.8},
        {"dataset": "D", "arch": "width", "widths": "8-4", "activation": "sin(x)", "formula": "sin(x)", "lr": 0.003,
         "epochs": 12, "val_auc": 0.7},
    ])
    specs = tuned_specs(budgets, seeds=(42, 43))
    assert [(s.arch, s.widths, s.activation, s.formula, s.seed, s.lr, s.epochs) for s in specs] == [
        ("light", (64, 32), "ReLU", "", 42, 0.01, 7),
        ("light", (64, 32), "ReLU", "", 43, 0.01, 7),
        ("width", (8, 4), "sin(x)", "sin(x)", 42, 0.003, 12),
        ("width", (8, 4), "sin(x)", "sin(x)", 43, 0.003, 12),
    ]
    assert {s.validation for s in specs} == {0.0}


def test_tune_and_train_runs_the_search_then_the_seeds_at_each_configurations_budget(tmp_path):
    data = {"SYNTHETIC": synthetic_dataset(n=300)}
    profile = replace(get_profile("quick"), tune_epochs=2, tune_lrs=(1e-3, 1e-1), tune_seeds=(42,))
    store = RunStore(tmp_path / "runs.csv")
    tuning, budgets, tuned = tune_and_train(CONFIGS, data, profile, seeds=(42, 43), store=store)
    assert len(tuning) >= 2 * 2 and set(tuning["validation"]) == {VALIDATION} and set(tuning["epochs"]) == {2}
    assert len(budgets) == 2 and len(tuned) == 2 * 2
    for budget in budgets.itertuples():
        # One tuning seed: the best budget is the highest validation AUC of any lr and epoch, and where it is.
        mine = tuning[tuning["activation"] == budget.activation]
        curves = {row.lr: [float(v) for v in row.val_auc.split(";")] for row in mine.itertuples()}
        best = max(max(curve) for curve in curves.values())
        assert budget.val_auc == pytest.approx(best, abs=1e-6)
        assert curves[budget.lr][budget.epochs - 1] == pytest.approx(best, abs=1e-6)
        runs = tuned[tuned["activation"] == budget.activation]
        assert runs["seed"].tolist() == [42, 43]
        assert set(runs["lr"]) == {budget.lr} and set(runs["epochs"]) == {budget.epochs}
        assert set(runs["validation"]) == {0.0} and (runs["status"] == "ok").all()
    stored = len(store.read())
    again = tune_and_train(CONFIGS, data, profile, seeds=(42, 43), store=store)
    assert len(store.read()) == stored  # read back, not trained again
    assert again[2]["auc"].tolist() == pytest.approx(tuned["auc"].tolist())


def test_tune_and_train_extends_the_learning_rates_past_every_edge_a_choice_lands_on(tmp_path):
    data = {"SYNTHETIC": synthetic_dataset(n=300)}
    # One learning rate only: every first choice is at both of its edges.
    profile = replace(get_profile("quick"), tune_epochs=8, tune_patience=3, tune_lrs=(1e-1,), tune_seeds=(42, 43))
    tuning, budgets, _ = tune_and_train(CONFIGS, data, profile, seeds=(42,), store=RunStore(tmp_path / "runs.csv"))
    assert not budgets["lr_edge"].any()
    for budget in budgets.itertuples():
        tried = sorted(set(tuning.loc[tuning["activation"] == budget.activation, "lr"]))
        assert len(tried) >= 3 and tried == [float(value) for value in budget.lrs.split(";")]
        assert all(next_lr(low, +1) == high for low, high in zip(tried, tried[1:]))  # neighbours on the ladder
        assert tried[0] < budget.lr < tried[-1]
    # Early stopping: no tuning curve runs more than its patience past its own best epoch (the curve is stored to
    # six decimals, so an AUC within 1e-6 of the best may have been the best), and some stop before the cap.
    lengths = []
    for text in tuning["val_auc"]:
        curve = [float(value) for value in text.split(";")]
        best = max(epoch for epoch, value in enumerate(curve) if value >= max(curve) - 1e-6)
        assert len(curve) - 1 - best <= 3
        lengths.append(len(curve))
    assert min(lengths) < 8


def test_validation_curves_give_one_row_per_run_and_epoch():
    rows = pd.DataFrame(tuning_rows("ReLU", {1e-3: ["0.70;0.75", ""], 1e-2: ["0.80;0.74"]}))
    curves = validation_curves(rows)
    assert list(curves.columns) == ["dataset", "activation", "lr", "seed", "epoch", "val_auc"]
    assert curves[["lr", "seed", "epoch"]].values.tolist() == [[1e-3, 42, 1], [1e-3, 42, 2], [1e-2, 42, 1],
                                                               [1e-2, 42, 2]]
    assert curves["val_auc"].tolist() == pytest.approx([0.70, 0.75, 0.80, 0.74])
    assert "config" in validation_curves(rows.assign(config="Light ReLU")).columns


def test_budgets_are_recorded_per_family_and_an_edge_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("NSLIB_DERIVED_DIR", str(tmp_path))
    rows = tuning_rows("ReLU", {1e-3: ["0.6;0.7;0.6"], 1e-2: ["0.7;0.8;0.7"], 1e-1: ["0.5;0.6;0.5"]})
    rows += tuning_rows("GELU", {1e-3: ["0.6;0.7;0.6"], 1e-2: ["0.7;0.9;0.7"]})
    budgets = choose_budgets(pd.DataFrame(rows), cap=3)
    assert edge_summary(budgets[:1]) == "1 budgets chosen, none at an edge of its search (learning rate or epochs)."
    assert edge_summary(budgets) == "2 budgets chosen, 1 at an edge of its search: D GELU (lr)."
    record("03", budgets)
    record("04", budgets[:1])
    record("03", budgets[1:])  # replaces 03's rows, keeps 04's
    table = pd.read_csv(tmp_path / BUDGETS_FILE, dtype={"family": str})
    assert table[["family", "activation"]].values.tolist() == [["04", "ReLU"], ["03", "GELU"]]
    assert table["at_edge"].tolist() == [False, True]


def test_the_readme_names_every_tuned_budget_at_an_edge_once(tmp_path):
    from nslib.core.paths import reference_dir
    from nslib.publish.readme_results import headline_markdown

    for name in ("claims.csv", "datasets.csv"):
        (tmp_path / name).write_bytes((reference_dir() / name).read_bytes())
    assert "Tuned budgets" not in headline_markdown(tmp_path)
    budgets = pd.DataFrame([
        # Forest Cover Light ReLU is tuned in two notebooks: one configuration, named once.
        {"family": "03", "dataset": "FC", "arch": "light", "widths": "64-32", "activation": "ReLU", "formula": "",
         "config": "Light ReLU", "at_edge": True},
        {"family": "04", "dataset": "FC", "arch": "light", "widths": "64-32", "activation": "ReLU", "formula": "",
         "config": "Light ReLU", "at_edge": True},
        {"family": "03", "dataset": "FC", "arch": "heavy", "widths": "200-100", "activation": "ReLU", "formula": "",
         "config": "Heavy ReLU", "at_edge": True},
        {"family": "03", "dataset": "SP", "arch": "light", "widths": "64-32", "activation": "GELU", "formula": "",
         "config": "Light GELU", "at_edge": False},
        # A configuration without a name (04's family of shapes) is named by its simplified formula.
        {"family": "04_shape_family", "dataset": "SP", "arch": "light", "widths": "64-32",
         "activation": "cos(mul(0.500, x))", "formula": "cos(mul(0.500, x))", "config": "", "at_edge": True},
    ])
    budgets.to_csv(tmp_path / BUDGETS_FILE, index=False)
    text = headline_markdown(tmp_path)
    assert "Tuned budgets (`tuned_budgets.csv`): 4 configurations, each chosen on 3 tuning seeds'" in text
    assert ": 3 at an edge, so a floor (FC: Light ReLU · Heavy ReLU; SP: cos(0.5*x))" in text
    budgets.assign(at_edge=False).to_csv(tmp_path / BUDGETS_FILE, index=False)
    assert "4 configurations" in headline_markdown(tmp_path) and ", none at an edge;" in headline_markdown(tmp_path)
