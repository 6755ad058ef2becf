"""Kolmogorov-Arnold networks (pykan) at the Light MLP's parameter budget, on the MLP grid's splits.

A KAN puts a learned univariate function on every edge instead of a fixed
activation on every node: pykan's edge ``(l, i, j)`` computes
``scale_base * silu(x) + scale_sp * spline(x)``, a B-spline of ``grid``
intervals and order ``order`` (cubic by default), and node ``j`` sums its edges.
Here a KAN ``[d, h, 1]`` with a sigmoid on its output is trained like one
Light MLP run (``nslib.training.trained_network``): ``split_and_scale``, binary
cross-entropy, mini-batch Adam, the same metrics, one row of ``runs.csv``.

The hidden width ``h`` is chosen by ``kan_width`` so that the KAN has as many
trainable parameters as the Light MLP (within 10%). One hidden layer keeps the
choice to one number and the learned functions few enough to look at.

The settings (``GRID``, ``ORDER``, ``EPOCHS``, ``LR``) were measured on this
project's 2-core machine (shared, load 5-7), torch on one thread, batch 1024,
``kan_grid`` over seeds 0-9 (mean and std over seeds; seconds are wall time):

=============  ==  ========  =====================  =========  ==============
data set       d   hidden h  parameters (Light MLP)  s per run  ROC AUC
=============  ==  ========  =====================  =========  ==============
HIGGS          28  14        4,060 (4,161)           1.3        0.776 +- 0.005
FOREST_COVER   54  11        6,050 (5,825)           5.3        0.894 +- 0.003
SPAMBASE       57  10        5,800 (6,017)           0.3        0.956 +- 0.006
=============  ==  ========  =====================  =========  ==============

All 30 runs took 70 s of wall time and 47 s of CPU. A training step costs
about 20 ms of CPU on FOREST_COVER, mostly pykan's elementwise B-spline
arithmetic on ``[batch, d, h]`` tensors, about ten times a Light MLP step:
hence three epochs, at lr 2e-2. More epochs help SPAMBASE most (15 epochs, one
seed: 0.977), whose 3,680 training rows make only four steps an epoch. Two
torch threads ran five times slower on the shared cores than one.

pykan's checkpoint files (``auto_save``), its symbolic branch during training
and its grid updates are all off: every input is standardised, and the fixed
grid on [-1, 1] plus the SiLU part outside it trained as well as grids fitted
to the data (measured with pykan's initial spline noise, seed 0, 5 epochs at
lr 1e-2: HIGGS 0.775 with a grid update before training, 0.759 on [-3, 3],
0.778 with the fixed grid).
"""

from __future__ import annotations

import copy
import functools
import math
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import version
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import sympy
import torch
import torch.nn.functional as F
from kan import KAN
from kan.utils import SYMBOLIC_LIB

from nslib.checks import check_int
from nslib.comparisons import efficiency
from nslib.data import Dataset, split_and_scale
from nslib.models import check_widths, count_params_of, widths_of
from nslib.parallel import Executor, local_executor, map_unordered
from nslib.progress import progress as progress_bar
from nslib.repro import data_fingerprint, global_rngs_kept, pick_device, versions_text
from nslib.results import RUN_CODE_VERSION, RunStore, as_table
from nslib.training import binary_metrics, one_thread

GRID = 5  # spline intervals per edge
ORDER = 3  # cubic splines
EPOCHS = 3
LR = 2e-2
TOLERANCE = 0.1  # how far a KAN's parameter count may be from its target
ARCH = "kan"
ACTIVATION = "KAN"
SYMBOLIC_LIBRARY = ("x", "x^2", "sin", "cos", "tanh", "exp", "abs")


def build_kan(
    d: int, hidden: Sequence[int], seed: int, *, grid: int = GRID, order: int = ORDER, device: str = "cpu"
) -> KAN:
    """A fresh pykan KAN ``[d, *hidden, 1]`` whose initial weights come from ``seed`` alone.

    ``torch.manual_seed(seed)`` and pykan's own ``seed=`` decide every random
    choice; the caller's global generators are left as they were. Nothing is
    written to disk (``auto_save=False``). The splines start at zero
    (``noise_scale=0``; pykan's docstrings use it too): pykan fits its initial
    spline noise by least squares, whose last bits varied from call to call
    here, so one seed did not give one model. The random ``scale_base`` of each
    edge's SiLU part still makes the edges differ. The symbolic branch is off
    and its affine parameters are frozen: until an edge is fixed to a formula
    they are multiplied by a zero mask, so they never change the output.
    """
    check_int("d", d, example="28")
    hidden = check_widths(hidden)
    check_int("seed", seed, low=0, example="42")
    check_int("grid", grid, example=str(GRID))
    check_int("order", order, example=str(ORDER))
    with global_rngs_kept():
        torch.manual_seed(seed)
        model = KAN(
            width=[d, *hidden, 1], grid=grid, k=order, seed=seed, auto_save=False, save_act=False,
            symbolic_enabled=False, noise_scale=0.0, device=device,
        )
    model.symbolic_fun.requires_grad_(False)
    return model


def trainable_params(model: torch.nn.Module) -> int:
    """The number of values in ``model``'s parameters that require a gradient.

    For ``build_kan``'s KANs that is ``in * out * (grid + order + 2)`` per
    layer: each edge's ``grid + order`` spline coefficients, ``scale_base`` and
    ``scale_sp``. pykan's spline grid and masks are not trainable, nor (frozen
    by ``build_kan``) the symbolic branch's inert affine parameters.
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def kan_width(d: int, target_params: int, *, grid: int = GRID, order: int = ORDER) -> tuple[int, ...]:
    """The hidden width ``(h,)`` of the KAN ``[d, h, 1]`` whose ``trainable_params`` are nearest ``target_params``.

    The count is taken from constructed pykan models (``build_kan``), ``h`` =
    1, 2, ... A ValueError is raised when even the nearest is more than
    ``TOLERANCE`` (10%) away. For the Light MLP's budget pass
    ``nslib.models.count_params_of(d, (64, 32))``.
    """
    check_int("d", d, example="28")
    check_int("target_params", target_params, example="4161")
    check_int("grid", grid, example=str(GRID))
    check_int("order", order, example=str(ORDER))
    h, count = _nearest_width(d, target_params, grid, order)
    if abs(count - target_params) > TOLERANCE * target_params:
        raise ValueError(
            f"no KAN [{d}, h, 1] with grid={grid}, order={order} has within {TOLERANCE:.0%} of "
            f"{target_params} trainable parameters (the nearest, h={h}, has {count}); "
            "choose another target, grid or order."
        )
    return (h,)


@functools.cache  # pure, and kan_grid asks once per run
def _nearest_width(d: int, target_params: int, grid: int, order: int) -> tuple[int, int]:
    """The ``h`` whose KAN ``[d, h, 1]`` has the parameter count nearest ``target_params``, and that count."""
    best, h = (0, 0), 1
    while True:
        count = trainable_params(build_kan(d, (h,), 0, grid=grid, order=order))
        if abs(count - target_params) < abs(best[1] - target_params):
            best = (h, count)
        if count > target_params:
            return best
        h += 1


@dataclass(frozen=True)
class _KanSpec:
    """Everything that decides one KAN run apart from the data; ``key`` is its identity in ``runs.csv``."""

    dataset: str
    hidden: tuple[int, ...]
    seed: int
    grid: int
    order: int
    epochs: int
    batch_size: int
    lr: float
    test_size: float

    @property
    def key(self) -> str:
        """Like ``nslib.training.RunSpec.key``; the activation part cannot be an MLP activation's."""
        return "|".join(
            [
                self.dataset, ARCH, "-".join(map(str, self.hidden)), f"kan(grid={self.grid},order={self.order})",
                f"seed={self.seed}", f"epochs={self.epochs}", f"batch={self.batch_size}", f"lr={self.lr!r}",
                f"test={self.test_size!r}",
            ]
        )


def _spec(
    dataset: Dataset, seed: int, *, hidden: Sequence[int] | None = None, grid: int = GRID, order: int = ORDER,
    epochs: int = EPOCHS, batch_size: int = 1024, lr: float = LR, test_size: float = 0.2,
) -> _KanSpec:
    """Check the settings of one run, ``train_kan``'s and ``kan_grid``'s.

    ``hidden=None`` means the Light MLP's budget (``kan_width``).
    """
    check_int("seed", seed, low=0, example="42")
    check_int("epochs", epochs, example=str(EPOCHS))
    check_int("batch_size", batch_size, example="1024")
    if not (isinstance(lr, (int, float)) and lr > 0):
        raise ValueError(f"lr={lr!r} must be a positive number, e.g. {LR}.")
    if not 0 < test_size < 1:
        raise ValueError(f"test_size={test_size!r} must be a fraction between 0 and 1, e.g. 0.2.")
    d = dataset.n_features
    if hidden is None:
        hidden = kan_width(d, count_params_of(d, widths_of("light")), grid=grid, order=order)
    return _KanSpec(dataset.name, check_widths(tuple(hidden)), seed, grid, order, epochs, batch_size, float(lr),
                    test_size)


def train_kan(
    dataset: Dataset, seed: int, *, device: str | torch.device = "auto", **settings: Any
) -> tuple[dict, KAN]:
    """Train and evaluate one KAN on ``split_and_scale(dataset, seed)``; return its ``runs.csv`` row and the model.

    ``settings`` (checked by ``_spec``) are ``hidden``, ``grid`` (``GRID``),
    ``order`` (``ORDER``), ``epochs`` (``EPOCHS``), ``batch_size`` (1024),
    ``lr`` (``LR``) and ``test_size`` (0.2). The model is
    ``build_kan(d, hidden, seed)`` (default ``hidden``: ``kan_width``
    at the Light MLP's parameter count) with a sigmoid on its output, trained
    with binary cross-entropy and Adam on shuffled mini-batches (the last,
    partial one included) drawn by a generator seeded with ``seed``, torch on
    one thread; so one seed gives the same numbers bit for bit. Accuracy at
    p > 0.5, ROC AUC and test loss are ``nslib.training.binary_metrics``. The
    row has ``arch="kan"``, ``activation="KAN"``, ``widths`` the hidden widths
    and ``params`` the ``trainable_params``; a run whose loss or output stops
    being finite is returned as ``failed`` with the reason.
    """
    spec = _spec(dataset, seed, **settings)
    device = pick_device(device)
    with one_thread():
        return _train(spec, dataset, device)


def _train(spec: _KanSpec, dataset: Dataset, device: torch.device) -> tuple[dict, KAN]:
    start = time.perf_counter()
    X_train, X_test, y_train, y_test = split_and_scale(dataset, spec.seed, test_size=spec.test_size)
    X, y = (torch.as_tensor(a, dtype=torch.float32, device=device) for a in (X_train, y_train))
    n, d = X.shape
    model = build_kan(d, spec.hidden, spec.seed, grid=spec.grid, order=spec.order, device=str(device))
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=spec.lr)
    generator = torch.Generator(device=device)
    generator.manual_seed(spec.seed)
    losses: list[float] = []

    def row(**outcome: object) -> dict:
        return _row(spec, dataset, model, train_loss=losses, seconds=time.perf_counter() - start, device=device,
                    **outcome)

    for epoch in range(spec.epochs):
        permutation = torch.randperm(n, generator=generator, device=device)
        total = 0.0
        for batch, first in enumerate(range(0, n, spec.batch_size)):
            rows = permutation[first : first + spec.batch_size]
            p = torch.sigmoid(model(X[rows])).squeeze(1)
            # binary_cross_entropy raises on a NaN probability: check the output first.
            loss = F.binary_cross_entropy(p, y[rows]) if torch.isfinite(p).all() else None
            if loss is None or not torch.isfinite(loss):
                kind = "the output" if loss is None else "the loss"
                reason = (f"{kind} became NaN or infinite at epoch {epoch + 1} batch {batch + 1} "
                          f"(of {spec.epochs} epochs)")
                return row(status="failed", reason=reason), model
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(rows)
        losses.append(total / n)
    with torch.no_grad():
        p = torch.sigmoid(model(torch.as_tensor(X_test, device=device))).squeeze(1).cpu().numpy()
    if not np.isfinite(p).all():
        return row(status="failed", reason="the output on the test set is NaN or infinite"), model
    if len(np.unique(y_test)) < 2:
        reason = "the test set holds one class only, so ROC AUC is undefined; use more rows"
        return row(status="failed", reason=reason), model
    return row(status="ok", metrics=binary_metrics(p, np.asarray(y_test))), model


def _row(
    spec: _KanSpec, dataset: Dataset, model: KAN, *, status: str, reason: str = "",
    metrics: tuple[float, float, float] | None = None, train_loss: Sequence[float], seconds: float,
    device: torch.device,
) -> dict:
    """One row of ``runs.csv`` (``nslib.results.COLUMNS``), as ``nslib.training`` writes an MLP's."""
    params = trainable_params(model)
    acc, auc, test_loss = metrics if metrics is not None else (math.nan, math.nan, math.nan)
    return {
        "key": spec.key, "dataset": spec.dataset, "arch": ARCH, "widths": "-".join(map(str, spec.hidden)),
        "activation": ACTIVATION, "formula": "", "seed": spec.seed, "epochs": spec.epochs,
        "batch_size": spec.batch_size, "lr": spec.lr, "rows": int(dataset.provenance.rows_used),
        "acc": acc, "auc": auc, "test_loss": test_loss, "params": params, "efficiency": efficiency(auc, params),
        "seconds": seconds, "status": status, "reason": reason,
        "train_loss": ";".join(f"{loss:.6g}" for loss in train_loss),
        "validation": 0.0,
        "val_auc": "",
        "data_sha256": data_fingerprint(dataset.X, dataset.y), "code_version": RUN_CODE_VERSION,
        "versions": f"{versions_text()} pykan={version('pykan')}", "device": str(device),
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _train_row(task: tuple[_KanSpec, Dataset, str]) -> dict:
    """One KAN's row, trained on one torch thread: a task for ``map_unordered``."""
    spec, dataset, device = task
    with one_thread():
        return _train(spec, dataset, torch.device(device))[0]


def kan_grid(
    datasets: Mapping[str, Dataset],
    seeds: Iterable[int],
    store: RunStore | None = None,
    *,
    device: str | torch.device = "auto",
    progress: bool = True,
    **settings: Any,
) -> pd.DataFrame:
    """``train_kan`` on every data set and seed; one row each, data set by data set, seeds in order.

    The settings are ``train_kan``'s. With a ``store``, runs it holds for the
    same data and code version (``RunStore.current``) are read back, not
    trained again, and each new row is appended as soon as it is trained.
    ``datasets`` maps each Dataset's name to it.
    """
    misnamed = [f"{name!r}: {data.name!r}" for name, data in datasets.items() if name != data.name]
    if misnamed:
        raise ValueError(f"datasets maps names to Datasets of other names ({', '.join(misnamed)}); "
                         "use {data.name: data}.")
    seeds = list(seeds)
    if len(set(seeds)) < len(seeds):
        raise ValueError(f"seeds={seeds} repeats a seed; each run must be asked for once.")
    jobs = [
        (data, _spec(data, seed, **settings))
        for data in datasets.values()
        for seed in seeds
    ]
    keys = [spec.key for _, spec in jobs]
    old = store.current(datasets) if store is not None else as_table([])
    old = old[old["key"].isin(keys)]
    done = set(old["key"])
    todo = [(data, spec) for data, spec in jobs if spec.key not in done]
    device = pick_device(device)
    # On the CPU one process per core (NSLIB_JOBS sets how many), each on one torch thread.
    executor = local_executor() if device.type == "cpu" else Executor()
    rows = []
    tasks = [(spec, data, str(device)) for data, spec in todo]
    for row in progress_bar(map_unordered(_train_row, tasks, executor), total=len(tasks),
                            desc=f"training {len(todo)} KANs", unit="run", disable=not progress):
        if store is not None:
            store.append([row])
        rows.append(row)
    table = pd.concat([old, as_table(rows)], ignore_index=True).set_index("key")
    return table.loc[keys].reset_index()


# ------------------------------------------------------------ looking inside


def _probed(model: KAN, X: np.ndarray | torch.Tensor, rows: int) -> KAN:
    """A copy of ``model`` that has seen the first ``rows`` rows of ``X`` and scored its edges (``attribute``)."""
    check_int("rows", rows, low=2, example="1000")
    X = torch.as_tensor(np.asarray(X, dtype=np.float32)[:rows], device=model.act_fun[0].grid.device)
    if X.ndim != 2 or X.shape[1] != model.width_in[0]:
        raise ValueError(f"X has shape {tuple(X.shape)}; the KAN takes rows of {model.width_in[0]} features.")
    probe = copy.deepcopy(model)
    probe.save_act = True
    with torch.no_grad():
        probe(X)
    probe.attribute(plot=False)
    return probe


def _top_edges(probe: KAN, top: int) -> list[tuple[int, int, int, float]]:
    """The ``top`` edges ``(layer, in, out, score)`` with the highest pykan attribution scores, highest first."""
    check_int("top", top, example="6")
    edges = [
        (layer, i, j, float(scores[j, i].detach()))
        for layer, scores in enumerate(probe.edge_scores)
        for j in range(scores.shape[0])
        for i in range(scores.shape[1])
    ]
    return sorted(edges, key=lambda edge: -edge[3])[:top]


def edge_functions(
    model: KAN, X: np.ndarray | torch.Tensor, *, top: int = 6, points: int = 101, rows: int = 2000,
    feature_names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The learned functions of ``model``'s ``top`` most important edges, sampled for plotting.

    Importance is pykan's edge attribution score (``attribute``) on the first
    ``rows`` rows of ``X`` (standardised inputs, e.g. a split of
    ``split_and_scale``). Each edge's function is evaluated by its own pykan
    layer at ``points`` values evenly spread over the range its input took on
    those rows. One row per point: ``layer``, ``in``, ``out``, ``edge`` (a
    label such as ``"m_bb -> h3"``: inputs are named by ``feature_names``, or
    ``x1``, ``x2``, ...; hidden units ``h1``, ...), ``score``, ``x``, ``y``.
    ``model`` itself is not changed.
    """
    check_int("points", points, low=2, example="101")
    probe = _probed(model, X, rows)
    if feature_names is not None and len(feature_names) != probe.width_in[0]:
        raise ValueError(f"{len(feature_names)} feature_names for a KAN of {probe.width_in[0]} inputs; "
                         "pass the Dataset's feature_names.")
    names = list(feature_names) if feature_names is not None else [f"x{i + 1}" for i in range(probe.width_in[0])]
    frames = []
    for layer, i, j, score in _top_edges(probe, top):
        inputs = probe.acts[layer]
        low, high = inputs.min(0).values, inputs.max(0).values
        x = low + (high - low) * torch.linspace(0, 1, points, device=inputs.device)[:, None]
        with torch.no_grad():
            postacts = probe.act_fun[layer](x)[2]  # [points, out, in]: every edge of the layer
        source = names[i] if layer == 0 else f"h{i + 1}"
        target = "output" if layer == probe.depth - 1 else f"h{j + 1}"
        frames.append(pd.DataFrame({"layer": layer, "in": i, "out": j, "edge": f"{source} -> {target}",
                                    "score": score, "x": x[:, i].cpu().numpy(),
                                    "y": postacts[:, j, i].cpu().numpy()}))
    return pd.concat(frames, ignore_index=True)


def plot_edges(points: pd.DataFrame) -> plt.Figure:
    """One small panel per edge of ``edge_functions``'s table, most important first, three to a row."""
    edges = list(points.groupby("edge", sort=False))
    columns = min(3, len(edges))
    lines = -(-len(edges) // columns)
    fig, axes = plt.subplots(lines, columns, figsize=(3.2 * columns, 2.6 * lines), squeeze=False,
                             constrained_layout=True)
    for ax, (label, edge) in zip(axes.flat, edges):
        ax.plot(edge["x"], edge["y"])
        ax.set_title(f"{label} (score {edge['score'].iloc[0]:.2g})", fontsize=9)
        ax.set_xlabel("input (standardised)" if edge["layer"].iloc[0] == 0 else "hidden value")
        ax.set_ylabel("edge output")
    for ax in axes.flat[len(edges):]:
        ax.set_visible(False)
    return fig


def symbolic_edges(
    model: KAN, X: np.ndarray | torch.Tensor, *, top: int = 6, library: Sequence[str] = SYMBOLIC_LIBRARY,
    rows: int = 256,
) -> pd.DataFrame:
    """pykan's symbolic fit of ``model``'s ``top`` most important edges: one row per edge.

    Edges are ranked as in ``edge_functions``. For each, pykan's
    ``suggest_symbolic`` fits ``c * f(a * x + b) + d`` for every ``f`` in
    ``library`` (names of pykan's ``SYMBOLIC_LIB``) to the edge's values on the
    first ``rows`` rows of ``X`` and picks one, trading r² against simplicity.
    Columns: ``layer``, ``in``, ``out``, ``score``, ``function`` (the name),
    ``formula`` (the fitted expression in ``x``, built with sympy, four
    significant digits) and ``r2``. The fitting runs on a copy: ``model`` is
    not changed. pykan sweeps a 101 x 101 grid of ``a`` and ``b`` three times
    per function, so the cost grows with ``rows``: about 0.1 s per edge and
    function at 256 rows, torch on one thread.
    """
    unknown = [name for name in library if name not in SYMBOLIC_LIB]
    if not library or unknown:
        raise ValueError(f"library={list(library)!r} holds names pykan does not know ({unknown}); "
                         f"use names from kan.utils.SYMBOLIC_LIB, e.g. {list(SYMBOLIC_LIBRARY)}.")
    probe = _probed(model, X, rows)
    x = sympy.Symbol("x")
    out = []
    with one_thread():
        for layer, i, j, score in _top_edges(probe, top):
            name, _, r2, _ = probe.suggest_symbolic(layer, i, j, lib=list(library), verbose=False)
            probe.fix_symbolic(layer, i, j, name, verbose=False, log_history=False)  # sets the chosen a, b, c, d
            a, b, c, d = (sympy.Float(float(v), 4) for v in probe.symbolic_fun[layer].affine[j, i])
            formula = c * SYMBOLIC_LIB[name][1](a * x + b) + d
            out.append({"layer": layer, "in": i, "out": j, "score": score, "function": name,
                        "formula": str(formula), "r2": float(r2)})
    return pd.DataFrame(out)
