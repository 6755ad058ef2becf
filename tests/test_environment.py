"""The two ways to install the compendium must pin the same packages."""

import tomllib

import yaml

from nslib.core.paths import PROJECT_ROOT


def _pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        specs.extend(extra)
    return dict(spec.split("==") for spec in specs)


def _environment_pins() -> dict[str, str]:
    environment = yaml.safe_load((PROJECT_ROOT / "environment.yml").read_text())
    pip_section = next(item["pip"] for item in environment["dependencies"] if isinstance(item, dict))
    return dict(spec.split("==") for spec in pip_section)


def test_every_dependency_is_pinned_exactly() -> None:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    unpinned = [spec for spec in project["dependencies"] if "==" not in spec]
    assert unpinned == []


def test_environment_yml_and_pyproject_pin_the_same_versions() -> None:
    assert _environment_pins() == _pyproject_pins()


def test_environment_yml_uses_the_python_the_project_requires() -> None:
    environment = yaml.safe_load((PROJECT_ROOT / "environment.yml").read_text())
    assert "python=3.11" in environment["dependencies"]


def test_torch_is_pinned_to_the_cpu_build_on_disk() -> None:
    # Any other torch spec pulls several GB of CUDA packages on this machine.
    assert _pyproject_pins()["torch"] == "2.13.0"
