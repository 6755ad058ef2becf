"""Which lines of a CSV text hold rows: comment and blank lines, fields per row, rows that span lines.

``scan`` reads the whole text with ``csv.reader``, the same quoting rules as
pandas', and keeps, for every row, its width and the lines it starts and ends
on. That makes two silent misreads visible: a stray quote that joins many
lines into one value, and rows with more or fewer fields than the others.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass

import numpy as np

from nslib.data.csv_dialect import MISSING
from nslib.data.csv_problems import Problems, lines_text, option

SAMPLE_ROWS = 1000  # rows kept as text for sniffing and header detection


@dataclass(frozen=True)
class Layout:
    """The rows of a CSV text, as ``csv.reader`` splits them."""

    sample: list[list[str]]  # the first SAMPLE_ROWS rows' fields
    widths: np.ndarray  # fields in each row
    starts: np.ndarray  # the line (from 1) each row starts on
    ends: np.ndarray  # the line each row ends on


def lines_for_sniffing(text: str) -> list[str]:
    """The first non-blank lines that do not start with ``#``: what the separator is sniffed from."""
    lines = []
    for line in io.StringIO(text):
        if line.strip() and not line.lstrip().startswith("#"):
            lines.append(line)
            if len(lines) == SAMPLE_ROWS:
                break
    return lines


def blank_comments(text: str, sep: str) -> tuple[str, list[int]]:
    """``text`` with its comment lines emptied (so line numbers stay), and their numbers.

    A comment line starts with ``#``; one whose first field is a missing-value
    token such as ``#N/A`` is data.
    """
    lines = text.split("\n")
    comments = [
        number
        for number, line in enumerate(lines, start=1)
        if line.lstrip().startswith("#") and line.split(sep, 1)[0].strip() not in MISSING
    ]
    for number in comments:
        lines[number - 1] = ""
    return "\n".join(lines), comments


def scan(text: str, sep: str, problems: Problems) -> Layout:
    """Every row of ``text`` (blank lines skipped, as pandas does): its fields' count and its lines."""
    reader = csv.reader(io.StringIO(text), delimiter=sep, skipinitialspace=True)
    sample: list[list[str]] = []
    widths: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    last = 0
    try:
        for row in reader:
            if len(row) > 1 or (row and row[0].strip()):
                widths.append(len(row))
                starts.append(last + 1)
                ends.append(reader.line_num)
                if len(sample) < SAMPLE_ROWS:
                    sample.append(row)
            last = reader.line_num
    except csv.Error as error:  # a field longer than csv's limit: a quote that is never closed
        problems.refuse(
            f"from line {last + 1:,} on it cannot be split into values ({error}); a quote (\") opened there "
            "is probably never closed",
            "remove the stray quote, or close it: a quote may only enclose a whole value",
        )
    if not widths:
        problems.refuse("it holds no rows, only blank or comment lines", "give a CSV file with data rows")
    return Layout(sample, np.array(widths), np.array(starts), np.array(ends))


def check_rows(layout: Layout, has_header: bool, sep: str, problems: Problems) -> int:
    """The data rows' width; rows that span lines, or that have another width, are recorded as problems."""
    spanning = np.flatnonzero(layout.ends > layout.starts)
    if spanning.size:
        joined = "; ".join(
            f"lines {layout.starts[row]:,} to {layout.ends[row]:,}" for row in spanning[:3]
        ) + ("; ..." if spanning.size > 3 else "")
        problems.add(
            f"{spanning.size:,} row(s) span several lines ({joined}): a quote (\") at the start of a value "
            "runs on to the next quote, lines later, and joins those lines into one value",
            "remove the stray quote(s) on the first line of each: a quote may only enclose a whole value",
        )
    first = 1 if has_header else 0
    widths = layout.widths[first:]
    if widths.size == 0:
        return int(layout.widths[0])
    width = Counter(widths.tolist()).most_common(1)[0][0]
    odd = np.flatnonzero((widths != width) & (layout.ends[first:] == layout.starts[first:]))
    if odd.size:
        lines = layout.starts[first:][odd].tolist()
        counts = sorted(set(widths[odd].tolist()))
        problems.add(
            f"{odd.size:,} row(s) hold {' or '.join(map(str, counts))} fields, where the other "
            f"{widths.size - odd.size:,} rows hold {width} ({lines_text(lines)})",
            f"quote the values that contain the separator {sep!r}, or add the missing values; if {sep!r} is "
            f"not the separator, give it with {option('SEP=...', 'sep=...')}, e.g. SEP=';' or SEP=tab",
        )
    return int(width)
