"""A CSV file's feature columns as float32, or every problem with them: missing values, text, out-of-range numbers.

pandas has parsed what it could as numbers; a column it kept as text is looked
at value by value: a missing-value token (``?``, ``NA``, ... and ``NA=``'s), a
number pandas missed (padded with spaces), or text. Each kind of problem is
named with its columns, a few values, the lines they are on and the fix.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nslib.data.csv_problems import Problems, lines_text, option

FLOAT32_MAX = float(np.finfo(np.float32).max)
# Text that marks a missing value in some files but is no pandas default: advice to name it with NA=.
_DECIMAL_COMMA = "decimal=','"
_LOOKS_MISSING = {"-", "--", ".", "missing", "unknown", "n.a.", "na.", "nil", "*", "none", "empty"}


def feature_matrix(features: pd.DataFrame, lines: np.ndarray, sep: str, decimal: str, missing: frozenset[str],
                   one_hot: bool, problems: Problems) -> tuple[np.ndarray, list[str], list[str]]:
    """The features as float32, their names, and notes; problems are recorded, not raised.

    ``lines`` holds each row's line number in the file, for the messages; ``sep`` and ``decimal`` are
    the file's separator and decimal mark.
    """
    columns: dict[str, pd.Series] = {}
    absent: dict[str, pd.Series] = {}  # column -> the missing values' tokens (NaN where present)
    text: dict[str, pd.Series] = {}  # column -> its text values (NaN elsewhere)
    for name, values in features.items():
        numbers, tokens, words = _split(values, decimal, missing)
        columns[name] = numbers if words.isna().all() else values.str.strip()
        if tokens.notna().any():
            absent[name] = tokens
        if words.notna().any():
            text[name] = words
    if absent:
        _missing_problem(absent, lines, problems)
    encoded = _text_problems(text, lines, sep, decimal, one_hot, problems)
    frame = pd.DataFrame(columns)
    if encoded:
        frame = pd.get_dummies(frame, columns=encoded, dtype=np.float64)
    frame = frame.drop(columns=[name for name in text if name not in encoded])  # refused above
    X = frame.to_numpy(dtype=np.float64)
    _range_problems(frame, X, lines, problems)
    notes = [f"One-hot encoded: {', '.join(encoded)}."] if encoded else []
    with np.errstate(over="ignore"):  # beyond float32 is recorded above as a problem
        return X.astype(np.float32), [str(name) for name in frame.columns], notes


def _split(values: pd.Series, decimal: str, missing: frozenset[str]) -> tuple[pd.Series, pd.Series, pd.Series]:
    """A column as numbers (NaN where missing or text), its missing tokens, and its text values."""
    if values.dtype.kind in "biuf":
        tokens = pd.Series("empty", index=values.index).where(values.isna())
        return values.astype(np.float64), tokens, pd.Series(np.nan, index=values.index, dtype=object)
    stripped = values.str.strip()
    is_missing = values.isna() | stripped.isin(missing)
    written = stripped if decimal == "." else stripped.where(~stripped.str.contains(".", regex=False))
    numbers = pd.to_numeric(written.str.replace(decimal, ".", regex=False), errors="coerce").where(~is_missing)
    tokens = stripped.fillna("").where(is_missing).replace("", "empty")
    words = stripped.where(~is_missing & numbers.isna())
    return numbers.astype(np.float64), tokens, words


def _missing_problem(absent: dict[str, pd.Series], lines: np.ndarray, problems: Problems) -> None:
    rows = pd.concat(absent.values(), axis=1).notna().any(axis=1).to_numpy()
    details = "; ".join(f"{name!r}: {_counts(tokens)}" for name, tokens in absent.items())
    problems.add(
        f"{int(rows.sum()):,} of the {rows.size:,} data rows have missing values (columns {list(absent)}; "
        f"{details}), on {lines_text(lines[rows].tolist())}",
        "fill them (e.g. with the column's median) or drop those rows or columns; missing values are never "
        "dropped silently",
    )


def _text_problems(text: dict[str, pd.Series], lines: np.ndarray, sep: str, decimal: str, one_hot: bool,
                   problems: Problems) -> list[str]:
    """Record the text columns' problems; return the columns to one-hot encode."""
    decimal_commas, missing_marks, typos, categories = [], [], [], []
    for name, words in text.items():
        values = words.dropna()
        if decimal == "." and values.str.fullmatch(r"[+-]?\d*,\d+").all():
            decimal_commas.append(name)
        elif values.str.lower().isin(_LOOKS_MISSING).all():
            missing_marks.append(name)
        elif values.size <= max(5, 0.01 * words.size) and 10 * values.size <= words.size:
            typos.append(name)
        else:
            categories.append(name)
    if decimal_commas:
        problems.add(
            f"columns {decimal_commas} hold numbers with a decimal comma ({_examples(text, decimal_commas, lines)})",
            f"give the decimal mark with {option('DECIMAL=,', _DECIMAL_COMMA)}" if sep != "," else
            f"write the file with another separator and give both, e.g. SEP=';' and {option('DECIMAL=,', _DECIMAL_COMMA)}",
        )
    if missing_marks:
        marks = sorted({value for name in missing_marks for value in text[name].dropna().unique()})
        problems.add(
            f"columns {missing_marks} mark missing values with {marks} ({_examples(text, missing_marks, lines)})",
            f"name them as missing with {option('NA=' + ','.join(marks), f'na={marks}')}; then fill or drop "
            "those rows",
        )
    if typos:
        problems.add(
            f"columns {typos} hold numbers except a few values ({_examples(text, typos, lines)})",
            f"correct those values; if they mark missing values, name them with {option('NA=...', 'na=[...]')}",
        )
    if categories and not one_hot:
        problems.add(
            f"feature columns {categories} hold text ({_examples(text, categories, lines)}); features must be "
            "numbers",
            f"one-hot encode them with {option('ONE_HOT=yes', 'one_hot=True')}, or encode or drop those columns",
        )
    return categories if one_hot else []


def _range_problems(frame: pd.DataFrame, X: np.ndarray, lines: np.ndarray, problems: Problems) -> None:
    """Record infinite values, and values float32 cannot hold (the models compute in float32)."""
    for kind, bad, fix in (
        ("infinite values", np.isinf(X), "replace them by finite numbers"),
        (f"values beyond float32's range (magnitude above {FLOAT32_MAX:.2e}), which the models compute in",
         np.isfinite(X) & (np.abs(X) > FLOAT32_MAX), "rescale those columns (e.g. divide by 1e30, or take logarithms)"),
    ):
        if bad.any():
            columns = [str(name) for name in frame.columns[bad.any(axis=0)]]
            row, column = np.argwhere(bad)[0]
            problems.add(
                f"columns {columns} hold {kind} (e.g. {X[row, column]:g} in {frame.columns[column]!r} on line "
                f"{lines[row]:,})",
                fix,
            )


def _counts(tokens: pd.Series) -> str:
    """A column's missing tokens with their counts: "2 '?', 1 empty"."""
    counted = tokens.dropna().value_counts()
    return ", ".join(f"{count:,} {token if token == 'empty' else repr(token)}" for token, count in counted.items())


def _examples(text: dict[str, pd.Series], names: list[str], lines: np.ndarray) -> str:
    """The first text value of each column (up to five columns) and its line: "city='b' on line 3"."""
    shown = []
    for name in names[:5]:
        values = text[name]
        row = int(np.flatnonzero(values.notna().to_numpy())[0])
        shown.append(f"{name}={values.iloc[row]!r} on line {lines[row]:,}")
    return ", ".join(shown) + (", ..." if len(names) > 5 else "")
