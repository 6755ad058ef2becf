"""The atomic writer and the shared integer check."""

import os

import numpy as np
import pytest

from nslib.core.checks import check_int
from nslib.core.files import atomic_write


def test_atomic_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("old\n")
    with atomic_write(target, "w") as handle:
        handle.write("new\n")
    assert target.read_text() == "new\n"
    assert os.listdir(tmp_path) == ["table.csv"]


def test_a_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_write(target, "w") as handle:
        handle.write("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["table.csv"]


def test_exclusive_write_keeps_the_file_another_writer_made_first(tmp_path):
    target = tmp_path / "runs.csv"
    with atomic_write(target, "w", exclusive=True) as handle:
        handle.write("first\n")
        target.write_text("theirs\n")
    assert target.read_text() == "theirs\n"
    assert os.listdir(tmp_path) == ["runs.csv"]


@pytest.mark.parametrize("value", [1, 7, np.int64(3)])
def test_check_int_accepts_integers_in_range(value):
    assert check_int("epochs", value) == int(value)


@pytest.mark.parametrize("value", [0, -1, 2.0, "3", True, None])
def test_check_int_rejects_with_the_name_and_bound(value):
    with pytest.raises(ValueError, match=r"epochs=.* must be an integer >= 1"):
        check_int("epochs", value)


def test_check_int_upper_bound_and_example_in_the_message():
    with pytest.raises(ValueError, match=r"seed=5 must be an integer from 0 to 4, for example 42"):
        check_int("seed", 5, low=0, high=4, example="42")
