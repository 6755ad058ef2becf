"""Seeds, devices and versions recorded with every result."""

import pytest
import torch

from nslib import paths
from nslib.repro import pick_device, set_seed, versions, versions_text


def test_set_seed_makes_torch_draws_repeat() -> None:
    set_seed(7)
    first = torch.rand(3)
    set_seed(7)
    assert torch.equal(first, torch.rand(3))


def test_auto_device_is_cpu_without_a_gpu() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert pick_device("auto").type == expected


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
