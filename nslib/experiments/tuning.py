"""A fair budget: each configuration's learning rate and epochs tuned on validation data, to convergence.

The paper trains every configuration for 15 epochs at lr 1e-3 (its budget). An
activation that learns faster in 15 epochs is not a better activation, so each
claim is also judged at a *tuned* budget, chosen per configuration on
validation data and never on the test split. The budget is a converged one: no
choice may sit at an edge of its search.

1. **Tune.** One run per configuration, learning rate in ``profile.tune_lrs``
   (the paper's 1e-3 among them) and seed in ``profile.tune_seeds`` (several
   seeds, each with its own validation split), holds out ``VALIDATION`` of its
   training part and records the validation ROC AUC after each epoch. It trains
   until that AUC has not improved for ``profile.tune_patience`` epochs (early
   stopping), or to the cap ``profile.tune_epochs``.
2. **Choose.** ``choose_budgets`` averages a configuration's validation curves
   over the tuning seeds at each learning rate and takes the learning rate and
   epoch with the best mean (ties go to fewer epochs); a seed that stopped early
   counts at its last validation AUC after it stopped. It marks a choice at an
   edge: the lowest or highest learning rate tried, or an epoch less than the
   patience before the mean curve's end, unless every seed had stopped early
   before the cap (the mean curve is flat after that).
3. **Extend.** ``tune_and_train`` tries the next learning rate on the 1-3-10
   ladder (``next_lr``) past every edge a configuration's choice lands on, and
   chooses again, until no choice is at a learning-rate edge.
4. **Train.** ``tuned_specs``: every seed at the chosen learning rate and epochs,
   on the whole training part, scored on the test part like any run.

Every claim is then judged at both budgets by ``nslib.stats.register``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from nslib.core.files import replace_family
from nslib.core.paths import derived_dir
from nslib.data.catalog import Dataset
from nslib.engine.grid import run_grid
from nslib.engine.runstore import RunStore
from nslib.engine.specs import RunSpec, make_spec
from nslib.experiments.paper_grid import Config, specs_for
from nslib.experiments.profiles import Profile
from nslib.formulas.activations import activation_label
from nslib.formulas.discovery import simplified_text

VALIDATION = 0.2  # share of the training part held out to tune on
BUDGETS_FILE = "tuned_budgets.csv"
LR_LADDER = tuple(float(f"{mantissa}e{exponent}") for exponent in range(-6, 1) for mantissa in (1, 3))[:-1]  # 1e-6 ... 1
EXTENSIONS = 4  # learning rates added past an edge, at most, on each side
CONFIG_COLUMNS = ["dataset", "arch", "widths", "activation", "formula"]


def tuning_specs(
    configs: Iterable[Config], seeds: Sequence[int], lrs: Sequence[float], max_epochs: int, patience: int = 0
) -> list[RunSpec]:
    """The tuning runs: every configuration at every learning rate and seed, up to ``max_epochs`` with validation,
    stopping early after ``patience`` epochs without a better validation AUC (0: never)."""
    configs = list(configs)
    return [spec for lr in lrs
            for spec in specs_for(configs, seeds, max_epochs, lr=lr, validation=VALIDATION, patience=patience)]


def next_lr(lr: float, step: int) -> float | None:
    """The learning rate ``step`` places up (+1) or down (-1) ``LR_LADDER`` from ``lr``; None past its ends."""
    place = int(np.argmin([abs(np.log(lr / rung)) for rung in LR_LADDER])) + step
    return LR_LADDER[place] if 0 <= place < len(LR_LADDER) else None


def choose_budgets(tuning_runs: pd.DataFrame, cap: int | None = None, patience: int = 0) -> pd.DataFrame:
    """Per configuration, the learning rate and epoch count with the best mean validation AUC, and its edges.

    ``tuning_runs`` are rows of ``tuning_specs`` runs (with ``val_auc``). The
    validation curves of a configuration's seeds at one learning rate are
    averaged epoch by epoch (``_mean_curve``: a run that stopped early stays at its
    last value; a failed one ends the mean curve where it failed). Returns one row
    per configuration: dataset, arch, widths, activation, formula (as in the runs,
    so ``nslib.experiments.paper_grid.with_roles`` labels it), lr, epochs, val_auc;
    ``lrs`` (the learning rates tried), ``curve_epochs`` (the chosen mean curve's
    length), ``lr_edge`` (the lowest or highest tried), ``epoch_edge`` (the mean
    curve's last epoch, ``cap``, or fewer than ``patience`` epochs before the curve's
    end where not every seed had stopped early before ``cap``: a run not watched that
    long past it) and ``at_edge`` (either).
    """
    if tuning_runs.empty or (tuning_runs["val_auc"] == "").all():
        raise ValueError("no validation curves to tune on: pass the rows of run_grid(tuning_specs(...)).")
    rows = []
    for (dataset, arch, widths, activation, formula), runs in tuning_runs.groupby(CONFIG_COLUMNS, sort=False):
        best, tried = None, sorted(set(runs["lr"].astype(float)))
        for lr, at_lr in runs.groupby("lr", sort=True):
            curve = _mean_curve(at_lr, cap)
            if curve is None:
                continue
            mean, settled = curve
            epoch = int(np.argmax(mean))  # the first of equal maxima: fewer epochs win ties
            if best is None or mean[epoch] > best[2]:
                best = (float(lr), epoch + 1, float(mean[epoch]), len(mean), settled)
        if best is None:
            raise ValueError(
                f"every tuning run of {activation} ({arch} {widths}) on {dataset} failed at every learning rate; "
                "look at their 'reason' column."
            )
        lr, epochs, val_auc, length, settled = best
        lr_edge = lr in (tried[0], tried[-1])
        # Near the curve's end is an edge unless every seed's own patience ran out before it (the mean is flat after).
        epoch_edge = epochs == length or epochs == cap or (epochs + patience > length and not settled)
        rows.append({"dataset": dataset, "arch": arch, "widths": widths, "activation": activation,
                     "formula": formula, "lr": lr, "epochs": epochs, "val_auc": val_auc,
                     "lrs": ";".join(f"{value:g}" for value in tried), "curve_epochs": length,
                     "lr_edge": lr_edge, "epoch_edge": epoch_edge, "at_edge": lr_edge or epoch_edge})
    return pd.DataFrame(rows)


def _identity(config: Config) -> tuple:
    """A configuration as its runs' rows name it: dataset, arch, widths, activation, formula (``CONFIG_COLUMNS``)."""
    spec = specs_for([config], [0], 1)[0]
    return (spec.dataset, spec.arch, "-".join(map(str, spec.widths)), activation_label(spec.activation), spec.formula)


def _mean_curve(runs: pd.DataFrame, cap: int | None) -> tuple[np.ndarray, bool] | None:
    """The seeds' mean validation curve at one learning rate, and whether every seed stopped early below ``cap``;
    None when a seed failed in its first epoch.

    A run that stopped early (its patience spent) is taken to stay at its last
    validation AUC after it stopped, so the mean curve runs as long as the longest
    run; a failed run's curve ends where it failed, and the mean curve with it.
    """
    curves = [[float(value) for value in text.split(";")] if text else [] for text in runs["val_auc"]]
    if not all(curves):
        return None
    failed = [len(curve) for curve, status in zip(curves, runs["status"]) if status != "ok"]
    length = min(failed, default=max(len(curve) for curve in curves))
    settled = not failed and cap is not None and length < cap
    return np.mean([(curve + curve[-1:] * length)[:length] for curve in curves], axis=0), settled


def _past_edges(budgets: pd.DataFrame, configs: Sequence[Config]) -> dict[float, list[Config]]:
    """Per learning rate to try next, the configurations whose chosen lr is the lowest or highest they tried."""
    by_identity = {_identity(config): config for config in configs}
    todo: dict[float, list[Config]] = {}
    for row in budgets[budgets["lr_edge"]].itertuples():
        tried = [float(value) for value in row.lrs.split(";")]
        for step, end in ((-1, tried[0]), (+1, tried[-1])):
            beyond = next_lr(end, step)
            if row.lr == end and beyond is not None:
                todo.setdefault(beyond, []).append(by_identity[tuple(getattr(row, c) for c in CONFIG_COLUMNS)])
    return todo


def config_names(budgets: pd.DataFrame) -> pd.Series:
    """Each budget's ``config`` name; one without (notebook 04's family of shapes) by its formula, simplified."""
    return pd.Series([config or (simplified_text(formula) if formula else activation) for config, formula, activation
                      in zip(budgets["config"], budgets["formula"], budgets["activation"])], index=budgets.index)


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
    """Tune ``configs`` with ``profile``'s search, extended past every learning-rate edge, then train them with
    ``seeds`` at their budgets.

    Returns the tuning runs, the chosen budgets (``choose_budgets``) and the
    tuned runs; with a ``store``, runs it already holds are read back.
    """
    configs = list(configs)
    search = tuning_specs(configs, profile.tune_seeds, profile.tune_lrs, profile.tune_epochs, profile.tune_patience)
    tuning_runs = run_grid(search, datasets, store=store)
    budgets = choose_budgets(tuning_runs, profile.tune_epochs, profile.tune_patience)
    for _ in range(EXTENSIONS):
        todo = _past_edges(budgets, configs)
        if not todo:
            break
        more = [spec for lr, edge_configs in todo.items() for spec in tuning_specs(
            edge_configs, profile.tune_seeds, [lr], profile.tune_epochs, profile.tune_patience)]
        tuning_runs = pd.concat([tuning_runs, run_grid(more, datasets, store=store)], ignore_index=True)
        budgets = choose_budgets(tuning_runs, profile.tune_epochs, profile.tune_patience)
    return tuning_runs, budgets, run_grid(tuned_specs(budgets, seeds), datasets, store=store)


def record(family: str, budgets: pd.DataFrame) -> pd.DataFrame:
    """Write ``family``'s chosen budgets (``choose_budgets``, perhaps with a ``config`` label) into
    ``derived_dir()/tuned_budgets.csv``, keeping other families' rows; return the whole table."""
    return replace_family(derived_dir() / BUDGETS_FILE, family, budgets)


def edge_summary(budgets: pd.DataFrame) -> str:
    """One sentence: how many chosen budgets there are and which, if any, sit at an edge of their search."""
    at_edge = budgets[budgets["at_edge"]]
    if at_edge.empty:
        return f"{len(budgets)} budgets chosen, none at an edge of its search (learning rate or epochs)."
    label = "config" if "config" in budgets.columns else "activation"
    named = "; ".join(f"{row.dataset} {getattr(row, label)} ({'lr' if row.lr_edge else 'epochs'})"
                      for row in at_edge.itertuples())
    return f"{len(budgets)} budgets chosen, {len(at_edge)} at an edge of its search: {named}."


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
