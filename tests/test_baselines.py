"""Reference models on the same splits as the MLP runs."""

import numpy as np
import pytest

from nslib.baselines import BASELINES, baseline_table, fit_baseline
from nslib.data import Dataset, Provenance


def _separable(n: int = 600, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64)
    provenance = Provenance(sha256="synthetic", rows_used=n, is_sample=False, from_mirror=False)
    return Dataset("SYNTH", X, y, [f"f{i}" for i in range(4)], provenance)


def test_logistic_regression_solves_a_linear_problem() -> None:
    row = fit_baseline(_separable(), "logistic regression", seed=42)
    assert row["acc"] > 0.95 and row["auc"] > 0.99


def test_baselines_use_the_seeds_split_so_the_test_size_matches() -> None:
    row_a = fit_baseline(_separable(), "gradient boosting", seed=42)
    row_b = fit_baseline(_separable(), "gradient boosting", seed=42)
    assert row_a["acc"] == row_b["acc"] and row_a["auc"] == row_b["auc"]


def test_table_has_one_row_per_data_set_model_and_seed() -> None:
    table = baseline_table({"SYNTH": _separable()}, seeds=(42, 43))
    assert len(table) == len(BASELINES) * 2
    assert set(table["model"]) == set(BASELINES)


def test_unknown_baseline_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="gradient boosting"):
        fit_baseline(_separable(), "random forest", seed=42)
