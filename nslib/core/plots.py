"""One figure style for every notebook, saving figures by name, a fixed seed for seaborn's jitter, and the
row of one panel per data set that most figures are, with its legend beside the last panel."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from nslib.core.paths import figures_dir
from nslib.core.repro import global_rngs_kept

JITTER_SEED = 0  # numpy's global seed while a strip plot draws its jitter
LEGEND_RIGHT = {"loc": "center left", "bbox_to_anchor": (1.02, 0.5)}  # ax.legend(**LEGEND_RIGHT): beside the panel


def set_style() -> None:
    """Apply the compendium's seaborn style: readable in print and on screen."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 150, "savefig.bbox": "tight"})


def savefig(fig: plt.Figure, name: str) -> Path:
    """Save ``fig`` as ``figures/<name>.png`` (see ``nslib.core.paths``) and return the path."""
    path = figures_dir() / f"{name}.png"
    fig.savefig(path)
    return path


@contextmanager
def fixed_jitter() -> Iterator[None]:
    """Seed numpy's global generator with ``JITTER_SEED`` for the block, then put back the global generators' states.

    seaborn 0.13's ``stripplot`` draws its jitter from ``np.random.uniform``, so
    without this a figure's bytes change from run to run on the same numbers.
    """
    with global_rngs_kept():
        np.random.seed(JITTER_SEED)
        yield


def dataset_panels(
    table: pd.DataFrame, width: float, height: float, **subplots: Any
) -> tuple[plt.Figure, np.ndarray, list[tuple[str, pd.DataFrame]]]:
    """A row of panels, ``width`` by ``height`` inches each, one per data set in ``table`` in order of appearance:
    the figure, its axes and each data set's ``(name, rows)``; ``subplots`` go to ``plt.subplots``."""
    parts = list(table.groupby("dataset", sort=False))
    fig, axes = plt.subplots(1, len(parts), figsize=(width * len(parts), height), squeeze=False, **subplots)
    return fig, axes[0], parts
