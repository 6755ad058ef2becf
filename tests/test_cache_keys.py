"""Stored runs are keyed by their spec, the data's fingerprint and the code version: others are never read back."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from synthetic import synthetic_dataset

from nslib.engine import grid, runstore, specs
from nslib.engine.grid import run_grid
from nslib.engine.runstore import RunStore
from nslib.engine.specs import make_spec

SPECS = [make_spec("SYN", "light", "relu", 42, epochs=1, batch_size=64)]


@pytest.fixture
def trainings(monkeypatch) -> list[int]:
    """Counts the runs the stacked engine trains."""
    counted: list[int] = []
    real = grid._train_stack

    def counting(specs, *args, **kwargs):
        counted.append(len(specs))
        return real(specs, *args, **kwargs)

    monkeypatch.setattr(grid, "_train_stack", counting)
    return counted


def test_a_matching_row_is_read_back_not_trained_again(tmp_path: Path, trainings: list[int]) -> None:
    data, store = {"SYN": synthetic_dataset("SYN")}, RunStore(tmp_path / "runs.csv")
    first = run_grid(SPECS, data, store=store, progress=False)
    again = run_grid(SPECS, data, store=store, progress=False)
    assert sum(trainings) == 1
    pd.testing.assert_frame_equal(again, first)
    assert store.finished_keys(data) == {SPECS[0].key}


def test_a_row_of_the_same_spec_on_other_data_is_ignored_and_the_run_trains(tmp_path: Path, trainings) -> None:
    store = RunStore(tmp_path / "runs.csv")
    old = run_grid(SPECS, {"SYN": synthetic_dataset("SYN", seed=1)}, store=store, progress=False)
    new = run_grid(SPECS, {"SYN": synthetic_dataset("SYN", seed=2)}, store=store, progress=False)
    assert sum(trainings) == 2 and len(new) == 1
    assert new.loc[0, "data_sha256"] != old.loc[0, "data_sha256"]
    assert len(store.read()) == 2  # both kept in the file; each data set reads back only its own


def test_a_row_of_another_code_version_is_ignored(tmp_path: Path, trainings, monkeypatch) -> None:
    data, store = {"SYN": synthetic_dataset("SYN")}, RunStore(tmp_path / "runs.csv")
    with monkeypatch.context() as older:
        older.setattr(runstore, "RUN_CODE_VERSION", "older")
        older.setattr(specs, "RUN_CODE_VERSION", "older")
        run_grid(SPECS, data, store=store, progress=False)
    assert store.finished_keys(data) == set()
    run_grid(SPECS, data, store=store, progress=False)
    assert sum(trainings) == 2
    assert store.read()["code_version"].tolist() == ["older", runstore.RUN_CODE_VERSION]


def test_a_file_written_before_the_code_version_column_is_upgraded_and_its_rows_match_nothing(tmp_path: Path) -> None:
    path, data = tmp_path / "runs.csv", {"SYN": synthetic_dataset("SYN")}
    fresh = run_grid(SPECS, data, store=RunStore(tmp_path / "fresh.csv"), progress=False)
    old_columns = [column for column in runstore.COLUMNS if column != "code_version"]
    fresh[old_columns].to_csv(path, index=False)
    store = RunStore(path)
    assert store.finished_keys(data) == set()
    run_grid(SPECS, data, store=store, progress=False)
    assert path.read_text().splitlines()[0] == ",".join(runstore.COLUMNS)
    assert store.read()["code_version"].tolist() == ["", runstore.RUN_CODE_VERSION]
    assert store.finished_keys(data) == {SPECS[0].key}
