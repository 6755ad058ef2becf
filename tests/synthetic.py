"""A small synthetic data set shared by the tests of the grid, transfer and efficiency modules."""

import hashlib

import numpy as np

from nslib.data import Dataset, Provenance


def synthetic_dataset(name: str = "SYNTHETIC", n: int = 300, seed: int = 0) -> Dataset:
    """A small binary data set whose label depends on two of its four features."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    y = (X[:, 0] - X[:, 2] + 0.3 * rng.normal(size=n) > 0).astype(np.int64)
    digest = hashlib.sha256(X.tobytes() + y.tobytes()).hexdigest()
    provenance = Provenance(sha256=digest, rows_used=n, is_sample=False, from_mirror=False)
    return Dataset(name=name, X=X, y=y, feature_names=[f"f{i}" for i in range(4)], provenance=provenance)
