"""Where the compendium reads and writes files.

Every location can be moved with an environment variable, so that a check run
(``make test``) or a smoke run (``make quick``) writes into a fresh folder and
never reads back the committed results.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _folder(variable: str, default: Path) -> Path:
    folder = Path(os.environ.get(variable) or default).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def data_home() -> Path:
    """The download cache, ``data/raw/`` (``NSLIB_DATA_HOME`` moves it)."""
    return _folder("NSLIB_DATA_HOME", PROJECT_ROOT / "data" / "raw")


def derived_dir() -> Path:
    """Derived results: formulas, runs, tables (``NSLIB_DERIVED_DIR`` moves it)."""
    return _folder("NSLIB_DERIVED_DIR", PROJECT_ROOT / "data" / "derived")


def figures_dir() -> Path:
    """Figures the notebooks write (``NSLIB_FIGURES_DIR`` moves it)."""
    return _folder("NSLIB_FIGURES_DIR", PROJECT_ROOT / "figures")


def mirror_dir() -> Path | None:
    """The offline mirror folder named by ``NSLIB_DATA_MIRROR``, or None."""
    value = os.environ.get("NSLIB_DATA_MIRROR")
    # Absolute, so that a relative value still works under papermill --cwd notebooks.
    return Path(value).expanduser().resolve() if value else None
