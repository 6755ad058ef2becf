"""The synthetic data the tests share: an in-memory data set, and files shaped like the UCI downloads."""

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


def uci_like_files(folder, rows: int = 3500, seed: int = 7) -> dict[str, bytes]:
    """Files shaped like the three UCI downloads (same columns and label coding), with other rows.

    Returns ``{file name: bytes}``: ``HIGGS.csv.gz`` (label first, 28 features),
    ``covtype.data.gz`` (54 integer columns, cover type 1-7 last) and
    ``spambase.data`` (57 features, 0/1 label last); each label depends on a few
    features, so the study has something to learn.
    """
    import gzip

    rng = np.random.default_rng(seed)

    def text(table: np.ndarray, fmt: str) -> bytes:
        return "\n".join(",".join(fmt % value for value in row) for row in table).encode() + b"\n"

    X = rng.normal(size=(rows, 28))
    signal = (X[:, 0] * X[:, 5] + np.cos(X[:, 25]) + 0.5 * rng.normal(size=rows) > 0.5).astype(float)
    higgs = gzip.compress(text(np.column_stack([signal, X]), "%.18e"), mtime=0)
    terrain = rng.integers(0, 3000, size=(rows, 10))
    flags = np.zeros((rows, 44), dtype=np.int64)
    flags[np.arange(rows), rng.integers(0, 4, rows)] = 1
    flags[np.arange(rows), 4 + rng.integers(0, 40, rows)] = 1
    cover = np.where(terrain[:, 0] + 300 * flags[:, 1] + rng.normal(0, 400, rows) > 1600, 2, rng.choice([1, 3, 5], rows))
    covtype = gzip.compress(text(np.column_stack([terrain, flags, cover]), "%d"), mtime=0)
    words = rng.exponential(0.3, size=(rows, 57)) * (rng.random((rows, 57)) < 0.3)
    spam = (words[:, 15] + words[:, 51] + 0.2 * rng.normal(size=rows) > 0.15).astype(int)
    spambase = text(np.column_stack([words.round(3), spam]), "%g")
    files = {"HIGGS.csv.gz": higgs, "covtype.data.gz": covtype, "spambase.data": spambase}
    for name, blob in files.items():
        (folder / name).write_bytes(blob)
    return files
