"""What a practitioner would use instead of an MLP, on the very same splits.

Gradient boosting and logistic regression, each fit on the training part of
``split_and_scale(dataset, seed)`` and scored on its test part, so that their rows
sit beside the MLP runs seed for seed.
"""

from __future__ import annotations

import time

import pandas as pd
from sklearn.base import ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from nslib.data import Dataset, split_and_scale
from nslib.progress import progress

BASELINES = {
    "gradient boosting": lambda seed: HistGradientBoostingClassifier(random_state=seed),
    "logistic regression": lambda seed: LogisticRegression(max_iter=2000),
}


def fit_baseline(dataset: Dataset, model: str, seed: int) -> dict:
    """Fit one baseline on the seed's training split; return its test metrics as a row."""
    if model not in BASELINES:
        raise ValueError(f"baseline {model!r} is not known; use one of {sorted(BASELINES)}.")
    X_train, X_test, y_train, y_test = split_and_scale(dataset, seed)
    classifier: ClassifierMixin = BASELINES[model](seed)
    start = time.perf_counter()
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
