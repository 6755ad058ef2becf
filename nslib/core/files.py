"""Writing files so that a reader never sees one half written."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pandas as pd


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", *, exclusive: bool = False) -> Iterator[IO]:
    """Write ``path`` through a temporary file in its folder, then move it into place.

    A crash mid-write leaves the old file (or none), never a truncated one; the
    folder is fsynced after the move, so that a power cut cannot lose the move either.
    With ``exclusive=True`` the file is only created if it does not exist yet: when
    another process created it first, theirs is kept and ours is discarded.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(mode, dir=path.parent, prefix=f".{path.name}.", suffix=".part", delete=False)
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            try:
                os.link(handle.name, path)
            except FileExistsError:
                pass
        else:
            os.replace(handle.name, path)
        _fsync_folder(path.parent)
    finally:
        Path(handle.name).unlink(missing_ok=True)


def replace_family(path: str | os.PathLike, family: str, table: pd.DataFrame) -> pd.DataFrame:
    """Write ``table``'s rows as ``family``'s into the CSV at ``path``, keeping every other family's rows.

    ``table`` has a ``family`` column (or gets one); the file's rows of ``family`` are
    replaced (its rows go last) and the whole table is returned. ``id`` and ``family``
    are read as text, so a family named "03" stays "03" to be found and replaced.
    """
    path = Path(path)
    table = table.assign(family=family)
    old = (pd.read_csv(path, keep_default_na=False, dtype={"id": str, "family": str}) if path.exists()
           else pd.DataFrame(columns=table.columns))
    merged = pd.concat([old[old["family"] != family], table], ignore_index=True)
    with atomic_write(path) as handle:
        handle.write(merged.to_csv(index=False).encode())
    return merged


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX; Windows cannot open a folder, and its renames need no such step)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
