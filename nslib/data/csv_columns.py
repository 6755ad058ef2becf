"""The columns of a CSV file: their names, the ones that are no columns at all, and the label's.

Two writers add a column that is not data. pandas' ``to_csv()`` and R's
``write.csv`` write the row index first, under an empty name (R's
``write.table`` under no name: line 1 is then one field short). A separator at
the end of every line adds an empty last field. Both are left out, and the
provenance says so; a column is never dropped silently.
"""

from __future__ import annotations

import pandas as pd

from nslib.data.csv_problems import Problems, option


def name_columns(frame: pd.DataFrame, header: list[str] | None, header_line: int, data_width: int,
                 problems: Problems) -> tuple[pd.DataFrame, list[str], list[str]]:
    """``frame`` (columns numbered from 0) with unique names, the names as written, and notes on what was left out.

    ``header`` is line ``header_line``'s fields, or None when the file has no
    header; the data rows hold ``data_width`` fields; ``frame`` is as wide as
    the longer of the two.
    """
    width = frame.shape[1]
    empty = [bool(frame[j].isna().all()) for j in range(width)]
    names = [field.strip() for field in header] if header is not None else [""] * width
    mismatch = f"line {header_line:,} names {len(names)} columns but the rows hold {data_width} fields"
    fix = f"name every column in line {header_line:,} once, or {option('HEADER=no', 'header=False')} if it is data"
    if len(names) == data_width - 1:  # the data lines end with a separator, or R's write.table named no row names
        names = names + [""] if empty[-1] else [""] + names
        if not (empty[-1] or _row_names(frame[0])):
            problems.refuse(f"{mismatch}, and the first field of each row is not a row name (its values repeat "
                            "or are missing)", fix)
    elif not (len(names) == data_width or (len(names) == data_width + 1 and names[-1] == "")):
        problems.refuse(mismatch, fix)
    keep = list(range(width))
    notes = []
    if names[-1] == "" and empty[-1]:
        keep.pop()
        notes.append("Lines end with the separator: the empty field after it is no column.")
    if header is not None and names[0] == "" and len(keep) > 2 and _row_names(frame[0]):
        keep.remove(0)
        first = ", ".join(str(value) for value in frame[0].iloc[:3])
        notes.append(f"Column 1 has no name and a different value in every row ({first}, ...): row names "
                     "(pandas' to_csv index, R's write.csv), left out.")
    written = [names[j] or f"column_{j}" for j in keep]
    unique, repeated = _unique(written)
    if repeated:
        notes.append(f"Repeated column names made unique: {', '.join(repeated)}.")
    return frame[keep].set_axis(unique, axis=1), written, notes


def _row_names(values: pd.Series) -> bool:
    """Whether a column is a row index: all different, and text or whole numbers counting up (0, 1, 2, ...)."""
    if values.isna().any() or not values.is_unique:
        return False
    if values.dtype.kind not in "iuf":
        return True
    return bool((values >= 0).all() and (values % 1 == 0).all() and values.is_monotonic_increasing)


def _unique(names: list[str]) -> tuple[list[str], list[str]]:
    """``names`` with repeats numbered (x, x_2, x_3), and the renames in words."""
    seen: set[str] = set()
    unique, repeated = [], []
    for name in names:
        candidate, count = name, 1
        while candidate in seen:
            count += 1
            candidate = f"{name}_{count}"
        if candidate != name:
            repeated.append(f"{name!r} -> {candidate!r}")
        seen.add(candidate)
        unique.append(candidate)
    return unique, repeated


def label_column(columns: list[str], written: list[str], label: str | int, has_header: bool, header_line: int,
                 problems: Problems) -> str:
    """The label column's (unique) name among ``columns``, from its name as ``written`` or its position."""
    if isinstance(label, int) and not isinstance(label, bool):
        if not -len(columns) <= label < len(columns):
            problems.refuse(
                f"label={label} is out of range for the {len(columns)} columns",
                f"give {option('LABEL=<index>', 'label=<index>')} from {-len(columns)} to {len(columns) - 1}, "
                "or the column's name",
            )
        return columns[label]
    positions = [j for j, name in enumerate(written) if name == label]
    if len(positions) > 1:
        problems.refuse(f"label={label!r} names {len(positions)} columns (positions {positions})",
                        f"give the label column's position, e.g. {option(f'LABEL={positions[-1]}', f'label={positions[-1]}')}")
    if positions:
        return columns[positions[0]]
    if not has_header:
        problems.refuse(
            f"label={label!r}, but line {header_line:,} is data, not column names",
            f"give the label column's index ({option('LABEL=-1', 'label=-1')} for the last; 0 to "
            f"{len(columns) - 1}), or {option('HEADER=yes', 'header=True')} if line {header_line:,} names them",
        )
    shown = [str(c) for c in columns[:8]]
    problems.refuse(
        f"label={label!r} is not a column (columns: {shown}{' ...' if len(columns) > 8 else ''})",
        "give a column name or an integer index",
    )
