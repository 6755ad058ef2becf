"""What a practitioner would use instead of an MLP, on the very same splits.

Gradient boosting and logistic regression, each fit on the training part of
``split_and_scale(dataset, seed)`` and scored on its test part, beside the MLP runs
seed for seed. Gradient boosting is also tuned as the networks are
(``tuned_boosting``): its learning rate and leaf count chosen on the validation splits
of several seeds by a walk along two ladders that ends where no neighbour scores
more, each fit stopping early on its own held-out part, with an iteration cap it
never reaches.

The fits run on all local cores (``NSLIB_JOBS`` sets how many), each on one OpenMP
thread. Each fit's row is cached in ``derived_dir()/cache``, keyed by the data's
fingerprint, the data set's name, the model and its settings, the seed,
``BASELINE_CODE_VERSION`` and scikit-learn's version, so notebook 06 reads back the
fits notebook 05 made. Logistic regression's lbfgs rounds differently with the
arrays' memory alignment, so its scores can move in the fourth digit between a
worker process and this one; gradient boosting's do not.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
from joblib import Memory
from sklearn.base import ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from nslib.core.parallel import local_executor, map_unordered
from nslib.core.paths import derived_dir
from nslib.core.progress import SummaryBar, progress
from nslib.core.repro import data_fingerprint
from nslib.data.catalog import Dataset
from nslib.data.datasets import split_and_scale

BASELINES = {
    "gradient boosting": lambda seed: HistGradientBoostingClassifier(random_state=seed),
    "logistic regression": lambda seed: LogisticRegression(max_iter=2000),
}
TUNED_BOOSTING = "gradient boosting (tuned)"
# The tuning walks from scikit-learn's defaults along these ladders, one step at a time (``tuned_boosting``).
BOOSTING_START = {"learning_rate": 0.1, "max_leaf_nodes": 31}
BOOSTING_LADDERS = {"learning_rate": [0.003125, 0.00625, 0.0125, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8],
                    "max_leaf_nodes": [4, 7, 15, 31, 63, 127, 255, 511, 1023]}
# Every tuned fit stops early (10 rounds without a better loss on 10% of its rows held out); the cap is an edge.
BOOSTING_ITERATIONS = 2000
BOOSTING_TUNE_SEEDS = (42, 43, 44)
# Bump with any change that alters a baseline's numbers: cached fits of another version are then fit again.
BASELINE_CODE_VERSION = "2"


def _scores(dataset: Dataset, seed: int, classifier: ClassifierMixin, validation: float | None) -> tuple:
    """Fit ``classifier`` on ``seed``'s training split; return (probabilities, labels, fit seconds).

    With ``validation``, it is fit on the training part less a validation split carved with
    ``train_test_split(random_state=seed)``, as the networks' is, and scored there, not on the test part.
    """
    X_train, X_test, y_train, y_test = split_and_scale(dataset, seed)
    if validation is not None:
        X_train, X_test, y_train, y_test = train_test_split(X_train, y_train, test_size=validation, random_state=seed)
    start = time.perf_counter()
    # One OpenMP thread: on shared cores scikit-learn's threads wait for each other (4-30x slower, measured).
    with threadpool_limits(1):
        classifier.fit(X_train, y_train)
    return classifier.predict_proba(X_test)[:, 1], y_test, time.perf_counter() - start


def _fit(dataset: Dataset, name: str, fingerprint: str, model: str, seed: int, classifier: ClassifierMixin,
         validation: float | None, code_version: tuple[str, str]) -> dict:
    """One fit's row; ``name``, ``fingerprint`` and ``code_version`` are the cache key's, ``dataset`` is not."""
    proba, y, seconds = _scores(dataset, seed, classifier, validation)
    row = {"dataset": name, "model": model, "seed": seed, "acc": float(((proba > 0.5) == y).mean()),
           "auc": float(roc_auc_score(y, proba)), "seconds": seconds}
    if model == TUNED_BOOSTING:
        row["iterations"] = int(classifier.n_iter_)
    return row if validation is None else {**row, "validation": validation}


def _memoised(folder: Path):
    """``_fit`` cached in ``folder``, which workers are given: a reused worker keeps the environment it started with."""
    return Memory(folder, verbose=0).cache(_fit, ignore=["dataset"])


def _arguments(task: tuple[Dataset, str, int, ClassifierMixin, float | None]) -> tuple:
    """``_fit``'s arguments for a task ``(dataset, model, seed, classifier, validation)``."""
    dataset, model, seed, classifier, validation = task
    return (dataset, dataset.name, data_fingerprint(dataset.X, dataset.y), model, seed, classifier, validation,
            (BASELINE_CODE_VERSION, sklearn.__version__))


def _indexed(item: tuple[int, tuple, Path]) -> tuple[int, dict]:
    index, task, folder = item
    return index, _memoised(folder)(*_arguments(task))


def _fit_all(tasks: list[tuple], bar: tqdm | SummaryBar) -> list[dict]:
    """Every task's row, in the tasks' order: read from the cache, or fit in parallel and cached, each fit
    counted on the progress ``bar``."""
    folder = derived_dir() / "cache"
    memoised = _memoised(folder)
    missing = [(index, task, folder) for index, task in enumerate(tasks)
               if not memoised.check_call_in_cache(*_arguments(task))]
    fitted = {}
    for index, row in map_unordered(_indexed, missing, local_executor()):
        fitted[index] = row
        bar.update()
    return [fitted[index] if index in fitted else memoised(*_arguments(task)) for index, task in enumerate(tasks)]


def _fits(tasks: list[tuple], desc: str) -> list[dict]:
    """``_fit_all`` under a progress bar of its own that counts the fits made: ``desc: N fits in T s`` (0: all
    read back). It has no total: how many are cached is known only inside ``_fit_all``."""
    with progress(desc=desc, unit="fit") as bar:
        return _fit_all(tasks, bar)


def baseline_table(datasets: dict[str, Dataset], seeds: tuple[int, ...]) -> pd.DataFrame:
    """Every baseline on every data set and seed, one row each."""
    tasks = [(data, model, seed, make(seed), None) for data in datasets.values()
             for model, make in BASELINES.items() for seed in seeds]
    return pd.DataFrame(_fits(tasks, "baselines"))


def _boosting(seed: int, settings: dict) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(random_state=seed, max_iter=BOOSTING_ITERATIONS, early_stopping=True,
                                          **{name: settings[name] for name in BOOSTING_LADDERS})


def _neighbours(point: dict) -> list[dict]:
    """The points one ladder step from ``point`` along each setting, the lower first (none past a ladder's end)."""
    found = []
    for name, ladder in BOOSTING_LADDERS.items():
        place = ladder.index(point[name])
        found += [{**point, name: ladder[place + step]} for step in (-1, 1) if 0 <= place + step < len(ladder)]
    return found


def _key(point: dict) -> tuple:
    """A point of the ladders as a tuple in ``BOOSTING_LADDERS``' order: (learning rate, leaf count)."""
    return tuple(point[name] for name in BOOSTING_LADDERS)


def _choose(dataset: Dataset, tune_seeds: tuple[int, ...]) -> dict:
    """The boosting settings with the best validation ROC AUC, averaged over ``tune_seeds``, and any edge left.

    A walk on the ladders: from ``BOOSTING_START``, fit every untried neighbour of the best point so far,
    until the best point's neighbours are all tried: none of them has a higher validation AUC.
    """
    size = len(tune_seeds)
    scores: dict[tuple, float] = {}  # _key(point) -> mean validation AUC, in the order tried
    iterations: dict[tuple, int] = {}
    untried = [BOOSTING_START]
    with progress(desc=f"tuning boosting on {dataset.name}", unit="fit") as bar:
        while untried:
            rows = _fit_all([(dataset, TUNED_BOOSTING, seed, _boosting(seed, point), 0.2)
                             for point in untried for seed in tune_seeds], bar)
            for i, point in enumerate(untried):
                fits = rows[i * size : (i + 1) * size]
                scores[_key(point)] = float(np.mean([row["auc"] for row in fits]))
                iterations[_key(point)] = max(row["iterations"] for row in fits)
            best = dict(zip(BOOSTING_LADDERS, max(scores, key=scores.get)))  # the first tried of equals
            untried = [point for point in _neighbours(best) if _key(point) not in scores]
    edges = [name for name, ladder in BOOSTING_LADDERS.items() if best[name] in (ladder[0], ladder[-1])]
    if iterations[_key(best)] >= BOOSTING_ITERATIONS:
        edges.append("max_iter")
    tried = {name: sorted({key[i] for key in scores}) for i, name in enumerate(BOOSTING_LADDERS)}
    return {"dataset": dataset.name, **best, "val_auc": scores[_key(best)], "iterations": iterations[_key(best)],
            "points": len(scores), "learning_rates": ";".join(map(str, tried["learning_rate"])),
            "leaf_counts": ";".join(map(str, tried["max_leaf_nodes"])), "at_edge": ";".join(edges)}


def tuned_boosting(
    datasets: dict[str, Dataset], seeds: tuple[int, ...], tune_seeds: tuple[int, ...] = BOOSTING_TUNE_SEEDS
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Gradient boosting at its tuned settings on every data set and seed: (settings per data set, test rows).

    The settings are the learning rate and leaf count with the best validation ROC
    AUC, averaged over ``tune_seeds``' splits (validation rows carved from each
    training part with ``train_test_split(random_state=seed)``; the test part is
    not looked at), found by a walk on ``BOOSTING_LADDERS`` (``_choose``) from
    scikit-learn's defaults to a point that none of its neighbours on the ladders
    beats. Each fit stops early on its own; the
    settings table names any edge left (``at_edge``: a setting at its ladder's end,
    or ``max_iter`` when a fit used every iteration allowed). The test rows (model
    ``TUNED_BOOSTING``) have ``baseline_table``'s columns and ``iterations``.
    """
    chosen = [_choose(data, tune_seeds) for data in datasets.values()]
    tasks = [(data, TUNED_BOOSTING, seed, _boosting(seed, settings), None)
             for data, settings in zip(datasets.values(), chosen) for seed in seeds]
    return pd.DataFrame(chosen), pd.DataFrame(_fits(tasks, "tuned boosting"))
