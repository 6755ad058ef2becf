"""Does the tuning seed move a verdict? The paper grid's tuned claims judged at budgets chosen on one seed alone.

Every tuned budget is chosen on the mean validation curve of three tuning seeds, each with its own validation
split (``nslib.experiments.tuning``), and then applied to all ten seeds. A referee may ask whether a verdict
rests on that choice. This script chooses each configuration of the paper's grid again on one tuning seed's
validation curves alone (``choose_budgets`` on that seed's tuning runs: the same rule, among the learning rates
the study tried), trains the ten seeds at every budget so chosen, and judges notebook 03's and notebook 05's
claims on those runs as the notebooks do: at the register's margin, and under each of the robustness table's
metric and margin choices. Per claim: the study's tuned mean and verdict (three tuning seeds), each tuning
seed's, and in how many of the robustness table's choices some tuning seed's verdict differs from the study's.

Run it after ``make reproduce`` with ``NSLIB_DERIVED_DIR=build/reproduce/derived``: the study's tuning and
tuned runs are read back from its run store, and runs at budgets the study did not choose go to a store of
their own beside it (``runs_tuning_seeds.csv``). The claims go to ``derived_dir()/tuning_seed_verdicts.csv``,
the budgets to ``tuning_seed_budgets.csv``, and ``--doc docs/convergence.md`` writes both into that page
between its markers.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from nslib.core.paths import derived_dir
from nslib.data.catalog import Dataset
from nslib.data.datasets import load_selection
from nslib.engine.grid import run_grid
from nslib.engine.runstore import RunStore
from nslib.experiments import efficiency, paper_grid, tuning
from nslib.experiments.profiles import Profile, get_profile
from nslib.publish.readme_results import replace_block
from nslib.stats import robustness
from nslib.stats.register import TUNED, Claim, judge_family

FILE, BUDGETS, SIDE_STORE = "tuning_seed_verdicts.csv", "tuning_seed_budgets.csv", "runs_tuning_seeds.csv"
DATASETS = ("HIGGS", "FOREST_COVER", "SPAMBASE")
STUDY = "three seeds"  # the study's choice, on the mean curve of every tuning seed


def seed_budgets(tuning_runs: pd.DataFrame, profile: Profile) -> pd.DataFrame:
    """Per tuning seed, every configuration's budget chosen on that seed's validation curves alone
    (``tuning.choose_budgets``, with a ``tuning_seed`` column)."""
    return pd.concat([tuning.choose_budgets(tuning_runs[tuning_runs["seed"] == seed], profile.tune_epochs,
                                            profile.tune_patience).assign(tuning_seed=seed)
                      for seed in profile.tune_seeds], ignore_index=True)


def budget_table(study: pd.DataFrame, alone: pd.DataFrame) -> pd.DataFrame:
    """Per configuration and tuning seed: the study's learning rate and epochs, the seed's, whether they are the
    same, and whether the seed's choice sits at an edge of the learning rates tried."""
    keys = tuning.CONFIG_COLUMNS
    merged = alone.merge(study[[*keys, "lr", "epochs"]], on=keys, suffixes=("", "_study"))
    merged["same"] = (merged["lr"] == merged["lr_study"]) & (merged["epochs"] == merged["epochs_study"])
    return merged[[*keys, "tuning_seed", "lr_study", "epochs_study", "lr", "epochs", "same", "lr_edge"]]


def runs_at(budgets: pd.DataFrame, seeds: Sequence[int], datasets: Mapping[str, Dataset], study: RunStore,
            side: RunStore) -> pd.DataFrame:
    """The runs of every seed at ``budgets``: read back from the study's store where it holds them (a budget the
    study also trained, its tuned one or any other), else trained into (or read back from) the ``side`` store."""
    specs = tuning.tuned_specs(budgets, seeds)
    known = study.finished_keys(datasets)
    parts = [run_grid(chosen, datasets, store=store) for chosen, store in
             (([spec for spec in specs if spec.key in known], study),
              ([spec for spec in specs if spec.key not in known], side)) if chosen]
    return pd.concat(parts, ignore_index=True)


def compare(claims: Mapping[str, Sequence[Claim]], runs: Mapping[object, pd.DataFrame],
            rows: Mapping[str, int]) -> pd.DataFrame:
    """Per claim: the mean and verdict on each set of tuned runs (``STUDY``, then one per tuning seed) at the
    register's margin (Holm within the family), ``same`` (every verdict alike), and ``choices_differing``: of the
    robustness table's metric x margin choices, in how many some tuning seed's verdict differs from the study's."""
    seeds = [label for label in runs if label != STUDY]
    out = []
    for family, mine in claims.items():
        judged = {label: judge_family(mine, table, rows).set_index("id") for label, table in runs.items()}
        differing = robustness.differing_choices(
            mine, {TUNED: runs[STUDY]}, {f"tuning seed {seed}": {TUNED: runs[seed]} for seed in seeds}, rows,
            family=family).xs(TUNED, level="budget")
        for claim in mine:
            row = {"family": family, "id": claim.id, "claim": claim.claim, "dataset": claim.dataset}
            for label in runs:
                name = "study" if label == STUDY else f"seed_{label}"
                row[f"{name}_mean"] = judged[label].loc[claim.id, "mean"]
                row[f"{name}_verdict"] = judged[label].loc[claim.id, "verdict"]
            row["same"] = all(row[f"seed_{seed}_verdict"] == row["study_verdict"] for seed in seeds)
            row["choices_differing"] = int(differing.loc[claim.id, "sum"])
            row["choices"] = int(differing.loc[claim.id, "size"])
            out.append(row)
    return pd.DataFrame(out)


def check(profile_name: str = "full") -> tuple[pd.DataFrame, pd.DataFrame]:
    """The claims judged on each tuning seed's budgets beside the study's, and the budgets themselves."""
    profile = get_profile(profile_name)
    datasets = load_selection(list(DATASETS), rows=profile.rows, user_csv=None, user_label=None,
                              user_positive=None, user_options={})
    formulas = paper_grid.formulas_for(datasets, profile)
    configs = paper_grid.paper_configs(datasets, formulas, transfer_from="HIGGS")
    study, side = RunStore(), RunStore(derived_dir() / SIDE_STORE)
    tuning_runs, budgets, tuned = tuning.tune_and_train(configs, datasets, profile, profile.seeds, store=study)
    alone = seed_budgets(tuning_runs, profile)
    runs = {STUDY: tuned}
    for seed in profile.tune_seeds:
        runs[seed] = runs_at(alone[alone["tuning_seed"] == seed], profile.seeds, datasets, study, side)
    runs = {label: paper_grid.with_roles(table, formulas) for label, table in runs.items()}
    rows = {name: data.n_rows for name, data in datasets.items()}
    return compare(efficiency.grid_families(datasets), runs, rows), budget_table(budgets, alone)


def write_doc(table: pd.DataFrame, budgets: pd.DataFrame, doc: Path) -> None:
    """Put ``table`` and a sentence on ``budgets`` between the ``<!-- tuning-seeds:start -->`` and ``end``
    markers of ``doc``."""
    seeds = [column[len("seed_"):-len("_mean")] for column in table.columns
             if column.startswith("seed_") and column.endswith("_mean")]
    shown = pd.DataFrame({"id": table["id"], "study": [f"{m:+.4f} {v}" for m, v in
                                                       zip(table["study_mean"], table["study_verdict"])]})
    for seed in seeds:
        shown[f"seed {seed} alone"] = [f"{m:+.4f} {v}" for m, v in
                                       zip(table[f"seed_{seed}_mean"], table[f"seed_{seed}_verdict"])]
    shown["differing"] = [f"{d} of {n}" for d, n in zip(table["choices_differing"], table["choices"])]
    moved = table[~table["same"]]
    sentence = (f"Budgets: {int(budgets['same'].sum())} of {len(budgets)} single-seed choices (configurations x "
                f"tuning seeds) are the study's own; {int(budgets['lr_edge'].sum())} sit at an end of the "
                f"learning rates the study tried. Verdicts: {len(moved)} of {len(table)} claims get another "
                "verdict on some tuning seed's budgets at the register's margin"
                + (f" ({', '.join(moved['id'])})" if len(moved) else "")
                + f"; {int((table['choices_differing'] > 0).sum())} of {len(table)} under at least one of the "
                "robustness table's metric and margin choices.")
    body = f"{shown.to_markdown(index=False, disable_numparse=True)}\n\n{sentence}"
    doc.write_text(replace_block(doc.read_text(), "<!-- tuning-seeds:start -->", "<!-- tuning-seeds:end -->", body))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="full", help="the profile whose grid is tuned again (default: full)")
    parser.add_argument("--doc", type=Path, help="a page with tuning-seeds markers to write the table into")
    args = parser.parse_args()
    table, budgets = check(args.profile)
    table.to_csv(derived_dir() / FILE, index=False)
    budgets.to_csv(derived_dir() / BUDGETS, index=False)
    print(budgets.to_string(index=False))
    print(table.round(4).to_string(index=False))
    if args.doc:
        write_doc(table, budgets, args.doc)


if __name__ == "__main__":
    main()
