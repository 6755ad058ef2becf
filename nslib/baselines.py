"""What a practitioner would use instead of an MLP, on the very same splits.

Gradient boosting and logistic regression, each fit on the training part of
``split_and_scale(dataset, seed)`` and scored on its test part, so that their rows
sit beside the MLP runs seed for seed. Gradient boosting also gets the networks'
fairness (``tuned_boosting``): a small grid search on a validation split carved
from the training part, as ``nslib.tuning`` does for the networks.
"""

from __future__ import annotations

import time

import pandas as pd
from sklearn.base import ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import ParameterGrid, train_test_split
from threadpoolctl import threadpool_limits

from nslib.data import Dataset, split_and_scale
from nslib.progress import progress

BASELINES = {
    "gradient boosting": lambda seed: HistGradientBoostingClassifier(random_state=seed),
    "logistic regression": lambda seed: LogisticRegression(max_iter=2000),
}
TUNED_BOOSTING = "gradient boosting (tuned)"
BOOSTING_GRID = {"learning_rate": [0.05, 0.1, 0.2], "max_leaf_nodes": [15, 31, 63]}


def fit_baseline(dataset: Dataset, model: str, seed: int, classifier: ClassifierMixin | None = None) -> dict:
    """Fit one baseline (or ``classifier``, labelled ``model``) on the seed's training split; return its test row."""
    if classifier is None and model not in BASELINES:
        raise ValueError(f"baseline {model!r} is not known; use one of {sorted(BASELINES)}.")
    X_train, X_test, y_train, y_test = split_and_scale(dataset, seed)
    classifier = classifier if classifier is not None else BASELINES[model](seed)
    start = time.perf_counter()
    # One OpenMP thread: on shared cores scikit-learn's threads wait for each other (4-30x slower, measured).
    with threadpool_limits(1):
        classifier.fit(X_train, y_train)
    proba = classifier.predict_proba(X_test)[:, 1]
    return {
        "dataset": dataset.name,
        "model": model,
        "seed": seed,
        "acc": float(((proba > 0.5) == y_test).mean()),
        "auc": float(roc_auc_score(y_test, proba)),
        "seconds": time.perf_counter() - start,
    }


def baseline_table(datasets: dict[str, Dataset], seeds: tuple[int, ...]) -> pd.DataFrame:
    """Every baseline on every data set and seed, one row each."""
    jobs = [(data, model, seed) for data in datasets.values() for model in BASELINES for seed in seeds]
    return pd.DataFrame([fit_baseline(*job) for job in progress(jobs, desc="baselines")])


def tune_boosting(dataset: Dataset, seed: int = 42, validation: float = 0.2) -> dict:
    """The ``BOOSTING_GRID`` settings with the best validation ROC AUC on ``seed``'s split of ``dataset``.

    The validation rows are carved from the training part with
    ``train_test_split(random_state=seed)``, as the networks' are; the test
    part is not looked at.
    """
    X_train, _, y_train, _ = split_and_scale(dataset, seed)
    X_fit, X_val, y_fit, y_val = train_test_split(X_train, y_train, test_size=validation, random_state=seed)
    scores = []
    for settings in ParameterGrid(BOOSTING_GRID):
        with threadpool_limits(1):
            model = HistGradientBoostingClassifier(random_state=seed, **settings).fit(X_fit, y_fit)
        scores.append((roc_auc_score(y_val, model.predict_proba(X_val)[:, 1]), settings))
    auc, best = max(scores, key=lambda item: item[0])
    return {"dataset": dataset.name, **best, "val_auc": float(auc)}


def tuned_boosting(datasets: dict[str, Dataset], seeds: tuple[int, ...], tune_seed: int = 42) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Gradient boosting at its tuned settings (``tune_boosting``) on every data set and seed.

    Returns the chosen settings, one row per data set, and the test rows
    (model ``TUNED_BOOSTING``), in ``baseline_table``'s columns.
    """
    chosen = pd.DataFrame([tune_boosting(data, tune_seed) for data in progress(datasets.values(), desc="tuning boosting")])
    rows = []
    for data, settings in zip(datasets.values(), chosen.itertuples()):
        for seed in seeds:
            classifier = HistGradientBoostingClassifier(
                random_state=seed, learning_rate=settings.learning_rate, max_leaf_nodes=int(settings.max_leaf_nodes))
            rows.append(fit_baseline(data, TUNED_BOOSTING, seed, classifier))
    return chosen, pd.DataFrame(rows)
