"""Executors: this process, local worker processes, or a Dask cluster on 127.0.0.1."""

import os

import pytest

from nslib.core.parallel import Executor, executor_from_env, map_unordered


def _square_and_pid(value: int) -> tuple[int, int]:
    return value * value, os.getpid()


def test_default_executor_runs_in_this_process(monkeypatch) -> None:
    monkeypatch.delenv("NSLIB_JOBS", raising=False)
    monkeypatch.delenv("NSLIB_DASK_SCHEDULER", raising=False)
    executor = executor_from_env()
    assert executor == Executor(jobs=None, scheduler=None)
    assert list(map_unordered(_square_and_pid, [1, 2, 3], executor)) == [(v * v, os.getpid()) for v in (1, 2, 3)]


def test_jobs_come_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("NSLIB_JOBS", "2")
    assert executor_from_env().jobs == 2


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


# ---------------------------------------------------------------- the grid on a Dask cluster

import signal  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

from synthetic import synthetic_dataset  # noqa: E402

from nslib.data.catalog import Dataset
from nslib.engine.grid import run_grid
from nslib.engine.runstore import RunStore
from nslib.engine.specs import make_spec

METRICS = ["status", "acc", "auc", "test_loss", "train_loss", "params"]


def _synthetic(n: int = 3000, d: int = 8) -> dict[str, Dataset]:
    label = lambda X, noise: X[:, 0] * X[:, 1] + X[:, 2]  # noqa: E731
    return {"SYNTH": synthetic_dataset("SYNTH", n=n, seed=3, d=d, label=label)}


def _specs(widths_list, epochs: int) -> list:
    return [
        make_spec("SYNTH", "width", activation, seed, epochs=epochs, widths=widths)
        for widths in widths_list
        for activation in ("relu", "mul(cos(x), x)")
        for seed in (1, 2)
    ]


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as local_cluster:
        yield local_cluster


def test_grid_on_a_local_dask_cluster_equals_a_run_in_this_process(cluster, tmp_path) -> None:
    datasets, specs = _synthetic(), _specs([(16, 8), (12, 6)], epochs=2)
    here = run_grid(specs, datasets, progress=False, workers=1, executor=Executor())
    store = RunStore(tmp_path / "runs.csv")
    there = run_grid(specs, datasets, store=store, progress=False, executor=Executor(scheduler=cluster.scheduler_address))
    assert there[METRICS].equals(here[METRICS])
    assert sorted(store.read()["key"]) == sorted(spec.key for spec in specs)


def test_a_worker_lost_mid_grid_loses_no_finished_run(cluster, tmp_path) -> None:
    datasets = _synthetic(n=6000)
    specs = _specs([(32, 16), (24, 12), (20, 10), (16, 8), (12, 6), (8, 4)], epochs=6)
    store = RunStore(tmp_path / "runs.csv")
    result: dict = {}
    grid = threading.Thread(
        target=lambda: result.update(
            table=run_grid(specs, datasets, store=store, progress=False,
                           executor=Executor(scheduler=cluster.scheduler_address))
        )
    )
    grid.start()
    deadline = time.monotonic() + 120
    while not (tmp_path / "runs.csv").exists() or len(store.read()) == 0:
        assert time.monotonic() < deadline, "no run finished within 120 s"
        time.sleep(0.05)
    finished_before = store.read().set_index("key")["finished_at"]
    victim = next(iter(cluster.workers.values()))
    os.kill(victim.process.process.pid, signal.SIGKILL)  # the nanny restarts it; Dask reruns its task
    grid.join(timeout=300)
    assert not grid.is_alive(), "the grid did not finish after a worker was lost"
    stored = store.read()
    assert sorted(stored["key"]) == sorted(spec.key for spec in specs)  # every run exactly once
    assert (stored.set_index("key").loc[finished_before.index, "finished_at"] == finished_before).all()
    assert (result["table"]["status"] == "ok").all()
