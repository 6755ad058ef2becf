"""Reference models on the same splits as the MLP runs."""

import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from nslib.baselines import BASELINES, baseline_table, fit_baseline
from nslib.data import Dataset
from synthetic import synthetic_dataset


def _separable(n: int = 600) -> Dataset:
    return synthetic_dataset("SYNTH", n=n, label=lambda X, noise: X[:, 0] + 0.5 * X[:, 1])


def test_logistic_regression_solves_a_linear_problem() -> None:
    row = fit_baseline(_separable(), "logistic regression", seed=42)
    assert row["acc"] > 0.95 and row["auc"] > 0.99


def test_a_baseline_is_fit_and_scored_on_the_seeds_split() -> None:
    # The reference: sklearn's own split (test_size 0.2, random_state = seed) and scaler fit on the training part.
    data = _separable()
    X_train, X_test, y_train, y_test = train_test_split(data.X, data.y, test_size=0.2, random_state=7)
    scaler = StandardScaler().fit(X_train)
    proba = LogisticRegression(max_iter=2000).fit(scaler.transform(X_train), y_train).predict_proba(
        scaler.transform(X_test))[:, 1]
    row = fit_baseline(data, "logistic regression", seed=7)
    assert row["auc"] == pytest.approx(roc_auc_score(y_test, proba))
    assert row["acc"] == pytest.approx(((proba > 0.5) == y_test).mean())


def test_table_has_one_row_per_data_set_model_and_seed() -> None:
    table = baseline_table({"SYNTH": _separable()}, seeds=(42, 43))
    assert len(table) == len(BASELINES) * 2
    assert set(table["model"]) == set(BASELINES)


def test_unknown_baseline_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="gradient boosting"):
        fit_baseline(_separable(), "random forest", seed=42)
