"""Is the tuned budget converged? Widen the search on Forest Cover and see whether any tuned mean moves.

The study tunes every configuration with ``nslib.experiments.tuning.tune_and_train`` and the
full profile's search: learning rates from {1e-3, 3e-3, 1e-2, 3e-2} (extended past an edge),
early stopping with a patience of 10 epochs, a cap of 100, three tuning seeds. This script
tunes the Forest Cover configurations that the paper's transfer claims compare (Light ReLU,
GELU, SiLU and the HIGGS formula) twice: with that search, and with a wider one (the cap and
the patience doubled, one more learning rate on each side of the starting grid).
Each is then trained with the study's ten seeds and scored on the test split. The search
is converged when no configuration's tuned mean test AUC moves by more than ``TOLERANCE``.

Run it after ``make reproduce`` with ``NSLIB_DERIVED_DIR=build/reproduce/derived`` so that
the study's own runs are read back from its run store; only the wider search trains. The
table goes to ``derived_dir()/convergence_check.csv``, and ``--doc docs/convergence.md``
writes it into that page between its markers.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import pandas as pd

from nslib.core.paths import derived_dir
from nslib.data.datasets import load_selection
from nslib.engine.runstore import RunStore
from nslib.experiments import paper_grid, tuning
from nslib.experiments.profiles import get_profile
from nslib.publish.readme_results import replace_block

TOLERANCE = 0.002  # AUC: the most a tuned mean may move when the search is widened
TARGET, SOURCE = "FOREST_COVER", "HIGGS"
FILE = "convergence_check.csv"


def wider(profile):
    """``profile``'s search widened: cap and patience doubled, one more learning rate on each side."""
    lrs = (tuning.next_lr(min(profile.tune_lrs), -1), *profile.tune_lrs, tuning.next_lr(max(profile.tune_lrs), +1))
    return dataclasses.replace(profile, tune_epochs=2 * profile.tune_epochs, tune_patience=2 * profile.tune_patience,
                               tune_lrs=lrs)


def check(profile_name: str = "full") -> pd.DataFrame:
    """Both searches' budgets and tuned means per configuration, their difference and whether it is within bounds."""
    profile = get_profile(profile_name)
    datasets = load_selection([SOURCE, TARGET], rows=profile.rows, user_csv=None, user_label=None,
                              user_positive=None, user_options={})
    formulas = paper_grid.formulas_for(datasets, profile)
    configs = [(TARGET, "light", activation, None) for activation in ("relu", "gelu", "silu", formulas[SOURCE])]
    store, sides = RunStore(), {}
    for name, search in (("study", profile), ("wider", wider(profile))):
        start = time.perf_counter()
        _, budgets, runs = tuning.tune_and_train(configs, {TARGET: datasets[TARGET]}, search, profile.seeds,
                                                 store=store)
        print(f"{name} search: {time.perf_counter() - start:.0f} s")
        means = paper_grid.with_roles(runs, formulas).groupby(["config"], sort=False)["auc"].mean()
        budgets = paper_grid.with_roles(budgets, formulas).set_index("config")
        sides[name] = budgets[["lr", "epochs", "lrs", "at_edge"]].assign(auc_mean=means)
    table = pd.concat(sides, axis=1)
    table.columns = [f"{side}_{column}" for side, column in table.columns]
    table["moved"] = table["wider_auc_mean"] - table["study_auc_mean"]
    table["within"] = table["moved"].abs() <= TOLERANCE
    # What the claims rest on: each configuration's mean AUC minus Light ReLU's, under either search.
    for side in sides:
        table[f"{side}_minus_relu"] = table[f"{side}_auc_mean"] - table.loc["Light ReLU", f"{side}_auc_mean"]
    return table.reset_index()


def write_doc(table: pd.DataFrame, doc: Path) -> None:
    """Put ``table`` as markdown between the ``<!-- convergence:start -->`` and ``end`` markers of ``doc``."""
    signed = ("moved", "study_minus_relu", "wider_minus_relu")
    columns = [column for column in ("config", "study_lr", "study_epochs", "study_auc_mean", "wider_lr", "wider_epochs",
                                     "wider_auc_mean", "moved", "within", *signed[1:]) if column in table.columns]
    shown = table[columns].assign(**{column: table[column].map(lambda value, c=column: f"{value:+.4f}" if c in signed
                                                               else f"{value:.4f}")
                                     for column in ("study_auc_mean", "wider_auc_mean", *signed) if column in table})
    sentence = (f"Largest move: {table['moved'].abs().max():.4f} AUC (tolerance {TOLERANCE}); "
                f"{int(table['within'].sum())} of {len(table)} configurations within it.")
    if "study_minus_relu" in table:
        shift = (table["wider_minus_relu"] - table["study_minus_relu"]).abs().max()
        sentence += f" The differences to Light ReLU moved by at most {shift:.4f} AUC."
    body = f"{shown.to_markdown(index=False, disable_numparse=True)}\n\n{sentence}"
    doc.write_text(replace_block(doc.read_text(), "<!-- convergence:start -->", "<!-- convergence:end -->", body))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="full", help="the profile whose search is checked (default: full)")
    parser.add_argument("--doc", type=Path, help="a page with convergence markers to write the table into")
    args = parser.parse_args()
    table = check(args.profile)
    table.to_csv(derived_dir() / FILE, index=False)
    print(table.round(4).to_string(index=False))
    if args.doc:
        write_doc(table, args.doc)


if __name__ == "__main__":
    main()
