"""Kolmogorov-Arnold networks (pykan) at the Light MLP's parameter budget, on the MLP grid's splits.

A KAN puts a learned univariate function on every edge instead of a fixed
activation on every node: pykan's edge ``(l, i, j)`` computes
``scale_base * silu(x) + scale_sp * spline(x)``, a B-spline of ``grid``
intervals and order ``order`` (cubic by default), and node ``j`` sums its edges.
Here a KAN ``[d, h, 1]`` with a sigmoid on its output is trained like one
Light MLP run (``nslib.engine.reference.trained_network``): ``split_and_scale``, binary
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

import functools
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import version
from typing import Any

import numpy as np
import pandas as pd
import torch
from kan import KAN

from nslib.core.checks import check_int
from nslib.core.parallel import Executor, local_executor, map_unordered
from nslib.core.progress import progress as progress_bar
from nslib.core.repro import (
    data_fingerprint,
    global_rngs_kept,
    pick_device,
    versions_text,
)
from nslib.data.catalog import Dataset
from nslib.data.datasets import split_and_scale
from nslib.engine.models import check_widths, count_params_of, widths_of
from nslib.engine.reference import train_minibatches
from nslib.engine.runstore import RUN_CODE_VERSION, RunStore, as_table
from nslib.engine.specs import binary_metrics, one_thread
from nslib.stats.comparisons import efficiency

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
    ``nslib.engine.models.count_params_of(d, (64, 32))``.
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
        """Like ``nslib.engine.specs.RunSpec.key``; the activation part cannot be an MLP activation's."""
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
    p > 0.5, ROC AUC and test loss are ``nslib.engine.specs.binary_metrics``. The
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
    d = X.shape[1]
    model = build_kan(d, spec.hidden, spec.seed, grid=spec.grid, order=spec.order, device=str(device))
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=spec.lr)
    generator = torch.Generator(device=device)
    generator.manual_seed(spec.seed)

    def row(**outcome: object) -> dict:
        return _row(spec, dataset, model, train_loss=losses, seconds=time.perf_counter() - start, device=device,
                    **outcome)

    losses, reason = train_minibatches(lambda batch: torch.sigmoid(model(batch)), optimizer, X, y, epochs=spec.epochs,
                                       batch_size=spec.batch_size, generator=generator)
    if reason:
        return row(status="failed", reason=reason), model
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
    """One row of ``runs.csv`` (``nslib.engine.runstore.COLUMNS``), as ``nslib.engine.grid`` writes an MLP's."""
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


