"""The runs file: append-only, crash-safe, resumable; and the summary over seeds."""

from __future__ import annotations

import math
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nslib.data.user_csv import from_csv
from nslib.engine.grid import run_grid
from nslib.engine.runstore import COLUMNS, RunStore, summarise
from nslib.engine.specs import make_spec

ACTIVATIONS = ("relu", "gelu", "silu")
SEEDS = (42, 43)


def _row(key: str, **values: object) -> dict:
    row = {column: "" for column in COLUMNS}
    row.update(key=key, dataset="SYN", arch="light", widths="64-32", activation="ReLU", seed=42, epochs=15,
               batch_size=1024, lr=1e-3, rows=100, acc=0.75, auc=0.8123456789012345, test_loss=0.5,
               params=4161, efficiency=0.22, seconds=1.5, status="ok", train_loss="0.7;0.6")
    row.update(values)
    return row


@pytest.fixture
def csv_data(tmp_path: Path) -> Path:
    """A learnable synthetic CSV: 1200 rows, 6 features, label column 'y'."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1200, 6))
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    frame["y"] = (X[:, 0] + rng.normal(size=1200) > 0).astype(int)
    path = tmp_path / "syn.csv"
    frame.to_csv(path, index=False)
    return path


def _specs(epochs: int) -> list:
    return [make_spec("SYN", "light", act, seed, epochs=epochs, batch_size=128) for act in ACTIVATIONS for seed in SEEDS]


def test_rows_come_back_exactly_as_written(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.csv")
    store.append([_row("a", formula="sub(cos(x), cos(abs(cos(x))))", reason="line one\nline two")])
    store.append([_row("b", status="failed", acc=math.nan, auc=None)])
    frame = store.read()
    assert frame["key"].tolist() == ["a", "b"]
    assert frame.loc[0, "auc"] == 0.8123456789012345 and frame.loc[0, "seed"] == 42
    assert frame.loc[0, "formula"] == "sub(cos(x), cos(abs(cos(x))))"
    assert frame.loc[0, "reason"] == "line one line two"
    assert math.isnan(frame.loc[1, "auc"]) and frame.loc[1, "status"] == "failed"
    assert frame["code_version"].tolist() == ["", ""]  # as written: these rows match no code


def test_a_torn_last_line_is_ignored_and_cut_off_by_the_next_append(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.csv")
    store.append([_row("a")])
    complete = store.path.read_text()
    with open(store.path, "a") as file:
        file.write(complete.splitlines()[1][:-5])  # a crash just before the end of the next line
    assert store.read()["key"].tolist() == ["a"]
    store.append([_row("b")])
    assert store.read()["key"].tolist() == ["a", "b"]
    assert store.path.read_text().startswith(complete) and len(store.path.read_text().splitlines()) == 3


def test_a_file_not_written_by_the_store_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "runs.csv"
    path.write_text("something,else\n1,2\n")
    with pytest.raises(ValueError, match="expected header"):
        RunStore(path).read()
    with pytest.raises(ValueError, match="lacks the columns"):
        RunStore(tmp_path / "other.csv").append([{"key": "a"}])


def test_summarise_gives_mean_std_and_a_student_t_interval_and_counts_failures() -> None:
    runs = pd.DataFrame(
        [_row(f"k{i}", acc=acc, auc=acc, efficiency=acc) for i, acc in enumerate([0.70, 0.72, 0.74])]
        + [_row("k3", status="failed", acc=math.nan, auc=math.nan, efficiency=math.nan)]
    )
    table = summarise(runs)
    assert len(table) == 1
    row = table.iloc[0]
    assert row["n"] == 3 and row["failed"] == 1 and row["params"] == 4161
    assert row["acc_mean"] == pytest.approx(0.72) and row["acc_std"] == pytest.approx(0.02)
    # t(0.975, 2) = 4.303: the interval over three seeds is wide.
    assert row["auc_ci95"] == pytest.approx(4.302653 * 0.02 / math.sqrt(3), rel=1e-5)
    with pytest.raises(ValueError, match="cannot group by"):
        summarise(runs, by=("model",))


def test_run_grid_with_a_store_trains_only_what_is_missing(tmp_path: Path, csv_data: Path) -> None:
    data = {"SYN": from_csv(csv_data, label="y", name="SYN")}
    store = RunStore(tmp_path / "runs.csv")
    specs = _specs(epochs=1)
    first = run_grid(specs[:2], data, store=store, progress=False)
    both = run_grid(specs[:3], data, store=store, progress=False)
    assert both["key"].tolist() == [spec.key for spec in specs[:3]]
    assert both.iloc[:2]["finished_at"].tolist() == first["finished_at"].tolist()
    assert len(store.read()) == 3
    again = run_grid(specs[:3], data, store=store, progress=False, workers=2)
    assert again["finished_at"].tolist() == both["finished_at"].tolist() and len(store.read()) == 3


CHILD = textwrap.dedent(
    """
    import sys
    from nslib.data.user_csv import from_csv
    from nslib.engine.runstore import RunStore
    from nslib.engine.grid import run_grid
    from nslib.engine.specs import make_spec

    data = {"SYN": from_csv(sys.argv[1], label="y", name="SYN")}
    specs = [make_spec("SYN", "light", act, seed, epochs=4, batch_size=128)
             for act in ("relu", "gelu", "silu") for seed in (42, 43)]
    run_grid(specs, data, store=RunStore(sys.argv[2]), progress=False, max_stack=1, workers=1)
    """
)


def _data_lines(path: Path) -> list[str]:
    return path.read_text().split("\n")[1:-1] if path.exists() else []


def test_a_killed_grid_resumes_without_losing_or_repeating_a_run(tmp_path: Path, csv_data: Path) -> None:
    script, path = tmp_path / "grid.py", tmp_path / "runs.csv"
    script.write_text(CHILD)
    child = subprocess.Popen([sys.executable, str(script), str(csv_data), str(path)])
    deadline = time.monotonic() + 60
    while len(_data_lines(path)) < 2 and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait()
    before = RunStore(path).read()
    assert 2 <= len(before) < 6, "the grid must be killed half way for this test to mean anything"
    with open(path, "a") as file:
        file.write(_data_lines(path)[0][:40])  # a crash in the middle of writing the next run

    subprocess.run([sys.executable, str(script), str(csv_data), str(path)], check=True)
    after = RunStore(path).read()
    keys = [spec.key for spec in _specs(epochs=4)]
    assert sorted(after["key"]) == sorted(keys)
    written = [line.split(",")[0] for line in _data_lines(path) if line.count(",") >= len(COLUMNS) - 1]
    assert sorted(written) == sorted(keys), "every run is in the file exactly once"
    kept = after.set_index("key").loc[before["key"]]
    assert kept["finished_at"].tolist() == before["finished_at"].tolist()
    assert kept["auc"].tolist() == before["auc"].tolist()
