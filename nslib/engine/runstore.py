"""Where training runs are kept (``RunStore``), and how they are summarised over seeds (``summarise``).

``RunStore`` is an append-only CSV, ``derived_dir()/runs.csv``, one line per run,
which several processes may append to, one at a time: a writer holds the lock
file ``.runs.csv.lock`` (hidden, so that copying the folder's files leaves it;
the filelock library: ``flock`` on POSIX, ``msvcrt`` on Windows). Runs are
appended as complete lines in one ``os.write`` (``O_APPEND``, then ``fsync``), so
a process killed at any moment leaves at most a torn last line: ``read`` ignores
it, the next ``append`` cuts it off, and that run is simply trained again.

A run's identity is its spec's ``key``, the fingerprint of its data
(``data_sha256``, ``nslib.core.repro.data_fingerprint``) and the ``code_version`` of
the code that trained it (``RUN_CODE_VERSION``). ``current`` returns only the
rows of the data and code at hand; the others stay in the file, never read back.
A file older than the ``code_version`` column gets the current header on the
next ``append``; its rows then match nothing.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from filelock import FileLock
from scipy import stats

from nslib.core.files import atomic_write
from nslib.core.paths import derived_dir
from nslib.core.repro import data_fingerprint

RUNS_FILE = "runs.csv"
# The version of the code that computes a run: nslib.engine.grid, compiled, ccode, models,
# activations, symbolic and data's split. Bump it with any change that alters a
# run's numbers; stored runs of another version are then trained again.
RUN_CODE_VERSION = "3"

# One row per run. "seconds" is the run's share of its stack's wall time;
# "train_loss" holds the mean training loss of each epoch, ';'-joined; "val_auc"
# the validation ROC AUC after each epoch for runs with a "validation" fraction.
COLUMNS = (
    "key", "dataset", "arch", "widths", "activation", "formula", "seed", "epochs",
    "batch_size", "lr", "rows", "acc", "auc", "test_loss", "params", "efficiency",
    "seconds", "status", "reason", "train_loss", "validation", "val_auc", "data_sha256", "code_version", "versions",
    "device", "finished_at",
)
INTEGER_COLUMNS = ("seed", "epochs", "batch_size", "rows", "params")
FLOAT_COLUMNS = ("lr", "acc", "auc", "test_loss", "efficiency", "seconds", "validation")
STATUSES = ("ok", "failed")
METRICS = ("acc", "auc", "efficiency")


def _field(value: object) -> str:
    """One CSV field: exact float text, no newlines (a line is a run)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return " ".join(str(value).splitlines())


def _lines(rows: Iterable[Mapping[str, object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        missing = [column for column in COLUMNS if column not in row]
        if missing:
            raise ValueError(f"a run row lacks the columns {missing}; build rows with nslib.engine.grid.")
        if row["status"] not in STATUSES:
            raise ValueError(f"status {row['status']!r} is not one of {STATUSES}.")
        writer.writerow([_field(row[column]) for column in COLUMNS])
    return buffer.getvalue()


def _read_at(fd: int, offset: int, length: int) -> bytes:
    """``length`` bytes of ``fd`` from ``offset`` (``os.pread``, which Windows lacks; appends go to the end anyway)."""
    os.lseek(fd, offset, os.SEEK_SET)
    return os.read(fd, length)


class RunStore:
    """The append-only file of finished runs (default ``derived_dir()/runs.csv``)."""

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path is not None else derived_dir() / RUNS_FILE

    def _lock(self) -> FileLock:
        """The lock every writer holds: on a file of its own, which a header upgrade never replaces."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return FileLock(self.path.with_name(f".{self.path.name}.lock"))

    def _with_current_header(self) -> None:
        """Create the file, or upgrade it to the current header; called under the lock."""
        if not self.path.exists():
            with atomic_write(self.path) as handle:
                handle.write((",".join(COLUMNS) + "\n").encode())
            return
        with open(self.path, newline="") as file:
            header = next(csv.reader([file.readline()]), [])
        if header != list(COLUMNS):
            old = self.read()
            with atomic_write(self.path) as handle:
                handle.write((",".join(COLUMNS) + "\n" + _lines(old.to_dict("records"))).encode())

    def append(self, rows: Iterable[Mapping[str, object]]) -> None:
        """Append runs in one write, then fsync, under the writers' lock: a torn last line is cut off first."""
        text = _lines(rows)
        if not text:
            return
        with self._lock():
            self._with_current_header()
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | getattr(os, "O_BINARY", 0))  # no newline translation
            try:
                size = os.lseek(fd, 0, os.SEEK_END)
                if _read_at(fd, size - 1, 1) != b"\n":
                    tail = _read_at(fd, max(0, size - (1 << 20)), min(size, 1 << 20))
                    os.ftruncate(fd, size - len(tail) + tail.rindex(b"\n") + 1)
                os.write(fd, text.encode())
                os.fsync(fd)
            finally:
                os.close(fd)

    def read(self) -> pd.DataFrame:
        """Every complete run in the file, typed; torn or malformed lines are dropped.

        A file written before a column existed reads with that column empty. A
        repeated identity (key, data, code version) keeps its first row.
        """
        if not self.path.exists():
            return as_table([])
        # What follows the final newline is left out: it is empty, or a torn line.
        complete = self.path.read_bytes().decode().split("\n")[:-1]
        header = next(csv.reader(complete[:1]), [])
        if "key" not in header or not set(header) <= set(COLUMNS):
            raise ValueError(
                f"{self.path} does not start with the expected header; it was not written by "
                "RunStore. Move it away or point NSLIB_DERIVED_DIR elsewhere."
            )
        records = [fields for fields in csv.reader(complete[1:]) if len(fields) == len(header)]
        frame = pd.DataFrame(records, columns=header).replace("", None)
        identity = ["key", "data_sha256", "code_version"] if "code_version" in header else ["key"]
        return as_table(frame.drop_duplicates(identity))  # keeps each identity's first row

    def current(self, datasets: Mapping[str, object]) -> pd.DataFrame:
        """The runs computed on ``datasets`` (name: Dataset) by this code version; all others are left out."""
        runs = self.read()
        prints = {name: data_fingerprint(data.X, data.y) for name, data in datasets.items()}
        same = (runs["dataset"].map(prints) == runs["data_sha256"]) & (runs["code_version"] == RUN_CODE_VERSION)
        return runs[same].reset_index(drop=True)

    def finished_keys(self, datasets: Mapping[str, object]) -> set[str]:
        """The keys of the ``current`` runs, failed ones included (a failure repeats)."""
        return set(self.current(datasets)["key"])


def as_table(rows: pd.DataFrame | Iterable[Mapping[str, object]]) -> pd.DataFrame:
    """Runs as a DataFrame with the columns of ``COLUMNS``, typed as ``RunStore.read`` types them."""
    frame = pd.DataFrame(rows, columns=list(COLUMNS)).reset_index(drop=True)
    texts = [column for column in COLUMNS if column not in INTEGER_COLUMNS + FLOAT_COLUMNS]
    frame[list(INTEGER_COLUMNS)] = frame[list(INTEGER_COLUMNS)].apply(pd.to_numeric).astype("Int64")
    frame[list(FLOAT_COLUMNS)] = frame[list(FLOAT_COLUMNS)].apply(pd.to_numeric).astype(float)
    frame[texts] = frame[texts].astype(object).fillna("").astype(str)
    return frame


def summarise(df: pd.DataFrame, by: Sequence[str] = ("dataset", "arch", "activation")) -> pd.DataFrame:
    """Per group: ``n`` good runs, ``failed`` runs, and mean, std and 95% CI half-width of acc, auc, efficiency.

    The interval is Student-t over seeds: ``t(0.975, n - 1) * std / sqrt(n)``
    (NaN for a single run). ``params`` is the group's parameter count.
    Failed runs are counted in ``failed`` and left out of every statistic.
    """
    by = list(by)
    unknown = [column for column in by if column not in df.columns]
    if unknown:
        raise ValueError(f"cannot group by {unknown}: not columns of the runs table ({list(df.columns)}).")
    out = []
    for group, runs in df.groupby(by, sort=False, dropna=False):
        good = runs[runs["status"] == "ok"]
        row = dict(zip(by, group))  # grouping by a list gives tuple keys
        row.update(n=len(good), failed=int((runs["status"] != "ok").sum()))
        if "params" in runs.columns:
            row["params"] = runs["params"].iloc[0]
        for metric in METRICS:
            values = good[metric].astype(float)
            mean, std = values.mean(), values.std(ddof=1)
            half = stats.t.ppf(0.975, len(values) - 1) * std / math.sqrt(len(values)) if len(values) > 1 else math.nan
            row.update({f"{metric}_mean": mean, f"{metric}_std": std, f"{metric}_ci95": half})
        out.append(row)
    return pd.DataFrame(out)
