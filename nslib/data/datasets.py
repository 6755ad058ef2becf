"""The paper's three data sets, and any CSV with a binary label.

``load("HIGGS")`` returns a ``Dataset``: float32 features, 0/1 labels and a
``Provenance`` record saying where every row came from. The catalog
(``nslib.data.catalog``) holds each data set's official source, rules and checksum.

Where the bytes come from, in order (``nslib.data.fetch``):

1. ``NSLIB_DATA_MIRROR``: a local folder with the files and a ``SHA256SUMS``;
2. the cache ``data_home()`` (``data/raw/``), filled by an earlier download;
3. the official URL (or ``NSLIB_<NAME>_URL``), downloaded atomically and checked
   (against the catalog's sha256 or ``NSLIB_<NAME>_SHA256``).

Of HIGGS (a 2.6 GB gzip) only the rows used are downloaded. Your own CSV goes
through ``from_csv`` (``nslib.data.user_csv``). Bad input raises ``DataError``, which
names the data set, the file and the fix.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from nslib.core.checks import check_int
from nslib.core.paths import mirror_dir, shown
from nslib.data.catalog import (
    CATALOG,
    DataError,
    Dataset,
    DataSpec,
    Provenance,
    RowShortfallWarning,
    get_spec,
    known_names,
)
from nslib.data.fetch import RawTable, read_download, read_mirror, read_prefix
from nslib.data.user_csv import from_csv

# from_csv's keywords for reading a file, which USER_CSV_OPTIONS may hold (make study's HEADER=, SEP=, ...).
READING_OPTIONS = ("header", "sep", "decimal", "na", "one_hot", "encoding")
# The fields of a RawTable that the Provenance records as they are.
_AS_READ = ("sha256", "source", "is_sample", "from_mirror", "from_cache", "bytes_fetched", "source_bytes")


def load(name: str, *, rows: int | None = None, seed: int = 42) -> Dataset:
    """Load one of the paper's data sets by name (any case).

    ``rows=None`` means the paper's row count: HIGGS its first 100,000 rows,
    FOREST_COVER a random 100,000 (``numpy.random.default_rng(seed)``, without
    replacement, kept in file order), SPAMBASE all 4,601. A source with fewer
    rows than asked for gives a ``RowShortfallWarning`` and all its rows.
    """
    spec = get_spec(name)
    example = f"rows=1000, or rows=None for the paper's {spec.paper_rows:,}"
    wanted = spec.paper_rows if rows is None else check_int("rows", rows, example=example)
    seed = check_int("seed", seed, low=0, example="seed=42")
    mirror = mirror_dir()
    if mirror is not None:
        raw = read_mirror(spec, mirror, wanted)
    elif spec.selection == "first":
        raw = read_prefix(spec, wanted)
    else:
        raw = read_download(spec)
    return _finish(spec, raw, wanted, seed)


def load_selection(
    names: Sequence[str],
    *,
    rows: int | None = None,
    seed: int = 42,
    user_csv: str | os.PathLike | None = None,
    user_label: str | int | None = None,
    user_positive: object = None,
    user_options: Mapping[str, object] | None = None,
) -> dict[str, Dataset]:
    """Load a notebook's ``DATASETS`` (and its ``USER_CSV``/``USER_LABEL``/``USER_POSITIVE``/``USER_CSV_OPTIONS``).

    ``names`` is a list of catalog names; a user CSV is added whole under its
    file name (``from_csv``), with ``user_label`` its label column,
    ``user_positive`` the label value that becomes 1 (None: the larger of two)
    and ``user_options`` how to read it (``READING_OPTIONS``, e.g.
    ``{"sep": ";", "decimal": ","}``). The result is keyed by name.
    """
    chosen = check_selection(names, user_csv, user_label, user_positive, user_options)
    selection = {name: load(name, rows=rows, seed=seed) for name in chosen}
    if user_csv is not None:
        dataset = from_csv(user_csv, label=user_label, positive=user_positive, **(user_options or {}))
        if dataset.name.upper() in CATALOG:
            raise DataError(
                f"USER_CSV={str(user_csv)!r} is named like the catalog's {dataset.name.upper()}; "
                "rename the file so that results cannot be confused with the paper's data."
            )
        selection[dataset.name] = dataset
    return selection


def check_selection(
    names: Sequence[str],
    user_csv: str | os.PathLike | None = None,
    user_label: str | int | None = None,
    user_positive: object = None,
    user_options: Mapping[str, object] | None = None,
) -> list[str]:
    """Validate the ``DATASETS``/``USER_CSV``/``USER_LABEL``/``USER_POSITIVE``/``USER_CSV_OPTIONS`` parameters;
    return the catalog names."""
    if not isinstance(names, (list, tuple)):
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
    if user_csv is None and user_positive is not None:
        raise DataError(
            f"USER_POSITIVE={user_positive!r} is set but USER_CSV is None; it chooses the positive class "
            "of your own CSV: set USER_CSV and USER_LABEL too, or USER_POSITIVE = None."
        )
    if user_options and user_csv is None:
        raise DataError(
            f"USER_CSV_OPTIONS={user_options!r} is set but USER_CSV is None; it says how to read your own CSV: "
            "set USER_CSV and USER_LABEL too, or USER_CSV_OPTIONS = {}."
        )
    options = {} if user_options is None else user_options
    if not isinstance(options, Mapping) or set(options) - set(READING_OPTIONS):
        raise DataError(
            f"USER_CSV_OPTIONS={user_options!r} must be a dict whose keys are among {list(READING_OPTIONS)} "
            "(from_csv's reading options), e.g. {'sep': ';', 'decimal': ','}."
        )
    if user_csv is not None and not Path(user_csv).is_file():
        raise DataError(
            f"USER_CSV={str(user_csv)!r} is not a file; give its path (relative to notebooks/ when "
            "papermill runs with --cwd notebooks) or set USER_CSV = None."
        )
    if not chosen and user_csv is None:
        raise DataError("nothing to load: DATASETS is empty and USER_CSV is None; name at least one data set.")
    return chosen


def _finish(spec: DataSpec, raw: RawTable, wanted: int, seed: int) -> Dataset:
    """Select the rows, apply the label rule and record the provenance."""
    found = len(raw.table)
    available = found if raw.reached_end else (spec.source_rows if raw.official else None)
    if found == 0:
        raise DataError(f"{spec.name}: {raw.source} holds no data rows; it is empty or not {spec.file_name}.")
    notes = list(raw.notes)
    if raw.reached_end and found < wanted:
        readable = raw.source if "://" in raw.source else shown(raw.source)  # no machine path in saved notebooks
        message = (
            f"{spec.name}: {wanted:,} rows were asked for but {readable} holds only {found:,}; "
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
    unexpected = np.setdiff1d(np.unique(labels), spec.label_codes)
    if unexpected.size:
        raise DataError(
            f"{spec.name}: the label column of {raw.source} holds {unexpected[:5].tolist()}, "
            f"but {spec.file_name}'s labels are {list(spec.label_values)}; the file is not "
            f"{spec.file_name} (check {spec.env_variable('URL')} or the mirror file)."
        )
    provenance = Provenance(
        **{name: getattr(raw, name) for name in _AS_READ},
        rows_used=used,
        rows_available=available,
        rows_requested=wanted,
        selection=selection,
        seed=seed if spec.selection == "sample" else None,
        label_rule=spec.label_rule,
        label_mapping={str(value): int(value == spec.positive_value) for value in spec.label_values},
        header="none (UCI file)",
        note=" ".join(notes),
    )
    return Dataset(
        name=spec.name,
        X=np.ascontiguousarray(np.delete(table, spec.label_column, axis=1)),
        y=(labels == spec.positive_code).astype(np.int64),
        feature_names=spec.feature_names,
        provenance=provenance,
        domain=spec.domain,
        description=spec.description,
    )


# --------------------------------------------------------------------------- for the notebooks and training


def split_and_scale(
    dataset: Dataset, seed: int, test_size: float = 0.2
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The paper's split and standardisation: ``X_train, X_test, y_train, y_test``.

    ``train_test_split(test_size, random_state=seed)``, then a ``StandardScaler``
    fit on the training part only and applied to both, in float64 as on the
    paper's pandas arrays; the features come back float32.
    """
    if not 0 < test_size < 1:
        raise DataError(f"{dataset.name}: test_size={test_size!r} must be strictly between 0 and 1, e.g. 0.2.")
    X_train, X_test, y_train, y_test = train_test_split(
        dataset.X.astype(np.float64), dataset.y, test_size=test_size, random_state=seed
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = (scaler.transform(part).astype(np.float32) for part in (X_train, X_test))
    return X_train, X_test, y_train, y_test


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
    """One row per data set: source, short sha256, rows, selection, sample, origin, header and label mapping."""
    records = {name: dataset.provenance for name, dataset in datasets.items()}
    rows = [
        {
            "dataset": name,
            "source": Path(record.source).name if record.from_mirror else record.source,
            "sha256": record.sha256[:12],
            "rows available": record.rows_available,
            "rows used": record.rows_used,
            "selection": record.selection,
            "sample file": record.is_sample,
            "origin": record.origin,
            "header": record.header,
            "label mapping": _mapping_text(record.label_mapping or {}),
        }
        for name, record in records.items()
    ]
    return pd.DataFrame(rows).set_index("dataset")


def _mapping_text(mapping: Mapping[str, int]) -> str:
    """A label mapping in words, e.g. "2 -> 1; 1, 3, 4, 5, 6, 7 -> 0"."""
    return "; ".join(
        f"{', '.join(value for value, label in mapping.items() if label == target)} -> {target}"
        for target in (1, 0)
        if target in mapping.values()
    )
