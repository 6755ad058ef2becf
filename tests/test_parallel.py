"""Executors: this process, local worker processes, or a Dask cluster on 127.0.0.1."""

import os

import pytest

from nslib.parallel import Executor, executor_from_env, map_unordered


def _square_and_pid(value: int) -> tuple[int, int]:
    return value * value, os.getpid()


def test_default_executor_runs_in_this_process(monkeypatch) -> None:
    monkeypatch.delenv("NSLIB_JOBS", raising=False)
    monkeypatch.delenv("NSLIB_DASK_SCHEDULER", raising=False)
    executor = executor_from_env()
    assert executor == Executor(jobs=1, scheduler=None) and not executor.parallel
    assert list(map_unordered(_square_and_pid, [1, 2, 3], executor)) == [(v * v, os.getpid()) for v in (1, 2, 3)]


def test_jobs_come_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("NSLIB_JOBS", "2")
    assert executor_from_env().jobs == 2
    assert executor_from_env(jobs=1).jobs == 1  # an argument wins


@pytest.mark.parametrize("value", ["two", "0", "-3"])
def test_bad_jobs_value_names_the_variable_and_the_fix(monkeypatch, value: str) -> None:
    monkeypatch.setenv("NSLIB_JOBS", value)
    with pytest.raises(ValueError, match="JOBS=2|-1"):
        executor_from_env()


def test_scheduler_address_needs_a_protocol(monkeypatch) -> None:
    monkeypatch.setenv("NSLIB_DASK_SCHEDULER", "localhost:8786")
    with pytest.raises(ValueError, match="tcp://host:8786"):
        executor_from_env()


def test_local_worker_processes_return_every_result_once() -> None:
    results = list(map_unordered(_square_and_pid, range(6), Executor(jobs=2)))
    assert sorted(value for value, _ in results) == [v * v for v in range(6)]
    assert all(pid != os.getpid() for _, pid in results)
