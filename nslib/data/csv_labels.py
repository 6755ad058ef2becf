"""A CSV file's label column as 0/1, with the mapping and the rule in words.

Labels are read as written: ``NA`` (North America) or ``None`` is a class here,
not a missing value; only an empty field is a missing label. Labels that are
all numbers are compared as numbers, so ``2`` sorts before ``10``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nslib.data.csv_problems import Problems, lines_text, option

_CHOOSE = ("choose the positive class with POSITIVE=<value> (positive=<value>; USER_POSITIVE in the notebooks): "
           "that value becomes 1 and all the others 0")


def binary_labels(labels: pd.Series, positive: object, lines: np.ndarray,
                  problems: Problems) -> tuple[np.ndarray, dict[str, int], str]:
    """The labels as int64 0/1, the mapping {value as text: 0 or 1} and the rule in words.

    The two values map to 0 and 1 in sorted order, or ``positive`` names the
    value that becomes 1 (all others 0). Problems are recorded, not raised;
    then the labels returned are empty.
    """
    values = _as_written(labels)
    absent = values.isna().to_numpy()
    if absent.any():
        problems.add(f"{int(absent.sum()):,} row(s) have no label ({lines_text(lines[absent].tolist())})",
                     "give every row its label, or drop those rows")
    present = values[~absent]
    classes = sorted(present.unique().tolist())
    shown = f"{classes[:10]}{' ...' if len(classes) > 10 else ''}"
    where = f"the label column {labels.name!r}"
    if len(classes) < 2:
        problems.add(f"{where} holds one value only ({shown})",
                     "a classifier needs rows of both classes: check that LABEL (label=) names the label column")
        return np.empty(0, dtype=np.int64), {}, ""
    if positive is None and len(classes) > 2:
        counts = present.value_counts()
        rare = [f"{value!r} on {lines_text(lines[~absent][(present == value).to_numpy()].tolist())} only"
                for value in classes if counts[value] <= 3 and 100 * counts[value] <= len(present)]
        problems.add(f"{where} has {len(classes)} distinct values ({shown}); a binary label needs two"
                     + (f" ({'; '.join(rare[:3])})" if rare else ""),
                     _CHOOSE + ("; or correct the rare values" if rare else ""))
        return np.empty(0, dtype=np.int64), {}, ""
    chosen = classes[1] if positive is None else next((v for v in classes if _same(v, positive)), None)
    if chosen is None:
        problems.add(f"positive={positive!r} is not a label value; the values of {where} are {shown}",
                     f"give one of them with {option('POSITIVE=<value>', 'positive=<value>')}")
        return np.empty(0, dtype=np.int64), {}, ""
    others = [value for value in classes if value != chosen]
    negative = repr(others[0]) if len(others) == 1 else f"the other {len(others)} values"
    mapping = {str(value): int(value == chosen) for value in classes}
    y = (values == chosen).to_numpy(dtype=np.int64)
    return y, mapping, f"column {labels.name!r}: {chosen!r} = 1, {negative} = 0"


def _as_written(labels: pd.Series) -> pd.Series:
    """Labels pandas kept as text, stripped, empty ones missing; as numbers when every one is a number."""
    if labels.dtype.kind in "biuf":
        return labels
    text = labels.str.strip().replace("", np.nan)
    numbers = pd.to_numeric(text, errors="coerce")
    if numbers[text.notna()].notna().all():
        return numbers.astype(np.int64) if (numbers.dropna() % 1 == 0).all() and text.notna().all() else numbers
    return text


def _same(value: object, positive: object) -> bool:
    """Whether a label value is the one named (``positive`` may come from the command line, as text)."""
    if value == positive or str(value) == str(positive):
        return True
    try:
        return float(value) == float(positive)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
