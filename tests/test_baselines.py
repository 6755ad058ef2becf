"""Reference models on the same splits as the MLP runs."""

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from synthetic import synthetic_dataset
from threadpoolctl import threadpool_limits

import nslib.experiments.baselines
from nslib.data.catalog import Dataset
from nslib.experiments.baselines import (
    BASELINES,
    TUNED_BOOSTING,
    baseline_table,
    tuned_boosting,
)


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    """Each test's fits are cached in a folder of its own, so nothing is read back from another test."""
    monkeypatch.setenv("NSLIB_DERIVED_DIR", str(tmp_path))


def _separable(n: int = 600) -> Dataset:
    return synthetic_dataset("SYNTH", n=n, label=lambda X, noise: X[:, 0] + 0.5 * X[:, 1])


def _logistic(data: Dataset, seed: int) -> dict:
    """The logistic regression row of ``baseline_table`` for one seed."""
    table = baseline_table({data.name: data}, seeds=(seed,))
    (row,) = table[table["model"] == "logistic regression"].to_dict("records")
    return row


def test_logistic_regression_solves_a_linear_problem() -> None:
    row = _logistic(_separable(), seed=42)
    assert row["acc"] > 0.95 and row["auc"] > 0.99


def _nonlinear(n: int = 800) -> Dataset:
    """A problem with an interaction and a wave, where boosting's settings make a difference."""
    return synthetic_dataset(
        "CURVED", n=n, seed=3, label=lambda X, noise: X[:, 0] * X[:, 1] + np.sin(2 * X[:, 2]) + 0.3 * noise
    )


def _split(data: Dataset, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The reference: sklearn's own split (test_size 0.2, random_state = seed), a scaler fit on the training part."""
    X_train, X_test, y_train, y_test = train_test_split(data.X.astype(np.float64), data.y, test_size=0.2,
                                                        random_state=seed)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def test_a_baseline_is_fit_and_scored_on_the_seeds_split() -> None:
    data = _separable()
    X_train, X_test, y_train, y_test = train_test_split(data.X, data.y, test_size=0.2, random_state=7)
    scaler = StandardScaler().fit(X_train)
    proba = LogisticRegression(max_iter=2000).fit(scaler.transform(X_train), y_train).predict_proba(
        scaler.transform(X_test))[:, 1]
    row = _logistic(data, seed=7)
    assert row["auc"] == pytest.approx(roc_auc_score(y_test, proba))
    assert row["acc"] == pytest.approx(((proba > 0.5) == y_test).mean())


def test_table_has_one_row_per_data_set_model_and_seed() -> None:
    table = baseline_table({"SYNTH": _separable()}, seeds=(42, 43))
    assert len(table) == len(BASELINES) * 2
    assert set(table["model"]) == set(BASELINES)


def _validation_auc(data: Dataset, seed: int, learning_rate: float, leaves: int) -> tuple[float, int]:
    """Our own fit: one grid point's validation AUC and iterations on a split carved from seed's training part."""
    X_train, _, y_train, _ = _split(data, seed)
    X_fit, X_val, y_fit, y_val = train_test_split(X_train, y_train, test_size=0.2, random_state=seed)
    with threadpool_limits(1):  # OpenMP threads on busy cores wait for each other
        model = HistGradientBoostingClassifier(learning_rate=learning_rate, max_leaf_nodes=leaves, max_iter=2000,
                                               early_stopping=True, random_state=seed).fit(X_fit, y_fit)
    return roc_auc_score(y_val, model.predict_proba(X_val)[:, 1]), model.n_iter_


def test_tuned_boosting_chooses_on_three_seeds_past_every_edge_and_scores_each_seeds_test_split() -> None:
    data = _nonlinear()
    chosen, rows = tuned_boosting({"CURVED": data}, seeds=(42, 43))
    (settings,) = chosen.to_dict("records")
    rates = [float(v) for v in settings["learning_rates"].split(";")]
    leaves = [int(v) for v in settings["leaf_counts"].split(";")]
    assert {0.05, 0.1, 0.2} <= set(rates) and {15, 31, 63} <= set(leaves)  # the starting grid, perhaps grown
    scores = {(rate, leaf): np.mean([_validation_auc(data, seed, rate, leaf)[0] for seed in (42, 43, 44)])
              for rate in rates for leaf in leaves}
    assert max(scores.values()) - min(scores.values()) > 0.005  # the grid matters on this problem
    assert settings["val_auc"] == pytest.approx(max(scores.values()), abs=1e-6)
    # Grid points can tie (few rows leave trees equal): the chosen one must reach the best score.
    assert scores[settings["learning_rate"], settings["max_leaf_nodes"]] == pytest.approx(max(scores.values()), abs=1e-6)
    # Off every edge, or at the end of its ladder and named.
    for name, tried, ladder in (("learning_rate", rates, [0.0125, 0.8]), ("max_leaf_nodes", leaves, [4, 255])):
        at_end = settings[name] in (tried[0], tried[-1])
        assert not at_end or (settings[name] in ladder and name in settings["at_edge"])
    assert settings["iterations"] < 2000
    assert rows["model"].tolist() == [TUNED_BOOSTING] * 2 and rows["seed"].tolist() == [42, 43]
    for row in rows.itertuples():
        X_train, X_test, y_train, y_test = _split(data, row.seed)
        model = HistGradientBoostingClassifier(learning_rate=settings["learning_rate"], max_iter=2000,
                                               early_stopping=True, max_leaf_nodes=settings["max_leaf_nodes"],
                                               random_state=row.seed)
        with threadpool_limits(1):
            proba = model.fit(X_train, y_train).predict_proba(X_test)[:, 1]
        assert row.auc == pytest.approx(roc_auc_score(y_test, proba), abs=1e-6)
        assert row.acc == pytest.approx(((proba > 0.5) == y_test).mean())
        assert row.iterations == model.n_iter_


def test_the_boosting_grid_grows_past_an_edge_the_choice_lands_on() -> None:
    grown = nslib.experiments.baselines._beyond_edges(
        {"learning_rate": [0.05, 0.1, 0.2], "max_leaf_nodes": [15, 31, 63]}, {"learning_rate": 0.2, "max_leaf_nodes": 15})
    assert grown == {"learning_rate": [0.05, 0.1, 0.2, 0.4], "max_leaf_nodes": [7, 15, 31, 63]}
    inside = {"learning_rate": [0.05, 0.1, 0.2], "max_leaf_nodes": [15, 31, 63]}
    assert nslib.experiments.baselines._beyond_edges(inside, {"learning_rate": 0.1, "max_leaf_nodes": 31}) == inside
    end = {"learning_rate": [0.4, 0.8], "max_leaf_nodes": [127, 255]}  # the ladders end here
    assert nslib.experiments.baselines._beyond_edges(end, {"learning_rate": 0.8, "max_leaf_nodes": 255}) == {
        "learning_rate": [0.4, 0.8], "max_leaf_nodes": [127, 255]}


def test_a_fit_is_read_back_for_the_same_data_and_code_and_fit_again_otherwise(monkeypatch) -> None:
    monkeypatch.setenv("NSLIB_JOBS", "1")  # fits in this process, where they are counted
    fits = []
    scores = nslib.experiments.baselines._scores
    monkeypatch.setattr(nslib.experiments.baselines, "_scores", lambda *args: fits.append(args[1]) or scores(*args))
    data = _separable()
    first = _logistic(data, seed=7)
    assert _logistic(_separable(), seed=7) == first  # equal data, a new object
    assert fits == [7, 7]  # one fit per baseline
    _logistic(data, seed=8)
    _logistic(_separable(n=500), seed=7)  # other data
    monkeypatch.setattr(nslib.experiments.baselines, "BASELINE_CODE_VERSION", "changed")
    again = _logistic(data, seed=7)
    assert fits == [7, 7] + [8, 8] + [7, 7] + [7, 7]
    assert {key: value for key, value in again.items() if key != "seconds"} == {
        key: value for key, value in first.items() if key != "seconds"}


def test_parallel_fits_equal_fits_in_this_process(monkeypatch) -> None:
    data = _nonlinear()
    monkeypatch.setenv("NSLIB_JOBS", "2")
    parallel = tuned_boosting({"CURVED": data}, seeds=(42, 43))
    monkeypatch.setenv("NSLIB_JOBS", "1")
    monkeypatch.setattr(nslib.experiments.baselines, "BASELINE_CODE_VERSION", "in this process")  # nothing read back
    here = tuned_boosting({"CURVED": data}, seeds=(42, 43))
    pd.testing.assert_frame_equal(parallel[0], here[0])
    pd.testing.assert_frame_equal(parallel[1].drop(columns="seconds"), here[1].drop(columns="seconds"))


def test_a_table_whose_fits_are_all_cached_sends_no_work_to_the_workers(monkeypatch) -> None:
    data = {"SYNTH": _separable()}
    first = baseline_table(data, seeds=(42, 43))
    sent = []
    real = nslib.core.parallel.map_unordered
    monkeypatch.setattr(nslib.experiments.baselines, "map_unordered",
                        lambda function, tasks, executor: sent.extend(tasks) or real(function, tasks, executor))
    pd.testing.assert_frame_equal(baseline_table(data, seeds=(42, 43)), first)
    assert sent == []
    baseline_table(data, seeds=(42, 44))
    assert sorted(task[2] for _, task, _ in sent) == [44, 44]  # one fit per baseline for the new seed only
