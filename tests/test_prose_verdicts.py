"""Every verdict the prose states about a registered claim is the register's verdict for it.

The convention (docs/method.md, "Prose names the claim it judges"): a verdict about a
registered claim is written in parentheses with the claim's id and the budget,
"(`03-HIGGS-specialist` tuned: cannot tell)"; ids listed before one verdict share it. A
parenthesis that ends with a verdict but names no claim, "(-0.0099, does not hold)", is
refused: the reader could not tell which claim it is about, and this test could not check
it. Verdict words in running text outside parentheses ("we cannot tell it from GELU") are
not checked; the convention puts the checkable statement beside them.
"""

import re

import nbformat
import pandas as pd
import pytest

from nslib.core.paths import PROJECT_ROOT, notebooks, reference_dir

VERDICT = r"(does not hold|holds|equivalent|cannot tell)"
PARENTHESIS = re.compile(r"\(([^()]*)\)")
CLAIM_ID = re.compile(r"`(\d\d-[A-Za-z0-9_.-]+)`")
STATED = re.compile(r"\b(paper|tuned)(?: budget)?: " + VERDICT + r"(, below the margin)?")
# Prose being rewritten on another branch, left out until it merges (then delete the entry).
NOT_YET: dict[str, str] = {}


def statements(text: str) -> tuple[list[tuple[str, str, str, bool]], list[str]]:
    """The (id, budget, verdict, below the margin) statements in ``text``, and the parentheses that state a
    verdict without naming a claim."""
    found, untagged = [], []
    for match in PARENTHESIS.finditer(re.sub(r"\s+", " ", text)):
        body = match.group(1)
        # A verdict is stated when the parenthesis ends with one, or names a claim beside a verdict word;
        # "holds" as a plain verb ("the mirror holds fewer rows") is neither.
        ends = re.search(rf"\b{VERDICT}(, below the margin)?\s*$", body)
        if not ends and not (CLAIM_ID.search(body) and re.search(rf"\b{VERDICT}\b", body)):
            continue
        pieces = CLAIM_ID.split(body)  # text, id, text, id, text ...
        pending = []
        for claim, after in zip(pieces[1::2], pieces[2::2]):
            pending.append(claim)
            said = STATED.findall(after)
            if said:
                found += [(c, budget, verdict, bool(below)) for c in pending for budget, verdict, below in said]
                pending = []
        if pending or len(pieces) == 1:
            untagged.append(body)
    return found, untagged


def test_statements_are_read_by_the_convention():
    text = """Heavy leads (`03-a`,
      `03-b` paper: holds) and then (`03-c` paper: does not hold, tuned: cannot tell); a gap
      (+0.004; `03-d` tuned: holds, below the margin), a plain aside (the mirror holds fewer rows), an untagged
      one (-0.01, cannot tell) and an id without a verdict (`03-e`, then holds)."""
    found, untagged = statements(text)
    assert found == [("03-a", "paper", "holds", False), ("03-b", "paper", "holds", False),
                     ("03-c", "paper", "does not hold", False), ("03-c", "tuned", "cannot tell", False),
                     ("03-d", "tuned", "holds", True)]
    assert untagged == ["-0.01, cannot tell", "`03-e`, then holds"]


def _prose() -> dict[str, str]:
    pages = {path.relative_to(PROJECT_ROOT).as_posix(): path.read_text()
             for path in [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]}
    for path in notebooks():
        if path.name not in NOT_YET:
            cells = nbformat.read(path, as_version=4).cells
            pages[path.name] = "\n\n".join(c.source for c in cells if c.cell_type == "markdown")
    return pages


@pytest.mark.parametrize("name, text", sorted(_prose().items()), ids=lambda value: value[:40])
def test_every_verdict_the_prose_states_is_the_registers(name, text):
    register = pd.read_csv(reference_dir() / "claims.csv", keep_default_na=False).set_index("id")
    found, untagged = statements(text)
    assert not untagged, f"{name}: verdicts with no claim id (write `id` budget: verdict): {untagged}"
    wrong = []
    for claim, budget, verdict, below in found:
        if claim not in register.index:
            wrong.append(f"{claim}: not in claims.csv")
            continue
        row = register.loc[claim]
        if row[f"verdict_{budget}_budget"] != verdict:
            wrong.append(f"{claim} at the {budget} budget: prose says {verdict!r}, "
                         f"the register {row[f'verdict_{budget}_budget']!r}")
        column = f"below_margin_{budget}_budget"
        if below and column in register.columns and str(row[column]) != "True":
            wrong.append(f"{claim} at the {budget} budget: prose says below the margin, the register does not")
    assert not wrong, f"{name}: " + "; ".join(wrong)
