"""Whether the first row of a CSV file names its columns, decided from more than "all fields are numbers".

``pd.DataFrame(array).to_csv(index=False)`` writes the header ``0,1,2,3,4,5``,
and ``1,2,3,4,5,label`` is a header too: numbers, yet names. So the first row
is weighed against the rows below it:

- the label's name, or a text field above a column of numbers: a header;
- numbers that count the columns (0, 1, 2, ... or 1, 2, 3, ...), where the
  row's other values (its text, or its label) occur nowhere below: a header;
- numbers that count the columns, where those values do occur below, or whole
  numbers above decimals with a label value that occurs nowhere below: refused;
- other numbers, with or without text: data;
- text only: a header when its values occur nowhere below, in columns that
  repeat their values; data when they occur below; refused when both.

A refusal names ``HEADER=yes|no``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn

from nslib.data.csv_dialect import number_kind
from nslib.data.csv_problems import Problems, option

_FIX = (f"say whether it names the columns: {option('HEADER=yes', 'header=True')} if it does, "
        f"{option('HEADER=no', 'header=False')} if it is data")


def detect_header(sample: list[list[str]], label: str | int, decimal: str, missing: frozenset[str],
                  problems: Problems, line: int) -> tuple[bool, str]:
    """Whether ``sample[0]`` (on line ``line``) names the columns, and why, in a few words.

    ``sample`` is the file's first rows as text, ``label`` the label column's
    name or position, ``missing`` the tokens that mark a missing value.
    """
    first, rest = [field.strip() for field in sample[0]], sample[1:]
    if isinstance(label, str) and label in first:
        return True, f"it holds the label's name {label!r}"
    below = [[row[j].strip() for row in rest if j < len(row) and row[j].strip() not in missing]
             for j in range(len(first))]
    kinds = [None if field in missing else number_kind(field, decimal) or "text" for field in first]
    for field, kind, values in zip(first, kinds, below):
        if kind == "text" and values and all(number_kind(value, decimal) for value in values):
            return True, f"its {field!r} stands above a column of numbers"
    texts = [j for j, kind in enumerate(kinds) if kind == "text"]
    numbers = [j for j, kind in enumerate(kinds) if kind in ("int", "float")]
    if not rest:
        return not numbers, "nothing is below it"
    refuse = _refusal(problems, line, ",".join(sample[0])[:80])
    if not texts and not numbers:
        refuse("it holds only empty or missing values")
    new = [first[j] for j in texts if first[j] not in below[j] and len(set(below[j])) < len(below[j])]
    repeated = [first[j] for j in texts if first[j] in below[j]]
    unseen = _label_unseen(first, below, label, decimal)
    if texts and not numbers:
        if new and not repeated:
            return True, f"its values ({', '.join(map(repr, new[:3]))}) occur nowhere below, where values repeat"
        if repeated and not new:
            return False, f"its values ({', '.join(map(repr, repeated[:3]))}) occur again below"
        refuse(f"{new[0]!r} occurs nowhere below (a name?) but {repeated[0]!r} does (data?)" if new
               else "its text values occur nowhere below, in columns whose values never repeat")
    counting = _counts_columns(first, numbers)
    names_below = (new and not repeated) if texts else unseen
    if counting and names_below:
        what = f"its text {new[0]!r}" if texts else f"its label value {first[label]}"
        return True, f"its numbers count the columns ({counting}) and {what} occurs nowhere below"
    if counting:
        refuse(f"its numbers count the columns ({counting}), as pandas' default column names do, but "
               + ("its other values occur below too" if texts or unseen is False
                  else "no label column of repeating values tells"))
    if not texts and unseen and _whole_above_decimals(first, below, numbers, decimal):
        refuse(f"its label value {first[label]} occurs nowhere below and its numbers are whole where the "
               "columns below hold decimals, as names would be")
    return False, ("it mixes numbers and text as the rows below do" if texts
                   else "it holds numbers, as the rows below do")


def _refusal(problems: Problems, line: int, shown: str) -> Callable[[str], NoReturn]:
    """A function that refuses the file, saying why line ``line`` cannot be judged."""
    def refuse(why: str) -> NoReturn:
        problems.refuse(f"cannot tell whether line {line:,} ({shown!r}) names the columns: {why}", _FIX)
    return refuse


def _counts_columns(first: list[str], numbers: list[int]) -> str:
    """"0 to 5" when the row's numbers are at least two whole numbers equal to their column's position
    (counted from 0 or from 1), else ""."""
    if len(numbers) < 2 or not all(number_kind(first[j], ".") == "int" for j in numbers):
        return ""
    for offset in (0, 1):
        if all(int(first[j]) == j + offset for j in numbers):
            return f"{first[numbers[0]]} to {first[numbers[-1]]}"
    return ""


def _label_unseen(first: list[str], below: list[list[str]], label: str | int, decimal: str) -> bool | None:
    """Whether the label's value in the first row occurs nowhere below; None when no class label tells."""
    if not isinstance(label, int) or not -len(first) <= label < len(first):
        return None
    values = {_as_number(value, decimal) for value in below[label]}
    if not 1 < len(values) <= 20:  # not a class label: a measurement, or one class
        return None
    return _as_number(first[label], decimal) not in values


def _whole_above_decimals(first: list[str], below: list[list[str]], numbers: list[int], decimal: str) -> bool:
    """Whether most columns of decimals have a whole number in the first row."""
    decimals = [j for j in numbers if any(number_kind(value, decimal) == "float" for value in below[j])]
    whole = [j for j in decimals if number_kind(first[j], decimal) == "int"]
    return bool(decimals) and 2 * len(whole) >= len(decimals)


def _as_number(field: str, decimal: str) -> float | str:
    """A label value compared as a number where it is one (``1`` and ``1.0`` are the same class)."""
    try:
        return float(field.replace(decimal, "."))
    except ValueError:
        return field
