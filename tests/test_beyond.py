"""Notebook 06's tables: every model's role, the searched activation's claims, the closing table and the costs."""

import math

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from nslib.engine.runstore import as_table
from nslib.experiments.beyond import (
    KAN,
    SEARCHED,
    closing_table,
    cost_per_run,
    plot_auc_vs_params,
    search_claims,
    with_beyond_roles,
)
from nslib.stats.register import judge_family

GP = {"HIGGS": "sub(cos(x), cos(abs(cos(x))))", "SPAMBASE": "cos(x)"}
T_975_2 = 4.302652729749464  # Student's t, 97.5% quantile, 2 degrees of freedom (printed tables: 4.303)


def _run(dataset, arch, activation, formula="", seed=42, auc=0.8, acc=0.7, params=4161, seconds=1.0, status="ok"):
    return {"key": f"{dataset}|{arch}|{activation}|{formula}|{seed}", "dataset": dataset, "arch": arch,
            "activation": activation, "formula": formula, "seed": seed, "auc": auc, "acc": acc, "params": params,
            "seconds": seconds, "status": status}


def test_roles_name_the_grid_kan_the_references_and_the_searched_formula() -> None:
    runs = as_table([
        _run("HIGGS", "heavy", "ReLU", params=26601),
        _run("HIGGS", "light", "ReLU"),
        _run("HIGGS", "light", "Rational"),
        _run("HIGGS", "light", "sub(cos(x), cos(abs(cos(x))))", "sub(cos(x), cos(abs(cos(x))))"),
        _run("HIGGS", "light", "cos(x)", "cos(x)"),  # SPAMBASE's GP formula, but a reference on HIGGS
        _run("HIGGS", "light", "x", "x"),
        _run("HIGGS", "light", "mul(x, sin(x))", "mul(x,sin(x))"),  # spacing differs from the searched text
        _run("HIGGS", "kan", "KAN", params=4060),
        _run("SPAMBASE", "light", "cos(x)", "cos(x)"),  # SPAMBASE's own formula, and its searched one
    ])
    named = with_beyond_roles(runs, GP, {"HIGGS": "mul(x, sin(x))", "SPAMBASE": "cos(x)"})
    assert named["config"].tolist() == [
        "Heavy ReLU", "Light ReLU", "Light Rational", "Specialist", "cos(x)", "x", SEARCHED, KAN, SEARCHED,
    ]
    assert named.drop(columns="config").equals(runs)


def test_searched_claims_leave_out_a_reference_that_is_the_searched_formula_itself() -> None:
    claims = search_claims({"HIGGS": "mul(x, sin(x))", "SPAMBASE": "cos(x)"}, GP)
    assert [(c.dataset, c.worse) for c in claims] == [
        ("HIGGS", "Light ReLU"), ("HIGGS", "Light GELU"), ("HIGGS", "Specialist"), ("HIGGS", "cos(x)"), ("HIGGS", "x"),
        ("SPAMBASE", "Light ReLU"), ("SPAMBASE", "Light GELU"), ("SPAMBASE", "x"),
    ]
    assert {c.better for c in claims} == {SEARCHED} and all(c.kind == "own question" for c in claims)
    assert claims[0].id == "06-HIGGS-searched-vs-light-relu" and claims[3].id == "06-HIGGS-searched-vs-cosx"
    assert len({c.id for c in claims}) == len(claims)


def test_searched_claims_need_every_data_sets_gp_formula() -> None:
    with pytest.raises(ValueError, match=r"no GP formula for \['FOREST_COVER'\]"):
        search_claims({"FOREST_COVER": "x"}, GP)


def test_searched_claims_are_judged_on_labelled_runs() -> None:
    seeds = range(42, 52)
    rows = []
    for seed in seeds:
        bump = 0.001 * (seed - 42)
        rows += [_run("HIGGS", "light", "ReLU", seed=seed, auc=0.70 + bump),
                 _run("HIGGS", "light", "GELU", seed=seed, auc=0.70 + bump),
                 _run("HIGGS", "light", GP["HIGGS"], GP["HIGGS"], seed=seed, auc=0.60 + bump),
                 _run("HIGGS", "light", "cos(x)", "cos(x)", seed=seed, auc=0.65 + bump),
                 _run("HIGGS", "light", "x", "x", seed=seed, auc=0.68 + bump),
                 _run("HIGGS", "light", "mul(x, sin(x))", "mul(x, sin(x))", seed=seed,
                      auc=0.75 + bump + 0.002 * (seed % 2))]
    searched = {"HIGGS": "mul(x, sin(x))"}
    runs = with_beyond_roles(as_table(rows), GP, searched)
    judged = judge_family(search_claims(searched, GP), runs, {"HIGGS": 20_000})
    # The searched activation leads every seed by 0.05 or more (0.002 more on odd seeds), so every claim holds.
    assert judged["mean"].round(6).tolist() == [0.051, 0.051, 0.151, 0.101, 0.071]
    assert set(judged["verdict"]) == {"holds"}


def test_closing_table_gives_means_and_student_t_intervals_and_leaves_trees_without_parameters() -> None:
    runs = as_table([_run("HIGGS", "light", "ReLU", seed=s, auc=a, acc=c)
                     for s, a, c in ((42, 0.7, 0.6), (43, 0.8, 0.6), (44, 0.9, 0.9))]
                    + [_run("HIGGS", "light", "ReLU", seed=45, auc=0.1, status="failed")]
                    + [_run("HIGGS", "kan", "KAN", seed=s, auc=0.85, params=4060) for s in (42, 43)])
    boosting = pd.DataFrame([
        {"dataset": "HIGGS", "model": model, "seed": seed, "acc": 0.7, "auc": auc}
        for model, auc in (("gradient boosting", 0.8), ("logistic regression", 0.6)) for seed in (42, 43)])
    table = closing_table(with_beyond_roles(runs, GP, {}), boosting)
    assert table["model"].tolist() == ["Light ReLU", KAN, "gradient boosting"]
    relu = table.iloc[0]
    half = T_975_2 * 0.1 / math.sqrt(3)  # AUCs 0.7, 0.8, 0.9: std 0.1; the failed run is left out
    assert relu["n"] == 3 and relu["params"] == 4161
    assert relu["auc_mean"] == pytest.approx(0.8)
    assert (relu["auc_low"], relu["auc_high"]) == pytest.approx((0.8 - half, 0.8 + half))
    half_acc = T_975_2 * math.sqrt(0.03) / math.sqrt(3)  # accuracies 0.6, 0.6, 0.9: variance 0.03
    assert (relu["acc_low"], relu["acc_high"]) == pytest.approx((0.7 - half_acc, 0.7 + half_acc))
    assert pd.isna(table.iloc[2]["params"]) and table.iloc[2]["auc_mean"] == pytest.approx(0.8)


def test_closing_table_needs_labelled_runs() -> None:
    with pytest.raises(ValueError, match="with_beyond_roles"):
        closing_table(as_table([_run("HIGGS", "light", "ReLU")]), pd.DataFrame(columns=["dataset", "model"]))


def test_cost_per_run_compares_mean_seconds_with_the_reference() -> None:
    runs = as_table([_run("HIGGS", "kan", "KAN", seed=42, seconds=1.0), _run("HIGGS", "kan", "KAN", seed=43, seconds=3.0),
                     _run("HIGGS", "light", "ReLU", seconds=0.5),
                     _run("HIGGS", "light", "ReLU", seed=43, seconds=99.0, status="failed")])
    cost = cost_per_run(with_beyond_roles(runs, GP, {}))
    assert cost.columns.tolist() == ["dataset", KAN, "Light ReLU", "KAN / Light ReLU"]
    assert cost.iloc[0].tolist() == ["HIGGS", 2.0, 0.5, 4.0]
    with pytest.raises(ValueError, match=r"no finished runs of \['Light GELU'\]"):
        cost_per_run(with_beyond_roles(runs, GP, {}), [KAN, "Light GELU"])


def test_auc_against_parameters_draws_one_log_scaled_panel_per_data_set() -> None:
    runs = as_table([_run(name, "light", "ReLU", seed=s, auc=0.8 + 0.01 * s) for name in ("HIGGS", "SPAMBASE")
                     for s in (1, 2)])
    boosting = pd.DataFrame([{"dataset": "SPAMBASE", "model": "gradient boosting", "seed": s, "acc": 0.9, "auc": 0.95}
                             for s in (1, 2)])
    fig = plot_auc_vs_params(closing_table(with_beyond_roles(runs, GP, {}), boosting))
    axes = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in axes] == ["HIGGS", "SPAMBASE"]
    assert all(ax.get_xscale() == "log" for ax in axes)
    assert axes[1].lines[-1].get_ydata()[0] == pytest.approx(0.95)  # boosting: a line at its mean AUC
    plt.close(fig)
