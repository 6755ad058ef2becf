"""The one synthetic data set builder the tests share."""

import hashlib

import numpy as np

from nslib.data import Dataset, Provenance


def synthetic_dataset(
    name: str = "SYNTHETIC", n: int = 300, seed: int = 0, d: int = 4, label=lambda X, noise: X[:, 0] - X[:, 2] + 0.3 * noise
) -> Dataset:
    """A small binary data set of ``d`` normal features; the label is ``label(X, noise) > 0``.

    By default it depends on two of the features, with a little noise.
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    y = (label(X, rng.normal(size=n)) > 0).astype(np.int64)
    digest = hashlib.sha256(X.tobytes() + y.tobytes()).hexdigest()
    provenance = Provenance(sha256=digest, rows_used=n, is_sample=False, from_mirror=False)
    return Dataset(name=name, X=X, y=y, feature_names=[f"f{i}" for i in range(d)], provenance=provenance)
