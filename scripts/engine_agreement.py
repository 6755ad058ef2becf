"""How far apart are the compiled and the torch engine's numbers? (issue 25: the torch engine as the fallback)

Trains the paper's grid of each data set asked for (Heavy ReLU; Light ReLU, GELU, SiLU and the data set's
formula, the paper code's program collapsed to x, as ``scripts/bench.py`` takes it) with each engine on the
same splits, initial weights, permutations and dropout masks, and prints, per configuration and over all,
the largest differences between the engines: training loss (last epoch, and any epoch; recorded to 6
significant digits, so 1e-6 is one step), test loss, ROC AUC and accuracy. The engines differ only by
rounding (the compiled kernels' C against torch's kernels), which training amplifies. Needs the data:
``NSLIB_DATA_MIRROR=/path/to/mirror`` reads it offline.

    python scripts/engine_agreement.py [--datasets HIGGS SPAMBASE] [--seeds 42 43 44] [--epochs 15] [--rows N]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

from nslib.data.datasets import load
from nslib.engine.grid import ENGINES, run_grid
from nslib.experiments.paper_grid import paper_specs, with_roles
from nslib.formulas.parser import parse
from nslib.stats.paper import PAPER_CODE_PROGRAMS


def trained(engine: str, specs: list, data: dict) -> pd.DataFrame:
    """The grid's rows trained by ``engine`` (chosen as a user chooses it, ``NSLIB_ENGINE``), indexed by key."""
    os.environ["NSLIB_ENGINE"] = engine
    start = time.perf_counter()
    rows = run_grid(specs, data, progress=False).set_index("key")
    print(f"{engine} engine: {len(rows)} runs in {time.perf_counter() - start:.1f} s, device {set(rows['device'])}")
    return rows


def differences(compiled: pd.DataFrame, torch: pd.DataFrame) -> pd.DataFrame:
    """Per run, the absolute differences between the two engines' numbers."""
    losses = [np.array([[float(v) for v in text.split(";")] for text in rows["train_loss"]]) for rows in (compiled, torch)]
    epochs = np.abs(losses[0] - losses[1])
    return pd.DataFrame({
        "dataset": compiled["dataset"],
        "config": compiled["config"],
        "train_loss_last": epochs[:, -1],
        "train_loss_any_epoch": epochs.max(axis=1),
        "test_loss": (compiled["test_loss"] - torch["test_loss"]).abs(),
        "auc": (compiled["auc"] - torch["auc"]).abs(),
        "acc": (compiled["acc"] - torch["acc"]).abs(),
    }, index=compiled.index)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["HIGGS"], choices=sorted(PAPER_CODE_PROGRAMS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--rows", type=int, default=None, help="rows of each (default: the paper's, or all there are)")
    args = parser.parse_args()
    data = {name: load(name, rows=args.rows) for name in args.datasets}
    formulas = {name: str(parse(PAPER_CODE_PROGRAMS[name]).collapse()) for name in args.datasets}
    specs = paper_specs(args.datasets, formulas, args.seeds, args.epochs)
    for name, dataset in data.items():
        print(f"{name}: {dataset.n_rows:,} rows, formula {formulas[name]}")
    print(f"{len(specs)} runs per engine: seeds {args.seeds}, {args.epochs} epochs")
    compiled, torch = (with_roles(trained(engine, specs, data).reset_index(), formulas).set_index("key")
                       for engine in ENGINES)
    assert (compiled["status"] == "ok").all() and (torch["status"] == "ok").all(), "a run failed"
    table = differences(compiled, torch.loc[compiled.index])
    pd.set_option("display.float_format", "{:.2e}".format)
    print("\nLargest |compiled - torch| per configuration:")
    print(table.groupby(["dataset", "config"]).max().to_string())
    print("\nLargest over the grid: " + ", ".join(f"{column} {table[column].max():.2e}" for column in table.columns[2:]))


if __name__ == "__main__":
    main()
