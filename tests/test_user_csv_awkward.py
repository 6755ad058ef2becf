"""Awkward CSV files: each differs from one clean file in one respect, and is read right or refused with its fix.

The clean file: a header ``a,b,label`` and 300 rows ``i/4, 7i mod 11, yes|no``
(yes on every third row, from the first). A case that reads states its rows,
label mapping and feature names by hand, and its values are compared with the
generator below; a case that is refused states the fragments its message must
hold, the ``make study`` option of its fix among them. Nothing expected is
computed by the code under test.
"""

from __future__ import annotations

import codecs
import gzip
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nslib.data.catalog import DataError
from nslib.data.user_csv import from_csv

ROWS = 300
YES_NO = {"no": 0, "yes": 1}
A_B = ["a", "b"]


def values(i: int) -> tuple[str, str]:
    return str(i * 0.25), str(i * 7 % 11)


def label(i: int) -> str:
    return "yes" if i % 3 == 0 else "no"


def lines(*, header: str | None = "a,b,label", sep: str = ",", rows: int = ROWS, labels=label,
          decimal: str = ".") -> list[str]:
    """The clean file's lines (no line ends), with another header, separator, label or decimal mark."""
    body = [sep.join((*(v.replace(".", decimal) for v in values(i)), str(labels(i)))) for i in range(rows)]
    return ([header] if header is not None else []) + body


def text(lines_: list[str], end: str = "\n") -> str:
    return end.join(lines_) + end


def replace_line(lines_: list[str], number: int, line: str) -> list[str]:
    """``lines_`` with line ``number`` (from 1) replaced."""
    return lines_[: number - 1] + [line] + lines_[number:]


EXPECTED_X = np.array([[i * 0.25, i * 7 % 11] for i in range(ROWS)], dtype=np.float32)
EXPECTED_Y = np.array([int(i % 3 == 0) for i in range(ROWS)])


@dataclass
class Case:
    """One awkward file: its content, how it is loaded, and what must come of it."""

    id: str
    content: str | bytes
    label: str | int = "label"
    options: dict = field(default_factory=dict)
    rows: int | None = None  # read: the rows, mapping and feature names expected
    mapping: dict | None = None
    features: list[str] | None = None
    clean_values: bool = False  # read: X and y are the clean file's
    refused: tuple[str, ...] = ()  # refused: fragments of the message
    file_name: str = "awkward.csv"


def numbered_header_file() -> str:
    """What ``pd.DataFrame(array).to_csv(index=False)`` writes: the header 0,1,2 and float labels."""
    array = np.column_stack([EXPECTED_X.astype(np.float64), EXPECTED_Y.astype(np.float64)])
    return pd.DataFrame(array).to_csv(index=False)


def pandas_index_file() -> str:
    """``DataFrame.to_csv()`` with its default index: an unnamed first column 0, 1, 2, ..."""
    frame = pd.DataFrame({"a": EXPECTED_X[:, 0].astype(np.float64), "b": EXPECTED_X[:, 1].astype(np.float64),
                          "label": [label(i) for i in range(ROWS)]})
    return frame.to_csv()


def european(header: bool) -> str:
    return text(lines(header="a;b;label" if header else None, sep=";", decimal=","))


def with_latin1_city() -> bytes:
    """A text column whose first non-ASCII value is on line 1,201, in latin-1."""
    rows = [f"{a},{b},{'Genève' if i >= 1199 and i % 2 else 'Zurich'},{label(i)}"
            for i in range(1500) for a, b in [values(i)]]
    return text(["a,b,city,label", *rows]).encode("latin-1")


def with_colours() -> list[str]:
    """The clean lines with a text column c (red, blue) before the label."""
    return ["a,b,c,label"] + [f"{a},{b},{'red' if i % 2 else 'blue'},{label(i)}"
                              for i in range(ROWS) for a, b in [values(i)]]


def big_with_one_odd_label() -> str:
    rows = lines(header="a,b,label", rows=400_000, labels=lambda i: int(i % 3 == 0))
    return text(replace_line(rows, 300_002, "1.5,2,maybe"))


CASES = [
    # ----------------------------------------------------------------- read right
    Case("clean", text(lines()), rows=300, mapping=YES_NO, features=A_B, clean_values=True),
    Case("clean, label by position", text(lines()), label=-1, rows=300, mapping=YES_NO, features=A_B,
         clean_values=True),
    Case("no header, label by position", text(lines(header=None)), label=-1, rows=300, mapping=YES_NO,
         features=["column_0", "column_1"], clean_values=True),
    Case("numbered header from DataFrame(array).to_csv", numbered_header_file(), label=-1, rows=300,
         mapping={"0.0": 0, "1.0": 1}, features=["0", "1"], clean_values=True),
    Case("header of numbers and the label's name", text(lines(header="1,2,label")), rows=300, mapping=YES_NO,
         features=["1", "2"], clean_values=True),
    Case("header of numbers and the label's name above 0/1 labels",
         text(lines(header="1,2,label", labels=lambda i: int(i % 3 == 0))), label=-1, rows=300,
         mapping={"0": 0, "1": 1}, features=["1", "2"], clean_values=True),
    Case("header of numbers and the label's name, label by position", text(lines(header="1,2,label")), label=-1,
         rows=300, mapping=YES_NO, features=["1", "2"], clean_values=True),
    Case("R write.table: header one field short, rows start with row names",
         text(['"a","b","label"'] + [f'"{i + 1}",{line}' for i, line in enumerate(lines(header=None))]),
         rows=300, mapping=YES_NO, features=A_B, clean_values=True),
    Case("R write.csv: blank first name, quoted row names",
         text(['"","a","b","label"'] + [f'"{i + 1}",{line}' for i, line in enumerate(lines(header=None))]),
         rows=300, mapping=YES_NO, features=A_B, clean_values=True),
    Case("pandas to_csv index column", pandas_index_file(), rows=300, mapping=YES_NO, features=A_B,
         clean_values=True),
    Case("pandas to_csv index column, label by position", pandas_index_file(), label=-1, rows=300,
         mapping=YES_NO, features=A_B, clean_values=True),
    Case("Excel's sep= line", text(["sep=;", *lines(header="a;b;label", sep=";", decimal=",")]), rows=300,
         mapping=YES_NO, features=A_B, clean_values=True),
    Case("European: semicolons and decimal commas", european(header=True), rows=300, mapping=YES_NO,
         features=A_B, clean_values=True),
    Case("European without a header", european(header=False), label=-1, rows=300, mapping=YES_NO,
         features=["column_0", "column_1"], clean_values=True),
    Case("trailing separator on every line", text([line + "," for line in lines()]), rows=300, mapping=YES_NO,
         features=A_B, clean_values=True),
    Case("trailing separator on the data lines only", text(["a,b,label"] + [x + "," for x in lines()[1:]]),
         rows=300, mapping=YES_NO, features=A_B, clean_values=True),
    Case("trailing separator on the header only", text(["a,b,label,"] + lines()[1:]), rows=300, mapping=YES_NO,
         features=A_B, clean_values=True),
    Case("byte-order mark", codecs.BOM_UTF8 + text(lines()).encode(), rows=300, mapping=YES_NO, features=A_B,
         clean_values=True),
    Case("byte-order mark without a header", codecs.BOM_UTF8 + text(lines(header=None)).encode(), label=-1,
         rows=300, mapping=YES_NO, features=["column_0", "column_1"], clean_values=True),
    Case("CR line ends (old Mac)", text(lines(), end="\r"), rows=300, mapping=YES_NO, features=A_B,
         clean_values=True),
    Case("CRLF line ends (Windows)", text(lines(), end="\r\n"), rows=300, mapping=YES_NO, features=A_B,
         clean_values=True),
    Case("every field quoted", text(['"' + x.replace(",", '","') + '"' for x in lines()]), rows=300,
         mapping=YES_NO, features=A_B, clean_values=True),
    Case("UTF-16 with its byte-order mark", text(lines()).encode("utf-16"), rows=300, mapping=YES_NO,
         features=A_B, clean_values=True),
    Case("latin-1 header", text(lines(header="a,größe,label")).encode("latin-1"), rows=300, mapping=YES_NO,
         features=["a", "größe"], clean_values=True),
    Case("latin-1 text after line 1,000, one-hot encoded", with_latin1_city(), options={"one_hot": True},
         rows=1500, mapping=YES_NO, features=["a", "b", "city_Genève", "city_Zurich"]),
    Case("500 columns", text([",".join([f"x{j}" for j in range(499)] + ["label"])]
                             + [",".join([str(i + j) for j in range(499)] + [label(i)]) for i in range(20)]),
         rows=20, mapping=YES_NO),
    Case("label column in the middle", text([f"{a},{y},{b}" for a, b, y in (x.split(",") for x in lines())]),
         rows=300, mapping=YES_NO, features=A_B, clean_values=True),
    Case("labels -1 and 1", text(lines(labels=lambda i: 1 if i % 3 == 0 else -1)), rows=300,
         mapping={"-1": 0, "1": 1}, features=A_B, clean_values=True),
    Case("labels True and False", text(lines(labels=lambda i: i % 3 == 0)), rows=300,
         mapping={"False": 0, "True": 1}, features=A_B, clean_values=True),
    Case("labels NA and EU are classes, not missing", text(lines(labels=lambda i: "NA" if i % 3 == 0 else "EU")),
         rows=300, mapping={"EU": 0, "NA": 1}, features=A_B, clean_values=True),
    Case("labels None and Some", text(lines(labels=lambda i: "Some" if i % 3 == 0 else "None")), rows=300,
         mapping={"None": 0, "Some": 1}, features=A_B, clean_values=True),
    Case("labels 2 and 10 sort as numbers", text(lines(labels=lambda i: 10 if i % 3 == 0 else 2)), rows=300,
         mapping={"2": 0, "10": 1}, features=A_B, clean_values=True),
    Case("duplicated column names", text(lines(header="a,a,label")), rows=300, mapping=YES_NO,
         features=["a", "a_2"], clean_values=True),
    Case("comment lines", text(["# exported 2024-01-01", "# units: none", *lines()[:151], "# halfway",
                                *lines()[151:]]), rows=300, mapping=YES_NO, features=A_B, clean_values=True),
    Case("numpy.savetxt header as a comment", text(["# a,b,label", *lines(header=None)]), label=-1, rows=300,
         mapping=YES_NO, features=["column_0", "column_1"], clean_values=True),
    Case("blank and white-space lines", text(["", *lines()[:100], "", "   ", *lines()[100:], "", ""]),
         rows=300, mapping=YES_NO, features=A_B, clean_values=True),
    Case("gzip-compressed", gzip.compress(text(lines()).encode()), rows=300, mapping=YES_NO, features=A_B,
         clean_values=True, file_name="awkward.csv.gz"),
    Case("tab-separated", text(lines(header="a\tb\tlabel", sep="\t")), rows=300, mapping=YES_NO,
         features=A_B, clean_values=True),
    Case("pipe-separated", text(lines(header="a|b|label", sep="|")), rows=300, mapping=YES_NO, features=A_B,
         clean_values=True),
    Case("spaces after the separators", text(lines(header="a, b, label", sep=", ")), rows=300, mapping=YES_NO,
         features=A_B, clean_values=True),
    Case("space-separated, given by name", text(lines(header="a b label", sep=" ")), options={"sep": "space"},
         rows=300, mapping=YES_NO, features=A_B, clean_values=True),
    Case("semicolons given by name", european(header=True), options={"sep": "semicolon", "decimal": ","},
         rows=300, mapping=YES_NO, features=A_B, clean_values=True),
    Case("numbered header given with HEADER=yes", text(lines(header="0,1,2", labels=lambda i: i % 3)),
         label=-1, options={"header": True, "positive": 0}, rows=300, mapping={"0": 1, "1": 0, "2": 0},
         features=["0", "1"], clean_values=True),
    Case("a data row starting with #N/A is data, not a comment",
         text(replace_line(lines(), 5, "#N/A,1,no")), refused=("1 of the 300 data rows have missing values",
                                                                "1 '#N/A'", "line 5")),
    # ----------------------------------------------------------------- refused, with the fix
    Case("numbered header above whole numbers, label values repeating",
         text(lines(header="0,1,2", labels=lambda i: i % 3)), label=-1,
         refused=("cannot tell whether line 1 ('0,1,2') names the columns", "count the columns",
                  "HEADER=yes (header=True)", "HEADER=no (header=False)")),
    Case("text above text, one value repeating", text(["red,yes", "blue,no", "red,no"]), label=-1,
         refused=("cannot tell whether line 1", "HEADER=yes", "HEADER=no")),
    Case("header one field short, first fields repeating",
         text(["a,b,label"] + [f"{i % 2},{line}" for i, line in enumerate(lines(header=None))]),
         refused=("line 1 names 3 columns but the rows hold 4 fields", "HEADER=no")),
    Case("two stray quotes in the label column",
         text(replace_line(replace_line(lines(), 11, '2.5,4,"yes'), 41, '10.0,6,"no')),
         refused=("span several lines", "lines 11 to 41", "remove the stray quote")),
    Case("one stray quote, never closed", text(replace_line(lines(), 11, '2.5,4,"yes')),
         refused=("span several lines", "lines 11 to 301")),
    Case("a row with an extra field", text(replace_line(lines(), 20, "4.75,6,7,no")),
         refused=("1 row(s) hold 4 fields, where the other 299 rows hold 3 (line 20)", "quote the values", "SEP=")),
    Case("400,000 rows and one text label", big_with_one_odd_label(),
         refused=("3 distinct values (['0', '1', 'maybe'])",
                  "'maybe' on line 300,002 only", "POSITIVE=<value>")),
    Case("question marks for missing values (UCI)",
         text(replace_line(replace_line(lines(), 3, "?,7,no"), 9, "2.0,?,no")),
         refused=("2 of the 300 data rows have missing values", "'a': 1 '?'", "'b': 1 '?'", "lines 3 and 9")),
    Case("missing values and a text column at once", text(replace_line(with_colours(), 6, "1,,red,no")),
         refused=("has 2 problems", "1 of the 300 data rows have missing values", "'b': 1 empty",
                  "feature columns ['c'] hold text", "ONE_HOT=yes (one_hot=True)")),
    Case("1e39 overflows float32", text(replace_line(lines(), 7, "1e39,1,no")),
         refused=("beyond float32's range", "1e+39 in 'a' on line 7", "rescale")),
    Case("1e308 overflows float32", text(replace_line(lines(), 7, "1.5,1e308,no")),
         refused=("beyond float32's range", "1e+308 in 'b' on line 7")),
    Case("infinite values", text(replace_line(lines(), 8, "inf,1,no")),
         refused=("infinite values", "inf in 'a' on line 8")),
    Case("decimal commas with the decimal mark given as a point", european(header=True),
         options={"decimal": "."}, refused=("decimal comma", "DECIMAL=, (decimal=',')")),
    Case("quoted decimal commas in a comma-separated file",
         text(["a,b,label"] + [f'"{a.replace(".", ",")}",{b},{label(i)}' for i in range(ROWS) for a, b in [values(i)]]),
         refused=("hold numbers with a decimal comma", "another separator", "DECIMAL=, (decimal=',')")),
    Case("a marker of missing values pandas does not know", text(replace_line(lines(), 4, "-,3,no")),
         refused=("mark missing values with ['-']", "NA=- (na=['-'])")),
    Case("that marker named with NA=", text(replace_line(lines(), 4, "-,3,no")), options={"na": "-"},
         refused=("1 of the 300 data rows have missing values", "'a': 1 '-'", "line 4")),
    Case("a typo in a column of numbers", text(replace_line(lines(), 6, "1.2.5,3,no")),
         refused=("hold numbers except a few values", "a='1.2.5' on line 6", "correct those values")),
    Case("latin-1 file with ENCODING=utf-8", with_latin1_city(), options={"encoding": "utf-8", "one_hot": True},
         refused=("it is not utf-8 text (byte 0xe8 on line 1,201)", "ENCODING=")),
    Case("UTF-16 without a byte-order mark", text(lines()).encode("utf-16-le"),
         refused=("NUL bytes", "ENCODING=utf-16-le")),
    Case("rows without a label", text(replace_line(lines(), 12, "2.75,0,")),
         refused=("1 row(s) have no label (line 12)", "give every row its label")),
    Case("a label with one value", text(lines(labels=lambda i: "yes")), refused=("holds one value only",)),
    Case("one column only", text(["x"] + [str(i) for i in range(10)]), label=0,
         refused=("no line splits into two or more fields", "SEP=")),
    Case("a header and no rows", text(["a,b,label"]), refused=("holds 0 data row(s)",)),
    Case("label named in a file without a header", text(lines(header=None)), label="label",
         refused=("label='label', but line 1 is data", "LABEL=-1 (label=-1)")),
    Case("label name repeated", text(lines(header="label,b,label")),
         refused=("label='label' names 2 columns (positions [0, 2])", "LABEL=2 (label=2)")),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_an_awkward_file_is_read_right_or_refused_with_its_fix(tmp_path: Path, case: Case):
    path = tmp_path / case.file_name
    path.write_bytes(case.content if isinstance(case.content, bytes) else case.content.encode())
    if case.refused:
        with pytest.raises(DataError) as refusal:
            from_csv(path, label=case.label, **case.options)
        for fragment in case.refused:
            assert fragment in str(refusal.value), str(refusal.value)
        return
    dataset = from_csv(path, label=case.label, **case.options)
    assert dataset.n_rows == case.rows
    assert dataset.provenance.label_mapping == case.mapping
    if case.features is not None:
        assert list(dataset.feature_names) == case.features
    if case.clean_values:
        np.testing.assert_array_equal(dataset.X, EXPECTED_X)
        np.testing.assert_array_equal(dataset.y, EXPECTED_Y)
