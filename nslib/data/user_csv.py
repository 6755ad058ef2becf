"""Your own CSV as a ``Dataset``: any table of numbers with a binary label.

``from_csv`` reads every data row the file holds, or refuses the file with one
DataError that names every problem found, each with its fix (the ``make
study`` option and the ``from_csv`` keyword). Never a silent misread: the rows
read are counted against the file's data lines. The steps, each a module:

1. ``csv_dialect``: the encoding, the separator and the decimal mark;
2. ``csv_layout``: comment and blank lines, and every row's width and lines;
3. ``csv_header``: whether the first row names the columns;
4. pandas parses the values; ``csv_columns`` names the columns and leaves out
   row indexes and the empty field after a trailing separator;
5. ``csv_values`` and ``csv_labels``: the features as float32, the label as 0/1.

The provenance records each decision and why.
"""

from __future__ import annotations

import gzip
import io
import os
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from nslib.data.catalog import DataError, Dataset, Provenance
from nslib.data.csv_columns import label_column, name_columns
from nslib.data.csv_dialect import (
    MISSING,
    decode,
    excel_separator,
    separator_option,
    sniff,
)
from nslib.data.csv_header import detect_header
from nslib.data.csv_labels import binary_labels
from nslib.data.csv_layout import blank_comments, check_rows, lines_for_sniffing, scan
from nslib.data.csv_problems import Problems, lines_text, option
from nslib.data.csv_values import feature_matrix
from nslib.data.fetch import sha256_of_file


def from_csv(
    path: str | os.PathLike,
    *,
    label: str | int,
    name: str | None = None,
    header: bool | None = None,
    positive: object = None,
    sep: str | None = None,
    decimal: str | None = None,
    na: str | Sequence[str] | None = None,
    one_hot: bool = False,
    encoding: str | None = None,
) -> Dataset:
    """Any CSV (``.csv``, ``.data``, either gzipped) with a binary label as a ``Dataset``.

    ``label`` is the label column's name, or its position (negative counts from
    the end; the only way to name it when line 1 is data). ``header=None``
    detects whether line 1 names the columns (``csv_header``); True or False
    says so. ``sep`` (``,``, ``;``, ``"tab"``, ...) and ``decimal`` (``.`` or
    ``,``) are sniffed together when None. ``na`` adds values that mark a
    missing value to the usual ones (empty, ``?``, ``NA``, ``NaN``, ``null``,
    ...); missing values are refused, never dropped. ``encoding`` is detected
    when None (a byte-order mark, UTF-8, else cp1252). The label's two values
    map to 0 and 1 in sorted order, or ``positive`` names the value that
    becomes 1 (all others become 0, so a label with more than two values needs
    it). Text feature columns are refused, or one-hot encoded with
    ``one_hot=True``. Unnamed columns are called ``column_<index>``; ``name``
    defaults to the file name without its extensions.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"from_csv: {path} is not a file; give the path of a CSV file with a binary label.")
    name = name or Path(path.name.removesuffix(".gz")).stem
    problems = Problems(name, path)
    _check_options(label, header, one_hot, problems)
    missing = MISSING | frozenset(_tokens(na, problems))
    table = _read(path, label, header, sep, decimal, encoding, missing, problems)
    frame, written, column_notes = name_columns(table.frame, table.header_fields, table.first_line,
                                                table.data_width, problems)
    column = label_column(list(frame.columns), written, label, table.header_fields is not None, table.first_line,
                          problems)
    X, feature_names, value_notes = feature_matrix(frame.drop(columns=[column]), table.lines, table.sep,
                                                   table.decimal, missing, one_hot, problems)
    y, mapping, rule = binary_labels(frame[column], positive, table.lines, problems)
    problems.raise_if_any()
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
        header=table.header_text,
        note=" ".join([*table.notes, *column_notes, *value_notes]),
    )
    return Dataset(name=name, X=X, y=y, feature_names=feature_names, provenance=provenance)


@dataclass(frozen=True)
class _Table:
    """A file's values as pandas parsed them, with what was decided on the way."""

    frame: pd.DataFrame  # columns numbered from 0
    lines: np.ndarray  # the line each data row starts on
    first_line: int  # the first row's line: the header's, if there is one
    header_fields: list[str] | None  # None: no header
    header_text: str  # the header decision and why, for the provenance
    data_width: int  # fields in every data row
    sep: str
    decimal: str
    notes: list[str]  # the dialect's decisions, for the provenance


def _read(path: Path, label: str | int, header: bool | None, sep: str | None, decimal: str | None,
          encoding: str | None, missing: frozenset[str], problems: Problems) -> _Table:
    """Steps 1 to 4 of the module's docstring: every data row's values, or the problems that forbid reading them."""
    text, encoding_note = decode(_read_bytes(path, problems), encoding, problems)
    text, excel = excel_separator(text.replace("\r\n", "\n").replace("\r", "\n"))
    sniffed = lines_for_sniffing(text)
    if not sniffed:
        problems.refuse("it is empty, or holds only comment lines", "give a CSV file with data rows")
    sep, decimal, dialect_note = sniff(sniffed, separator_option(sep, problems) or excel, decimal, problems)
    notes = [dialect_note, encoding_note]
    if excel is not None:
        notes.append(f"Line 1, Excel's 'sep={excel}', names the separator.")
    text, comments = blank_comments(text, sep)
    if comments:
        notes.append(f"Comment lines (starting with #) skipped: {lines_text(comments)}.")
    layout = scan(text, sep, problems)
    line = int(layout.starts[0])
    if header is None:
        has_header, why = detect_header(layout.sample, label, decimal, missing, problems, line)
        header_text = f"line {line} (detected: {why})" if has_header else f"none (detected: line {line} is data: {why})"
    else:
        has_header, header_text = header, f"line {line} (given)" if header else "none (given)"
    data_width = check_rows(layout, has_header, sep, problems)
    problems.raise_if_any()  # rows of the wrong shape: their values cannot be trusted
    width = max(data_width, len(layout.sample[0]) if has_header else 0)
    frame = _parse(text, sep, decimal, has_header, width, problems)
    lines = layout.starts[1:] if has_header else layout.starts
    if len(frame) != len(lines):
        problems.refuse(f"pandas read {len(frame):,} rows where the file holds {len(lines):,} data lines",
                        "check the file's quotes and line ends; this should not happen, please report it")
    if len(frame) < 2:
        problems.refuse(
            f"it holds {len(frame)} data row(s) (header: {header_text}); a classifier needs rows of both classes",
            f"add rows, or {option('HEADER=no', 'header=False')} if line {line} is data",
        )
    fields = layout.sample[0] if has_header else None
    return _Table(frame, lines, line, fields, header_text, data_width, sep, decimal, notes)


def _check_options(label: object, header: object, one_hot: object, problems: Problems) -> None:
    """Refuse option values of the wrong kind before reading anything."""
    if isinstance(label, bool) or not isinstance(label, (str, int)):
        problems.refuse(f"label={label!r} is neither a column name nor a position",
                        f"give {option('LABEL=<name>', 'label=<name>')} or its position, e.g. LABEL=-1")
    if header is not None and not isinstance(header, bool):
        problems.refuse(
            f"header={header!r} must be True (line 1 names the columns), False (line 1 is data) or None (detect)",
            f"give {option('HEADER=yes', 'header=True')}, {option('HEADER=no', 'header=False')} or leave it out",
        )
    if not isinstance(one_hot, bool):
        problems.refuse(f"one_hot={one_hot!r} must be True or False",
                        f"give {option('ONE_HOT=yes', 'one_hot=True')} or leave it out")


def _tokens(na: str | Sequence[str] | None, problems: Problems) -> list[str]:
    """The extra missing-value tokens: a comma-separated string or a list of strings."""
    if na is None:
        return []
    tokens = na.split(",") if isinstance(na, str) else list(na)
    if not all(isinstance(token, str) for token in tokens):
        problems.refuse(f"na={na!r} must be text or a list of texts",
                        "give e.g. " + option("NA=-999,unknown", "na=['-999', 'unknown']"))
    return [token.strip() for token in tokens]


def _read_bytes(path: Path, problems: Problems) -> bytes:
    """The file's bytes, decompressed when its name ends in .gz."""
    try:
        return gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        problems.refuse(f"it is not a text (or gzipped text) CSV file ({error})",
                        "give the file uncompressed, or gzip-compressed under a name ending in .gz")


def _parse(text: str, sep: str, decimal: str, has_header: bool, width: int, problems: Problems) -> pd.DataFrame:
    """The values as pandas parses them: numbers where a whole column is numbers, text elsewhere.

    Only empty fields are missing here (``csv_values`` names the tokens); the
    label keeps ``NA`` and ``None`` as written. Columns are numbered: the
    header, if any, is named by ``csv_columns``. One block (``low_memory=False``),
    so a column's type never changes between blocks.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pd.errors.ParserWarning)  # short header lines: csv_columns decides
        try:
            return pd.read_csv(
                io.StringIO(text), sep=sep, decimal=decimal, header=0 if has_header else None,
                names=list(range(width)), index_col=False, skipinitialspace=True, keep_default_na=False,
                na_values=[""], low_memory=False,
            )
        except (ValueError, pd.errors.ParserError) as error:  # pandas' parser errors are ValueErrors
            problems.refuse(f"pandas cannot parse it ({error})",
                            f"check its quotes, or give the separator with {option('SEP=...', 'sep=...')}")
