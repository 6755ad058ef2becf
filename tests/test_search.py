"""The activation search of notebook 06: its grammar, bookkeeping, elitism and scores."""

from __future__ import annotations

import math
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from synthetic import synthetic_dataset

from nslib.engine.grid import run_grid
from nslib.engine.reference import trained_network
from nslib.engine.runstore import RunStore
from nslib.engine.specs import make_spec
from nslib.experiments import search as search_module
from nslib.experiments.search import (
    BUDGETS,
    INIT_DEPTH,
    MAX_DEPTH,
    SearchBudget,
    best,
    budget_for,
    plot_search,
    score,
    search,
)
from nslib.formulas.parser import parse

PAPER_OPERATORS = {"add", "sub", "mul", "sin", "cos", "abs"}
GRID = np.linspace(-3, 3, 61) + 0.0123  # off the integers, where few formulas coincide by accident
TINY = dict(epochs=1, lr=1e-2)


@pytest.fixture(scope="module")
def data():
    return synthetic_dataset(n=400)


def fake_score(dataset, activations, **settings) -> pd.DataFrame:
    """Scores without training: a formula's node count / 100, so that the search prefers larger formulas."""
    return pd.DataFrame({
        "activation": activations, "val_auc": [parse(a).size / 100 for a in activations],
        "n_ok": 1, "status": "ok", "reason": "",
    })


@pytest.fixture
def recorded(monkeypatch) -> list[list]:
    """Every spec list the search hands to run_grid, one entry per call; training runs for real."""
    calls: list[list] = []

    def recording(specs, datasets, **kwargs):
        specs = list(specs)
        calls.append(specs)
        return run_grid(specs, datasets, **kwargs)

    monkeypatch.setattr(search_module, "run_grid", recording)
    return calls


def members(table: pd.DataFrame, generation: int) -> pd.DataFrame:
    """The candidates that were in the population of ``generation``."""
    trained = table[table["status"] != "constant"]
    return trained[(trained["generation"] <= generation) & (trained["last_generation"] >= generation)]


# ------------------------------------------------------------------ the grammar


def test_candidates_use_only_the_papers_operators_constants_and_depth_limits(data, monkeypatch):
    monkeypatch.setattr(search_module, "score", fake_score)
    table = search(data, population=40, generations=4, elite=4, random_state=1, progress=False, **TINY)
    formulas = [parse(formula) for formula in table["formula"]]
    assert set().union(*(formula.operators for formula in formulas)) == PAPER_OPERATORS
    assert all(formula.variables in (("x",), ()) for formula in formulas)
    constants = [float(text) for formula in table["formula"] for text in re.findall(r"-?\d+\.\d+", formula)]
    assert constants and all(-1 <= value <= 1 for value in constants)
    depths = pd.Series([formula.depth for formula in formulas], index=table.index)
    first = depths[table["generation"] == 0]
    assert first.between(*INIT_DEPTH).all() and set(first) == set(range(INIT_DEPTH[0], INIT_DEPTH[1] + 1))
    assert depths.max() <= MAX_DEPTH
    # The fake score prefers larger formulas, so bred ones go deeper than generation 0 could.
    assert depths.max() > INIT_DEPTH[1]


def test_constant_formulas_are_listed_but_never_trained(data, recorded):
    table = search(data, population=12, generations=2, elite=2, random_state=3, progress=False, **TINY)
    constant = table[table["status"] == "constant"]
    assert len(constant) > 0
    for formula in constant["formula"]:
        values = parse(formula).evaluate(GRID)
        assert np.ptp(values) < 1e-9, formula
    assert constant["val_auc"].isna().all() and (constant["n_ok"] == 0).all()
    assert constant["last_generation"].isna().all()
    trained = {spec.formula for call in recorded for spec in call}
    assert trained.isdisjoint(constant["formula"])
    for formula in table.loc[table["status"] != "constant", "formula"]:
        assert np.ptp(parse(formula).evaluate(GRID)) > 0, formula


# ------------------------------------------------------------------ the loop


def test_the_same_random_state_gives_the_same_table_and_another_a_different_one(data):
    settings = dict(population=6, generations=2, elite=2, progress=False, **TINY)
    np.random.seed(1)  # numpy's global generator must play no part
    first = search(data, random_state=5, **settings)
    np.random.seed(2)
    pd.testing.assert_frame_equal(first, search(data, random_state=5, **settings))
    assert list(search(data, random_state=6, **settings)["formula"]) != list(first["formula"])


def test_each_generation_is_one_grid_and_no_function_is_trained_twice(data, recorded):
    table = search(data, population=8, generations=3, elite=3, seeds=(42, 43), random_state=2, progress=False,
                   **TINY)
    assert len(recorded) == 3
    # 8 new candidates in generation 0, then 8 - 3 each, every one with both seeds
    assert [len(call) for call in recorded] == [16, 10, 10]
    keys = [spec.key for call in recorded for spec in call]
    assert len(keys) == len(set(keys))
    formulas = sorted({spec.formula for call in recorded for spec in call})
    assert formulas == sorted(table.loc[table["status"] != "constant", "formula"])
    # Different texts of one function (cos(abs(x)) and cos(x)) would share their values.
    values = {tuple(np.round(parse(formula).evaluate(GRID), 9)) for formula in formulas}
    assert len(values) == len(formulas)


def test_a_search_trains_the_budgets_number_of_candidates(data, monkeypatch):
    monkeypatch.setattr(search_module, "score", fake_score)
    budget = SearchBudget(population=5, generations=3, elite=2, seeds=(42,), epochs=1, lr=1e-2)
    table = search(data, population=budget.population, generations=budget.generations, elite=budget.elite,
                   seeds=budget.seeds, epochs=budget.epochs, lr=budget.lr, random_state=0, progress=False)
    assert budget.candidates == 5 + 3 + 3
    assert (table["status"] != "constant").sum() == budget.candidates


def test_elitism_keeps_the_best_candidate_so_far_in_every_generation(data):
    table = search(data, population=6, generations=4, elite=2, random_state=4, progress=False, **TINY)
    bests = []
    for generation in range(4):
        population = members(table, generation)
        assert len(population) == 6
        bests.append(population["val_auc"].max())
        so_far = table[(table["generation"] <= generation) & (table["status"] == "ok")]
        assert population["val_auc"].max() == so_far["val_auc"].max()
    assert bests == sorted(bests)
    assert all(members(table, generation)["generation"].eq(generation).sum() == 4 for generation in (1, 2, 3))


def test_a_failed_candidate_stays_in_the_table_with_its_reason_and_is_never_an_elite(data, monkeypatch):
    def failing_score(dataset, activations, **settings):
        scores = fake_score(dataset, activations)
        largest = scores["val_auc"].idxmax()
        scores.loc[largest, ["val_auc", "status", "reason"]] = [math.nan, "failed", "the loss became NaN"]
        return scores

    monkeypatch.setattr(search_module, "score", failing_score)
    table = search(data, population=6, generations=3, elite=2, random_state=0, progress=False, **TINY)
    failed = table[table["status"] == "failed"]
    assert len(failed) == 3  # one per generation
    assert (failed["reason"] == "the loss became NaN").all() and failed["val_auc"].isna().all()
    # A failed candidate leaves with its own generation: the elites are the best that did train.
    assert (failed["last_generation"] == failed["generation"]).all()


def test_score_averages_the_last_validation_auc_over_seeds_as_the_reference_loop_computes_it(data):
    table = score(data, ["relu", "sin(x)"], seeds=(42, 43), epochs=2, lr=1e-2)
    assert list(table["activation"]) == ["relu", "sin(x)"]
    for activation, value in zip(table["activation"], table["val_auc"]):
        rows = [trained_network(data, "light", activation, seed, epochs=2, lr=1e-2, validation=0.2)[0]
                for seed in (42, 43)]
        last = [float(row["val_auc"].split(";")[-1]) for row in rows]
        assert value == pytest.approx(np.mean(last), abs=2e-3)
    assert list(table["n_ok"]) == [2, 2] and list(table["status"]) == ["ok", "ok"]


def test_score_trains_with_the_screen_engine_and_a_grid_records_the_engine_it_was_asked_for(data, tmp_path):
    store = RunStore(tmp_path / "runs.csv")
    score(data, ["sin(x)"], seeds=(42,), epochs=1, lr=1e-2, store=store)
    assert search_module.SCREEN_ENGINE == "torch"
    assert store.read()["device"].tolist() == ["cpu (torch engine)"]
    spec = make_spec(data.name, "light", "sin(x)", 43, epochs=1)
    assert run_grid([spec], {data.name: data}, progress=False)["device"].tolist() == ["cpu (compiled engine)"]
    assert run_grid([spec], {data.name: data}, progress=False, engine_name="torch")["device"].tolist() == [
        "cpu (torch engine)"]


def test_score_marks_an_overflowing_activation_failed_with_the_reason(data):
    table = score(data, ["relu", "mul(1e30, mul(1e30, x))"], seeds=(42,), epochs=1, lr=1e-2)
    failed = table.iloc[1]
    assert failed["status"] == "failed" and math.isnan(failed["val_auc"]) and failed["n_ok"] == 0
    assert "NaN or infinite" in failed["reason"]
    assert table.iloc[0]["status"] == "ok"


# ------------------------------------------------------------------ results and settings


def test_best_ranks_trained_candidates_and_leaves_out_failed_and_constant_ones():
    table = pd.DataFrame({
        "formula": ["sin(x)", "cos(x)", "sub(x, x)", "abs(x)", "x"],
        "val_auc": [0.7, 0.9, math.nan, 0.8, math.nan],
        "status": ["ok", "ok", "constant", "ok", "failed"],
    })
    assert list(best(table, 2)["formula"]) == ["cos(x)", "abs(x)"]
    assert list(best(table, 10)["formula"]) == ["cos(x)", "abs(x)", "sin(x)"]
    with pytest.raises(ValueError, match="lacks the columns"):
        best(table.drop(columns="status"))


def test_plot_search_draws_the_references_and_counts_the_failures():
    table = pd.DataFrame({
        "dataset": "D", "generation": [0, 0, 1, 1], "val_auc": [0.6, 0.7, 0.75, math.nan],
        "status": ["ok", "ok", "ok", "failed"],
    })
    fig = plot_search(table, {"ReLU": 0.72, "x": 0.65})
    ax = fig.axes[0]
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels == ["candidate", "best so far", "ReLU (0.720)", "x (0.650)"]
    assert ax.get_title() == "D: 4 candidates; 1 failed, not shown"
    plt.close(fig)
    with pytest.raises(ValueError, match="plot one at a time"):
        plot_search(pd.concat([table, table.assign(dataset="E")]), {})


def test_the_full_budget_trains_at_least_200_candidates_and_unknown_profiles_are_refused():
    assert BUDGETS["full"].candidates >= 200
    assert BUDGETS["quick"].candidates < 20
    assert budget_for("quick") is BUDGETS["quick"]
    with pytest.raises(ValueError, match="no search budget"):
        budget_for("huge")


def test_search_refuses_an_elite_as_large_as_the_population(data):
    with pytest.raises(ValueError, match="elite=4"):
        search(data, population=4, generations=2, elite=4, random_state=0, progress=False, **TINY)
