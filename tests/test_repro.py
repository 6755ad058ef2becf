"""Seeds, devices and versions recorded with every result."""

import hashlib
import random

import numpy as np
import pytest
import torch

from nslib.core import paths
from nslib.core.repro import (
    data_fingerprint,
    global_rngs_kept,
    pick_device,
    versions,
    versions_text,
)


@pytest.mark.parametrize(("gpu", "expected"), [(False, "cpu"), (True, "cuda")])
def test_auto_device_is_the_gpu_when_torch_sees_one_else_the_cpu(monkeypatch, gpu: bool, expected: str) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpu)
    assert pick_device("auto") == torch.device(expected)


def test_the_data_fingerprint_is_the_sha256_of_shapes_dtypes_and_bytes() -> None:
    X, y = np.arange(6, dtype=np.float32).reshape(3, 2), np.array([0, 1, 1])
    digest = hashlib.sha256(b"(3, 2)<f4" + X.tobytes() + f"(3,){y.dtype.str}".encode() + y.tobytes())
    assert data_fingerprint(X, y) == digest.hexdigest()
    assert data_fingerprint(X, y[::-1].copy()) != digest.hexdigest()


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_asking_for_cuda_without_a_gpu_is_an_error() -> None:
    with pytest.raises(ValueError, match="no CUDA GPU"):
        pick_device("cuda")


def test_unknown_device_name_is_an_error() -> None:
    with pytest.raises(ValueError, match="'auto', 'cpu'"):
        pick_device("tpu")


def test_versions_name_the_packages_that_decide_the_numbers() -> None:
    found = versions()
    assert found["torch"].startswith("2.13.0")
    assert {"python", "numpy", "scikit-learn", "gplearn"} <= found.keys()
    assert "gplearn=0.4.3" in versions_text()


def test_environment_variables_move_every_output_folder(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("NSLIB_DERIVED_DIR", str(tmp_path / "derived"))
    monkeypatch.setenv("NSLIB_FIGURES_DIR", str(tmp_path / "figures"))
    monkeypatch.setenv("NSLIB_DATA_HOME", str(tmp_path / "raw"))
    assert paths.derived_dir() == tmp_path / "derived" and paths.derived_dir().is_dir()
    assert paths.figures_dir() == tmp_path / "figures"
    assert paths.data_home() == tmp_path / "raw"


def test_global_rngs_kept_puts_back_torch_numpy_and_random_after_the_block():
    torch.manual_seed(3), np.random.seed(3), random.seed(3)
    expected = torch.rand(1).item(), np.random.uniform(), random.random()
    torch.manual_seed(3), np.random.seed(3), random.seed(3)
    with global_rngs_kept():
        torch.manual_seed(99), np.random.seed(99), random.seed(99)
        torch.rand(5), np.random.uniform(size=5), random.random()
    assert (torch.rand(1).item(), np.random.uniform(), random.random()) == expected
