"""Your own CSV as a ``Dataset``: any table of numbers with a binary label.

``from_csv`` never loses a row silently: it refuses what it cannot use (text
features, missing values, a label that is not binary), naming the fix, and
records the header decision, the separator, the label mapping and the row
count in the provenance.
"""

from __future__ import annotations

import csv
import gzip
import itertools
import os
from pathlib import Path

import numpy as np
import pandas as pd

from nslib.data.catalog import DataError, Dataset, Provenance
from nslib.data.fetch import sha256_of_file

# Lines read ahead to detect the separator and the header.
_SNIFF_LINES = 1000


def from_csv(
    path: str | os.PathLike,
    *,
    label: str | int,
    name: str | None = None,
    header: bool | None = None,
    positive: object = None,
    sep: str | None = None,
    one_hot: bool = False,
) -> Dataset:
    """Any CSV (``.csv``, ``.data``, either gzipped) with a binary label as a ``Dataset``.

    ``label`` is the label column's name, or its position (negative counts from
    the end; the only way to name it when line 1 is data). ``header=None``
    detects whether line 1 names the columns; True or False says so. ``sep=None``
    detects ``,``, ``;`` or tab. The label's two values map to 0 and 1 in sorted
    order, or ``positive`` names the value that becomes 1 (all others become 0,
    so a label with more than two values needs it). Text feature columns are
    refused, or one-hot encoded with ``one_hot=True``. Unnamed columns are called
    ``column_<index>``; ``name`` defaults to the file name without its extensions.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"from_csv: {path} is not a file; give the path of a CSV file with a binary label.")
    name = name or Path(path.name.removesuffix(".gz")).stem
    if header is not None and not isinstance(header, bool):
        raise DataError(
            f"{name}: header={header!r} must be True (line 1 names the columns), False (line 1 is data) "
            "or None (detect)."
        )
    lines = _first_lines(path, name)
    separator = sep if sep is not None else _detect_separator(lines, name, path)
    has_header = header if header is not None else _detect_header(lines, separator, name, path)
    try:
        frame = pd.read_csv(path, sep=separator, header=0 if has_header else None)
    except (ValueError, OSError, EOFError) as error:  # pandas' parser errors are ValueErrors
        raise DataError(f"{name}: {path} cannot be read as CSV ({error}); check sep= and header=.") from error
    if not has_header:
        frame.columns = [f"column_{index}" for index in range(frame.shape[1])]
    decided = "given" if header is not None else "detected"
    header_text = f"line 1 ({decided})" if has_header else f"none ({decided})"
    if len(frame) < 2:
        raise DataError(
            f"{name}: {path} holds {len(frame)} data row(s) (header: {header_text}); a classifier needs "
            "rows of both classes. Add rows, or pass header=False if line 1 is data."
        )
    column = _label_column(frame, label, has_header, name, path)
    missing = frame.isna()
    if missing.to_numpy().any():  # refused, never dropped
        columns = [str(c) for c in frame.columns[missing.any()]]
        raise DataError(
            f"{name}: {int(missing.any(axis=1).sum()):,} of the {len(frame):,} data rows of {path} have missing "
            f"values (columns {columns}); fill them (e.g. with the column's median) or drop those rows first."
        )
    features = frame.drop(columns=[column])
    text_columns = [str(c) for c in features.columns if features[c].dtype.kind not in "biuf"]
    notes = [f"Separator {separator!r} ({'given' if sep is not None else 'detected'})."]
    if text_columns and not one_hot:
        examples = ", ".join(f"{c}={_first_text(features[c])!r}" for c in text_columns[:5])
        raise DataError(
            f"{name}: feature columns {text_columns} of {path} hold text ({examples}); features must be "
            "numbers: encode or drop those columns first, or pass one_hot=True to one-hot encode them."
        )
    if text_columns:
        features = pd.get_dummies(features, columns=text_columns, dtype=np.float32)
        notes.append(f"One-hot encoded: {', '.join(text_columns)}.")
    X = features.to_numpy(dtype=np.float32)
    finite = np.isfinite(X).all(axis=0)
    if not finite.all():
        infinite = [str(c) for c in features.columns[~finite]]
        raise DataError(f"{name}: columns {infinite} of {path} hold infinite values; replace them first.")
    y, mapping, rule = _binary_labels(frame[column], positive, name, path)
    provenance = Provenance(
        sha256=sha256_of_file(path),
        rows_used=len(y),
        is_sample=False,
        from_mirror=False,
        source=str(path.resolve()),
        rows_available=len(y),
        rows_requested=len(y),
        selection=f"all {len(y):,} rows",
        label_rule=rule,
        label_mapping=mapping,
        header=header_text,
        note=" ".join(notes),
    )
    feature_names = [str(c) for c in features.columns]
    return Dataset(name=name, X=X, y=y, feature_names=feature_names, provenance=provenance)


def _first_lines(path: Path, name: str) -> list[str]:
    """The first lines of the file's text, decompressed when its name ends in .gz."""
    try:
        # utf-8-sig: a byte-order mark must not turn line 1's first number into text.
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8-sig") as text:
            lines = [line for line in itertools.islice(text, _SNIFF_LINES) if line.strip()]
    except (UnicodeDecodeError, OSError, EOFError) as error:
        raise DataError(f"{name}: {path} is not a text (or gzipped text) CSV file ({error}).") from error
    if not lines:
        raise DataError(f"{name}: {path} is empty; give a CSV file with a header line or data rows.")
    return lines


def _detect_separator(lines: list[str], name: str, path: Path) -> str:
    """The separator of the first lines: comma, semicolon or tab (csv.Sniffer)."""
    try:
        return csv.Sniffer().sniff("".join(lines[:100]), delimiters=",;\t").delimiter
    except csv.Error as error:
        raise DataError(
            f"{name}: cannot detect the separator of {path} ({error}); pass sep=',', sep=';' or sep='\\t'."
        ) from error


def _first_text(values: pd.Series) -> object:
    """The first value of a column that is not a number."""
    return values[pd.to_numeric(values, errors="coerce").isna()].iloc[0]


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _detect_header(lines: list[str], separator: str, name: str, path: Path) -> bool:
    """Whether line 1 names the columns.

    Line 1 is data when its non-empty fields are all numbers. It is a header
    when one of its text fields sits above a column of numbers. Otherwise its
    text sits above text (a text label): it is data if it also holds a number
    (a header names columns, it holds no numbers); with text only, a DataError
    asks for ``header=``.
    """
    first, *rest = csv.reader(lines, delimiter=separator)
    text = [index for index, field in enumerate(first) if field.strip() and not _is_number(field)]
    for index in text:
        below = [row[index] for row in rest if index < len(row) and row[index].strip()]
        if below and all(map(_is_number, below)):
            return True
    if len(text) < sum(1 for field in first if field.strip()):
        return False
    raise DataError(
        f"{name}: cannot tell whether line 1 of {path} ({lines[0].strip()[:80]!r}) names the columns: "
        "it holds only text, above text. Pass header=True if it names the columns, header=False if it is data."
    )


def _label_column(frame: pd.DataFrame, label: str | int, has_header: bool, name: str, path: Path) -> str:
    """The label column's name in ``frame``, from a name or an index."""
    if isinstance(label, int) and not isinstance(label, bool):
        if not -frame.shape[1] <= label < frame.shape[1]:
            raise DataError(
                f"{name}: label={label} is out of range for the {frame.shape[1]} columns of {path}; "
                f"give an index from {-frame.shape[1]} to {frame.shape[1] - 1} or a column name."
            )
        return frame.columns[label]
    if isinstance(label, str) and label in frame.columns:
        return label
    if not has_header:
        raise DataError(
            f"{name}: label={label!r}, but line 1 of {path} is data, not column names; give the label "
            f"column's index (0 to {frame.shape[1] - 1}, or -1 for the last), or header=True if line 1 names them."
        )
    shown = [str(c) for c in frame.columns[:8]]
    raise DataError(
        f"{name}: label={label!r} is not a column of {path} (columns: {shown}{' ...' if frame.shape[1] > 8 else ''}); "
        "give a column name or an integer index."
    )


def _binary_labels(labels: pd.Series, positive: object, name: str, path: Path) -> tuple[np.ndarray, dict, str]:
    """Map the label column to 0/1; return the labels, the mapping and the rule in words."""
    classes = sorted(labels.unique().tolist())
    shown = f"{classes[:10]}{' ...' if len(classes) > 10 else ''}"
    if len(classes) < 2:
        raise DataError(f"{name}: the label column {labels.name!r} of {path} holds one value only ({shown}).")
    if positive is None and len(classes) > 2:
        raise DataError(
            f"{name}: the label column {labels.name!r} of {path} has {len(classes)} distinct values ({shown}); "
            "a binary label needs two. Choose the positive class with positive=<value> (USER_POSITIVE in the "
            "notebooks): that value becomes 1 and all the others 0."
        )
    if positive is None:
        positive = classes[1]
    matches = [value for value in classes if value == positive or str(value) == str(positive)]
    if not matches:
        raise DataError(f"{name}: positive={positive!r} is not a label value of {path}; its values are {shown}.")
    positive = matches[0]
    others = [value for value in classes if value != positive]
    mapping = {str(value): int(value == positive) for value in classes}
    negative = repr(others[0]) if len(others) == 1 else f"the other {len(others)} values"
    y = (labels == positive).to_numpy(dtype=np.int64)
    return y, mapping, f"column {labels.name!r}: {positive!r} = 1, {negative} = 0"
