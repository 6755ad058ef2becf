"""nslib's architecture, checked: layers that import downhill, small modules, a module map that names them all."""

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import nslib

PACKAGE = Path(nslib.__file__).parent
LAYERS = ("core", "data", "formulas", "stats", "engine", "experiments", "publish")
MAX_LINES = 400


def modules() -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("*.py") if path.name != "__init__.py")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """import-linter's check of pyproject.toml's contracts, on the nslib found in ``root``."""
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert command, "lint-imports is not installed: make venv"
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([command, "--config", str(PACKAGE.parent / "pyproject.toml")], cwd=root, env=env,
                          capture_output=True, text=True)


def test_the_layers_contract_is_kept() -> None:
    result = lint_imports(PACKAGE.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_layers_contract_catches_an_import_uphill(tmp_path) -> None:
    shutil.copytree(PACKAGE, tmp_path / "nslib", ignore=shutil.ignore_patterns("__pycache__"))
    checks = tmp_path / "nslib" / "core" / "checks.py"
    checks.write_text(checks.read_text() + "\nfrom nslib.publish import book  # uphill\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "nslib.core.checks -> nslib.publish.book" in result.stdout


def test_the_package_is_exactly_its_seven_layers() -> None:
    folders = {path.name for path in PACKAGE.iterdir() if path.is_dir() and not path.name.startswith((".", "__"))}
    assert folders == set(LAYERS)
    assert not [path.name for path in PACKAGE.glob("*.py") if path.name != "__init__.py"]


@pytest.mark.parametrize("path", modules(), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_no_module_is_over_400_lines(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= MAX_LINES


def test_every_module_is_named_in_its_layer_and_in_the_package_map() -> None:
    top = ast.get_docstring(ast.parse((PACKAGE / "__init__.py").read_text()))
    for layer in LAYERS:
        layer_doc = ast.get_docstring(ast.parse((PACKAGE / layer / "__init__.py").read_text()))
        assert f"``{layer}``" in top
        for path in (PACKAGE / layer).glob("*.py"):
            if path.name != "__init__.py":
                assert f"``{path.stem}``" in layer_doc, f"nslib/{layer}/__init__.py does not name {path.stem}"
                assert f"``{path.stem}``" in top, f"nslib/__init__.py does not name {layer}.{path.stem}"


def test_no_module_imports_another_modules_private_names() -> None:
    reached = []
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("nslib"):
                reached += [f"{path.relative_to(PACKAGE)}: {node.module}.{alias.name}"
                            for alias in node.names
                            if alias.name.startswith("_") and not alias.name.endswith("__")]
    assert reached == []
