"""A fair budget: each configuration's learning rate and epochs tuned on validation data.

The paper trains every configuration for 15 epochs at lr 1e-3 (its budget). An
activation that learns faster in 15 epochs is not a better activation, so each
claim is also judged at a *tuned* budget, chosen per configuration on
validation data and never on the test split:

1. **Tune.** One run per configuration, learning rate in ``profile.tune_lrs``
   and seed in ``profile.tune_seeds``, holds out ``VALIDATION`` of its training
   part (``make_spec(validation=...)``) and trains ``profile.tune_epochs``
   epochs, recording the validation ROC AUC after each. ``choose_budgets``
   takes the learning rate and epoch with the best validation AUC (averaged
   over the tuning seeds; ties go to fewer epochs): a grid search with the best
   epoch read off the validation curve, the same as early stopping with
   unlimited patience inside the epoch cap.
2. **Train.** ``tuned_specs``: every seed at the chosen learning rate and epochs,
   on the whole training part, scored on the test part like any run.

Every claim is then judged at both budgets by ``nslib.stats.register``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from nslib.data.catalog import Dataset
from nslib.engine.grid import run_grid
from nslib.engine.runstore import RunStore
from nslib.engine.specs import RunSpec, make_spec
from nslib.experiments.paper_grid import Config, specs_for
from nslib.experiments.profiles import Profile

VALIDATION = 0.2  # share of the training part held out to tune on
def tuning_specs(configs: Iterable[Config], seeds: Sequence[int], lrs: Sequence[float], max_epochs: int) -> list[RunSpec]:
    """The tuning runs: every configuration at every learning rate and seed, ``max_epochs`` with validation."""
    configs = list(configs)
    return [spec for lr in lrs for spec in specs_for(configs, seeds, max_epochs, lr=lr, validation=VALIDATION)]


def choose_budgets(tuning_runs: pd.DataFrame) -> pd.DataFrame:
    """Per configuration, the learning rate and epoch count with the best mean validation AUC.

    ``tuning_runs`` are rows of ``tuning_specs`` runs (with ``val_auc``). The
    validation curves of a configuration's seeds at one learning rate are
    averaged epoch by epoch; a failed run's curve ends where it failed, and an
    epoch counts only where every seed has a value. Returns one row per
    configuration: dataset, arch, widths, activation, formula (as in the runs,
    so ``nslib.experiments.paper_grid.with_roles`` labels it), lr, epochs, val_auc.
    """
    if tuning_runs.empty or (tuning_runs["val_auc"] == "").all():
        raise ValueError("no validation curves to tune on: pass the rows of run_grid(tuning_specs(...)).")
    rows = []
    for (dataset, arch, widths, activation, formula), runs in tuning_runs.groupby(
        ["dataset", "arch", "widths", "activation", "formula"], sort=False
    ):
        best = None
        for lr, at_lr in runs.groupby("lr", sort=True):
            curves = [[float(value) for value in text.split(";")] for text in at_lr["val_auc"] if text]
            if len(curves) < len(at_lr):  # a seed failed before its first epoch ended
                continue
            length = min(len(curve) for curve in curves)
            if length == 0:
                continue
            mean = np.mean([curve[:length] for curve in curves], axis=0)
            epoch = int(np.argmax(mean))  # the first of equal maxima: fewer epochs win ties
            if best is None or mean[epoch] > best[2]:
                best = (float(lr), epoch + 1, float(mean[epoch]))
        if best is None:
            raise ValueError(
                f"every tuning run of {activation} ({arch} {widths}) on {dataset} failed at every learning rate; "
                "look at their 'reason' column."
            )
        rows.append({"dataset": dataset, "arch": arch, "widths": widths, "activation": activation,
                     "formula": formula, "lr": best[0], "epochs": best[1], "val_auc": best[2]})
    return pd.DataFrame(rows)


def tuned_specs(budgets: pd.DataFrame, seeds: Sequence[int]) -> list[RunSpec]:
    """Every configuration of ``budgets`` (``choose_budgets``) with every seed, at its chosen lr and epochs."""
    return [
        make_spec(row.dataset, row.arch, row.formula or row.activation, seed, epochs=int(row.epochs), lr=float(row.lr),
                  widths=tuple(int(width) for width in str(row.widths).split("-")))
        for row in budgets.itertuples() for seed in seeds
    ]


def tune_and_train(
    configs: Iterable[Config],
    datasets: Mapping[str, Dataset],
    profile: Profile,
    seeds: Sequence[int],
    *,
    store: RunStore | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Tune ``configs`` with ``profile``'s search, then train them with ``seeds`` at their budgets.

    Returns the tuning runs, the chosen budgets (``choose_budgets``) and the
    tuned runs; with a ``store``, runs it already holds are read back.
    """
    search = tuning_specs(configs, profile.tune_seeds, profile.tune_lrs, profile.tune_epochs)
    tuning_runs = run_grid(search, datasets, store=store)
    budgets = choose_budgets(tuning_runs)
    return tuning_runs, budgets, run_grid(tuned_specs(budgets, seeds), datasets, store=store)


def validation_curves(tuning_runs: pd.DataFrame) -> pd.DataFrame:
    """The tuning runs' validation AUC per epoch in long form: dataset, config/activation, lr, seed, epoch, val_auc."""
    label = "config" if "config" in tuning_runs.columns else "activation"
    rows = [
        {"dataset": run.dataset, label: getattr(run, label), "lr": run.lr, "seed": run.seed, "epoch": epoch,
         "val_auc": float(value)}
        for run in tuning_runs.itertuples() if run.val_auc
        for epoch, value in enumerate(run.val_auc.split(";"), start=1)
    ]
    return pd.DataFrame(rows)
