"""The paper's three data sets, and any CSV with a binary label.

``load("HIGGS")`` returns a ``Dataset``: float32 features, 0/1 labels and a
``Provenance`` record saying where every row came from. The registry holds each
data set's official UCI source, the paper's parsing and label rules, its row
count, feature names and, where a trusted value exists, the file's sha256.

Where the bytes come from, in order:

1. ``NSLIB_DATA_MIRROR``: a local folder with the files and a ``SHA256SUMS``;
2. the cache ``data_home()`` (``data/raw/``), filled by an earlier download;
3. the official URL (or ``NSLIB_<NAME>_URL``), downloaded atomically and checked.

HIGGS is a 2.6 GB gzip of which the paper uses the first 100,000 rows: it is
streamed and decompressed as it arrives, and the download stops once those rows
are in. Bad input raises ``DataError``, which names the data set, the file and the fix.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import io
import json
import math
import os
import re
import tempfile
import urllib.error
import urllib.request
import warnings
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from tqdm.auto import tqdm

from nslib.paths import data_home, mirror_dir


class DataError(ValueError):
    """A data set cannot be loaded as asked; the message names the data set, the file and the fix."""


class RowShortfallWarning(UserWarning):
    """A source holds fewer rows than were asked for; loading goes on with the rows it has."""


@dataclass(frozen=True)
class DataSpec:
    """What the registry knows about one of the paper's data sets."""

    name: str
    domain: str
    description: str
    url: str
    file_name: str  # the official file's name, also its name in the cache and in a mirror
    sha256: str | None  # of the official file's bytes, where a trusted value exists
    source_rows: int  # rows in the official file
    paper_rows: int  # rows the paper uses
    selection: str  # "first": the first rows; "sample": a seeded sample without replacement
    label_column: int
    label_values: tuple[int, ...]  # raw label values the official file holds
    positive_value: int  # the raw label value that becomes 1
    label_rule: str
    feature_names: tuple[str, ...]
    mirror_file: str  # the offline mirror's stand-in for the official file
    mirror_is_sample: bool  # whether that stand-in holds only a sample of the rows

    @property
    def n_columns(self) -> int:
        """Columns in the file: the features and the label."""
        return len(self.feature_names) + 1

    def paper_selection(self) -> str:
        """The rows the paper uses, in words, e.g. "the first 100,000 of 11,000,000"."""
        if self.paper_rows == self.source_rows:
            return f"all {self.source_rows:,}"
        if self.selection == "first":
            return f"the first {self.paper_rows:,} of {self.source_rows:,}"
        return f"{self.paper_rows:,} drawn at random from {self.source_rows:,}"

    def url_variable(self) -> str:
        """The environment variable that overrides the URL, e.g. ``NSLIB_HIGGS_URL``."""
        return f"NSLIB_{self.name}_URL"

    def sha256_variable(self) -> str:
        """The environment variable that overrides the expected sha256 of a download."""
        return f"NSLIB_{self.name}_SHA256"


_HIGGS_FEATURES = (
    *"lepton_pT lepton_eta lepton_phi missing_energy_magnitude missing_energy_phi".split(),
    *(f"jet_{jet}_{part}" for jet in range(1, 5) for part in ("pt", "eta", "phi", "b-tag")),
    *"m_jj m_jjj m_lv m_jlv m_bb m_wbb m_wwbb".split(),
)
_COVTYPE_FEATURES = (
    *(
        "Elevation Aspect Slope Horizontal_Distance_To_Hydrology Vertical_Distance_To_Hydrology "
        "Horizontal_Distance_To_Roadways Hillshade_9am Hillshade_Noon Hillshade_3pm "
        "Horizontal_Distance_To_Fire_Points"
    ).split(),
    *(f"Wilderness_Area{i}" for i in range(1, 5)),
    *(f"Soil_Type{i}" for i in range(1, 41)),
)
_SPAMBASE_WORDS = (
    "make address all 3d our over remove internet order mail receive will people report addresses "
    "free business email you credit your font 000 money hp hpl george 650 lab labs telnet 857 data "
    "415 85 technology 1999 parts pm direct cs meeting original project re edu table conference"
).split()
_SPAMBASE_FEATURES = (
    *(f"word_freq_{word}" for word in _SPAMBASE_WORDS),
    *(f"char_freq_{char}" for char in ";([!$#"),
    "capital_run_length_average",
    "capital_run_length_longest",
    "capital_run_length_total",
)

REGISTRY: Mapping[str, DataSpec] = {
    spec.name: spec
    for spec in (
        DataSpec(
            name="HIGGS",
            domain="physics",
            description="Simulated LHC collisions: 21 detector measurements and 7 derived masses; "
            "1 = a Higgs-producing signal process, 0 = background.",
            url="https://archive.ics.uci.edu/ml/machine-learning-databases/00280/HIGGS.csv.gz",
            file_name="HIGGS.csv.gz",
            sha256=None,  # UCI publishes none, and no trusted copy of the value is at hand
            source_rows=11_000_000,
            paper_rows=100_000,
            selection="first",
            label_column=0,
            label_values=(0, 1),
            positive_value=1,
            label_rule="column 0 (1 = signal)",
            feature_names=_HIGGS_FEATURES,
            mirror_file="higgs_sample.csv.gz",
            mirror_is_sample=True,
        ),
        DataSpec(
            name="FOREST_COVER",
            domain="ecology",
            description="30 m cells of Roosevelt National Forest, Colorado: terrain, distances, "
            "hillshade, 4 wilderness areas and 40 soil types; 1 = Lodgepole Pine cover.",
            url="https://archive.ics.uci.edu/ml/machine-learning-databases/covtype/covtype.data.gz",
            file_name="covtype.data.gz",
            # The value scikit-learn's fetch_covtype checks this very file against.
            sha256="614360d0257557dd1792834a85a1cdebfadc3c4f30b011d56afee7ffb5b15771",
            source_rows=581_012,
            paper_rows=100_000,
            selection="sample",
            label_column=54,
            label_values=(1, 2, 3, 4, 5, 6, 7),
            positive_value=2,
            label_rule="cover type == 2 (Lodgepole Pine; the paper's code calls it Spruce/Fir, UCI's type 1)",
            feature_names=_COVTYPE_FEATURES,
            mirror_file="covtype_sample.data.gz",
            mirror_is_sample=True,
        ),
        DataSpec(
            name="SPAMBASE",
            domain="text-like",
            description="4,601 e-mails as 48 word and 6 character frequencies and 3 capital-letter "
            "run lengths; 1 = spam.",
            url="https://archive.ics.uci.edu/ml/machine-learning-databases/spambase/spambase.data",
            file_name="spambase.data",
            # sha256 of the uncompressed UCI file (shared/data/PROVENANCE.md, five copies agree).
            sha256="b1ef93de71f97714d3d7d4f58fc9f718da7bbc8ac8a150eff2778616a8097b12",
            source_rows=4_601,
            paper_rows=4_601,
            selection="sample",
            label_column=57,
            label_values=(0, 1),
            positive_value=1,
            label_rule="last column (1 = spam)",
            feature_names=_SPAMBASE_FEATURES,
            mirror_file="spambase.data.gz",
            mirror_is_sample=False,
        ),
    )
}


def known_names() -> tuple[str, ...]:
    """The registry's data set names: HIGGS, FOREST_COVER, SPAMBASE."""
    return tuple(REGISTRY)


def get_spec(name: str) -> DataSpec:
    """The registry entry called ``name`` (any case); a DataError lists the known names otherwise."""
    spec = REGISTRY.get(name.upper()) if isinstance(name, str) else None
    if spec is None:
        raise DataError(
            f"{name!r} is not a known data set; use one of {', '.join(known_names())} "
            "(any case), or nslib.data.from_csv(path, label=...) for your own CSV."
        )
    return spec


@dataclass(frozen=True)
class Provenance:
    """Where a data set's rows came from, precisely enough to get them again.

    ``sha256`` is that of the file read (mirror file, cached download, CSV), or,
    for streamed HIGGS rows, of the decompressed text of the rows read.
    ``is_sample`` says the file is a sample of the official data set (the
    mirror's HIGGS and Covertype files), not the official file itself.
    ``bytes_fetched`` and ``source_bytes`` are set when rows were streamed from
    a URL (now, or when the cache was made): bytes received against file size.
    """

    sha256: str
    rows_used: int
    is_sample: bool
    from_mirror: bool
    source: str = ""
    from_cache: bool = False
    rows_available: int | None = None  # None: reading stopped before the end of a file of unknown length
    rows_requested: int | None = None
    selection: str = ""
    seed: int | None = None
    label_rule: str = ""
    label_mapping: dict[str, int] | None = None
    bytes_fetched: int | None = None
    source_bytes: int | None = None
    note: str = ""

    @property
    def origin(self) -> str:
        """How the bytes were obtained: "mirror", "cache", "download" or "file"."""
        if self.from_mirror:
            return "mirror"
        if self.from_cache:
            return "cache"
        return "download" if self.bytes_fetched is not None else "file"

    def as_dict(self) -> dict:
        """Every field and the origin, for a table or a JSON record."""
        return {**asdict(self), "origin": self.origin}


@dataclass(frozen=True, eq=False)
class Dataset:
    """A binary classification data set: ``X`` float32 (rows, features), ``y`` int64 0/1."""

    name: str
    X: np.ndarray
    y: np.ndarray
    feature_names: Sequence[str]
    provenance: Provenance
    domain: str = "user data"
    description: str = ""

    @property
    def n_rows(self) -> int:
        """Number of rows (examples)."""
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        """Number of features (columns of ``X``)."""
        return int(self.X.shape[1])

    def describe(self) -> str:
        """One line: name, domain, size, class balance and where the rows came from."""
        share = float(self.y.mean()) if self.n_rows else 0.0
        return (
            f"{self.name} ({self.domain}): {self.n_rows:,} rows x {self.n_features} features, "
            f"{share:.1%} positive; {self.provenance.origin} {self.provenance.source}"
        )

    def to_frame(self) -> pd.DataFrame:
        """The features as a DataFrame with the feature names as columns."""
        return pd.DataFrame(self.X, columns=list(self.feature_names))


# --------------------------------------------------------------------------- loading


def load(name: str, *, rows: int | None = None, seed: int = 42) -> Dataset:
    """Load one of the paper's data sets by name (any case).

    ``rows=None`` means the paper's row count: HIGGS its first 100,000 rows,
    FOREST_COVER a random 100,000 (``numpy.random.default_rng(seed)``, without
    replacement, kept in file order), SPAMBASE all 4,601. A source with fewer
    rows than asked for gives a ``RowShortfallWarning`` and all its rows.
    """
    spec = get_spec(name)
    wanted = _check_rows(rows, spec)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DataError(f"{spec.name}: seed={seed!r} must be a non-negative integer, e.g. seed=42.")
    mirror = mirror_dir()
    if mirror is not None:
        raw = _read_mirror(spec, mirror, wanted)
    elif spec.selection == "first":
        raw = _read_prefix(spec, wanted)
    else:
        raw = _read_download(spec)
    return _finish(spec, raw, wanted, int(seed))


def load_selection(
    names: Sequence[str],
    *,
    rows: int | None = None,
    seed: int = 42,
    user_csv: str | os.PathLike | None = None,
    user_label: str | int | None = None,
) -> dict[str, Dataset]:
    """Load a notebook's ``DATASETS`` (and its ``USER_CSV``/``USER_LABEL``), keyed by name.

    ``names`` is a list of registry names; a user CSV is added whole under its
    file name (``from_csv``), with ``user_label`` its label column.
    """
    chosen = check_selection(names, user_csv, user_label)
    selection = {name: load(name, rows=rows, seed=seed) for name in chosen}
    if user_csv is not None:
        dataset = from_csv(user_csv, label=user_label)
        if dataset.name.upper() in REGISTRY:
            raise DataError(
                f"USER_CSV={str(user_csv)!r} is named like the registry's {dataset.name.upper()}; "
                "rename the file so that results cannot be confused with the paper's data."
            )
        selection[dataset.name] = dataset
    return selection


def check_selection(
    names: Sequence[str], user_csv: str | os.PathLike | None = None, user_label: str | int | None = None
) -> list[str]:
    """Validate the ``DATASETS``/``USER_CSV``/``USER_LABEL`` parameters; return the registry names."""
    if isinstance(names, str) or not isinstance(names, (list, tuple)):
        raise DataError(
            f"DATASETS={names!r} must be a list of names, e.g. ['HIGGS', 'SPAMBASE'] "
            f"(known: {', '.join(known_names())}); with papermill use -y 'DATASETS: [HIGGS]'."
        )
    chosen = [get_spec(name).name for name in names]
    repeated = sorted({name for name in chosen if chosen.count(name) > 1})
    if repeated:
        raise DataError(f"DATASETS lists {', '.join(repeated)} more than once; name each data set once.")
    if (user_csv is None) != (user_label is None):
        raise DataError(
            f"USER_CSV={user_csv!r} and USER_LABEL={user_label!r}: give both (the CSV file and its "
            "label column's name or index) or neither."
        )
    if user_csv is not None and not Path(user_csv).is_file():
        raise DataError(
            f"USER_CSV={str(user_csv)!r} is not a file; give its path (relative to notebooks/ when "
            "papermill runs with --cwd notebooks) or set USER_CSV = None."
        )
    if not chosen and user_csv is None:
        raise DataError("nothing to load: DATASETS is empty and USER_CSV is None; name at least one data set.")
    return chosen


def _check_rows(rows: int | None, spec: DataSpec) -> int:
    if rows is None:
        return spec.paper_rows
    if isinstance(rows, bool) or not isinstance(rows, (int, np.integer)) or rows <= 0:
        raise DataError(
            f"{spec.name}: rows={rows!r} must be a positive integer, or None for the paper's "
            f"{spec.paper_rows:,} rows."
        )
    return int(rows)


@dataclass
class _Raw:
    """Rows as read from one source, before selection and labelling."""

    table: np.ndarray  # float32, the file's columns
    reached_end: bool  # False: reading stopped once enough rows were in
    source: str
    sha256: str
    official: bool  # the official file (or a copy of it), whose row count the registry knows
    is_sample: bool = False  # a mirror file holding only a sample of the official rows
    from_mirror: bool = False
    from_cache: bool = False
    bytes_fetched: int | None = None
    source_bytes: int | None = None
    notes: list[str] = field(default_factory=list)


def _finish(spec: DataSpec, raw: _Raw, wanted: int, seed: int) -> Dataset:
    """Select the rows, apply the label rule and record the provenance."""
    found = len(raw.table)
    available = found if raw.reached_end else (spec.source_rows if raw.official else None)
    if found == 0:
        raise DataError(f"{spec.name}: {raw.source} holds no data rows; it is empty or not {spec.file_name}.")
    notes = list(raw.notes)
    if raw.reached_end and found < wanted:
        message = (
            f"{spec.name}: {wanted:,} rows were asked for but {raw.source} holds only {found:,}; "
            f"going on with {found:,} rows (recorded in the provenance)."
        )
        warnings.warn(message, RowShortfallWarning, stacklevel=3)
        notes.append(f"Asked for {wanted:,} rows; the source holds {found:,}.")
    used = min(wanted, found)
    if spec.selection == "first":
        table, selection = raw.table[:used], f"first {used:,} rows"
    elif used == found:
        table, selection = raw.table, f"all {found:,} rows"
    else:
        # Sorted, so the sample keeps the file's row order (the paper's sample was unseeded).
        picked = np.sort(np.random.default_rng(seed).choice(found, size=used, replace=False))
        table = raw.table[picked]
        selection = f"random {used:,} of {found:,} rows (numpy default_rng({seed}), without replacement)"
    labels = table[:, spec.label_column]
    unexpected = np.setdiff1d(np.unique(labels), spec.label_values)
    if unexpected.size:
        raise DataError(
            f"{spec.name}: the label column of {raw.source} holds {unexpected[:5].tolist()}, "
            f"but {spec.file_name}'s labels are {list(spec.label_values)}; the file is not "
            f"{spec.file_name} (check {spec.url_variable()} or the mirror file)."
        )
    provenance = Provenance(
        sha256=raw.sha256,
        rows_used=used,
        is_sample=raw.is_sample,
        from_mirror=raw.from_mirror,
        source=raw.source,
        from_cache=raw.from_cache,
        rows_available=available,
        rows_requested=wanted,
        selection=selection,
        seed=seed if spec.selection == "sample" else None,
        label_rule=spec.label_rule,
        bytes_fetched=raw.bytes_fetched,
        source_bytes=raw.source_bytes,
        note=" ".join(notes),
    )
    return Dataset(
        name=spec.name,
        X=np.ascontiguousarray(np.delete(table, spec.label_column, axis=1)),
        y=(labels == spec.positive_value).astype(np.int64),
        feature_names=spec.feature_names,
        provenance=provenance,
        domain=spec.domain,
        description=spec.description,
    )


# --------------------------------------------------------------------------- sources


def _read_mirror(spec: DataSpec, folder: Path, wanted: int) -> _Raw:
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
    actual = _sha256_of_file(path)
    if actual != expected:
        raise DataError(
            f"{spec.name}: {path} has sha256 {actual}, but SHA256SUMS says {expected}; the file is "
            "damaged or was replaced: restore it from its source, or unset NSLIB_DATA_MIRROR to download."
        )
    official = path.name == spec.file_name
    # Only an official HIGGS file is large enough to be worth stopping early in.
    stop = wanted if official and spec.selection == "first" else None
    fix = f"Replace {path} with a good copy, or unset NSLIB_DATA_MIRROR to download."
    table, reached_end = _parse_stream(_file_chunks(path, spec.name, fix), spec, str(path), fix, stop)
    if official:
        notes = []
    elif spec.mirror_is_sample:
        notes = [f"Offline mirror file {path.name}: a sample of the rows of {spec.file_name}."]
    else:
        notes = [f"Offline mirror file {path.name}: the exact {spec.file_name}, gzip-compressed."]
    is_sample = not official and spec.mirror_is_sample
    return _Raw(table, reached_end, str(path), actual, official, is_sample, from_mirror=True, notes=notes)


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


def _read_download(spec: DataSpec) -> _Raw:
    """Read a whole official file from the cache, downloading it first if needed."""
    path = data_home() / spec.file_name
    expected = _expected_sha256(spec)
    url = _url(spec)
    fetched = None
    if path.is_file():
        actual = _sha256_of_file(path)
        if expected is not None and actual != expected:
            path.unlink()
            raise DataError(
                f"{spec.name}: the cached {path} had sha256 {actual}, not the expected {expected}; "
                "it was removed: load again to download it afresh."
            )
    else:
        actual, fetched = _download(spec, url, path, expected)
    fix = f"Delete {path} and load again to download it afresh."
    table, reached_end = _parse_stream(_file_chunks(path, spec.name, fix), spec, str(path), fix, None)
    return _Raw(
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
    fix = _network_fix(spec)
    with _open_url(spec, url) as response, _atomic_write(path) as out:
        chunks = _ResponseChunks(response, spec.name, url, fix)
        with tqdm(total=chunks.declared, unit="B", unit_scale=True, desc=f"download {spec.name}") as bar:
            for chunk in chunks:
                out.write(chunk)
                digest.update(chunk)
                bar.update(len(chunk))
        actual = digest.hexdigest()
        if expected is not None and actual != expected:
            raise DataError(
                f"{spec.name}: {url} sent a file with sha256 {actual}, not the expected {expected}; "
                f"nothing was cached. Check that the URL serves the official {spec.file_name}; if the "
                f"source changed the file on purpose, set {spec.sha256_variable()} to the new value."
            )
    return actual, chunks.bytes_read


def _read_prefix(spec: DataSpec, wanted: int) -> _Raw:
    """The first ``wanted`` rows: from the cache, or streamed from the URL and then cached."""
    url = _url(spec)
    path = data_home() / f"{spec.name}_first_{wanted}.csv.gz"
    record_path = path.with_suffix("").with_suffix(".json")
    if path.is_file():
        record = _read_record(record_path, path, spec)
        if record.get("url") == url:
            return _read_cached_prefix(spec, path, record, wanted)
    return _stream_prefix(spec, url, path, record_path, wanted)


_RECORD_KEYS = {"url", "rows", "complete", "bytes_fetched", "source_bytes", "sha256"}


def _read_record(record_path: Path, path: Path, spec: DataSpec) -> dict:
    """The JSON record written beside a cached HIGGS prefix: its URL, rows, bytes and sha256."""
    try:
        record = json.loads(record_path.read_text())
    except (OSError, ValueError):
        record = None
    if not (isinstance(record, dict) and _RECORD_KEYS <= set(record)):
        raise DataError(
            f"{spec.name}: the cached {path} has no readable record {record_path}; delete {path} "
            "and load again to stream the rows afresh."
        )
    return record


def _read_cached_prefix(spec: DataSpec, path: Path, record: dict, wanted: int) -> _Raw:
    digest = hashlib.sha256()
    fix = f"Delete {path} and load again to stream the rows afresh."
    table, _ = _parse_stream(_file_chunks(path, spec.name, fix), spec, str(path), fix, wanted, digest.update)
    if digest.hexdigest() != record.get("sha256"):
        raise DataError(f"{spec.name}: {path} does not hold the rows its record describes. {fix}")
    return _Raw(
        table,
        record["complete"],
        record["url"],
        digest.hexdigest(),
        official=record["url"] == spec.url,
        from_cache=True,
        bytes_fetched=record["bytes_fetched"],
        source_bytes=record["source_bytes"],
        notes=[f"Read from the cache {path}, made by streaming {record['url']}.", _fetch_note(record)],
    )


def _stream_prefix(spec: DataSpec, url: str, path: Path, record_path: Path, wanted: int) -> _Raw:
    """Stream the remote gzip, keep its first ``wanted`` rows and cache exactly those rows' text."""
    digest = hashlib.sha256()
    fix = _network_fix(spec)
    with _open_url(spec, url) as response, _atomic_write(path) as out:
        chunks = _ResponseChunks(response, spec.name, url, fix)
        # mtime=0 and no file name: the same rows always give the same cache bytes.
        with gzip.GzipFile(filename="", fileobj=out, mode="wb", mtime=0) as packed:

            def keep(text: bytes) -> None:
                packed.write(text)
                digest.update(text)

            stream = _gunzip(chunks, spec.name, url, fix)
            table, complete = _parse_stream(stream, spec, url, fix, wanted, keep)
        record = {
            "url": url,
            "rows": len(table),
            "complete": complete,
            "bytes_fetched": chunks.bytes_read,
            "source_bytes": chunks.declared,
            "sha256": digest.hexdigest(),
        }
        with _atomic_write(record_path) as handle:
            handle.write(json.dumps(record, indent=2).encode())
    return _Raw(
        table,
        complete,
        url,
        record["sha256"],
        official=url == spec.url,
        bytes_fetched=record["bytes_fetched"],
        source_bytes=record["source_bytes"],
        notes=[_fetch_note(record), f"Cached as {path}."],
    )


def _fetch_note(record: dict) -> str:
    size = record["source_bytes"]
    of = f"of a {size:,}-byte file ({record['bytes_fetched'] / size:.2%})" if size else "of a file of unknown size"
    return f"Streaming the first {record['rows']:,} rows fetched {record['bytes_fetched']:,} bytes {of}."


def _url(spec: DataSpec) -> str:
    return os.environ.get(spec.url_variable()) or spec.url


def _expected_sha256(spec: DataSpec) -> str | None:
    value = os.environ.get(spec.sha256_variable())
    if not value:
        return spec.sha256
    if re.fullmatch(r"[0-9a-fA-F]{64}", value) is None:
        raise DataError(f"{spec.sha256_variable()}={value!r} is not a sha256 (64 hex digits); fix or unset it.")
    return value.lower()


def _network_fix(spec: DataSpec) -> str:
    return (
        f"Offline? set NSLIB_DATA_MIRROR=/path/to/mirror (a folder with the files and SHA256SUMS), "
        f"or {spec.url_variable()} to a reachable copy of {spec.file_name}."
    )


def _open_url(spec: DataSpec, url: str) -> http.client.HTTPResponse:
    try:
        return urllib.request.urlopen(url, timeout=60)
    except urllib.error.URLError as error:
        reason = getattr(error, "reason", error)
        raise DataError(
            f"{spec.name}: cannot download {url} ({reason}) and no mirror is set. {_network_fix(spec)}"
        ) from error
    except (OSError, ValueError) as error:  # timeouts, refused connections, malformed URLs
        raise DataError(f"{spec.name}: cannot download {url} ({error}). {_network_fix(spec)}") from error


class _ResponseChunks:
    """A URL's response as chunks of bytes, counting them, and failing loudly when cut short."""

    def __init__(self, response: http.client.HTTPResponse, name: str, url: str, fix: str, size: int = 1 << 16):
        self.response, self.name, self.url, self.fix, self.size = response, name, url, fix, size
        self.bytes_read = 0
        length = response.headers.get("Content-Length")
        self.declared = int(length) if length and length.isdigit() else None  # the file's size, if announced

    def __iter__(self) -> Iterator[bytes]:
        while True:
            try:
                chunk = self.response.read(self.size)
            except (http.client.HTTPException, OSError) as error:
                raise DataError(f"{self.name}: the download of {self.url} failed ({error}). {self.fix}") from error
            if not chunk:
                break
            self.bytes_read += len(chunk)
            yield chunk
        # http.client returns b"" rather than raising when a connection closes early.
        if self.declared is not None and self.bytes_read < self.declared:
            raise DataError(
                f"{self.name}: the download of {self.url} stopped after {self.bytes_read:,} of the "
                f"{self.declared:,} bytes announced. {self.fix}"
            )


@contextmanager
def _atomic_write(path: Path) -> Iterator[BinaryIO]:
    """Write ``path`` through a temporary file in its folder: readers never see half a file."""
    handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".part", delete=False)
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def _sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------- parsing

# Text is parsed in blocks of about this size, so memory holds the float32 rows, not the text.
_PARSE_BYTES = 4 << 20
_LONGEST_LINE = 1 << 20


def _file_chunks(path: Path, name: str, fix: str, size: int = 1 << 20) -> Iterator[bytes]:
    """A file's text in chunks, decompressed on the fly when its name ends in .gz."""

    def raw() -> Iterator[bytes]:
        with open(path, "rb") as file:
            yield from iter(lambda: file.read(size), b"")

    return _gunzip(raw(), name, str(path), fix) if path.suffix == ".gz" else raw()


def _gunzip(chunks: Iterable[bytes], name: str, where: str, fix: str) -> Iterator[bytes]:
    """Decompress a gzip stream chunk by chunk (several members allowed); reject a truncated one."""
    inflater = None
    for chunk in chunks:
        while chunk:
            inflater = inflater or zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            try:
                text = inflater.decompress(chunk)
            except zlib.error as error:
                raise DataError(f"{name}: {where} is not a valid gzip stream ({error}). {fix}") from error
            if text:
                yield text
            chunk, inflater = (inflater.unused_data, None) if inflater.eof else (b"", inflater)
    if inflater is not None:
        raise DataError(f"{name}: {where} is a truncated gzip stream (it ends mid-stream). {fix}")


class _Rows:
    """A float32 table that grows by doubling, filled block by block."""

    def __init__(self, n_columns: int, limit: int | None):
        self.data = np.empty((min(limit or 1 << 16, 1 << 16), n_columns), dtype=np.float32)
        self.count = 0

    def append(self, block: np.ndarray) -> None:
        end = self.count + len(block)
        if end > len(self.data):
            grown = np.empty((max(end, 2 * len(self.data)), self.data.shape[1]), dtype=np.float32)
            grown[: self.count] = self.data[: self.count]
            self.data = grown
        self.data[self.count : end] = block
        self.count = end

    def result(self) -> np.ndarray:
        # Shrinking in place frees the spare capacity without a second copy of the table.
        self.data.resize((self.count, self.data.shape[1]), refcheck=False)
        return self.data


def _parse_stream(
    chunks: Iterable[bytes],
    spec: DataSpec,
    where: str,
    fix: str,
    max_rows: int | None,
    sink: Callable[[bytes], None] | None = None,
) -> tuple[np.ndarray, bool]:
    """Parse comma-separated text arriving in chunks into float32 rows.

    Stops once ``max_rows`` rows are in (None: read to the end). ``sink``
    receives the exact text of the lines used. Returns the rows and whether
    the stream was read to its end.
    """
    rows = _Rows(spec.n_columns, max_rows)
    pending = bytearray()
    newlines = lines_done = 0
    with tqdm(total=max_rows, unit=" rows", desc=f"read {spec.name}", leave=False) as bar:
        for chunk in chunks:
            pending += chunk
            newlines += chunk.count(b"\n")
            if newlines == 0:
                if len(pending) > _LONGEST_LINE:
                    raise DataError(f"{spec.name}: {where} has a line over {_LONGEST_LINE:,} bytes: not CSV. {fix}")
                continue
            need = None if max_rows is None else max_rows - rows.count
            if len(pending) < _PARSE_BYTES and (need is None or newlines < need):
                continue
            cut = pending.rfind(b"\n") + 1
            lines = bytes(pending[:cut]).split(b"\n")[:-1]
            del pending[:cut]
            newlines = 0
            if need is not None and len(lines) > need:
                lines = lines[:need]
            block = _parse_lines(lines, spec, where, fix, lines_done + 1)
            rows.append(block)
            lines_done += len(lines)
            bar.update(len(block))
            if sink is not None:
                sink(b"\n".join(lines) + b"\n")
            if max_rows is not None and rows.count >= max_rows:
                return rows.result(), False
        # The rest: under a block's size and fewer lines than still needed, else parsed above.
        if pending.strip():
            rows.append(_parse_lines(bytes(pending).split(b"\n"), spec, where, fix, lines_done + 1))
            if sink is not None:
                sink(bytes(pending))
    return rows.result(), True


def _parse_lines(lines: list[bytes], spec: DataSpec, where: str, fix: str, first_line: int) -> np.ndarray:
    """Parse CSV lines with pandas' C parser; on any problem, find and name the bad line."""
    text = b"\n".join(lines)
    if not text.strip():
        return np.empty((0, spec.n_columns), dtype=np.float32)
    try:
        values = pd.read_csv(io.BytesIO(text), header=None, dtype=np.float32, engine="c").to_numpy()
    except ValueError:  # pandas' ParserError included
        values = None
    if values is None or values.shape[1] != spec.n_columns or not np.isfinite(values).all():
        raise _find_bad_line(lines, spec, where, fix, first_line)
    return values


def _find_bad_line(lines: list[bytes], spec: DataSpec, where: str, fix: str, first_line: int) -> DataError:
    """The error for the first line that is not ``n_columns`` finite numbers."""
    for number, line in enumerate(lines, start=first_line):
        fields = line.strip().split(b",")
        if fields == [b""]:
            continue
        if len(fields) != spec.n_columns:
            return DataError(
                f"{spec.name}: line {number} of {where} has {len(fields)} columns, but {spec.file_name} "
                f"has {spec.n_columns} ({len(spec.feature_names)} features and the label). {fix}"
            )
        for column, value in enumerate(fields, start=1):
            try:
                number_value = float(value)
            except ValueError:
                number_value = math.nan
            if not math.isfinite(number_value):
                return DataError(
                    f"{spec.name}: line {number}, column {column} of {where} is "
                    f"{value.decode(errors='replace')!r}, not a finite number. {fix}"
                )
    return DataError(f"{spec.name}: {where} could not be parsed as {spec.file_name}. {fix}")


# --------------------------------------------------------------------------- your own CSV


def from_csv(
    path: str | os.PathLike,
    *,
    label: str | int,
    name: str | None = None,
    header: int | None | str = "infer",
    positive: object = None,
    sep: str = ",",
) -> Dataset:
    """Any CSV with a binary label as a ``Dataset``; every other column must be numeric.

    ``label`` is the label column's name, or its integer position (negative
    counts from the end). Its two values map to 0 and 1 in sorted order, or
    ``positive`` names the value that becomes 1; the mapping is recorded in the
    provenance. ``header`` and ``sep`` are passed to ``pandas.read_csv``.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"from_csv: {path} is not a file; give the path of a CSV file with a binary label.")
    name = name or path.stem
    try:
        frame = pd.read_csv(path, header=header, sep=sep)
    except (ValueError, UnicodeDecodeError) as error:  # pandas' parser errors are ValueErrors
        raise DataError(f"{name}: {path} cannot be read as CSV ({error}); check sep= and header=.") from error
    column = _label_column(frame, label, name, path)
    features = frame.drop(columns=[column])
    text_columns = [str(c) for c in features.columns if not is_numeric_dtype(features[c])]
    if text_columns:
        raise DataError(
            f"{name}: columns {text_columns[:5]} of {path} are not numeric; features must be numbers: "
            "drop or encode those columns first."
        )
    X = features.to_numpy(dtype=np.float32)
    bad = np.argwhere(~np.isfinite(X))
    if bad.size:
        row, col = bad[0]
        raise DataError(
            f"{name}: row {row + 1}, column {features.columns[col]!r} of {path} is missing or not finite; "
            "fill or drop such rows first."
        )
    y, mapping, rule = _binary_labels(frame[column], positive, name, path)
    provenance = Provenance(
        sha256=_sha256_of_file(path),
        rows_used=len(y),
        is_sample=False,
        from_mirror=False,
        source=str(path.resolve()),
        rows_available=len(y),
        rows_requested=len(y),
        selection=f"all {len(y):,} rows",
        label_rule=rule,
        label_mapping=mapping,
    )
    feature_names = [f"column_{c}" if isinstance(c, (int, np.integer)) else str(c) for c in features.columns]
    return Dataset(name=name, X=X, y=y, feature_names=feature_names, provenance=provenance)


def _label_column(frame: pd.DataFrame, label: str | int, name: str, path: Path) -> object:
    if isinstance(label, int) and not isinstance(label, bool):
        if not -frame.shape[1] <= label < frame.shape[1]:
            raise DataError(
                f"{name}: label={label} is out of range for the {frame.shape[1]} columns of {path}; "
                f"give an index from {-frame.shape[1]} to {frame.shape[1] - 1} or a column name."
            )
        return frame.columns[label]
    if isinstance(label, str) and label in frame.columns:
        return label
    raise DataError(
        f"{name}: label={label!r} is not a column of {path} (columns: {[str(c) for c in frame.columns[:8]]}"
        f"{' ...' if frame.shape[1] > 8 else ''}); give a column name or an integer index "
        "(with header=None the columns have no names)."
    )


def _binary_labels(labels: pd.Series, positive: object, name: str, path: Path) -> tuple[np.ndarray, dict, str]:
    """Map a two-valued label column to 0/1; return the labels, the mapping and the rule."""
    if labels.isna().any():
        raise DataError(f"{name}: the label column {labels.name!r} of {path} has missing values; fill or drop them.")
    classes = sorted(labels.unique().tolist())
    if len(classes) != 2:
        raise DataError(
            f"{name}: the label column {labels.name!r} of {path} has {len(classes)} distinct values "
            f"({classes[:5]}{' ...' if len(classes) > 5 else ''}); a binary label needs exactly two."
        )
    if positive is None:
        positive = classes[1]
    elif positive not in classes:
        raise DataError(f"{name}: positive={positive!r} is not a label value of {path}; its values are {classes}.")
    negative = classes[0] if positive == classes[1] else classes[1]
    mapping = {str(negative): 0, str(positive): 1}
    y = (labels == positive).to_numpy(dtype=np.int64)
    return y, mapping, f"column {labels.name!r}: {positive!r} = 1, {negative!r} = 0"


# --------------------------------------------------------------------------- for the notebooks and training


def split_and_scale(
    dataset: Dataset, seed: int, test_size: float = 0.2
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The paper's split and standardisation: ``X_train, X_test, y_train, y_test``.

    ``train_test_split(test_size, random_state=seed)``, then a ``StandardScaler``
    fit on the training part only (the test part stays unseen, as new data
    would be) and applied to both. Scaling runs in float64, as on the paper's
    pandas arrays; the features come back float32. Defined for notebook 01.
    """
    if not 0 < test_size < 1:
        raise DataError(f"{dataset.name}: test_size={test_size!r} must be strictly between 0 and 1, e.g. 0.2.")
    X_train, X_test, y_train, y_test = train_test_split(
        dataset.X.astype(np.float64), dataset.y, test_size=test_size, random_state=seed
    )
    scaler = StandardScaler().fit(X_train)
    return (
        scaler.transform(X_train).astype(np.float32),
        scaler.transform(X_test).astype(np.float32),
        y_train,
        y_test,
    )


def informative_features(dataset: Dataset, k: int = 4) -> list[str]:
    """The ``k`` features most correlated with the label (absolute value), indicators left out.

    Picks the distributions worth drawing (notebook 01): a feature with two
    values or fewer (a wilderness-area or soil-type flag) makes an empty histogram.
    """
    frame = dataset.to_frame()
    varied = frame.loc[:, frame.nunique() > 2]
    correlation = varied.corrwith(pd.Series(dataset.y, index=frame.index, dtype=float)).abs()
    return correlation.sort_values(ascending=False, kind="stable").index[:k].tolist()


def provenance_table(datasets: Mapping[str, Dataset]) -> pd.DataFrame:
    """One row per data set: source, short sha256, rows available/used, sample, origin."""
    rows = []
    for name, dataset in datasets.items():
        record = dataset.provenance
        rows.append(
            {
                "dataset": name,
                "source": Path(record.source).name if record.from_mirror else record.source,
                "sha256": record.sha256[:12],
                "rows available": record.rows_available,
                "rows used": record.rows_used,
                "selection": record.selection,
                "sample file": record.is_sample,
                "origin": record.origin,
            }
        )
    return pd.DataFrame(rows).set_index("dataset")
