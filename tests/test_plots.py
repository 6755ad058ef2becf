"""Figures are determined by their tables: the strip plots' jitter comes from a fixed seed, not the global state."""

from __future__ import annotations

import io
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from nslib.core import plots
from nslib.experiments import paper_grid, transfer

RUNS = pd.DataFrame(
    {"dataset": ["HIGGS"] * 4 + ["SPAMBASE"] * 2, "config": ["Light ReLU", "Specialist"] * 3,
     "seed": [42, 42, 43, 43, 42, 42], "auc": [0.72, 0.66, 0.73, 0.65, 0.96, 0.95], "status": ["ok"] * 6}
)
RESULTS = pd.DataFrame({"auc_mean": [0.8, 0.5, 0.81, 0.79, math.nan], "constant": [False, True, False, False, False]})


def png_bytes(fig: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


@pytest.mark.parametrize("plot", [
    lambda: paper_grid.plot_configs(RUNS),
    lambda: transfer.plot_random_control(RESULTS, {"HIGGS formula": 0.85, "Light ReLU": 0.83}, "FOREST_COVER"),
], ids=["plot_configs", "plot_random_control"])
def test_a_strip_plot_is_the_same_bytes_every_time_and_leaves_numpys_global_generator_alone(plot):
    np.random.seed(1)
    first = png_bytes(plot())
    np.random.seed(2)
    before = np.random.get_state()
    second = png_bytes(plot())
    after = np.random.get_state()
    assert first == second
    assert before[0] == after[0] and (before[1] == after[1]).all() and before[2:] == after[2:]


def test_fixed_jitter_seeds_the_global_generator_for_the_block_and_restores_it():
    np.random.seed(7)
    expected_next = np.random.uniform()
    np.random.seed(7)
    with plots.fixed_jitter():
        inside = np.random.uniform()
    assert inside == np.random.RandomState(plots.JITTER_SEED).uniform()
    assert np.random.uniform() == expected_next
