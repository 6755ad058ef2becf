"""The catalog of the paper's three data sets, and the records every loader returns.

``CATALOG`` holds the ``DataSpec`` records of ``catalog.toml`` (beside this
module). A loaded data set is a ``Dataset`` whose ``Provenance`` says where
every row came from; bad input raises ``DataError``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd


class DataError(ValueError):
    """A data set cannot be loaded as asked; the message names the data set, the file and the fix."""


class RowShortfallWarning(UserWarning):
    """A source holds fewer rows than were asked for; loading goes on with the rows it has."""


@dataclass(frozen=True)
class DataSpec:
    """What the catalog knows about one of the paper's data sets."""

    name: str
    domain: str
    description: str
    url: str
    file_name: str  # the official file's name, also its name in the cache and in a mirror
    source_rows: int  # rows in the official file
    paper_rows: int  # rows the paper uses
    selection: str  # "first": the first rows; "sample": a seeded sample without replacement
    label_column: int
    label_values: tuple[int, ...] | tuple[str, ...]  # raw label values the official file holds: numbers or words
    positive_value: int | str  # the raw label value that becomes 1
    label_rule: str
    feature_names: tuple[str, ...]
    mirror_file: str  # the offline mirror's stand-in for the official file
    mirror_is_sample: bool  # whether that stand-in holds only a sample of the rows
    sha256: str | None = None  # of the official file's bytes, where a trusted value exists

    @property
    def text_labels(self) -> bool:
        """Whether the labels are words (``yes``/``no``), which the loader reads as text and codes by position."""
        return isinstance(self.label_values[0], str)

    @property
    def label_codes(self) -> tuple[int, ...]:
        """The labels as the loaded table holds them: the values if numbers, else their positions in ``label_values``."""
        return tuple(range(len(self.label_values))) if self.text_labels else tuple(self.label_values)

    @property
    def positive_code(self) -> int:
        """``positive_value`` as the loaded table holds it (see ``label_codes``)."""
        return self.label_codes[self.label_values.index(self.positive_value)]

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

    def env_variable(self, setting: str) -> str:
        """The environment variable that overrides ``setting``: ``"URL"`` (``NSLIB_HIGGS_URL``) or ``"SHA256"``,
        the expected sha256 of a download."""
        return f"NSLIB_{self.name}_{setting}"


def parse_catalog(records: Mapping[str, Mapping]) -> dict[str, DataSpec]:
    """DataSpecs keyed by name from catalog records (``catalog.toml`` as ``tomllib`` reads it).

    Labels are all numbers or all words, and the positive value is one of them;
    a record that breaks this raises DataError when the catalog is read, not
    when its data set is loaded.
    """
    specs = {}
    for name, record in records.items():
        labels = tuple(record["label_values"])
        kinds = {type(value) for value in labels}
        if kinds not in ({int}, {str}) or record["positive_value"] not in labels:
            raise DataError(
                f"catalog record {name}: label_values {list(labels)} must be all whole numbers or all words, "
                f"and positive_value {record['positive_value']!r} one of them; fix catalog.toml."
            )
        specs[name] = DataSpec(
            name=name, **record | {"label_values": labels, "feature_names": tuple(record["feature_names"])}
        )
    return specs


def _read_catalog() -> dict[str, DataSpec]:
    """The records of ``catalog.toml``, beside this module, as DataSpecs keyed by name."""
    with resources.files("nslib.data").joinpath("catalog.toml").open("rb") as file:
        return parse_catalog(tomllib.load(file))


CATALOG: Mapping[str, DataSpec] = _read_catalog()


def known_names() -> tuple[str, ...]:
    """The catalog's data set names: the paper's HIGGS, FOREST_COVER and SPAMBASE, then any added."""
    return tuple(CATALOG)


def get_spec(name: str) -> DataSpec:
    """The catalog entry called ``name`` (any case); a DataError lists the known names otherwise."""
    spec = CATALOG.get(name.upper()) if isinstance(name, str) else None
    if spec is None:
        raise DataError(
            f"{name!r} is not a known data set; use one of {', '.join(known_names())} "
            "(any case), or nslib.data.user_csv.from_csv(path, label=...) for your own CSV."
        )
    return spec


@dataclass(frozen=True)
class Provenance:
    """Where a data set's rows came from, precisely enough to get them again.

    ``sha256`` is that of the file read, or, for streamed HIGGS rows, of the
    decompressed text of the rows read. ``is_sample``: the file is a sample of
    the official data set (the mirror's HIGGS and Covertype files).
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
    label_mapping: dict[str, int] | None = None  # raw label value (as text) -> 0 or 1
    header: str = ""  # whether line 1 of the file names the columns, and how that was decided
    bytes_fetched: int | None = None  # bytes received, when rows came from a URL (now, or when the cache was made)
    source_bytes: int | None = None  # the size of the file they came from
    note: str = ""

    @property
    def origin(self) -> str:
        """How the bytes were obtained: "mirror", "cache", "download" or "file"."""
        if self.from_mirror:
            return "mirror"
        if self.from_cache:
            return "cache"
        return "download" if self.bytes_fetched is not None else "file"


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

    def to_frame(self) -> pd.DataFrame:
        """The features as a DataFrame with the feature names as columns."""
        return pd.DataFrame(self.X, columns=list(self.feature_names))
