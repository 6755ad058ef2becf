"""Searching for an activation by training with it: a small evolutionary search, for notebook 06.

The paper scores a GP formula by how well it classifies the raw features, then
reuses it as an activation. Ramachandran, Zoph and Le (2017, "Searching for
Activation Functions", the search that found Swish) score each candidate
activation by training the network with it instead. ``search`` does that, small:

- Candidates come from the paper's grammar: gplearn programs in one variable
  (``n_features=1``, ``X0`` read as ``x``) over add, sub, mul, sin, cos and abs,
  with constants drawn uniformly from (-1, 1) and printed to 3 decimals.
  Generation 0 is random programs of depth 1 to 4 (``INIT_DEPTH``, gplearn's
  ramped half-and-half); offspring deeper than ``MAX_DEPTH`` are bred again.
- Two programs are one candidate when their formulas take the same values, to
  ``FINGERPRINT_DECIMALS`` decimals, on ``FINGERPRINT_GRID`` (``add(x, x)`` and
  ``sub(add(x, x), sub(x, x))`` do, and so do ``cos(abs(x))`` and ``cos(x)``), so each
  function is trained once, with the text of the first program met (canonical:
  ``nslib.formulas.parser.parse``). Comparing values rather than sympy's reading costs
  microseconds instead of tens of milliseconds, and also catches what sympy does
  not see. A formula whose values do not change with x (``sub(x, x)``) is not
  trained: it is kept in the table with status ``constant``.
- Each candidate's score is the validation ROC AUC after the last epoch of a
  Light network (widths 64-32) trained with it, averaged over ``seeds``: the
  split holds out ``VALIDATION`` of the training part, and the test part is
  never looked at. A candidate whose run fails on any seed (the activation
  overflows) scores NaN and stays in the table with the reason. Candidates train
  with the torch engine (``SCREEN_ENGINE``): a candidate's few epochs take less
  time than gcc takes to compile the compiled engine's kernels for its formula.
- Each later generation keeps the ``elite`` best of the previous one and fills
  up with new candidates bred from tournament-selected parents (``TOURNAMENT``
  entrants) by gplearn's crossover, subtree, hoist or point mutation
  (``OPERATIONS``); a child that is already known is bred again, so every
  generation trains ``population - elite`` new candidates, all in one
  ``run_grid`` call.

Every random choice comes from one ``numpy.random.RandomState(random_state)``,
and training is bit for bit repeatable, so a search is fixed by its arguments.
The scores use a reduced budget (``BUDGETS``: one seed, few epochs, lr 1e-2), so
they rank candidates; they are not the study's full-budget AUCs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from gplearn._program import _Program

from nslib.core.checks import check_int
from nslib.core.plots import LEGEND_RIGHT
from nslib.core.progress import progress as progress_bar
from nslib.data.catalog import Dataset
from nslib.engine.grid import run_grid
from nslib.engine.runstore import RunStore
from nslib.engine.specs import make_spec
from nslib.formulas.discovery import gp_program, simplified_text
from nslib.formulas.parser import parse

INIT_DEPTH = (1, 4)  # generation 0's program depths, both ends included (gplearn's init_depth)
MAX_DEPTH = 6  # no offspring deeper than this (gplearn's depth: operator levels on the longest path)
TOURNAMENT = 3  # entrants per tournament; the best of them is a parent
P_POINT_REPLACE = 0.2  # point mutation's chance to replace each node
# How a child is bred, and how often: gplearn's four operations.
OPERATIONS = (("crossover", 0.5), ("subtree", 0.2), ("hoist", 0.1), ("point", 0.2))
VALIDATION = 0.2  # share of the training part held out to score candidates
ARCH = "light"
# Where a candidate's values are compared: pre-activations after BatchNorm lie mostly in
# [-4, 4]; the offset keeps the points off 0 and the integers, where functions meet more often.
FINGERPRINT_GRID = np.linspace(-4, 4, 161) + 0.0137
FINGERPRINT_DECIMALS = 9
MAX_TRIES = 100  # draws per wanted candidate before the grammar counts as exhausted
COLUMNS = [
    "dataset", "candidate", "generation", "formula", "simplified", "depth", "operation", "parents",
    "val_auc", "n_ok", "status", "reason", "last_generation",
]


@dataclass(frozen=True)
class SearchBudget:
    """The size of a search and the reduced training budget each candidate is scored with.

    The fields are ``search``'s arguments of the same names:
    ``search(data, **dataclasses.asdict(budget), random_state=0)``.
    """

    population: int
    generations: int
    elite: int
    seeds: tuple[int, ...]
    epochs: int
    lr: float

    @property
    def candidates(self) -> int:
        """Candidates trained per data set: a full generation 0, then ``population - elite`` per generation."""
        return self.population + (self.generations - 1) * (self.population - self.elite)


# "full" trains 212 candidates per data set; 30 new ones a generation fill four stacks of 8
# (two rounds on 2 cores). Measured on the mirror's data (HIGGS 20,978 rows, FOREST_COVER
# 68,178, SPAMBASE 4,601), 2 cores shared with other programs: CPU seconds per candidate
# 0.054 / 0.143 / 0.384 (SPAMBASE / HIGGS / FOREST_COVER), 123 s of CPU for the three
# searches, so about a minute of wall time on two free cores (177 s with the cores shared).
# Cost grows with the rows: on the paper's 100,000 HIGGS rows a candidate costs about 5 times more.
# 3 epochs at lr 1e-2 rank 13-14 activations like 15 epochs at lr 1e-3 (3 seeds) do:
# Spearman 0.97 (HIGGS), 0.99 (FOREST_COVER), 0.82 (SPAMBASE, whose 736 validation rows
# make one seed's score noisy; 0.97 with 3 seeds); 2 epochs: 0.95, 0.93, 0.89.
# The engine of the scores. 60 Forest Cover candidates, 3 epochs, one seed, no kernel compiled before, 2 cores:
# 33.1 s with the compiled engine (gcc takes about 0.75 s a formula), 12.0 s with torch's; the same five best,
# validation AUCs within 0.0054 of each other (median 0.0001).
SCREEN_ENGINE = "torch"
BUDGETS = {
    "full": SearchBudget(population=32, generations=7, elite=2, seeds=(42,), epochs=3, lr=1e-2),
    "quick": SearchBudget(population=6, generations=2, elite=2, seeds=(42,), epochs=1, lr=1e-2),
}


def budget_for(profile: str) -> SearchBudget:
    """The search budget of a notebook ``PROFILE`` (``"full"`` or ``"quick"``)."""
    if profile not in BUDGETS:
        raise ValueError(f"PROFILE={profile!r} has no search budget; use one of {sorted(BUDGETS)}.")
    return BUDGETS[profile]


def score(
    dataset: Dataset,
    activations: Sequence[str],
    *,
    seeds: Sequence[int],
    epochs: int,
    lr: float,
    store: RunStore | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Train a Light network with each activation on ``dataset`` and score it by its validation AUC.

    ``activations`` are built-ins (``"relu"``) or formulas in ``x``, each
    trained once per seed with ``SCREEN_ENGINE`` in one ``run_grid`` call (with ``store``, stored runs
    are read back). One row per activation, in order: ``activation`` as given,
    ``val_auc`` (the validation ROC AUC after the last epoch, mean over seeds),
    ``n_ok`` (seeds that trained), ``status`` (``failed`` if any seed failed,
    with ``val_auc`` NaN) and ``reason`` (the first failure's). This is how the
    search scores its candidates, and how references are scored at the same budget.
    """
    specs = {
        activation: [make_spec(dataset.name, ARCH, activation, seed, epochs=epochs, lr=lr, validation=VALIDATION)
                     for seed in seeds]
        for activation in activations
    }
    runs = run_grid([spec for group in specs.values() for spec in group], {dataset.name: dataset},
                    store=store, progress=progress, engine_name=SCREEN_ENGINE).set_index("key")
    rows = []
    for activation, group in specs.items():
        mine = runs.loc[[spec.key for spec in group]]
        ok = mine[mine["status"] == "ok"]
        failed = mine[mine["status"] != "ok"]
        final = [float(str(text).split(";")[-1]) for text in ok["val_auc"]]
        rows.append({
            "activation": activation,
            "val_auc": float(np.mean(final)) if failed.empty else math.nan,
            "n_ok": len(ok),
            "status": "ok" if failed.empty else "failed",
            "reason": "" if failed.empty else str(failed["reason"].iloc[0]),
        })
    return pd.DataFrame(rows, columns=["activation", "val_auc", "n_ok", "status", "reason"])


@dataclass
class _Candidate:
    """One distinct function met by the search; ``nodes`` is its first program's gplearn node list."""

    number: int
    generation: int
    formula: str
    simplified: str
    depth: int
    operation: str
    parents: tuple[int, ...]
    nodes: list
    constant: bool
    val_auc: float = math.nan
    n_ok: int = 0
    status: str = ""
    reason: str = ""
    last_generation: int | None = None

    @property
    def rank_key(self) -> float:
        """Higher is better; a NaN score (failed) ranks below every number."""
        return -math.inf if math.isnan(self.val_auc) else self.val_auc


class _Pool:
    """Every candidate met so far, by its values on ``FINGERPRINT_GRID``."""

    def __init__(self) -> None:
        self.by_values: dict[bytes, _Candidate] = {}

    def add(self, program: _Program, generation: int, operation: str, parents: tuple[int, ...]) -> _Candidate | None:
        """The new candidate that ``program`` is, or None if its function was met before."""
        formula = parse(str(program)).collapse()
        values = np.round(formula.evaluate(FINGERPRINT_GRID), FINGERPRINT_DECIMALS)
        if values.tobytes() in self.by_values:
            return None
        candidate = _Candidate(
            number=len(self.by_values), generation=generation, formula=str(formula),
            simplified=simplified_text(str(formula)), depth=program.depth_, operation=operation, parents=parents,
            nodes=program.program, constant=bool(np.all(values == values[0])),
        )
        self.by_values[values.tobytes()] = candidate
        return candidate


def _program(nodes: list | None, random_state: np.random.RandomState | None = None) -> _Program:
    """The search's gplearn program: ``nodes`` as given, or a random one of depth ``INIT_DEPTH`` if None."""
    return gp_program(random_state, n_features=1, init_depth=INIT_DEPTH, p_point_replace=P_POINT_REPLACE,
                      program=nodes)


def _tournament(population: Sequence[_Candidate], random_state: np.random.RandomState) -> _Candidate:
    entrants = random_state.randint(len(population), size=TOURNAMENT)
    return max((population[i] for i in entrants), key=lambda candidate: candidate.rank_key)


def _breed(
    population: Sequence[_Candidate], random_state: np.random.RandomState
) -> tuple[list, str, tuple[int, ...]]:
    """One child of tournament-selected parents: its node list, the operation and the parents' numbers."""
    names = [name for name, _ in OPERATIONS]
    operation = names[np.searchsorted(np.cumsum([p for _, p in OPERATIONS]), random_state.uniform())]
    parent = _tournament(population, random_state)
    program = _program(parent.nodes)
    if operation == "crossover":
        donor = _tournament(population, random_state)
        return program.crossover(donor.nodes, random_state)[0], operation, (parent.number, donor.number)
    if operation == "subtree":
        return program.subtree_mutation(random_state)[0], operation, (parent.number,)
    if operation == "hoist":
        return program.hoist_mutation(random_state)[0], operation, (parent.number,)
    return program.point_mutation(random_state)[0], operation, (parent.number,)


def _new_candidates(
    pool: _Pool, wanted: int, generation: int, population: Sequence[_Candidate], random_state: np.random.RandomState
) -> list[_Candidate]:
    """Draw (generation 0) or breed programs until ``wanted`` new candidates depend on x; constants join the pool."""
    trainable: list[_Candidate] = []
    for _ in range(MAX_TRIES * wanted):
        if len(trainable) == wanted:
            return trainable
        if generation == 0:
            program, operation, parents = _program(None, random_state), "random", ()
        else:
            nodes, operation, parents = _breed(population, random_state)
            program = _program(nodes)
        if program.depth_ > MAX_DEPTH:
            continue
        candidate = pool.add(program, generation, operation, parents)
        if candidate is not None and not candidate.constant:
            trainable.append(candidate)
    if len(trainable) < wanted:
        raise ValueError(
            f"generation {generation} found only {len(trainable)} new formulas in x of {wanted} after "
            f"{MAX_TRIES * wanted} draws: the grammar is exhausted; ask for a smaller population."
        )
    return trainable


def search(
    dataset: Dataset,
    *,
    population: int,
    generations: int,
    elite: int = 2,
    seeds: Sequence[int] = (42,),
    epochs: int,
    lr: float,
    random_state: int,
    store: RunStore | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Evolve activations for ``dataset``, scoring each candidate by training a Light network with it.

    Generation 0 is ``population`` random formulas in x; each later generation
    keeps the ``elite`` best of the previous one and breeds ``population -
    elite`` new candidates (see the module docstring), each generation's
    candidates trained together by ``score``. Returns one row per candidate met,
    in the order met: ``candidate`` (its number), ``generation`` (first met),
    ``formula`` (canonical), ``simplified`` (sympy), ``depth``, ``operation``
    (``random``, ``crossover``, ``subtree``, ``hoist``, ``point``), ``parents``
    (candidate numbers, ``;``-joined), ``val_auc``, ``n_ok``, ``status``
    (``ok``, ``failed`` or ``constant``: not trained), ``reason`` and
    ``last_generation`` (the last generation it was a member of; empty for
    constants).
    """
    population = check_int("population", population, low=2, example="38")
    generations = check_int("generations", generations, example="7")
    elite = check_int("elite", elite, low=0, high=population - 1, example=f"2 (less than population={population})")
    check_int("random_state", random_state, low=0, high=2**32 - 1, example="0")
    if not seeds:
        raise ValueError("seeds=() is empty; give at least one training seed, e.g. seeds=(42,).")
    rng = np.random.RandomState(random_state)
    pool = _Pool()
    members: list[_Candidate] = []
    for generation in progress_bar(range(generations), desc=f"search on {dataset.name}", unit="generation",
                                   disable=not progress):
        kept = sorted(members, key=lambda candidate: -candidate.rank_key)[: elite if generation else 0]
        new = _new_candidates(pool, population - len(kept), generation, members, rng)
        scores = score(dataset, [candidate.formula for candidate in new], seeds=seeds, epochs=epochs, lr=lr,
                       store=store)
        for candidate, (_, row) in zip(new, scores.iterrows()):
            candidate.val_auc, candidate.n_ok = row["val_auc"], row["n_ok"]
            candidate.status, candidate.reason = row["status"], row["reason"]
        members = kept + new
        for candidate in members:
            candidate.last_generation = generation
    return _table(dataset.name, pool)


def _table(name: str, pool: _Pool) -> pd.DataFrame:
    rows = []
    for candidate in sorted(pool.by_values.values(), key=lambda candidate: candidate.number):
        constant = candidate.constant
        rows.append({
            "dataset": name, "candidate": candidate.number, "generation": candidate.generation,
            "formula": candidate.formula, "simplified": candidate.simplified, "depth": candidate.depth,
            "operation": candidate.operation, "parents": ";".join(map(str, candidate.parents)),
            "val_auc": candidate.val_auc, "n_ok": candidate.n_ok,
            "status": "constant" if constant else candidate.status,
            "reason": "does not depend on x, so it is not trained" if constant else candidate.reason,
            "last_generation": candidate.last_generation,
        })
    return pd.DataFrame(rows, columns=COLUMNS).astype({"last_generation": "Int64"})


def best(table: pd.DataFrame, k: int = 5) -> pd.DataFrame:
    """The ``k`` candidates of ``table`` (from ``search``) with the highest ``val_auc``; failed and constant ones left out.

    Ties keep the order the search met them in.
    """
    k = check_int("k", k, example="5")
    missing = [column for column in ("val_auc", "status") if column not in table.columns]
    if missing:
        raise ValueError(f"table lacks the columns {missing}; pass the table search() returned.")
    scored = table[table["status"] == "ok"]
    return scored.sort_values("val_auc", ascending=False, kind="stable").head(k)


def plot_search(table: pd.DataFrame, references: Mapping[str, float], ax: plt.Axes | None = None) -> plt.Figure:
    """Every trained candidate's validation AUC against its generation, the best so far, and ``references``.

    ``table`` is one data set's ``search`` result; ``references`` maps a label
    (``"ReLU"``) to its validation AUC at the same budget (``score``), drawn as
    dashed lines. Failed candidates are counted in the title.
    """
    names = table["dataset"].unique()
    if len(names) != 1:
        raise ValueError(f"table holds the data sets {list(names)}; plot one at a time, e.g. table[table.dataset == ...].")
    trained = table[table["status"] != "constant"]
    ok = trained[trained["status"] == "ok"]
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
    fig = ax.figure
    # Fixed jitter, so that the figure is the same on every run.
    jitter = np.random.default_rng(0).uniform(-0.2, 0.2, size=len(ok))
    ax.scatter(ok["generation"] + jitter, ok["val_auc"], s=14, alpha=0.6, color="grey", label="candidate")
    so_far = ok.groupby("generation")["val_auc"].max().cummax()
    ax.step(so_far.index, so_far.values, where="post", color="black", linewidth=2, label="best so far")
    for (label, value), colour in zip(references.items(), sns.color_palette("colorblind", len(references))):
        ax.axhline(value, color=colour, linestyle="--", linewidth=1.5, label=f"{label} ({value:.3f})")
    ax.legend(fontsize="small", **LEGEND_RIGHT)
    failed = len(trained) - len(ok)
    note = f"; {failed} failed, not shown" if failed else ""
    ax.set(xlabel="generation", ylabel="validation ROC AUC", title=f"{names[0]}: {len(trained)} candidates{note}")
    return fig
