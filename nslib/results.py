"""Where training runs are kept, and how they are summarised over seeds.

``RunStore`` is an append-only CSV, ``derived_dir()/runs.csv``, one line per run.
Each finished run (or stack of runs) is appended as complete lines with a single
``os.write`` on a file opened with ``O_APPEND``, then ``fsync``: a process killed
at any moment leaves every earlier line intact and at most one torn last line.
``read`` ignores it (no trailing newline), the next ``append`` cuts it off, and
that run is simply trained again. Several processes may append to the same file.

``summarise`` turns runs into the table the paper reports: mean, std and a 95%
Student-t confidence interval over seeds, failed runs left out and counted.
"""

from __future__ import annotations

import csv
import fcntl
import io
import math
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from nslib.paths import derived_dir

RUNS_FILE = "runs.csv"

# One row per run. "seconds" is the run's share of its stack's wall time;
# "train_loss" holds the mean training loss of each epoch, ';'-joined.
COLUMNS = (
    "key", "dataset", "arch", "widths", "activation", "formula", "seed", "epochs",
    "batch_size", "lr", "rows", "acc", "auc", "test_loss", "params", "efficiency",
    "seconds", "status", "reason", "train_loss", "data_sha256", "versions", "device",
    "finished_at",
)
INTEGER_COLUMNS = ("seed", "epochs", "batch_size", "rows", "params")
FLOAT_COLUMNS = ("lr", "acc", "auc", "test_loss", "efficiency", "seconds")
STATUSES = ("ok", "failed")
METRICS = ("acc", "auc", "efficiency")


def _field(value: object) -> str:
    """One CSV field: exact float text, no newlines (a line is a run)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
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
            raise ValueError(f"a run row lacks the columns {missing}; build rows with nslib.training.")
        if row["status"] not in STATUSES:
            raise ValueError(f"status {row['status']!r} is not one of {STATUSES}.")
        writer.writerow([_field(row[column]) for column in COLUMNS])
    return buffer.getvalue()


class RunStore:
    """The append-only file of finished runs (default ``derived_dir()/runs.csv``)."""

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path is not None else derived_dir() / RUNS_FILE

    def _create(self) -> None:
        """Create the file with its header atomically, so a reader never sees it half written."""
        if self.path.exists():
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        header = ",".join(COLUMNS) + "\n"
        fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".runs-", suffix=".tmp")
        try:
            os.write(fd, header.encode())
            os.fsync(fd)
            os.close(fd)
            # link() fails if another process created the file first: theirs wins.
            os.link(temporary, self.path)
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)

    def append(self, rows: Iterable[Mapping[str, object]]) -> None:
        """Append runs as complete lines in one write, then fsync.

        Writers take an exclusive lock on the file, so that a torn last line (left
        by a writer that was killed) can be cut off before the new lines go in.
        """
        text = _lines(rows)
        if not text:
            return
        self._create()
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            if os.pread(fd, 1, size - 1) != b"\n":
                tail = os.pread(fd, min(size, 1 << 20), max(0, size - (1 << 20)))
                os.ftruncate(fd, size - len(tail) + tail.rindex(b"\n") + 1)
            os.write(fd, text.encode())
            os.fsync(fd)
        finally:
            os.close(fd)  # also releases the lock

    def read(self) -> pd.DataFrame:
        """All complete runs, typed; torn or malformed lines are dropped, a repeated key keeps its first row."""
        if not self.path.exists():
            return as_table([])
        text = self.path.read_bytes().decode()
        lines = text.split("\n")
        # The last element is what follows the final newline: empty, or a torn line.
        complete = lines[:-1]
        if not complete or complete[0].split(",") != list(COLUMNS):
            raise ValueError(
                f"{self.path} does not start with the expected header; it was not written by "
                "RunStore. Move it away or point NSLIB_DERIVED_DIR elsewhere."
            )
        records = [fields for fields in csv.reader(complete[1:]) if len(fields) == len(COLUMNS)]
        frame = pd.DataFrame(records, columns=list(COLUMNS)).replace("", None)
        return as_table(frame.drop_duplicates("key", keep="first"))

    def finished_keys(self) -> set[str]:
        """The keys of every run in the file, failed ones included (a failure repeats)."""
        return set(self.read()["key"])


def as_table(rows: pd.DataFrame | Iterable[Mapping[str, object]]) -> pd.DataFrame:
    """Runs as a DataFrame with the columns of ``COLUMNS``, typed as ``RunStore.read`` types them."""
    frame = pd.DataFrame(rows, columns=list(COLUMNS)).reset_index(drop=True)
    for column in INTEGER_COLUMNS:
        frame[column] = pd.to_numeric(frame[column]).astype("Int64")
    for column in FLOAT_COLUMNS:
        frame[column] = pd.to_numeric(frame[column]).astype(float)
    for column in set(COLUMNS) - set(INTEGER_COLUMNS) - set(FLOAT_COLUMNS):
        frame[column] = frame[column].fillna("").astype(str)
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
        row = dict(zip(by, group if isinstance(group, tuple) else (group,)))
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
