"""Training a grid of runs: same-shape runs stacked K at a time, stacks shared out to workers.

``run_grid``, which the notebooks use, trains runs of the same shape (data set, widths,
epochs, batch size, learning rate) K at a time (``MAX_STACK``), with one of two engines
(``engine``): the compiled engine (``nslib.engine.compiled``) on the CPU, the torch engine
(``nslib.engine.torch_stack``) on a GPU, for rational runs and with ``NSLIB_ENGINE=torch``.
There is no DataLoader: each epoch's permutations index the data on the device.

Every random choice of a run comes from its own seed (``nslib.engine.specs``), the same in
every engine, so on the CPU a run's numbers do not depend on what it is stacked with or how
many workers train. A run whose output or loss stops being finite is stopped and recorded
as ``failed`` with the reason and leaves its stack, whose other runs train on. A run with a
``patience`` stops early the same way, scored on the test part first
(``nslib.engine.specs.make_spec``); a stack ends when none of its runs trains on. How the engines were built
and what each avenue measured is in ``docs/engine.md``.
"""

from __future__ import annotations

import ctypes
import functools
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import CancelledError, ThreadPoolExecutor, as_completed

import numpy as np
import pandas as pd
import torch

from nslib.core.checks import check_int
from nslib.core.parallel import Executor, executor_from_env, map_unordered
from nslib.core.progress import progress as progress_bar
from nslib.core.repro import pick_device
from nslib.data.catalog import Dataset
from nslib.engine.compiled import CompiledStack
from nslib.engine.kernel_cache import KernelUnavailable, report_fallback
from nslib.engine.models import count_params_of
from nslib.engine.runstore import RunStore, as_table
from nslib.engine.specs import (
    RunSpec,
    Split,
    failure_reason,
    initial_model,
    one_thread,
    patience_spent,
    run_row,
    seed_split,
    validation_auc,
)
from nslib.engine.torch_stack import TorchStack

ENGINES = ("compiled", "torch")
# Test rows per forward pass in evaluation: the training batch, so that evaluation
# reuses the blocks training freed (4096 rows grew the grid's peak by 77 MB).
EVAL_CHUNK = 1024
MAX_STACK = 8  # runs trained at once: 5 to 15 cost the same per run (measured); 8 leaves stacks to share out
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8  # mallopt parameters, glibc's malloc.h


# ------------------------------------------------------------ the stacked engine


def engine(device: torch.device, specs: Sequence[RunSpec], engine_name: str | None = None) -> str:
    """Which engine trains ``specs``: ``"compiled"`` (``nslib.engine.compiled``) on the CPU, ``"torch"`` (``TorchStack``) on a GPU
    or for rational runs, whose coefficients are per model; ``engine_name``, else ``NSLIB_ENGINE``, can pick torch's on
    the CPU too. Where the compiled kernels cannot be had, ``_new_stack`` falls back to the torch engine."""
    chosen = engine_name or os.environ.get("NSLIB_ENGINE", "compiled")
    if chosen not in ENGINES:
        source = f"engine_name={chosen!r}" if engine_name else f"NSLIB_ENGINE={chosen!r}"
        raise ValueError(f"{source} is not an engine; use one of {list(ENGINES)} or leave it unset.")
    if device.type != "cpu" or any(map(_is_rational, specs)):
        return "torch"
    return chosen


def _is_rational(spec: RunSpec) -> bool:
    return spec.module_spec.lower() == "rational"


def _new_stack(
    specs: Sequence[RunSpec], d: int, device: torch.device, engine_name: str
) -> tuple[TorchStack | CompiledStack, str]:
    """A stack of ``engine_name`` and the engine it is: the torch engine's where the compiled kernels cannot be had
    here (no gcc, no libmvec, not Linux, a refused kernel cache), which ``report_fallback`` says once."""
    if engine_name == "compiled":
        try:
            return CompiledStack(specs, [initial_model(spec, d) for spec in specs]), engine_name
        except KernelUnavailable as error:
            report_fallback(error)
    return TorchStack(specs, d, device), "torch"


def _train_stack(
    specs: Sequence[RunSpec],
    dataset: Dataset,
    splits: Mapping[int, Split],
    device: torch.device,
    advance: Callable[[int], object],
    engine_name: str | None = None,
) -> list[dict]:
    """Train one stack of same-shape runs and return their rows; ``advance(K)`` is called after each epoch.

    A run that fails or stops early leaves the stack (``keep``), so the runs that train on cost only their own share.
    Each row's ``seconds`` is the stack's wall time shared equally among its runs, however long each trained.
    """
    start = time.perf_counter()
    n, d = next(iter(splits.values())).X_train.shape
    stack, trained_by = _new_stack(specs, d, device, engine(device, specs, engine_name))
    K, batch_size, epochs = len(specs), specs[0].batch_size, specs[0].epochs
    losses = torch.zeros(epochs, K, device=device)
    val_auc: list[list[float]] = [[] for _ in range(K)]
    reasons, stopped_at = [""] * K, [epochs] * K  # why each run failed, and the epochs it completed
    early: dict[int, np.ndarray] = {}  # runs stopped early: their test probabilities when they stopped
    training = list(range(K))  # the runs still in the stack, by their place in ``specs``

    def part(name: str) -> list[torch.Tensor]:  # each training run's ``name`` part of its seed's split
        return [getattr(splits[specs[k].seed], name) for k in training]

    for epoch in range(epochs):
        order = torch.stack([torch.randperm(n, generator=g, device=device) for g in stack.generators])
        X, y = part("X_train"), part("y_train")
        for batch, first in enumerate(range(0, n, batch_size)):
            rows = order[:, first : first + batch_size]
            p, loss = stack.train_batch(X, y, rows)
            bad_output = ~torch.isfinite(p).all(1)
            failed = bad_output | ~torch.isfinite(loss)
            stack.step(~failed)
            losses[epoch, training] += loss.detach().nan_to_num(0.0) * rows.shape[1]
            for position in torch.nonzero(failed).flatten().tolist():
                k = training[position]
                stopped_at[k] = epoch
                reasons[k] = failure_reason("the output" if bad_output[position] else "the loss", epoch, batch, epochs)
            if failed.any():
                training = _leave(stack, training, (~failed).tolist())
                if not training:
                    break
                order, X, y = order[~failed], part("X_train"), part("y_train")
        if training and specs[0].validation:
            for k, p in zip(training, _predict(stack, part("X_val"))):
                val_auc[k].append(validation_auc(p, splits[specs[k].seed]))
            training = _stop_early(stack, specs, training, val_auc, stopped_at, early, epoch, part("X_test"))
        advance(K)
        if not training:  # every run failed or stopped early: the rest of the epochs train nothing
            advance((epochs - epoch - 1) * K)
            break
    losses_per_run = (losses / n).T.cpu().tolist()
    probabilities = dict(zip(training, _predict(stack, part("X_test")))) if training else {}
    seconds = (time.perf_counter() - start) / K
    return [
        run_row(spec, dataset, reason=reasons[k], p=early.get(k, probabilities.get(k)), y=splits[spec.seed].y_test,
             train_loss=losses_per_run[k][: stopped_at[k]], val_auc=val_auc[k], seconds=seconds, device=device,
             engine=f"{trained_by} engine")
        for k, spec in enumerate(specs)
    ]


def _leave(stack: TorchStack | CompiledStack, training: list[int], stays: Sequence[bool]) -> list[int]:
    """The runs of ``training`` that stay (``stays``, by their place in the stack); the others leave ``stack``.
    When none stays the stack is left as it is, and the caller ends it."""
    positions = [position for position, stay in enumerate(stays) if stay]
    if positions:
        stack.keep(positions)
    return [training[position] for position in positions]


def _stop_early(
    stack: TorchStack | CompiledStack,
    specs: Sequence[RunSpec],
    training: list[int],
    val_auc: Sequence[Sequence[float]],
    stopped_at: list[int],
    early: dict[int, np.ndarray],
    epoch: int,
    X_test: Sequence[torch.Tensor],
) -> list[int]:
    """The runs that train on after ``epoch``: those whose patience is spent are scored on the test part now and
    leave the stack."""
    stops = [patience_spent(val_auc[k], specs[k].patience) for k in training]
    if not any(stops):
        return training
    for k, p, stop in zip(training, _predict(stack, X_test), stops):
        if stop:
            early[k] = p
            stopped_at[k] = epoch + 1
    return _leave(stack, training, [not stop for stop in stops])


def _predict(stack: TorchStack | CompiledStack, X: Sequence[torch.Tensor]) -> list[np.ndarray]:
    """Each model's eval-mode probabilities on its rows ``X[k]``, ``EVAL_CHUNK`` rows at a time."""
    chunks = [stack.probabilities([X_k[first : first + EVAL_CHUNK] for X_k in X])
              for first in range(0, len(X[0]), EVAL_CHUNK)]
    return list(torch.cat(chunks, dim=1).cpu().numpy())


# ------------------------------------------------------------ the grid


def _stacks(specs: Sequence[RunSpec], max_stack: int) -> list[list[RunSpec]]:
    """Same-shape runs in stacks of at most ``max_stack``, split evenly, runs of one activation together.

    A stack computes each of its activations once, so fewer and larger activation groups are faster.
    """
    groups: dict[tuple, list[RunSpec]] = {}
    for spec in sorted(specs, key=lambda spec: spec.module_spec):
        # Rational runs train with the torch engine (``engine``), so they are stacked apart from the others.
        groups.setdefault((spec.shape, _is_rational(spec)), []).append(spec)
    stacks = []
    for group in groups.values():
        parts = -(-len(group) // max_stack)
        size = -(-len(group) // parts)
        stacks += [group[first : first + size] for first in range(0, len(group), size)]
    return stacks


def _seed_splits(
    stack: Sequence[RunSpec], dataset: Dataset, device: torch.device, splits: dict[tuple, Split]
) -> dict[int, Split]:
    """Each seed's split for ``stack``: from ``splits`` (keyed by data set, seed and split settings), or made there."""
    for spec in stack:
        where = (spec.dataset, spec.seed, spec.test_size, spec.validation)
        if where not in splits:
            splits[where] = seed_split(dataset, spec, device)
    return {spec.seed: splits[spec.dataset, spec.seed, spec.test_size, spec.validation] for spec in stack}


def _cost(stack: Sequence[RunSpec], dataset: Dataset) -> float:
    """A rough training cost of a stack (multiply-adds, plus elementwise work), to start the longest first."""
    spec = stack[0]
    per_sample = count_params_of(dataset.n_features, spec.widths, spec.module_spec) + 20 * sum(spec.widths)
    return len(stack) * dataset.n_rows * (1 - spec.test_size) * spec.epochs * per_sample


@functools.cache
def _keep_freed_memory() -> None:
    """Let glibc keep freed memory for reuse instead of handing it back to the kernel.

    A training step frees and allocates megabytes of tensors, which glibc by default
    returns to the kernel for the next step to fault in again: on this project's
    virtual machines about 1,100 page faults and 3-5 ms a step (15-20% of a Heavy
    step). All threads share one arena, so a block one worker freed serves the next
    (an arena per thread kept each thread's peak: 707 instead of 645 MB with 2 workers
    on FOREST_COVER). Linux with glibc only, else nothing; the process keeps its peak.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)  # glibc's largest: blocks up to 32 MB come from the heap
    libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)  # and the heap is never trimmed
    libc.mallopt(_M_ARENA_MAX, 1)


def _default_workers(device: torch.device) -> int:
    if device.type != "cpu":
        return 1
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_grid(
    specs: Iterable[RunSpec],
    datasets: Mapping[str, Dataset],
    *,
    store: RunStore | None = None,
    device: str | torch.device = "auto",
    progress: bool = True,
    max_stack: int = MAX_STACK,
    workers: int | None = None,
    executor: Executor | None = None,
    engine_name: str | None = None,
) -> pd.DataFrame:
    """Train every spec and return one row per spec, in the order given.

    ``datasets`` maps each spec's data set name to its Dataset. Runs of the same shape are
    trained in stacks of at most ``max_stack`` (see the module docstring), ``workers`` stacks
    at a time, each in its own thread (default: one per CPU core; one on a GPU), torch on one
    thread (``one_thread``).

    With a ``store``, runs it holds for the same data and code version (``RunStore.current``)
    are read back, not trained again; each stack's rows are appended as soon as it finishes,
    so an interrupted grid resumes where it stopped. ``executor`` (default: ``NSLIB_JOBS``,
    which also sets the default ``workers``, and ``NSLIB_DASK_SCHEDULER``; see
    ``nslib.core.parallel``) can send the stacks to a Dask cluster instead, their rows coming back
    into the same store. ``engine_name`` (``"compiled"`` or ``"torch"``) picks the CPU's engine over ``NSLIB_ENGINE``
    (``engine``); each row records the engine that trained it.
    """
    specs = list(specs)
    executor = executor or executor_from_env()
    keys = [spec.key for spec in specs]
    repeated = sorted(key for key, count in Counter(keys).items() if count > 1)
    if repeated:
        raise ValueError(f"these runs are asked for more than once: {repeated}; each spec must be unique.")
    missing = sorted({spec.dataset for spec in specs} - set(datasets))
    if missing:
        raise ValueError(f"no Dataset given for {missing}; pass datasets={{name: nslib.data.datasets.load(name)}}.")
    check_int("max_stack", max_stack, example=str(MAX_STACK))
    if workers is not None:
        check_int("workers", workers, example="2")
    device = pick_device(device)
    old = store.current(datasets) if store is not None else as_table([])
    old = old[old["key"].isin(keys)]
    done = set(old["key"])
    todo = [spec for spec in specs if spec.key not in done]
    stacks = sorted(_stacks(todo, max_stack), key=lambda stack: -_cost(stack, datasets[stack[0].dataset]))
    jobs = [(stack, datasets[stack[0].dataset]) for stack in stacks]
    new_rows: list[dict] = []

    def finished(rows: list[dict]) -> None:
        if store is not None:
            store.append(rows)
        new_rows.extend(rows)

    _keep_freed_memory()
    if workers is None:
        workers = executor.jobs if executor.jobs not in (None, -1) else _default_workers(device)
    with progress_bar(total=sum(spec.epochs for spec in todo), unit="epoch", desc=f"training {len(todo)} runs",
              disable=not progress) as bar, one_thread():
        if executor.scheduler is not None:
            remote = [(stack, data, device.type, engine_name) for stack, data in jobs]
            for rows in map_unordered(_train_elsewhere, remote, executor):
                bar.update(sum(row["epochs"] for row in rows))
                finished(rows)
        elif jobs:
            splits: dict[tuple, Split] = {}  # the stacks of one data set, seed and split settings share its split
            _run_threaded([(stack, data, _seed_splits(stack, data, device, splits)) for stack, data in jobs],
                          device, workers, bar.update, finished, engine_name)
    table = pd.concat([old, as_table(new_rows)], ignore_index=True).set_index("key")
    return table.loc[keys].reset_index()


@one_thread()
def _train_elsewhere(job: tuple[list[RunSpec], Dataset, str, str | None]) -> list[dict]:
    """Train one stack in a worker process (a Dask worker): its own splits, one torch thread."""
    stack, dataset, device_type, engine_name = job
    device = pick_device(device_type if device_type != "cuda" else "auto")
    return _train_stack(stack, dataset, _seed_splits(stack, dataset, device, {}), device, lambda epochs: None,
                        engine_name)


def _run_threaded(
    jobs: Sequence[tuple[list[RunSpec], Dataset, dict[int, Split]]],
    device: torch.device,
    workers: int,
    update_bar: Callable[[int], object],
    finished: Callable[[list[dict]], None],
    engine_name: str | None = None,
) -> None:
    """Train the stacks ``workers`` at a time; ``finished`` gets each stack's rows in the calling thread."""
    lock, stop = threading.Lock(), threading.Event()

    def advance(epochs: int) -> None:
        if stop.is_set():
            raise CancelledError  # the grid stopped: end this stack too; nobody reads its result
        with lock:
            update_bar(epochs)

    # torch's thread setting is per thread (OpenMP), so each worker sets it again.
    pool = ThreadPoolExecutor(min(workers, len(jobs)), initializer=torch.set_num_threads, initargs=(1,))
    futures = [pool.submit(_train_stack, stack, data, seed_splits, device, advance, engine_name)
               for stack, data, seed_splits in jobs]
    try:
        for future in as_completed(futures):
            finished(future.result())
    finally:
        # On an error or an interrupt, stacks still training stop at their next epoch.
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
