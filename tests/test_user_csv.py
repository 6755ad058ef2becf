"""Your own CSV: header detection, separators, gzip, labels, and every refusal with its fix.

Each test writes its file by hand, so the expected rows are read off the text,
not computed by the loader under test.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest

from nslib.data.catalog import DataError
from nslib.data.user_csv import from_csv

# Line 1 is data: the bug this guards against took it for a header, lost it and named features "40.092".
HEADERLESS = "40.092,28.7967,1\n39.5,30.25,0\n41.75,27.5,1\n38.125,29.0,0\n"
HEADERLESS_ROWS = [[40.092, 28.7967], [39.5, 30.25], [41.75, 27.5], [38.125, 29.0]]


def write(path: Path, text: str) -> Path:
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def test_a_headerless_file_keeps_its_first_row(tmp_path):
    dataset = from_csv(write(tmp_path / "beams.csv", HEADERLESS), label=-1)
    assert dataset.n_rows == 4
    assert list(dataset.feature_names) == ["column_0", "column_1"]
    np.testing.assert_array_equal(dataset.X, np.array(HEADERLESS_ROWS, dtype=np.float32))
    np.testing.assert_array_equal(dataset.y, [1, 0, 1, 0])
    record = dataset.provenance
    assert (record.rows_used, record.rows_available) == (4, 4)
    assert record.header == "none (detected: line 1 is data: it holds numbers, as the rows below do)"
    assert record.label_mapping == {"0": 0, "1": 1}
    assert record.sha256 == hashlib.sha256(HEADERLESS.encode()).hexdigest()
    assert record.origin == "file" and record.selection == "all 4 rows"


def test_a_byte_order_mark_does_not_make_line_1_a_header(tmp_path):
    path = tmp_path / "beams.csv"
    path.write_bytes(b"\xef\xbb\xbf" + HEADERLESS.encode())
    dataset = from_csv(path, label=-1)
    np.testing.assert_array_equal(dataset.X, np.array(HEADERLESS_ROWS, dtype=np.float32))


def test_a_headerless_label_is_named_by_its_index(tmp_path):
    path = write(tmp_path / "beams.csv", "1,40.5,2.5\n0,39.5,3.5\n")
    dataset = from_csv(path, label=0)
    np.testing.assert_array_equal(dataset.y, [1, 0])
    assert list(dataset.feature_names) == ["column_1", "column_2"]
    with pytest.raises(DataError, match=r"label='y', but line 1 is data.*LABEL=-1 \(label=-1\) for the last; 0 to 2"):
        from_csv(path, label="y")


def test_a_headed_file_maps_string_labels_in_sorted_order_and_records_it(tmp_path):
    path = write(tmp_path / "mail.csv", "a,kind,b\n1,spam,0\n2,ham,1\n3,spam,0\n4,ham,1\n")
    dataset = from_csv(path, label="kind")
    assert dataset.name == "mail" and list(dataset.feature_names) == ["a", "b"]
    np.testing.assert_array_equal(dataset.X, [[1, 0], [2, 1], [3, 0], [4, 1]])
    np.testing.assert_array_equal(dataset.y, [1, 0, 1, 0])
    record = dataset.provenance
    assert record.label_mapping == {"ham": 0, "spam": 1}
    assert record.label_rule == "column 'kind': 'spam' = 1, 'ham' = 0"
    assert (record.header, record.rows_used) == ("line 1 (detected: it holds the label's name 'kind')", 4)


def test_a_headerless_string_label_with_an_explicit_positive_value(tmp_path):
    dataset = from_csv(write(tmp_path / "t.csv", "0.5,yes\n1.5,no\n2.5,no\n"), label=-1, positive="no")
    np.testing.assert_array_equal(dataset.y, [0, 1, 1])
    np.testing.assert_array_equal(dataset.X, [[0.5], [1.5], [2.5]])
    assert dataset.provenance.label_mapping == {"yes": 0, "no": 1}
    assert dataset.provenance.header == "none (detected: line 1 is data: it mixes numbers and text as the rows below do)"


def test_a_numeric_positive_value_may_be_given_as_text(tmp_path):
    dataset = from_csv(write(tmp_path / "t.csv", "x,y\n1,0\n2,1\n3,1\n"), label="y", positive="0")
    np.testing.assert_array_equal(dataset.y, [1, 0, 0])
    assert dataset.provenance.label_mapping == {"0": 1, "1": 0}


def test_header_overrides_the_detection(tmp_path):
    path = write(tmp_path / "t.csv", "1,2,0\n3,4,1\n5,6,0\n7,8,1\n")
    named = from_csv(path, label="0", header=True)
    assert list(named.feature_names) == ["1", "2"] and named.n_rows == 3
    assert named.provenance.header == "line 1 (given)"
    plain = from_csv(path, label=2, header=False)
    assert plain.n_rows == 4 and plain.provenance.header == "none (given)"
    with pytest.raises(DataError, match=r"header=0 must be True .*, False .* or None \(detect\)"):
        from_csv(path, label=2, header=0)


def test_a_first_line_of_text_above_text_needs_header(tmp_path):
    path = write(tmp_path / "t.csv", "red,yes\nblue,no\nred,no\n")
    with pytest.raises(DataError, match="cannot tell whether line 1 .*'red,yes'.* HEADER=yes \\(header=True\\) .* HEADER=no"):
        from_csv(path, label=-1)
    assert from_csv(path, label=-1, header=False, one_hot=True).n_rows == 3


@pytest.mark.parametrize("separator", [",", ";", "\t"])
def test_each_separator_is_detected_or_taken_as_given(tmp_path, separator):
    text = f"h{separator}w{separator}label\n1.5{separator}2{separator}a\n2.5{separator}3{separator}b\n"
    path = write(tmp_path / "t.csv", text)
    for sep in (None, separator):
        dataset = from_csv(path, label="label", sep=sep)
        np.testing.assert_array_equal(dataset.X, [[1.5, 2], [2.5, 3]])
        assert list(dataset.feature_names) == ["h", "w"]
        assert dataset.provenance.note.startswith(f"Separator {separator!r} ({'detected' if sep is None else 'given'})")


@pytest.mark.parametrize("file_name", ["beams.csv.gz", "beams.data", "beams.data.gz"])
def test_gzip_and_data_files_read_like_plain_csv(tmp_path, file_name):
    dataset = from_csv(write(tmp_path / file_name, HEADERLESS), label=2)
    assert dataset.name == "beams"
    np.testing.assert_array_equal(dataset.X, np.array(HEADERLESS_ROWS, dtype=np.float32))
    assert dataset.provenance.sha256 == hashlib.sha256((tmp_path / file_name).read_bytes()).hexdigest()


def test_a_label_with_more_than_two_values_lists_them_and_says_how_to_choose(tmp_path):
    path = write(tmp_path / "t.csv", "x,y\n1,0\n2,1\n3,2\n4,2\n")
    with pytest.raises(DataError, match=r"'y' has 3 distinct values \(\[0, 1, 2\]\);.*POSITIVE=<value> \(positive=<value>"):
        from_csv(path, label="y")
    dataset = from_csv(path, label="y", positive=2)
    np.testing.assert_array_equal(dataset.y, [0, 0, 1, 1])
    assert dataset.provenance.label_mapping == {"0": 0, "1": 0, "2": 1}
    assert dataset.provenance.label_rule == "column 'y': 2 = 1, the other 2 values = 0"
    with pytest.raises(DataError, match=r"positive=5 is not a label value; the values of the label column 'y' are \[0, 1, 2\]"):
        from_csv(path, label="y", positive=5)


def test_a_label_with_one_value_is_refused(tmp_path):
    with pytest.raises(DataError, match=r"the label column 'y' holds one value only \(\[1\]\)"):
        from_csv(write(tmp_path / "t.csv", "x,y\n1,1\n2,1\n"), label="y")


def test_a_text_feature_is_refused_by_name_or_one_hot_encoded(tmp_path):
    path = write(tmp_path / "t.csv", "city,x,y\n7,1,0\nb,2,1\na,3,1\n")
    with pytest.raises(DataError, match=r"feature columns \['city'\] hold text \(city='b' on line 3\).*ONE_HOT=yes \(one_hot=True\)"):
        from_csv(path, label="y")
    dataset = from_csv(path, label="y", one_hot=True)
    assert list(dataset.feature_names) == ["x", "city_7", "city_a", "city_b"]
    np.testing.assert_array_equal(dataset.X, [[1, 1, 0, 0], [2, 0, 0, 1], [3, 0, 1, 0]])
    assert "One-hot encoded: city." in dataset.provenance.note


def test_a_missing_value_names_the_columns_and_the_rows(tmp_path):
    path = write(tmp_path / "t.csv", "a,b,y\n1,,0\n2,5,1\n,6,0\n4,7,1\n5,8,0\n")
    message = r"2 of the 5 data rows have missing values \(columns \['a', 'b'\]; 'a': 1 empty; 'b': 1 empty\), on lines 2 and 4. Fix: fill them"
    with pytest.raises(DataError, match=message):
        from_csv(path, label="y")


def test_a_file_with_a_single_row_is_refused(tmp_path):
    with pytest.raises(DataError, match=r"holds 1 data row\(s\) \(header: none \(detected: line 1 is data"):
        from_csv(write(tmp_path / "one.csv", "1.5,2.5,1\n"), label=-1)
    with pytest.raises(DataError, match=r"holds 0 data row\(s\) \(header: line 1 \(given\)\)"):
        from_csv(write(tmp_path / "one.csv", "1.5,2.5,1\n"), label=-1, header=True)


def test_unknown_label_columns_and_unreadable_files_say_what_to_give(tmp_path):
    path = write(tmp_path / "t.csv", "x,y\n1,0\n2,1\n")
    with pytest.raises(DataError, match=r"label='target' is not a column \(columns: \['x', 'y'\]\)"):
        from_csv(path, label="target")
    with pytest.raises(DataError, match="label=5 is out of range for the 2 columns"):
        from_csv(path, label=5)
    with pytest.raises(DataError, match="is not a file"):
        from_csv(tmp_path / "absent.csv", label="y")
    with pytest.raises(DataError, match="is empty"):
        from_csv(write(tmp_path / "empty.csv", ""), label=0)
    (tmp_path / "plain.csv.gz").write_text("x,y\n1,0\n2,1\n")  # named .gz but not compressed
    with pytest.raises(DataError, match=r"plain.csv.gz: it is not a text \(or gzipped text\) CSV file"):
        from_csv(tmp_path / "plain.csv.gz", label=0)
