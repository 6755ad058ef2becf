"""The course edition: the HTML book, the students' copies and the solutions check.

``python -m nslib.publish.book html`` stages the book's sources in ``build/book-src`` (a
landing page made of the README and the formulas, the pages of ``docs/`` in the order
of ``NAVIGATION``, a generated claims register, and the committed notebooks with their
stored outputs, papermill's injected-parameters cell left out) and builds the HTML book
with Sphinx and myst-nb into ``build/book``; nothing is re-executed. Every page keeps
its repository path (the README is the root's ``index``), so one relative link works
on GitHub and in the book; a file a page links to that is not a page (``CITATION.cff``,
a figure) is copied beside it. ``python -m nslib.publish.book student`` writes
the students' copies into ``build/student``: no outputs, no solutions, and the quick
profile in the ``parameters`` cell.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import shutil
import sys
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import pandas as pd
from markdown_it import MarkdownIt
from nbconvert.preprocessors import (
    ClearMetadataPreprocessor,
    ClearOutputPreprocessor,
    Preprocessor,
    TagRemovePreprocessor,
)

from nslib.core.files import atomic_write
from nslib.core.paths import PROJECT_ROOT, notebooks, reference_dir
from nslib.formulas.parser import parse
from nslib.publish.readme_results import END, START, headline_markdown, replace_block
from nslib.stats import paper

SOLUTION_TAG = "solution"
INJECTED_TAG = "injected-parameters"
DOCS_DIR = PROJECT_ROOT / "docs"
README = PROJECT_ROOT / "README.md"
EXERCISES_HEADING = "## Exercises"
# The book's navigation after the notebooks: caption -> pages (docs/NAME.md, or the generated claims page).
# Every page of docs/ but index.md is listed once; docs/engine.md is the engines' measurement log.
NAVIGATION = {
    "The results": ["docs/results", "claims", "docs/method", "docs/convergence"],
    "Running it": ["docs/running", "docs/timing", "docs/engine", "docs/data", "docs/scaling", "docs/study",
                   "docs/layout", "docs/contributing"],
    "For the course": ["docs/teaching"],
}

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
        TagRemovePreprocessor(remove_cell_tags={SOLUTION_TAG, INJECTED_TAG}),
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
    """A copy of ``nb`` for the book, with every solution hidden behind a toggle and no injected parameters.

    A markdown solution becomes a sphinx-design dropdown titled "Solution N"; a code
    solution gets myst-nb's ``hide-cell`` tag. The cell papermill injects under the
    ``parameters`` cell (tagged ``injected-parameters``) is left out: the notebook's own
    parameters cell already shows the values. Outputs are kept as they are.
    """
    nb, _ = TagRemovePreprocessor(remove_cell_tags={INJECTED_TAG}).preprocess(copy.deepcopy(nb), {})
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


def relative_links(markdown: str) -> list[str]:
    """The relative link and image targets of a Markdown text, in order, as written (``#anchor`` kept).

    markdown-it-py parses the text (CommonMark with tables), so code spans and blocks are not
    searched; a target with a scheme (``https:``, ``mailto:``) or only an ``#anchor`` is not relative.
    """
    targets = []
    for token in MarkdownIt("commonmark").enable("table").parse(markdown):
        for child in token.children or []:
            target = child.attrs.get("href") if child.type == "link_open" else \
                child.attrs.get("src") if child.type == "image" else None
            if target and not urlsplit(target).scheme and not target.startswith("#"):
                targets.append(str(target))
    return targets


def landing_page(derived: Path, toctree: str) -> str:
    """The book's first page: the README, its Results generated from ``derived``, then ``docs/index.md``.

    The README and the landing page say the same thing because the one is the other's text
    (for the committed tables the Results are the README's own, which a test checks);
    ``docs/index.md`` only adds what needs the book: the typeset formulas and the navigation.
    """
    readme = replace_block(README.read_text().rstrip(), START, END, headline_markdown(derived))
    extra = (DOCS_DIR / "index.md").read_text().replace("{{ formulas }}", formulas_markdown(derived))
    return readme + "\n\n" + extra.replace("{{ toctree }}", toctree)


def _copy_linked_files(src: Path) -> None:
    """Copy every repository file a staged page links to, and that is not staged, to the same relative place."""
    for page in src.rglob("*.md"):
        origin = PROJECT_ROOT / page.parent.relative_to(src)
        for target in relative_links(page.read_text()):
            path = target.split("#")[0]
            staged, source = page.parent / path, origin / path
            if path and not staged.exists() and source.is_file():
                staged.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, staged)


def _toctree(caption: str, entries: list[str]) -> str:
    return "\n".join(["```{toctree}", ":maxdepth: 1", f":caption: {caption}", "", *entries, "```"])


def stage_book(src: Path, derived: Path | None = None) -> None:
    """Write the book's Sphinx sources into ``src``: landing page, docs pages, claims, notebooks, linked files."""
    derived = derived or reference_dir()
    if src.exists():
        shutil.rmtree(src)
    (src / "notebooks").mkdir(parents=True)
    (src / "docs").mkdir()
    pages = sorted(path.stem for path in DOCS_DIR.glob("*.md") if path.name != "index.md")
    listed = [entry.removeprefix("docs/") for entries in NAVIGATION.values() for entry in entries
              if entry.startswith("docs/")]
    if missing := sorted(set(listed) - set(pages)):
        raise FileNotFoundError(f"The book's navigation (nslib.publish.book.NAVIGATION) lists {missing}, which docs/ "
                                "does not hold; add the pages or take them out of the navigation.")
    if unlisted := sorted(set(pages) - set(listed)):
        raise ValueError(f"docs/ holds {unlisted}, which the book's navigation (nslib.publish.book.NAVIGATION) does "
                         "not list; add them there.")
    # Pages keep their repository paths, so the notebooks' links (../docs/method.md) work in the book.
    for page in pages:
        shutil.copy2(DOCS_DIR / f"{page}.md", src / "docs" / f"{page}.md")
    chapters = []
    for source in notebooks():
        nbformat.write(book_notebook(_read(source)), src / "notebooks" / source.name)
        chapters.append(f"notebooks/{source.stem}")
    _claims_page(derived, src)
    toctree = "\n\n".join([_toctree("The notebooks", chapters),
                            *(_toctree(caption, entries) for caption, entries in NAVIGATION.items())])
    (src / "index.md").write_text(landing_page(derived, toctree))
    _copy_linked_files(src)


def build_book(out_dir: Path, src: Path) -> None:
    """Stage the sources in ``src`` and build the HTML book into ``out_dir`` (Sphinx, warnings are errors)."""
    from sphinx.cmd.build import build_main

    stage_book(src)
    status = build_main(["-b", "html", "-q", "-W", "--keep-going", "-c", str(DOCS_DIR), str(src), str(out_dir)])
    if status != 0:
        raise RuntimeError(f"sphinx-build failed (exit {status}); its messages above name the page and the problem.")


def main(argv: list[str] | None = None) -> int:
    """``html`` builds build/book; ``student`` writes build/student."""
    parser = argparse.ArgumentParser(prog="python -m nslib.publish.book", description=__doc__.split("\n")[0])
    parser.add_argument("edition", choices=["html", "student"],
                        help="html: the book into build/book; student: the students' copies into build/student")
    edition = parser.parse_args(argv).edition
    build = PROJECT_ROOT / "build"
    if edition == "html":
        build_book(build / "book", build / "book-src")
        print(f"Book: {build / 'book' / 'index.html'}")
    else:
        for path in write_student_copies(build / "student"):
            print(f"Student copy: {path.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
