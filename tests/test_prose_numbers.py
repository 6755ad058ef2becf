"""Every number a "What we saw" section quotes is found in what the compendium computed.

A quoted number passes when it appears, at the precision it is quoted, among that
notebook's own committed outputs, the committed summary tables (``data/derived``,
without the per-run ``runs.csv``, whose thousands of values would match anything)
or the paper's published figures (``nslib.stats.paper``); a percentage or "points" may
stand for a fraction. The few numbers that are arithmetic on those (a difference
of two quoted figures) are listed below with the reason. A rerun whose numbers
move makes this test name the stale sentence, instead of leaving the prose wrong;
it is a guard, not a proof: a stale number that happens to equal some other
computed figure at its precision still passes (of twelve stale numbers this
project had during its second session, it catches seven).
"""

import re

import nbformat
import pytest

from nslib.core.paths import PROJECT_ROOT, notebooks, reference_dir
from nslib.stats import paper
from nslib.stats.significance import MARGIN

QUOTED = re.compile(r"(?<![\w.])[-+]?\d[\d,]*(?:\.\d+)?%?")
VALUE = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
GROUPED = re.compile(r"(?<![\d.])\d{1,3}(?:,\d{3})+(?![\d.])")  # 26,601
# Quoted numbers that are arithmetic on others, with the arithmetic.
DERIVED = {
    ("05_efficiency.ipynb", "4.3"): "71.0% (the paper) minus 66.7% (ours), in accuracy points",
}


def _outputs(path) -> str:
    texts = []
    for cell in nbformat.read(path, as_version=4).cells:
        for output in cell.get("outputs", []):
            text = output.get("text") or output.get("data", {}).get("text/plain", "")
            texts.append("".join(text) if isinstance(text, list) else text)
    return "\n".join(texts)


@pytest.fixture(scope="module")
def shared() -> str:
    """The summary tables and the paper's figures, as text."""
    tables = [path.read_text() for path in reference_dir().glob("*.csv") if path.name != "runs.csv"]
    figures = [paper.HEADLINE.to_csv(), paper.PAPER_CODE_ON_MIRROR.to_csv(), str(paper.GRADIENT_BOOSTING_ON_MIRROR)]
    return "\n".join(tables + figures)


def _numbers(text: str) -> set[float]:
    """The numbers in ``text``: "26,601" is one number (and its parts), "0.71,4161" (CSV) two."""
    grouped = {float(match.replace(",", "")) for match in GROUPED.findall(text)}
    return grouped | {abs(float(value)) for value in VALUE.findall(text)}


def _matches(token: str, values: set[float]) -> bool:
    plain = token.lstrip("+-").rstrip("%").replace(",", "")
    decimals = len(plain.split(".")[1]) if "." in plain else 0
    quoted = float(plain)
    for target, places in ((quoted, decimals), (quoted / 100, decimals + 2)):
        # Half a unit in the last place, and a hair more: an output already rounded one
        # digit further (0.1935) may stand for a value that rounds either way (19.3% or 19.4%).
        if any(abs(value - target) <= 0.5 * 10.0**-places + 0.5 * 10.0 ** -(places + 1) for value in values):
            return True
    return False


@pytest.mark.parametrize("path", notebooks(), ids=lambda path: path.name)
def test_every_number_in_what_we_saw_is_computed(path, shared):
    computed = _numbers(_outputs(path) + "\n" + shared)
    stale = []
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "markdown" or not cell.source.startswith("## What we saw"):
            continue
        for token in QUOTED.findall(cell.source):
            plain = token.lstrip("+-").rstrip("%").replace(",", "")
            if "." not in plain and not token.endswith("%") and len(plain) < 3:
                continue  # small whole numbers: seeds, epochs, counts of configurations
            if (path.name, token.lstrip("+")) in DERIVED or _matches(token, computed):
                continue
            where = cell.source.index(token)
            stale.append(f"{token!r} in: ...{cell.source[max(0, where - 80):where + 30]}...")
    assert not stale, "\n".join(stale)


def test_a_moved_number_is_caught():
    values = {0.8172, 0.1935, 0.75751}
    assert _matches("81.7%", values) and _matches("19.3%", values) and _matches("0.758", values)
    assert not _matches("81.9%", values) and not _matches("0.760", values)


MARGIN_PROSE = re.compile(r"margin(?: of)? (\d+\.\d+)|±(\d+\.\d+) margin|(\d+\.\d+) AUC equivalence margin")


def test_every_margin_the_prose_quotes_is_the_one_the_verdicts_use() -> None:
    texts = {path.name: "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells
                                  if cell.cell_type == "markdown") for path in notebooks()}
    texts |= {path.name: path.read_text() for path in [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]}
    quoted = {(name, float("".join(groups))) for name, text in texts.items() for groups in MARGIN_PROSE.findall(text)}
    assert quoted, "the prose names the margin somewhere"
    assert {(name, value) for name, value in quoted if value != MARGIN} == set()
