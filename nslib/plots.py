"""One figure style for every notebook, and saving figures by name."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import seaborn as sns

from nslib.paths import figures_dir


def set_style() -> None:
    """Apply the compendium's seaborn style: readable in print and on screen."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 150, "savefig.bbox": "tight"})


def savefig(fig: plt.Figure, name: str) -> Path:
    """Save ``fig`` as ``figures/<name>.png`` (see ``nslib.paths``) and return the path."""
    path = figures_dir() / f"{name}.png"
    fig.savefig(path)
    return path
