"""The README and the docs pages: every link resolves, every make target exists, every page is reachable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nslib.core.paths import PROJECT_ROOT
from nslib.publish import book

README = PROJECT_ROOT / "README.md"
DOCS = PROJECT_ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]


def _name(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT))


def _makefile_targets() -> set[str]:
    return set(re.findall(r"^([a-z][\w-]*):", (PROJECT_ROOT / "Makefile").read_text(), flags=re.MULTILINE))


def test_relative_links_are_read_from_markdown_not_from_code() -> None:
    text = ("See [a](docs/a.md#part), ![f](figures/f.png), <https://x.org>, [m](mailto:x@y.z), [here](#top),\n"
            "`[c](code.md)` and\n\n| t |\n|---|\n| [e](table.md) |\n\n```\n[d](block.md)\n```\n")
    assert book.relative_links(text) == ["docs/a.md#part", "figures/f.png", "table.md"]


def _broken_links(page: Path) -> list[str]:
    """The relative links of ``page`` whose file (the part before ``#``) does not exist."""
    return [target for target in book.relative_links(page.read_text())
            if not (page.parent / target.split("#")[0]).exists()]


def _unknown_targets(text: str) -> set[str]:
    """The ``make X`` targets named in ``text`` (in code) that the Makefile does not define."""
    return set(re.findall(r"`make ([a-z][\w-]*)", text)) - _makefile_targets()


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_every_relative_link_resolves(page: Path) -> None:
    assert _broken_links(page) == [], f"{_name(page)} links to files that do not exist"


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_every_make_target_named_exists(page: Path) -> None:
    assert _unknown_targets(page.read_text()) == set(), f"{_name(page)} names make targets the Makefile lacks"


def test_a_missing_file_or_target_is_caught(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    (tmp_path / "there.md").write_text("# There\n")
    page.write_text("Run `make nothing-here` and `make reproduce` after [this](there.md#a) and [that](missing.md).\n")
    assert _broken_links(page) == ["missing.md"]
    assert _unknown_targets(page.read_text()) == {"nothing-here"}


def test_every_docs_page_is_linked_from_the_readme_and_in_the_books_navigation() -> None:
    pages = {path.stem for path in DOCS.glob("*.md") if path.name != "index.md"}
    linked = {Path(target.split("#")[0]).stem for target in book.relative_links(README.read_text())
              if target.startswith("docs/")}
    navigation = {entry.removeprefix("docs/") for entries in book.NAVIGATION.values() for entry in entries
                  if entry.startswith("docs/")}
    # engine.md is the engines' measurement log; the README and the navigation name it whether or not it is here yet.
    assert pages <= linked and pages <= navigation
    assert linked == navigation


def test_the_readme_is_short_and_puts_the_findings_first() -> None:
    text = README.read_text()
    assert len(text.splitlines()) <= 150
    headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
    assert headings[:4] == ["What we found", "Two commands", "Your own data", "The course"]
    for command in ("make reproduce", "make test", "make study", "make book", "make student"):
        assert f"{command}" in text
