"""The committed notebooks' outputs are for readers: no machine paths, no raw warnings, no frozen bars."""

import json
import re

import nbformat
import pytest

from nslib.core.paths import notebooks

ABSOLUTE_PATH = re.compile(r"(?<![\w.~])/(?:work|home|tmp|root|Users|usr|opt|var|private)/\S*")
WARNING_ECHO = re.compile(r"\w+\.py:\d+: \w*(?:Warning|Error)")
FROZEN_BAR = re.compile(r"\b0%\|")


def _output_texts(path):
    notebook = nbformat.read(path, as_version=4)
    yield "metadata", json.dumps(notebook.metadata)
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            texts = [output.get("text", "")]
            texts += [value for key, value in output.get("data", {}).items() if key.startswith("text/")]
            texts += output.get("traceback", [])
            for text in texts:
                yield index, "".join(text) if isinstance(text, list) else str(text)


@pytest.mark.parametrize("path", notebooks(), ids=lambda path: path.name)
def test_outputs_hold_no_machine_path_no_warning_echo_and_no_frozen_bar(path):
    problems = []
    for index, text in _output_texts(path):
        for name, pattern in (("machine path", ABSOLUTE_PATH), ("warning echo", WARNING_ECHO),
                              ("progress bar at 0%", FROZEN_BAR)):
            found = pattern.search(text)
            if found:
                problems.append(f"cell {index}: {name}: {found.group(0)[:80]!r}")
    assert not problems, "\n".join(problems)


def test_the_patterns_catch_what_they_are_for():
    assert ABSOLUTE_PATH.search("rows of /work/shared/data/higgs_sample.csv.gz")
    assert not ABSOLUTE_PATH.search("build/reproduce/derived and data/derived/runs.csv")
    assert WARNING_ECHO.search("/x/nslib/data.py:326: RowShortfallWarning: HIGGS")
    assert not WARNING_ECHO.search("Note (RowShortfallWarning): HIGGS: 100,000 rows")
    assert FROZEN_BAR.search("training 45 runs:   0%|          | 0/675")
    assert not FROZEN_BAR.search("training 45 runs: 675 epochs in 12.3 s; 100%|####|")
