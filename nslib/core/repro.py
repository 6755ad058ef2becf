"""Devices, versions, data fingerprints and the global generators: what a result needs to be reproduced."""

from __future__ import annotations

import contextlib
import hashlib
import platform
import random
import weakref
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

# id(X) -> (weak X, weak y, digest); a stale id is caught by the weak references.
_FINGERPRINTS: dict[int, tuple[weakref.ref, weakref.ref, str]] = {}
RECORDED_PACKAGES = ("numpy", "pandas", "scikit-learn", "gplearn", "torch", "sympy")


@contextlib.contextmanager
def global_rngs_kept() -> Iterator[None]:
    """Leave torch's, NumPy's and ``random``'s global generators after the block as they were before it."""
    import torch

    numpy_state, random_state = np.random.get_state(), random.getstate()
    try:
        with torch.random.fork_rng(devices=[]):
            yield
    finally:
        np.random.set_state(numpy_state)
        random.setstate(random_state)


def pick_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` as CUDA when present, else CPU; ``"cuda[:N]"`` without a GPU is a ValueError, never a CPU run."""
    import torch

    name = str(device)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not (name == "cpu" or name.startswith("cuda")):
        raise ValueError(f"device={name!r} is not known; use 'auto', 'cpu' or 'cuda[:N]'.")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"device={name!r} was asked for but torch sees no CUDA GPU; use device='auto' or device='cpu'."
        )
    return torch.device(name)


def versions() -> dict[str, str]:
    """Python and the versions of the packages that decide the numbers."""
    found = {"python": platform.python_version()}
    for package in RECORDED_PACKAGES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found


def versions_text() -> str:
    """The same versions as one compact string, for a CSV column."""
    return " ".join(f"{name}={value}" for name, value in versions().items())


def data_fingerprint(X: np.ndarray, y: np.ndarray) -> str:
    """The sha256 of the data actually used: the shapes, dtypes and bytes of ``X`` and ``y``.

    Two samples of one file (other rows, another loader seed) never share it,
    so cached results of one are never taken for the other's. It is computed
    once per pair of arrays (remembered while ``X`` lives); do not change them in place.
    """
    known = _FINGERPRINTS.get(id(X))
    if known is not None and known[0]() is X and known[1]() is y:
        return known[2]
    digest = hashlib.sha256()
    for array in (np.ascontiguousarray(X), np.ascontiguousarray(y)):
        digest.update(f"{array.shape}{array.dtype.str}".encode())
        digest.update(memoryview(array).cast("B"))  # no copy of the bytes
    _FINGERPRINTS[id(X)] = (weakref.ref(X), weakref.ref(y), digest.hexdigest())
    return digest.hexdigest()
