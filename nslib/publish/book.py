"""The course edition: the HTML book, the students' copies and the solutions check.

``python -m nslib.publish.book html`` stages the book's sources in ``build/book-src`` (the
pages of ``docs/``, a generated introduction and claims register, and the committed
notebooks with their stored outputs) and builds the HTML book with Sphinx and myst-nb
into ``build/book``; nothing is re-executed. ``python -m nslib.publish.book student`` writes
the students' copies into ``build/student``: no outputs, no solutions, and the quick
profile in the ``parameters`` cell.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pandas as pd
from nbconvert.preprocessors import (
    ClearMetadataPreprocessor,
    ClearOutputPreprocessor,
    Preprocessor,
    TagRemovePreprocessor,
)

from nslib.core.files import atomic_write
from nslib.core.paths import PROJECT_ROOT, notebooks, reference_dir
from nslib.formulas.parser import parse
from nslib.publish.readme_results import results_markdown
from nslib.stats import paper

SOLUTION_TAG = "solution"
DOCS_DIR = PROJECT_ROOT / "docs"
EXERCISES_HEADING = "## Exercises"

_EXERCISE = re.compile(r"^(\d+)\.\s", re.MULTILINE)
_SOLUTION = re.compile(r"^\*\*Solution (\d+)\.\*\*\s*")
_PROFILE_LINE = re.compile(r"^PROFILE\s*=.*$", re.MULTILINE)


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _solution_number(cell: nbformat.NotebookNode) -> int | None:
    """The N of a solution cell's leading ``**Solution N.**`` (code cells: after ``# ``)."""
    source = cell.source.removeprefix("# ") if cell.cell_type == "code" else cell.source
    match = _SOLUTION.match(source)
    return int(match.group(1)) if match else None


def solution_problems(nb: nbformat.NotebookNode) -> list[str]:
    """What is missing or out of order in ``nb``'s solutions; an empty list when all is well.

    Every markdown cell that starts with ``## Exercises`` must be followed, right
    after it, by one cell tagged ``solution`` per numbered exercise, in order, each
    starting with ``**Solution N.**``; and no solution cell may stand anywhere else.
    """
    problems = []
    cells = nb.cells
    claimed: set[int] = set()
    sections = [i for i, cell in enumerate(cells) if cell.cell_type == "markdown" and cell.source.startswith(EXERCISES_HEADING)]
    if not sections:
        problems.append(f"no '{EXERCISES_HEADING}' section")
    for start in sections:
        wanted = [int(number) for number in _EXERCISE.findall(cells[start].source)]
        found = []
        index = start + 1
        while index < len(cells) and SOLUTION_TAG in cells[index].metadata.get("tags", []):
            found.append(_solution_number(cells[index]))
            claimed.add(index)
            index += 1
        if found != wanted:
            problems.append(
                f"cell {start}: exercises {wanted} but solutions {found} right after it; add one cell tagged "
                f"'{SOLUTION_TAG}' per exercise, in order, each starting with '**Solution N.**'"
            )
    strays = [i for i, cell in enumerate(cells) if SOLUTION_TAG in cell.metadata.get("tags", []) and i not in claimed]
    if strays:
        problems.append(f"cells {strays} are tagged '{SOLUTION_TAG}' but do not follow an Exercises section")
    return problems


class QuickProfilePreprocessor(Preprocessor):
    """Set ``PROFILE = "quick"`` in the notebook's cell tagged ``parameters``."""

    def preprocess(self, nb: nbformat.NotebookNode, resources: dict) -> tuple[nbformat.NotebookNode, dict]:
        """Rewrite the PROFILE line of the one ``parameters`` cell; raise if there is none."""
        cells = [cell for cell in nb.cells if "parameters" in cell.metadata.get("tags", [])]
        if len(cells) != 1:
            raise ValueError(f"expected one cell tagged 'parameters', found {len(cells)}; tag the notebook's parameters cell.")
        new, count = _PROFILE_LINE.subn('PROFILE = "quick"', cells[0].source)
        if count != 1:
            raise ValueError(f"the parameters cell has {count} 'PROFILE = ...' lines; it needs exactly one.")
        cells[0].source = new
        return nb, resources


def student_copy(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` for students: no outputs, no solution (or injected-parameters) cells, quick profile.

    nbconvert's preprocessors do the work: TagRemovePreprocessor drops the cells,
    ClearOutputPreprocessor the outputs and execution counts, ClearMetadataPreprocessor
    the run's metadata (keeping cell tags, the kernel and the language).
    """
    nb = copy.deepcopy(nb)
    steps = [
        TagRemovePreprocessor(remove_cell_tags={SOLUTION_TAG, "injected-parameters"}),
        ClearOutputPreprocessor(),
        ClearMetadataPreprocessor(
            preserve_cell_metadata_mask={"tags"},
            preserve_nb_metadata_mask={"kernelspec", ("language_info", "name")},
        ),
        QuickProfilePreprocessor(),
    ]
    resources: dict = {}
    for step in steps:
        nb, resources = step.preprocess(nb, resources)
    return nb


def write_student_copies(out_dir: Path, sources: list[Path] | None = None) -> list[Path]:
    """Write ``student_copy`` of each notebook (default: all of ``notebooks/``) into ``out_dir``."""
    written = []
    for source in sources or notebooks():
        target = Path(out_dir) / source.name
        with atomic_write(target, "w") as handle:
            nbformat.write(student_copy(_read(source)), handle)
        written.append(target)
    return written


def book_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` for the book, with every solution hidden behind a toggle.

    A markdown solution becomes a sphinx-design dropdown titled "Solution N"; a code
    solution gets myst-nb's ``hide-cell`` tag. Outputs are kept as they are.
    """
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if SOLUTION_TAG not in tags:
            continue
        if cell.cell_type == "code":
            cell.metadata["tags"] = [*tags, "hide-cell"]
            continue
        number = _solution_number(cell)
        body = _SOLUTION.sub("", cell.source, count=1)
        cell.source = f"::::{{dropdown}} Solution {number}\n{body}\n::::"
    return nb


def formulas_markdown(derived: Path) -> str:
    """The seed-42 formulas of ``formulas.json`` as display math, through sympy's LaTeX."""
    records = json.loads((derived / "formulas.json").read_text())
    chosen = [record for record in records.values() if record["seed"] == 42]
    order = {name: i for i, name in enumerate(paper.DATASET_ORDER)}
    chosen.sort(key=lambda record: (order.get(record["dataset"], len(order)), record["rows_used"]))
    lines = []
    for record in chosen:
        lines += [
            f"- {record['dataset']} ({record['rows_used']:,} rows, GP seed 42): `{record['program']}`, collapsed to",
            "",
            f"  $$f(x) = {parse(record['formula']).latex()}$$",
            "",
        ]
    lines += [
        f"- The paper's printed HIGGS formula, `{paper.HIGGS_FORMULA_REPORTED}`:",
        "",
        f"  $$f(x) = {parse(paper.HIGGS_FORMULA_REPORTED).latex()}$$",
    ]
    return "\n".join(lines)


def claims_table(derived: Path) -> pd.DataFrame:
    """The claims register, ``claims.csv``, with its numbers rounded for reading."""
    register = derived / "claims.csv"
    if not register.exists():
        raise FileNotFoundError(f"No claims.csv in {derived}; run notebooks 03-06 (make reproduce).")
    columns = ["id", "kind", "paper_words", "claim", "dataset", "metric", "mean_paper", "verdict_paper_budget",
               "mean_tuned", "verdict_tuned_budget", "note"]
    return pd.read_csv(register, keep_default_na=False, na_values=[""])[columns].round(4)


def _claims_page(derived: Path, src: Path) -> None:
    claims_table(derived).to_csv(src / "claims.csv", index=False)
    (src / "claims.md").write_text(
        "# Claims register\n\n"
        "Every claim the notebooks put on trial, read from claims.csv in `data/derived/` when the book "
        "was built: the paper's claims with its words, and the compendium's own questions (kind "
        "\"own question\"), each with its verdict at the paper's training budget and at a tuned one. "
        "The notebooks explain each test.\n\n"
        "```{csv-table}\n:file: claims.csv\n:header-rows: 1\n:class: claims-register\n```\n"
    )


def stage_book(src: Path, derived: Path | None = None) -> None:
    """Write the book's Sphinx sources into ``src``: docs pages, introduction, claims, notebooks."""
    derived = derived or reference_dir()
    if src.exists():
        shutil.rmtree(src)
    (src / "notebooks").mkdir(parents=True)
    (src / "docs").mkdir()
    # Pages keep their repository paths, so the notebooks' links (../docs/method.md) work in the book.
    pages = sorted(path for path in DOCS_DIR.glob("*.md") if path.name != "index.md")
    for page in pages:
        shutil.copy2(page, src / "docs" / page.name)
    chapters = []
    for source in notebooks():
        nbformat.write(book_notebook(_read(source)), src / "notebooks" / source.name)
        chapters.append(f"notebooks/{source.stem}")
    _claims_page(derived, src)
    intro = (DOCS_DIR / "index.md").read_text()
    method = "Notebooks 01-05 below run the method and put each claim on trial; notebook 06 goes past it."
    if (DOCS_DIR / "method.md").exists():
        method = f"[The method page](docs/method.md) describes it step by step. {method}"
    intro = intro.replace("{{ method }}", method)
    intro = intro.replace("{{ formulas }}", formulas_markdown(derived))
    intro = intro.replace("{{ results }}", results_markdown(derived))
    toctree = "\n".join(["```{toctree}", ":maxdepth: 1", ":caption: The notebooks", "", *chapters, "```"])
    extras = ["claims", *(f"docs/{page.stem}" for page in pages)]
    toctree += "\n\n" + "\n".join(["```{toctree}", ":maxdepth: 1", ":caption: For the course", "", *extras, "```"])
    (src / "index.md").write_text(intro.replace("{{ toctree }}", toctree))


def build_book(out_dir: Path, src: Path) -> None:
    """Stage the sources in ``src`` and build the HTML book into ``out_dir`` (Sphinx, warnings are errors)."""
    from sphinx.cmd.build import build_main

    stage_book(src)
    status = build_main(["-b", "html", "-q", "-W", "--keep-going", "-c", str(DOCS_DIR), str(src), str(out_dir)])
    if status != 0:
        raise RuntimeError(f"sphinx-build failed (exit {status}); its messages above name the page and the problem.")


def main(argv: list[str]) -> int:
    """``html`` builds build/book; ``student`` writes build/student."""
    build = PROJECT_ROOT / "build"
    if argv == ["html"]:
        build_book(build / "book", build / "book-src")
        print(f"Book: {build / 'book' / 'index.html'}")
    elif argv == ["student"]:
        for path in write_student_copies(build / "student"):
            print(f"Student copy: {path.relative_to(PROJECT_ROOT)}")
    else:
        print("usage: python -m nslib.publish.book html|student", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
