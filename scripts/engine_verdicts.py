"""Does the engine move a verdict? The paper grid's claims judged on the study's runs and on the torch engine's.

The study trains with the compiled engine where it can, and falls back to the torch engine where it cannot
(``nslib.engine.grid``). The two agree to rounding, not to the bit (``scripts/engine_agreement.py``), and
training amplifies rounding. This script asks what that does to the verdicts: it trains the runs of the paper's
grid (notebooks 03 and 05: Heavy ReLU, Light ReLU, GELU, SiLU, the Specialist and the HIGGS formula elsewhere; the
full profile's ten seeds) again with the torch engine, at the paper's budget and at the study's tuned budgets (read
back with the study's tuning runs, not tuned again), judges notebook 03's and notebook 05's claims on each engine's
runs as the notebooks do, and, as the robustness table does, under every metric and margin. Per claim and budget:
each engine's mean and verdict at the register's margin, and in how many of the robustness table's choices
(metric x margin) the two engines' verdicts differ.

Run it after ``make reproduce`` with ``NSLIB_DERIVED_DIR=build/reproduce/derived``, so that the study's own
runs (the compiled engine's) are read back from its run store; the torch engine's go to a store of their own
beside it (``runs_torch_engine.csv``). The table goes to ``derived_dir()/engine_verdicts.csv``, and
``--doc docs/engine.md`` writes it into that page between its markers.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from nslib.core.paths import derived_dir
from nslib.data.datasets import load_selection
from nslib.engine.grid import run_grid
from nslib.engine.runstore import RunStore
from nslib.experiments import efficiency, paper_grid, tuning
from nslib.experiments.profiles import get_profile
from nslib.publish.readme_results import replace_block
from nslib.stats import robustness
from nslib.stats.register import PAPER, TUNED, Claim, judge_family

FILE, TORCH_STORE = "engine_verdicts.csv", "runs_torch_engine.csv"
DATASETS = ("HIGGS", "FOREST_COVER", "SPAMBASE")
ENGINES = ("compiled", "torch")


def compare(claims: Mapping[str, Sequence[Claim]], runs: Mapping[str, Mapping[str, pd.DataFrame]],
            rows: Mapping[str, int]) -> pd.DataFrame:
    """Per claim and budget: each engine's mean and verdict at the register's margin (Holm within the family and
    budget, as the register), and ``choices_differing``: of the robustness table's metric x margin choices, in how
    many the engines' verdicts differ (of ``choices``). ``runs`` maps each engine to its runs by budget."""
    out = []
    for family, mine in claims.items():
        differing = robustness.differing_choices(mine, runs["compiled"], {"torch": runs["torch"]}, rows, family=family)
        for budget in runs["compiled"]:
            judged = {engine: judge_family(mine, runs[engine][budget], rows).set_index("id") for engine in ENGINES}
            for claim in mine:
                row = {"family": family, "id": claim.id, "budget": budget, "claim": claim.claim,
                       "dataset": claim.dataset}
                for engine in ENGINES:
                    row[f"{engine}_mean"] = judged[engine].loc[claim.id, "mean"]
                    row[f"{engine}_verdict"] = judged[engine].loc[claim.id, "verdict"]
                row["same"] = row["compiled_verdict"] == row["torch_verdict"]
                row["choices_differing"] = int(differing.loc[(claim.id, budget), "sum"])
                row["choices"] = int(differing.loc[(claim.id, budget), "size"])
                out.append(row)
    return pd.DataFrame(out)


def run_differences(runs: Mapping[str, Mapping[str, pd.DataFrame]]) -> pd.DataFrame:
    """Per budget and metric, the largest absolute difference between the engines over the same runs."""
    largest = {}
    for budget in runs["compiled"]:
        compiled, torch = (runs[engine][budget].set_index("key") for engine in ENGINES)
        largest[budget] = (compiled[["auc", "acc"]] - torch.loc[compiled.index, ["auc", "acc"]]).abs().max()
    return pd.DataFrame(largest).T


def check(profile_name: str = "full") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train the paper grid at both budgets with the torch engine beside the study's runs; the comparison and the
    runs' differences. The tuned budgets are the study's (read back from its store with its tuning runs)."""
    profile = get_profile(profile_name)
    datasets = load_selection(list(DATASETS), rows=profile.rows, user_csv=None, user_label=None,
                              user_positive=None, user_options={})
    formulas = paper_grid.formulas_for(datasets, profile)
    study = RunStore()
    configs = paper_grid.paper_configs(datasets, formulas, transfer_from="HIGGS")
    os.environ["NSLIB_ENGINE"] = "compiled"  # the study's engine, for any of its runs the store lacks
    _, budgets, _ = tuning.tune_and_train(configs, datasets, profile, profile.seeds, store=study)
    specs = {PAPER: paper_grid.paper_specs(datasets, formulas, profile.seeds, profile.epochs, transfer_from="HIGGS"),
             TUNED: tuning.tuned_specs(budgets, profile.seeds)}
    stores = {"compiled": study, "torch": RunStore(derived_dir() / TORCH_STORE)}
    runs = {}
    for engine in ENGINES:
        os.environ["NSLIB_ENGINE"] = engine  # as a user picks the engine
        runs[engine] = {}
        for budget, chosen in specs.items():
            start = time.perf_counter()
            runs[engine][budget] = paper_grid.with_roles(run_grid(chosen, datasets, store=stores[engine]), formulas)
            print(f"{engine} engine, {budget} budget: {len(chosen)} runs ready in {time.perf_counter() - start:.0f} s, "
                  f"trained by {sorted(set(runs[engine][budget]['device']))}")
    rows = {name: data.n_rows for name, data in datasets.items()}
    return compare(efficiency.grid_families(datasets), runs, rows), run_differences(runs)


def write_doc(table: pd.DataFrame, largest: pd.DataFrame, doc: Path) -> None:
    """Put ``table`` as markdown between the ``<!-- engine-verdicts:start -->`` and ``end`` markers of ``doc``, with
    a sentence per budget."""
    shown = table.assign(**{f"{engine}_mean": table[f"{engine}_mean"].map("{:+.4f}".format) for engine in ENGINES})
    shown = shown.assign(differing=[f"{d} of {n}" for d, n in zip(table["choices_differing"], table["choices"])])
    shown = shown[["id", "budget", "compiled_mean", "compiled_verdict", "torch_mean", "torch_verdict", "differing"]]
    sentences = []
    for budget, part in table.groupby("budget", sort=False):
        sentences.append(
            f"At the {budget} budget, {int((~part['same']).sum())} of {len(part)} verdicts differ between the engines "
            "at the register's margin, and under at least one of the robustness table's metric and margin choices "
            f"{int((part['choices_differing'] > 0).sum())} of {len(part)}; the largest difference of one run is "
            f"{largest.loc[budget, 'auc']:.4f} AUC and {largest.loc[budget, 'acc']:.4f} accuracy.")
    body = f"{shown.to_markdown(index=False, disable_numparse=True)}\n\n{' '.join(sentences)}"
    doc.write_text(replace_block(doc.read_text(), "<!-- engine-verdicts:start -->", "<!-- engine-verdicts:end -->",
                                 body))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="full", help="the profile whose grid is trained again (default: full)")
    parser.add_argument("--doc", type=Path, help="a page with engine-verdicts markers to write the table into")
    args = parser.parse_args()
    table, largest = check(args.profile)
    table.to_csv(derived_dir() / FILE, index=False)
    print(table.round(4).to_string(index=False))
    print(largest.to_string())
    if args.doc:
        write_doc(table, largest, args.doc)


if __name__ == "__main__":
    main()
