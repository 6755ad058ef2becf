"""Genetic-programming discovery: one formula per data set, as the paper finds it.

The paper (Hajbi, arXiv 2601.10740; ``docs/method.md``) runs gplearn's ``SymbolicClassifier``
on 10% of a data set's rows (seed 42), standardised, and keeps the best program. Replacing every
feature ``X<i>`` by one ``x`` ("collapsing") turns it into the activation the study uses.

``discover`` does that and also scores the program and its collapsed form on the rows GP did not
see. Records are kept in ``derived_dir()/formulas.json`` under ``cache_key`` (data fingerprint,
settings, ``DISCOVERY_CODE_VERSION``). ``random_programs`` draws controls from the same grammar,
``stability`` repeats discovery over GP seeds, ``activation_curves``/``plot_activation`` draw activations.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from gplearn._program import _Program
from gplearn.fitness import _fitness_map
from gplearn.functions import _function_map
from gplearn.genetic import SymbolicClassifier
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

from nslib.core.checks import check_int
from nslib.core.files import atomic_write
from nslib.core.parallel import Executor, executor_from_env, map_unordered
from nslib.core.paths import derived_dir
from nslib.core.progress import progress
from nslib.core.repro import data_fingerprint, versions
from nslib.data.catalog import Dataset
from nslib.formulas.parser import parse

PAPER_FUNCTION_SET = ("add", "sub", "mul", "sin", "cos", "abs")
CACHE_FILE = "formulas.json"
# Bump with any change to how a record is computed (this module, symbolic, the loader's rows):
# entries of an older version are then recomputed.
DISCOVERY_CODE_VERSION = "2"


@dataclass(frozen=True)
class Discovery:
    """One discovery run: the program gplearn found, its collapsed formula, and their scores.

    ``fitness`` is gplearn's raw fitness of the program (log loss on the discovery sample).
    The AUCs are on the rows GP did not see, standardised with the sample's scaler:

    - ``auc_multivariate``: the program on all its features (``predict_proba``);
    - ``auc_collapsed``: the collapsed formula applied to the program's first feature
      (``collapsed_feature``, e.g. ``"X25"``): ``auc_multivariate`` for a program in one
      feature, what is left once several are merged; None for a program without features;
    - ``auc_best_single_feature``: for context, the one feature (with its sign) that ranks
      the discovery sample best.
    """

    dataset: str
    program: str
    formula: str
    fitness: float
    auc_multivariate: float
    auc_collapsed: float | None
    collapsed_feature: str | None
    auc_best_single_feature: float
    best_single_feature: str
    seed: int
    settings: dict[str, Any]
    rows_used: int
    sample_rows: int
    data_sha256: str
    versions: dict[str, str]
    seconds: float

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Discovery:
        """Rebuild a record from ``dataclasses.asdict``; a ValueError names missing or unknown fields."""
        names = {field.name for field in fields(cls)}
        missing, unknown = names - set(values), set(values) - names
        if missing or unknown:
            raise ValueError(
                f"not a Discovery record: missing fields {sorted(missing)}, unknown fields "
                f"{sorted(unknown)}; delete the entry (or {CACHE_FILE}) to recompute it."
            )
        return cls(**values)


def discovery_sample(n_rows: int, fraction: float, seed: int) -> np.ndarray:
    """The row indices GP sees: ``int(fraction * n_rows)`` rows without replacement (20,978 give 2,097).

    The paper's ``np.random.seed(seed)`` then ``np.random.choice(n, int(0.1 * n), replace=False)``,
    drawn from a private ``RandomState`` so that numpy's global generator is left alone.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(
            f"sample_fraction={fraction!r} must lie strictly between 0 and 1, so that some rows "
            "are left to score the program on; the paper uses 0.1."
        )
    size = int(fraction * n_rows)
    if size < 2:
        raise ValueError(
            f"sample_fraction={fraction} of {n_rows} rows leaves {size} row(s) for GP; "
            "use more rows or a larger fraction."
        )
    return np.random.RandomState(seed).choice(n_rows, size, replace=False)


def discovery_settings(
    population_size: int,
    generations: int,
    function_set: Sequence[str],
    sample_fraction: float,
    gplearn_kwargs: Mapping[str, Any],
) -> dict[str, Any]:
    """The settings that decide a discovery's result, as a JSON-ready dict (part of the cache key)."""
    clash = {"population_size", "generations", "function_set", "random_state"} & set(gplearn_kwargs)
    if clash:
        raise TypeError(
            f"discover() sets {sorted(clash)} itself; pass population_size, generations, "
            "function_set and seed as its own arguments, not as gplearn keyword arguments."
        )
    recorded = {}
    for key, value in sorted(gplearn_kwargs.items()):
        try:  # as formulas.json holds it (tuples become lists); what JSON cannot hold cannot be cached
            recorded[key] = json.loads(json.dumps(value, allow_nan=False))
        except (TypeError, ValueError):
            raise TypeError(
                f"gplearn argument {key}={value!r} cannot be recorded in {CACHE_FILE}; "
                "use gplearn's names for functions and metrics (strings), numbers or lists."
            ) from None
    return {
        "population_size": int(population_size),
        "generations": int(generations),
        "function_set": list(function_set),
        "sample_fraction": float(sample_fraction),
        "gplearn_kwargs": recorded,
    }


def cache_key(dataset: Dataset, seed: int, settings: Mapping[str, Any]) -> str:
    """A stable, readable key: data set, rows, GP seed, code version, and digests of the data and the settings.

    The data's digest is ``nslib.core.repro.data_fingerprint`` of the arrays, so two samples of one file
    (other ``rows`` or loader seed) and a user's own data never share an entry.
    """
    settings_digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
    return (
        f"{dataset.name}|rows={len(dataset.y)}|seed={seed}|code={DISCOVERY_CODE_VERSION}"
        f"|data={data_fingerprint(dataset.X, dataset.y)[:16]}|settings={settings_digest[:16]}"
    )


def discover(
    dataset: Dataset,
    seed: int = 42,
    *,
    population_size: int = 500,
    generations: int = 5,
    function_set: Sequence[str] = PAPER_FUNCTION_SET,
    sample_fraction: float = 0.1,
    use_cache: bool = True,
    store: bool = True,
    **gplearn_kwargs: Any,
) -> Discovery:
    """Run the paper's discovery on ``dataset`` and score the program it finds.

    Scales the ``discovery_sample`` rows with a ``StandardScaler`` fit on them and runs
    ``SymbolicClassifier(population_size, generations, function_set, random_state=seed, n_jobs=1,
    **gplearn_kwargs)``, gplearn's defaults otherwise, as in the paper. Features are scaled in float64,
    as the paper's pandas arrays are (in float32, FOREST_COVER's seed-42 program differs).

    ``use_cache`` returns a record stored under the same ``cache_key`` without running GP;
    ``store=False`` leaves ``formulas.json`` alone (a worker returns its record, the caller stores it).
    """
    seed = check_int("seed", seed, low=0, high=2**32 - 1, example="42 (numpy's RandomState takes up to 2**32 - 1)")
    settings = discovery_settings(population_size, generations, function_set, sample_fraction, gplearn_kwargs)
    key = cache_key(dataset, seed, settings)
    if use_cache and (cached := read_cache().get(key)) is not None:
        return Discovery.from_dict(cached)
    record = _run_discovery(dataset, seed, settings)
    if store:
        write_cache(dataset, [record])
    return record


def _run_discovery(dataset: Dataset, seed: int, settings: Mapping[str, Any]) -> Discovery:
    start = time.perf_counter()
    X = np.asarray(dataset.X, dtype=np.float64)
    y = np.asarray(dataset.y)
    sample = discovery_sample(len(y), settings["sample_fraction"], seed)
    unseen = np.setdiff1d(np.arange(len(y)), sample)
    for part, rows in (("discovery sample", sample), ("unseen rows", unseen)):
        if len(np.unique(y[rows])) != 2:
            raise ValueError(
                f"the {part} of {dataset.name} ({len(rows)} rows, seed {seed}) holds one class only; "
                "use more rows or another sample_fraction."
            )
    scaler = StandardScaler().fit(X[sample])
    X_sample, X_unseen = scaler.transform(X[sample]), scaler.transform(X[unseen])

    gp = SymbolicClassifier(
        population_size=settings["population_size"],
        generations=settings["generations"],
        function_set=list(settings["function_set"]),
        random_state=seed,
        **{"n_jobs": 1, **settings["gplearn_kwargs"]},
    )
    gp.fit(X_sample, y[sample])

    program = str(gp._program)
    formula = parse(program).collapse()
    # gplearn stores a feature as its column index (an int) and a constant as a float.
    first_feature = next((node for node in gp._program.program if isinstance(node, int)), None)
    auc_collapsed = None
    if first_feature is not None:
        auc_collapsed = float(roc_auc_score(y[unseen], formula.evaluate(X_unseen[:, first_feature])))
    # The best single feature is chosen on the discovery sample only, so that its unseen-row AUC is a fair comparison.
    aucs = np.array([roc_auc_score(y[sample], column) for column in X_sample.T])
    best = int(np.argmax(np.abs(aucs - 0.5)))
    sign = 1 if aucs[best] >= 0.5 else -1
    return Discovery(
        dataset=dataset.name,
        program=program,
        formula=str(formula),
        fitness=float(gp._program.raw_fitness_),
        auc_multivariate=float(roc_auc_score(y[unseen], gp.predict_proba(X_unseen)[:, 1])),
        auc_collapsed=auc_collapsed,
        collapsed_feature=None if first_feature is None else f"X{first_feature}",
        auc_best_single_feature=float(roc_auc_score(y[unseen], sign * X_unseen[:, best])),
        best_single_feature=f"X{best}" if sign > 0 else f"-X{best}",
        seed=seed,
        settings=dict(settings),
        rows_used=int(dataset.provenance.rows_used),
        sample_rows=len(sample),
        data_sha256=data_fingerprint(dataset.X, dataset.y),
        versions=versions(),
        seconds=round(time.perf_counter() - start, 3),
    )


def read_cache() -> dict[str, dict[str, Any]]:
    """Every stored discovery in ``derived_dir()/formulas.json``, keyed by ``cache_key`` (empty if none)."""
    path = derived_dir() / CACHE_FILE
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON ({error}); delete it to recompute the formulas.") from None


def write_cache(dataset: Dataset, records: Sequence[Discovery]) -> None:
    """Store ``records`` of ``dataset`` in ``formulas.json`` under their ``cache_key``s, in one atomic write."""
    entries = read_cache()
    for record in records:
        entries[cache_key(dataset, record.seed, record.settings)] = asdict(record)
    with atomic_write(derived_dir() / CACHE_FILE, "w") as file:
        file.write(json.dumps(entries, indent=2, sort_keys=True) + "\n")


def gp_program(
    random_state: np.random.RandomState | None,
    *,
    n_features: int,
    function_set: Sequence[str] = PAPER_FUNCTION_SET,
    init_depth: tuple[int, int] = (2, 6),
    p_point_replace: float = 0.05,
    program: list | None = None,
) -> _Program:
    """A gplearn ``_Program``: ``program`` (a flat node list) as given, or a random one drawn from ``random_state``.

    A random program is drawn like a member of ``SymbolicClassifier``'s first
    generation: ramped half-and-half, a depth from ``init_depth`` (both ends
    included), constants in (-1, 1). Its ``crossover``, ``subtree_mutation``,
    ``hoist_mutation`` and ``point_mutation`` (which replaces each node with
    probability ``p_point_replace``) breed new node lists.
    """
    unknown = [name for name in function_set if name not in _function_map]
    if unknown:
        raise ValueError(f"unknown gplearn functions {unknown}; use names from {sorted(_function_map)}.")
    functions = [_function_map[name] for name in function_set]
    return _Program(
        function_set=functions,
        arities={arity: [f for f in functions if f.arity == arity] for arity in {f.arity for f in functions}},
        init_depth=init_depth,
        init_method="half and half",
        n_features=n_features,
        const_range=(-1.0, 1.0),
        metric=_fitness_map["log loss"],
        p_point_replace=p_point_replace,
        parsimony_coefficient=0.001,
        random_state=random_state,
        program=program,
    )


def random_programs(
    n: int,
    *,
    seed: int,
    n_features: int,
    function_set: Sequence[str] = PAPER_FUNCTION_SET,
    init_depth: tuple[int, int] = (2, 6),
) -> list[str]:
    """``n`` random programs from gplearn's own generator (``gp_program``), the grammar GP starts from.

    Fixed by ``seed`` (one ``RandomState``), they ask "would any formula of the grammar do as well?" (notebook 04).
    """
    random_state = np.random.RandomState(seed)
    return [
        str(gp_program(random_state, n_features=n_features, function_set=function_set, init_depth=init_depth))
        for _ in range(n)
    ]


def stability(
    dataset: Dataset,
    seeds: Sequence[int],
    *,
    executor: Executor | None = None,
    store: bool = True,
    **discover_kwargs: Any,
) -> pd.DataFrame:
    """``discover(dataset, seed, **discover_kwargs)`` for each GP seed: one row per seed, its program and scores.

    Seeds run here or, with ``NSLIB_JOBS`` > 1 or a Dask scheduler (``nslib.core.parallel``), in worker
    processes that return their records (``store=False``); with ``store`` this process writes them all at once.
    """
    one_seed = functools.partial(discover, dataset, store=False, **discover_kwargs)
    results = map_unordered(one_seed, seeds, executor or executor_from_env())
    found = {record.seed: record for record in progress(results, total=len(seeds), desc=f"GP seeds ({dataset.name})")}
    if store:
        write_cache(dataset, list(found.values()))
    columns = ["seed", "program", "formula", "fitness", "auc_multivariate", "auc_collapsed"]
    return pd.DataFrame([asdict(found[seed]) for seed in seeds], columns=columns)


def simplified_text(formula: str, digits: int = 3) -> str:
    """``formula`` simplified by sympy, as short text with constants to ``digits`` significant digits.

    For tables and titles: ``sub(add(add(sin(x), x), add(x, add(x, sub(x, x)))), sub(x, x))`` reads ``3*x + sin(x)``.
    """
    import sympy

    expression = parse(formula).to_sympy()
    return str(expression.xreplace({number: sympy.Float(number, digits) for number in expression.atoms(sympy.Float)}))


def activation_curves(
    activations: Mapping[str, Callable[[torch.Tensor], torch.Tensor]], xs: Sequence[float] | np.ndarray
) -> pd.DataFrame:
    """Each activation and its derivative (by autograd) at the points ``xs``, in long form.

    Columns: ``activation``, ``x``, ``value``, ``derivative``. A function that
    ignores its input (a constant formula) gets derivative 0 everywhere.
    """
    frames = []
    for name, function in activations.items():
        x = torch.tensor(np.asarray(xs), dtype=torch.float32, requires_grad=True)
        value = function(x) * torch.ones_like(x)
        derivative = torch.zeros_like(x)
        if value.requires_grad:  # a value that does not use x gets zeros (materialize_grads)
            (derivative,) = torch.autograd.grad(value.sum(), x, materialize_grads=True)
        columns = {"x": x, "value": value, "derivative": derivative}
        frames.append(pd.DataFrame({"activation": name} | {key: t.detach().numpy() for key, t in columns.items()}))
    return pd.concat(frames, ignore_index=True)


def plot_activation(curves: pd.DataFrame, title: str) -> plt.Figure:
    """Two panels, the activations of ``activation_curves`` and their derivatives, sharing one legend."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharex=True)
    for ax, column, label in ((axes[0], "value", "f(x)"), (axes[1], "derivative", "f'(x)")):
        sns.lineplot(
            data=curves, x="x", y=column, hue="activation", style="activation",
            errorbar=None, ax=ax, legend=ax is axes[1],
        )
        ax.set(xlabel="x (pre-activation)", ylabel=label)
    axes[1].legend(title=None, loc="best")
    fig.suptitle(title)
    return fig
