"""The rows of a catalog data set, from the offline mirror, the download cache or the URL.

Each reader returns a ``RawTable``: the file's columns as float32 and where
they came from. Text is decompressed with ``gzip`` and parsed by
``pandas.read_csv`` block by block, so memory holds the float32 rows, not the
text. HIGGS rows are streamed from the remote gzip through a byte-counting
reader that ends the text after the rows asked for: the download stops there.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import io
import json
import os
import re
import urllib.request
import zlib
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from nslib.core.files import atomic_write
from nslib.core.paths import data_home
from nslib.core.progress import progress
from nslib.data.catalog import DataError, DataSpec

# Rows per pandas block: memory holds one block's float64 frame beside the float32 rows.
_BLOCK_ROWS = 1 << 16


@dataclass
class RawTable:
    """Rows as read from one source, before selection and labelling."""

    table: np.ndarray  # float32, the file's columns
    reached_end: bool  # False: reading stopped once enough rows were in
    source: str
    sha256: str
    official: bool  # the official file (or a copy of it), whose row count the catalog knows
    is_sample: bool = False  # a mirror file holding only a sample of the official rows
    from_mirror: bool = False
    from_cache: bool = False
    bytes_fetched: int | None = None
    source_bytes: int | None = None
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- sources


def read_mirror(spec: DataSpec, folder: Path, wanted: int) -> RawTable:
    """Read the data set's file from the offline mirror, checked against its SHA256SUMS."""
    if not folder.is_dir():
        raise DataError(
            f"{spec.name}: NSLIB_DATA_MIRROR={folder} is not a folder; point it at the folder that "
            "holds the data files and SHA256SUMS, or unset it to download from UCI."
        )
    candidates = (spec.file_name, spec.mirror_file)  # the official file first: it is the real thing
    path = next((folder / name for name in candidates if (folder / name).is_file()), None)
    if path is None:
        raise DataError(
            f"{spec.name}: the mirror {folder} has neither {' nor '.join(candidates)}; add one "
            "(with its line in SHA256SUMS) or unset NSLIB_DATA_MIRROR to download."
        )
    expected = _mirror_sums(folder, spec).get(path.name)
    if expected is None:
        raise DataError(
            f"{spec.name}: {path} is not listed in {folder / 'SHA256SUMS'}; add its line "
            f"(cd {folder} && sha256sum {path.name} >> SHA256SUMS) after checking the file."
        )
    actual = sha256_of_file(path)
    if actual != expected:
        raise DataError(
            f"{spec.name}: {path} has sha256 {actual}, but SHA256SUMS says {expected}; the file is "
            "damaged or was replaced: restore it from its source, or unset NSLIB_DATA_MIRROR to download."
        )
    official = path.name == spec.file_name
    # Only an official HIGGS file is large enough to be worth stopping early in.
    stop = wanted if official and spec.selection == "first" else None
    fix = f"Replace {path} with a good copy, or unset NSLIB_DATA_MIRROR to download."
    table, reached_end = _parse_file(path, spec, fix, stop)
    is_sample = not official and spec.mirror_is_sample
    kind = f"a sample of the rows of {spec.file_name}" if is_sample else f"the exact {spec.file_name}, gzip-compressed"
    notes = [] if official else [f"Offline mirror file {path.name}: {kind}."]
    return RawTable(table, reached_end, str(path), actual, official, is_sample, from_mirror=True, notes=notes)


def _mirror_sums(folder: Path, spec: DataSpec) -> dict[str, str]:
    """The mirror's SHA256SUMS as {file name: sha256} (sha256sum's text and binary formats)."""
    path = folder / "SHA256SUMS"
    if not path.is_file():
        raise DataError(
            f"{spec.name}: the mirror {folder} has no SHA256SUMS; create it "
            f"(cd {folder} && sha256sum *.gz > SHA256SUMS) after checking the files."
        )
    sums = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        match = re.fullmatch(r"([0-9a-fA-F]{64}) [ *](.+)", line.strip())
        if line.strip() and match is None:
            raise DataError(
                f"{spec.name}: line {number} of {path} is not in sha256sum format "
                "('<64 hex digits>  <file name>'); regenerate it with sha256sum."
            )
        if match:
            sums[match.group(2)] = match.group(1).lower()
    return sums


def read_download(spec: DataSpec) -> RawTable:
    """Read a whole official file from the cache, downloading it first if needed."""
    path = data_home() / spec.file_name
    expected = _expected_sha256(spec)
    url = _url(spec)
    fetched = None
    if path.is_file():
        actual = sha256_of_file(path)
        if expected is not None and actual != expected:
            path.unlink()
            raise DataError(
                f"{spec.name}: the cached {path} had sha256 {actual}, not the expected {expected}; "
                "it was removed: load again to download it afresh."
            )
    else:
        actual, fetched = _download(spec, url, path, expected)
    fix = f"Delete {path} and load again to download it afresh."
    table, reached_end = _parse_file(path, spec, fix, None)
    return RawTable(
        table,
        reached_end,
        url,
        actual,
        official=True,
        from_cache=fetched is None,
        bytes_fetched=fetched,
        source_bytes=path.stat().st_size,
        notes=[f"Read from the cache {path}." if fetched is None else f"Downloaded to {path}."],
    )


def _download(spec: DataSpec, url: str, path: Path, expected: str | None) -> tuple[str, int]:
    """Download ``url`` to ``path`` atomically, checking the sha256; return it and the bytes fetched."""
    digest = hashlib.sha256()
    with closing(_Response(spec, url)) as response, atomic_write(path) as out:
        with progress(total=response.declared, unit="B", unit_scale=True, desc=f"download {spec.name}") as bar:
            for chunk in iter(lambda: response.read(1 << 16), b""):
                out.write(chunk)
                digest.update(chunk)
                bar.update(len(chunk))
        actual = digest.hexdigest()
        if expected is not None and actual != expected:
            raise DataError(
                f"{spec.name}: {url} sent a file with sha256 {actual}, not the expected {expected}; "
                f"nothing was cached. Check that the URL serves the official {spec.file_name}; if the "
                f"source changed the file on purpose, set {spec.env_variable('SHA256')} to the new value."
            )
    return actual, response.bytes_read


_RECORD_KEYS = {"url", "rows", "complete", "bytes_fetched", "source_bytes", "sha256"}


def read_prefix(spec: DataSpec, wanted: int) -> RawTable:
    """The first ``wanted`` rows: from the cache, or streamed from the URL and then cached."""
    url = _url(spec)
    path = data_home() / f"{spec.name}_first_{wanted}.csv.gz"
    record_path = path.with_suffix("").with_suffix(".json")
    if path.is_file():
        try:  # the JSON record written beside the cached rows
            record = json.loads(record_path.read_text())
        except (OSError, ValueError):
            record = None
        if not (isinstance(record, dict) and _RECORD_KEYS <= set(record)):
            raise DataError(
                f"{spec.name}: the cached {path} has no readable record {record_path}; delete {path} "
                "and load again to stream the rows afresh."
            )
        if record["url"] == url:
            return _read_cached_prefix(spec, path, record, wanted)
    return _stream_prefix(spec, url, path, record_path, wanted)


def _read_cached_prefix(spec: DataSpec, path: Path, record: dict, wanted: int) -> RawTable:
    digest = hashlib.sha256()
    fix = f"Delete {path} and load again to stream the rows afresh."
    table, _ = _parse_file(path, spec, fix, wanted, digest.update)
    if digest.hexdigest() != record["sha256"]:
        raise DataError(f"{spec.name}: {path} does not hold the rows its record describes. {fix}")
    notes = [f"Read from the cache {path}, made by streaming {record['url']}.", _fetch_note(record)]
    return _prefix_table(spec, table, record, notes, from_cache=True)


def _stream_prefix(spec: DataSpec, url: str, path: Path, record_path: Path, wanted: int) -> RawTable:
    """Stream the remote gzip, keep its first ``wanted`` rows and cache exactly those rows' text."""
    digest = hashlib.sha256()
    with closing(_Response(spec, url)) as response, atomic_write(path) as out:
        # mtime=0 and no file name: the same rows always give the same cache bytes.
        with gzip.GzipFile(filename="", fileobj=out, mode="wb", mtime=0) as packed:

            def keep(text: bytes) -> None:
                packed.write(text)
                digest.update(text)

            with gzip.GzipFile(fileobj=response, mode="rb") as text:
                table, complete = _parse(text, spec, url, response.fix, wanted, keep)
        record = {
            "url": url,
            "rows": len(table),
            "complete": complete,
            "bytes_fetched": response.bytes_read,
            "source_bytes": response.declared,
            "sha256": digest.hexdigest(),
        }
        with atomic_write(record_path, "w") as handle:
            handle.write(json.dumps(record, indent=2))
    return _prefix_table(spec, table, record, [_fetch_note(record), f"Cached as {path}."], from_cache=False)


def _prefix_table(spec: DataSpec, table: np.ndarray, record: dict, notes: list[str], from_cache: bool) -> RawTable:
    """Streamed rows, described by the record of their cache."""
    return RawTable(table, record["complete"], record["url"], record["sha256"], official=record["url"] == spec.url,
                    from_cache=from_cache, bytes_fetched=record["bytes_fetched"], source_bytes=record["source_bytes"],
                    notes=notes)


def _fetch_note(record: dict) -> str:
    size = record["source_bytes"]
    of = f"of a {size:,}-byte file ({record['bytes_fetched'] / size:.2%})" if size else "of a file of unknown size"
    return f"Streaming the first {record['rows']:,} rows fetched {record['bytes_fetched']:,} bytes {of}."


def _url(spec: DataSpec) -> str:
    return os.environ.get(spec.env_variable("URL")) or spec.url


def _expected_sha256(spec: DataSpec) -> str | None:
    value = os.environ.get(spec.env_variable("SHA256"))
    if not value:
        return spec.sha256
    if re.fullmatch(r"[0-9a-fA-F]{64}", value) is None:
        raise DataError(f"{spec.env_variable('SHA256')}={value!r} is not a sha256 (64 hex digits); fix or unset it.")
    return value.lower()


def sha256_of_file(path: Path) -> str:
    """The sha256 of a file's bytes, as 64 hex digits."""
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


class _Response:
    """A URL's response read through ``read``: counts the bytes and fails loudly when cut short."""

    def __init__(self, spec: DataSpec, url: str):
        self.name, self.url = spec.name, url
        self.fix = (  # what to do when the download fails
            f"Offline? set NSLIB_DATA_MIRROR=/path/to/mirror (a folder with the files and SHA256SUMS), "
            f"or {spec.env_variable('URL')} to a reachable copy of {spec.file_name}."
        )
        try:
            self.response = urllib.request.urlopen(url, timeout=60)
        except (OSError, ValueError) as error:  # refused connections, HTTP errors, timeouts, malformed URLs
            reason = getattr(error, "reason", error)
            message = f"{spec.name}: cannot download {url} ({reason}) and no mirror is set. {self.fix}"
            raise DataError(message) from error
        length = self.response.headers.get("Content-Length")
        self.declared = int(length) if length and length.isdigit() else None  # the file's size, if announced
        self.bytes_read = 0

    def close(self) -> None:
        self.response.close()

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes of the body; b"" at its end."""
        try:
            chunk = self.response.read(size)
        except (http.client.HTTPException, OSError) as error:
            raise DataError(f"{self.name}: the download of {self.url} failed ({error}). {self.fix}") from error
        self.bytes_read += len(chunk)
        # http.client returns b"" rather than raising when a connection closes early.
        if not chunk and size and self.declared is not None and self.bytes_read < self.declared:
            raise DataError(
                f"{self.name}: the download of {self.url} stopped after {self.bytes_read:,} of the "
                f"{self.declared:,} bytes announced. {self.fix}"
            )
        return chunk


# --------------------------------------------------------------------------- parsing


class _Lines(io.RawIOBase):
    """A binary stream ended after ``limit`` lines (None: never); ``sink`` gets the bytes passed on."""

    def __init__(self, stream: BinaryIO, limit: int | None, sink: Callable[[bytes], None] | None):
        self.stream, self.left, self.sink = stream, limit, sink
        self.stopped = False  # True once the limit was reached

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:
        chunk = b"" if self.stopped else self.stream.read(len(buffer))
        if self.left is not None:
            lines = chunk.split(b"\n", self.left)
            if len(lines) > self.left:  # the limit's line ends in this chunk: cut what follows it
                chunk, self.stopped = chunk[: len(chunk) - len(lines[-1])], True
            self.left -= chunk.count(b"\n")
        if self.sink is not None:
            self.sink(chunk)
        buffer[: len(chunk)] = chunk
        return len(chunk)


def _parse_file(
    path: Path, spec: DataSpec, fix: str, limit: int | None, sink: Callable[[bytes], None] | None = None
) -> tuple[np.ndarray, bool]:
    """``_parse`` on a file, decompressed on the fly when its name ends in .gz."""
    with gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb") as stream:
        return _parse(stream, spec, str(path), fix, limit, sink)


def _parse(
    stream: BinaryIO,
    spec: DataSpec,
    where: str,
    fix: str,
    limit: int | None,
    sink: Callable[[bytes], None] | None = None,
) -> tuple[np.ndarray, bool]:
    """Parse the comma-separated lines of ``spec``'s file into float32 rows.

    Reads at most ``limit`` lines (None: to the end); ``sink`` receives the
    exact text of the lines read. Returns the rows and whether the stream was
    read to its end. Bad text raises a DataError naming ``where`` and ``fix``.
    """
    lines = _Lines(stream, limit, sink)
    blocks = [np.empty((0, spec.n_columns), dtype=np.float32)]
    try:
        with progress(total=limit, unit=" rows", desc=f"read {spec.name}", leave=False) as bar:
            dtype = {spec.label_column: str} if spec.text_labels else None
            for frame in pd.read_csv(lines, header=None, chunksize=_BLOCK_ROWS, dtype=dtype):
                blocks.append(_check_block(frame, spec, where, fix))
                bar.update(len(frame))
    except pd.errors.EmptyDataError:
        pass  # no rows at all: the caller says that the file is empty
    except EOFError as error:
        raise DataError(f"{spec.name}: {where} is a truncated gzip stream ({error}). {fix}") from error
    except (gzip.BadGzipFile, zlib.error) as error:
        raise DataError(f"{spec.name}: {where} is not a valid gzip stream ({error}). {fix}") from error
    except pd.errors.ParserError as error:
        message = f"{spec.name}: {where} is not comma-separated like {spec.file_name} ({error}). {fix}"
        raise DataError(message) from error
    return np.concatenate(blocks), not lines.stopped


def _check_block(frame: pd.DataFrame, spec: DataSpec, where: str, fix: str) -> np.ndarray:
    """A block of parsed rows as float32, or the DataError that names its first bad value."""
    if frame.shape[1] != spec.n_columns:
        raise DataError(
            f"{spec.name}: the first line of {where} has {frame.shape[1]} columns, but {spec.file_name} "
            f"has {spec.n_columns} ({len(spec.feature_names)} features and the label). {fix}"
        )
    if spec.text_labels:  # words as their positions in label_values (DataSpec.label_codes)
        words = frame[spec.label_column]
        frame[spec.label_column] = codes = words.str.strip().map(dict(zip(spec.label_values, spec.label_codes)))
        if codes.isna().any():
            row = codes.isna().idxmax()
            raise DataError(f"{spec.name}: row {row + 1} of {where} has the label {words[row]!r}, not one of "
                            f"{spec.file_name}'s labels {list(spec.label_values)}. {fix}")
    for number, (_, values) in enumerate(frame.items(), start=1):
        if values.dtype.kind not in "iuf":  # pandas found a value that is not a number
            # A column of True/False is text too; pandas would read it as booleans.
            text = values.notna() & (values.dtype.kind == "b" or pd.to_numeric(values, errors="coerce").isna())
            row = text.idxmax()
            raise DataError(
                f"{spec.name}: row {row + 1}, column {number} of {where} is {values[row]!r}, not a number. {fix}"
            )
    table = frame.to_numpy(dtype=np.float32)
    bad = np.argwhere(~np.isfinite(table))
    if bad.size:
        row, column = bad[0]
        raise DataError(
            f"{spec.name}: row {frame.index[row] + 1}, column {column + 1} of {where} is missing or not finite "
            f"(each line of {spec.file_name} holds {spec.n_columns} numbers). {fix}"
        )
    return table

