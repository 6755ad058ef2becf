"""The registry of the paper's three data sets, and the records every loader returns.

``REGISTRY`` holds each data set's official UCI source, the paper's parsing and
label rules, its row count, feature names and, where a trusted value exists,
the file's sha256. A loaded data set is a ``Dataset`` whose ``Provenance``
says where every row came from; bad input raises ``DataError``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


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

    def label_mapping(self) -> dict[str, int]:
        """Each raw label value (as text) and the 0/1 label it becomes."""
        return {str(value): int(value == self.positive_value) for value in self.label_values}

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
            # sha256 of the uncompressed UCI file (five public copies agree).
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
    label_mapping: dict[str, int] | None = None  # raw label value (as text) -> 0 or 1
    header: str = ""  # whether line 1 of the file names the columns, and how that was decided
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
