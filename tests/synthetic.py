"""The synthetic data the tests share: an in-memory data set, and files shaped like the UCI downloads."""

import gzip
import hashlib
import io

import numpy as np
import pandas as pd

from nslib.data.catalog import Dataset, Provenance
from nslib.stats.register import Claim


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


def csv_text(table: np.ndarray, fmt: str = "%.9g") -> bytes:
    """``table`` as headerless comma-separated text, like the UCI files."""
    buffer = io.StringIO()
    np.savetxt(buffer, table, fmt=fmt, delimiter=",")
    return buffer.getvalue().encode()


def higgs_like(rows: int, seed: int = 0) -> np.ndarray:
    """HIGGS's shape: a 0/1 label first, then 28 features."""
    rng = np.random.default_rng(seed)
    table = rng.normal(size=(rows, 29)).astype(np.float32)
    table[:, 0] = rng.integers(0, 2, size=rows)
    return table


def covtype_like(rows: int, seed: int = 0) -> np.ndarray:
    """Covertype's shape: 54 features (a unique elevation per row, 0/1 flags), cover type 1-7 last."""
    rng = np.random.default_rng(seed)
    table = rng.integers(0, 2, size=(rows, 55)).astype(np.float32)
    table[:, 0] = np.arange(rows) + 1000  # a unique elevation per row shows which rows were drawn
    table[:, 54] = rng.integers(1, 8, size=rows)
    return table


def spambase_like(rows: int, seed: int = 0) -> np.ndarray:
    """Spambase's shape: 57 frequencies, a 0/1 label last."""
    rng = np.random.default_rng(seed)
    table = rng.random(size=(rows, 58)).round(3).astype(np.float32)
    table[:, 57] = rng.integers(0, 2, size=rows)
    return table


def uci_like_files(folder, rows: int = 3500, seed: int = 7) -> dict[str, bytes]:
    """The three downloads as files in ``folder``, with other rows than the real ones; returns ``{name: bytes}``."""
    files = {
        "HIGGS.csv.gz": gzip.compress(csv_text(higgs_like(rows, seed)), mtime=0),
        "covtype.data.gz": gzip.compress(csv_text(covtype_like(rows, seed)), mtime=0),
        "spambase.data": csv_text(spambase_like(rows, seed)),
    }
    for name, blob in files.items():
        (folder / name).write_bytes(blob)
    return files


# Two claims of notebook 03's kind on a data set "X", and runs that decide them, for the checking scripts' tests.
LIGHT_CLAIMS = {"03_training": [
    Claim("03-X-light-gelu", "Light GELU beats Light ReLU", "X", "Light GELU", "Light ReLU"),
    Claim("03-X-light-silu", "Light SiLU beats Light ReLU", "X", "Light SiLU", "Light ReLU")]}
LIGHT_ROWS = {"X": 5000}


def light_runs(gelu: float) -> pd.DataFrame:
    """Light ReLU at 0.80 AUC and accuracy, SiLU 0.02 above it, GELU ``gelu`` above it, on ten seeds (42-51), with
    seed-to-seed noise of +-0.001 whose mean is exactly 0."""
    wiggle = [0.001, -0.001] * 5
    return pd.DataFrame([{"key": f"{config}-{seed}", "dataset": "X", "config": config, "seed": seed, "params": 1000,
                          "auc": 0.80 + gain + sign * w, "acc": 0.80 + gain + sign * w, "status": "ok"}
                         for config, gain, sign in (("Light ReLU", 0.0, 1), ("Light SiLU", 0.02, -1),
                                                    ("Light GELU", gelu, -1))
                         for seed, w in zip(range(42, 52), wiggle)])
