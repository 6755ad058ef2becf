"""Where independent pieces of work run: here, on local cores, or on a Dask cluster.

``map_unordered`` hands tasks (a stability study's GP seeds, say) to joblib: in this
process (``jobs=1``), on local worker processes (``NSLIB_JOBS`` / ``make reproduce
JOBS=2``), or on a running ``dask.distributed`` cluster
(``NSLIB_DASK_SCHEDULER=tcp://host:8786``). Results come back as they finish and the
caller stores each at once, so a lost worker costs only its unfinished task, which Dask
reruns elsewhere. Where the work runs changes nothing but the time: every random choice
is made from the task's own seed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from joblib import Parallel, delayed, parallel_config

from nslib.core.checks import check_int

Task = TypeVar("Task")
Result = TypeVar("Result")

JOBS_VARIABLE = "NSLIB_JOBS"
SCHEDULER_VARIABLE = "NSLIB_DASK_SCHEDULER"


@dataclass(frozen=True)
class Executor:
    """How to run tasks: ``jobs`` at a time here (None: the caller's default), or on the Dask ``scheduler``."""

    jobs: int | None = None
    scheduler: str | None = None


def executor_from_env() -> Executor:
    """The executor ``NSLIB_JOBS`` and ``NSLIB_DASK_SCHEDULER`` ask for.

    ``NSLIB_JOBS`` is a positive count of processes, or -1 for one per core (joblib's
    convention). A bad value is an error naming the variable and the fix.
    """
    text = os.environ.get(JOBS_VARIABLE, "").strip()
    try:
        jobs = int(text) if text else None
    except ValueError:
        raise ValueError(
            f"{JOBS_VARIABLE}={text!r} is not a number of processes; set it to 1, 2, ... or -1 "
            "(one per core), e.g. make reproduce JOBS=2."
        ) from None
    if jobs not in (None, -1):
        check_int("jobs", jobs, example="2 (or -1 for one per core)")
    scheduler = os.environ.get(SCHEDULER_VARIABLE, "").strip() or None
    if scheduler is not None and "://" not in scheduler:
        raise ValueError(
            f"Dask scheduler address {scheduler!r} has no protocol; write it like tcp://host:8786 "
            f"({SCHEDULER_VARIABLE})."
        )
    return Executor(jobs=jobs, scheduler=scheduler)


def local_executor() -> Executor:
    """For independent CPU-bound tasks: ``executor_from_env()`` where set, else one process per core."""
    executor = executor_from_env()
    return executor if executor.jobs is not None or executor.scheduler else Executor(jobs=-1)


def map_unordered(
    function: Callable[[Task], Result], tasks: Iterable[Task], executor: Executor
) -> Iterator[Result]:
    """Apply ``function`` to every task and yield each result as soon as it is ready.

    In this process (``jobs`` None or 1: joblib's sequential backend) the results come in task
    order; elsewhere in order of completion. ``function`` must pickle for worker processes: a
    module-level function, or a ``functools.partial`` of one.
    """
    tasks = list(tasks)
    if not tasks:  # then start no worker processes and connect to no cluster
        return
    # One task per call (batch_size=1): a lost worker then costs one task, not a batch.
    calls = (delayed(function)(task) for task in tasks)
    if executor.scheduler is None:
        yield from Parallel(n_jobs=executor.jobs or 1, batch_size=1, return_as="generator_unordered")(calls)
        return
    from distributed import Client  # imported here: only a cluster run needs it

    with Client(executor.scheduler, set_as_default=False) as client, parallel_config(backend="dask", client=client):
        yield from Parallel(batch_size=1, return_as="generator_unordered")(calls)
