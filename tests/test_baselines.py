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


def test_tuned_boosting_chooses_a_point_no_neighbour_beats_on_three_seeds_and_scores_each_seeds_test_split() -> None:
    data = _nonlinear()
    chosen, rows = tuned_boosting({"CURVED": data}, seeds=(42, 43))
    (settings,) = chosen.to_dict("records")
    assert 0.1 in [float(v) for v in settings["learning_rates"].split(";")]  # the walk starts at the defaults
    assert 31 in [int(v) for v in settings["leaf_counts"].split(";")]
    point = (settings["learning_rate"], settings["max_leaf_nodes"])
    rates = [0.003125, 0.00625, 0.0125, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8]
    leaves = [4, 7, 15, 31, 63, 127, 255, 511, 1023]
    i, j = rates.index(point[0]), leaves.index(point[1])
    around = [(rates[i + d], point[1]) for d in (-1, 1) if 0 <= i + d < len(rates)]
    around += [(point[0], leaves[j + d]) for d in (-1, 1) if 0 <= j + d < len(leaves)]
    scores = {p: np.mean([_validation_auc(data, seed, *p)[0] for seed in (42, 43, 44)]) for p in [point, *around]}
    assert settings["val_auc"] == pytest.approx(scores[point], abs=1e-6)
    assert all(scores[p] <= scores[point] + 1e-9 for p in around)  # no neighbour beats the choice
    assert max(scores.values()) - min(scores.values()) > 0.001  # the settings matter on this problem
    assert settings["at_edge"] == ""  # off both ladders' ends, and no fit ran to the iteration cap
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


def _walk_on(monkeypatch, auc, iterations=lambda rate, leaves: 100) -> tuple[dict, list[tuple]]:
    """``_choose`` on a made-up validation surface ``auc(rate, leaves)``: its row and the points it fit, in order."""
    fitted = []

    def fit_all(tasks, desc):
        rows = []
        for _, _, _, model, _ in tasks:
            point = (model.learning_rate, model.max_leaf_nodes)
            fitted.append(point)
            rows.append({"auc": auc(*point), "iterations": iterations(*point)})
        return rows

    monkeypatch.setattr(nslib.experiments.baselines, "_fit_all", fit_all)
    return nslib.experiments.baselines._choose(_separable(), (42, 43, 44)), list(dict.fromkeys(fitted))


def test_the_walk_climbs_from_the_defaults_to_the_peak_and_tries_its_neighbours(monkeypatch) -> None:
    peak = lambda rate, leaves: -abs(np.log2(rate / 0.025)) - abs(np.log2((leaves + 1) / 256))  # noqa: E731
    settings, fitted = _walk_on(monkeypatch, peak)
    assert (settings["learning_rate"], settings["max_leaf_nodes"]) == (0.025, 255)
    assert settings["at_edge"] == "" and settings["val_auc"] == 0.0
    # One step at a time: the start, then each best point's untried neighbours, lower first.
    assert fitted[:5] == [(0.1, 31), (0.05, 31), (0.2, 31), (0.1, 15), (0.1, 63)]
    assert {(0.0125, 255), (0.05, 255), (0.025, 127), (0.025, 511)} <= set(fitted)
    assert settings["points"] == len(fitted) < 81  # far fewer than the ladders' 81 points
    assert settings["learning_rates"] == ";".join(map(str, sorted({rate for rate, _ in fitted})))


def test_the_walk_names_a_ladder_end_and_the_iteration_cap_as_edges(monkeypatch) -> None:
    settings, _ = _walk_on(monkeypatch, lambda rate, leaves: rate - 1 / leaves, lambda rate, leaves: 2000)
    assert (settings["learning_rate"], settings["max_leaf_nodes"]) == (0.8, 1023)
    assert settings["at_edge"] == "learning_rate;max_leaf_nodes;max_iter"


def test_the_walk_keeps_the_first_of_equal_points(monkeypatch) -> None:
    settings, fitted = _walk_on(monkeypatch, lambda rate, leaves: 0.5)
    assert (settings["learning_rate"], settings["max_leaf_nodes"]) == (0.1, 31)
    assert fitted == [(0.1, 31), (0.05, 31), (0.2, 31), (0.1, 15), (0.1, 63)]


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
