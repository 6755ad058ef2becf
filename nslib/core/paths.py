"""Where the compendium reads and writes files.

Notebooks write their tables and figures to a scratch folder by default,
``build/scratch/`` (``NSLIB_DERIVED_DIR`` and ``NSLIB_FIGURES_DIR`` move it), so
that working through a notebook or an exercise never overwrites the reference:
the committed ``data/derived/`` tables and ``figures/``, which only
``make reproduce`` replaces, after a complete run in a folder of its own.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # nslib/core/paths.py
SCRATCH = PROJECT_ROOT / "build" / "scratch"
NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"


def _folder(variable: str, default: Path) -> Path:
    folder = Path(os.environ.get(variable) or default).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def data_home() -> Path:
    """The download cache, ``data/raw/`` (``NSLIB_DATA_HOME`` moves it)."""
    return _folder("NSLIB_DATA_HOME", PROJECT_ROOT / "data" / "raw")


def derived_dir() -> Path:
    """Where results are written: ``build/scratch/derived`` (``NSLIB_DERIVED_DIR`` moves it)."""
    return _folder("NSLIB_DERIVED_DIR", SCRATCH / "derived")


def figures_dir() -> Path:
    """Where figures are written: ``build/scratch/figures`` (``NSLIB_FIGURES_DIR`` moves it)."""
    return _folder("NSLIB_FIGURES_DIR", SCRATCH / "figures")


def reference_dir() -> Path:
    """The committed reference tables, ``data/derived/``: read by the README and the reports, never a cache."""
    return PROJECT_ROOT / "data" / "derived"


def reference_figures_dir() -> Path:
    """The committed reference figures, ``figures/``."""
    return PROJECT_ROOT / "figures"


def notebooks() -> list[Path]:
    """The study's numbered notebooks, ``notebooks/NN_name.ipynb``, in order."""
    found = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
    if not found:
        raise FileNotFoundError(f"No numbered notebooks (NN_name.ipynb) in {NOTEBOOK_DIR}; run from a full checkout.")
    return found


def mirror_dir() -> Path | None:
    """The offline mirror folder named by ``NSLIB_DATA_MIRROR``, or None."""
    value = os.environ.get("NSLIB_DATA_MIRROR")
    # Absolute, so that a relative value still works under papermill --cwd notebooks.
    return Path(value).expanduser().resolve() if value else None


def shown(path: str | os.PathLike) -> str:
    """``path`` as a reader should see it: relative to the repository, or to the mirror, else its file name.

    Committed outputs never show a machine's absolute paths.
    """
    path = Path(path).resolve()
    for root, prefix in ((PROJECT_ROOT, ""), (mirror_dir(), "the mirror's ")):
        if root is not None and path.is_relative_to(root):
            return prefix + path.relative_to(root).as_posix()
    return path.name
