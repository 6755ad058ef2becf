"""The course edition: solutions, students' copies, and the HTML book in a real browser."""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import threading
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from nslib import __version__
from nslib.core.paths import PROJECT_ROOT, notebooks, reference_dir
from nslib.publish import book

SCREENSHOTS = PROJECT_ROOT / "build" / "book-screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
DOCS_PAGES = sorted(path.stem for path in (PROJECT_ROOT / "docs").glob("*.md") if path.name != "index.md")


def _tiny_notebook() -> nbformat.NotebookNode:
    params = new_code_cell('PROFILE = "full"\nSEEDS = None', metadata={"tags": ["parameters"]})
    params.outputs = []
    work = new_code_cell("print(1)", execution_count=3, outputs=[new_output("stream", name="stdout", text="1\n")])
    work.metadata["papermill"] = {"duration": 1.5}
    return new_notebook(
        cells=[
            new_markdown_cell("# A title"),
            params,
            work,
            new_markdown_cell("## Exercises\n\n1. First.\n2. Second,\n   on two lines."),
            new_markdown_cell("**Solution 1.** One.", metadata={"tags": ["solution"]}),
            new_markdown_cell("**Solution 2.** Two.", metadata={"tags": ["solution"]}),
        ],
        metadata={"kernelspec": {"name": "nsa-compendium", "display_name": "Python (nsa-compendium)", "language": "python"},
                  "papermill": {"duration": 9.0}},
    )


@pytest.mark.parametrize("path", notebooks(), ids=lambda path: path.stem)
def test_every_exercise_of_every_notebook_has_its_solution(path: Path) -> None:
    assert book.solution_problems(nbformat.read(path, as_version=4)) == []


def test_solutions_check_names_a_missing_solution_and_a_stray_one() -> None:
    nb = _tiny_notebook()
    nb.cells[-1].source = "**Solution 3.** Misnumbered."
    nb.cells.insert(1, new_markdown_cell("**Solution 1.** Lost.", metadata={"tags": ["solution"]}))
    problems = book.solution_problems(nb)
    assert len(problems) == 2
    assert "exercises [1, 2] but solutions [1, 3]" in problems[0]
    assert "cells [1]" in problems[1]


def test_solutions_check_requires_an_exercises_section() -> None:
    assert book.solution_problems(new_notebook(cells=[new_markdown_cell("# Only a title")])) == [
        "no '## Exercises' section"
    ]


def test_student_copy_has_no_outputs_no_solutions_and_the_quick_profile() -> None:
    nb = _tiny_notebook()
    student = book.student_copy(nb)
    assert [cell.source for cell in student.cells] == [
        "# A title",
        'PROFILE = "quick"\nSEEDS = None',
        "print(1)",
        "## Exercises\n\n1. First.\n2. Second,\n   on two lines.",
    ]
    assert student.cells[2].outputs == [] and student.cells[2].execution_count is None
    assert student.cells[2].metadata == {}
    assert student.cells[1].metadata == {"tags": ["parameters"]}
    assert student.metadata == {"kernelspec": nb.metadata.kernelspec}
    # The teacher's notebook itself is left alone.
    assert nb.cells[1].source.startswith('PROFILE = "full"') and len(nb.cells) == 6


def test_student_copy_refuses_a_notebook_without_a_profile_parameter() -> None:
    nb = _tiny_notebook()
    nb.cells[1].source = "SEEDS = None"
    with pytest.raises(ValueError, match="'PROFILE = ...' lines"):
        book.student_copy(nb)


def test_student_copies_of_the_committed_notebooks_are_written_and_valid(tmp_path: Path) -> None:
    written = book.write_student_copies(tmp_path)
    assert [path.name for path in written] == [path.name for path in notebooks()]
    for path in written:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        assert all(not cell.get("outputs") for cell in nb.cells)
        assert not any("solution" in cell.metadata.get("tags", []) for cell in nb.cells)
        assert 'PROFILE = "quick"' in next(c.source for c in nb.cells if "parameters" in c.metadata.get("tags", []))


def test_book_notebook_puts_markdown_solutions_in_a_dropdown_and_hides_code_ones() -> None:
    nb = _tiny_notebook()
    nb.cells.append(new_code_cell("# **Solution 3.**\nx = 1", metadata={"tags": ["solution"]}))
    staged = book.book_notebook(nb)
    assert staged.cells[4].source == "::::{dropdown} Solution 1\nOne.\n::::"
    assert staged.cells[6].metadata["tags"] == ["solution", "hide-cell"]
    assert staged.cells[2].outputs == nb.cells[2].outputs


def test_book_notebook_leaves_out_papermills_injected_parameters() -> None:
    nb = _tiny_notebook()
    nb.cells.insert(2, new_code_cell('# Parameters\nPROFILE = "full"\n', metadata={"tags": ["injected-parameters"]}))
    staged = book.book_notebook(nb)
    assert len(staged.cells) == len(nb.cells) - 1
    assert not any("injected-parameters" in cell.metadata.get("tags", []) for cell in staged.cells)
    assert staged.cells[1].metadata["tags"] == ["parameters"] and staged.cells[2].source == "print(1)"


@pytest.mark.parametrize("path", notebooks(), ids=lambda path: path.stem)
def test_the_book_shows_one_parameters_cell_per_committed_notebook(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    tags = [cell.metadata.get("tags", []) for cell in book.book_notebook(nb).cells]
    assert sum("parameters" in t for t in tags) == 1 and not any("injected-parameters" in t for t in tags)


def test_the_landing_page_is_the_readme_then_the_books_own_sections() -> None:
    page = book.landing_page(reference_dir(), "TOCTREE")
    # The README's Results are regenerated from the same tables, so for the committed ones nothing changes.
    assert page.startswith((PROJECT_ROOT / "README.md").read_text().rstrip() + "\n\n")
    assert "## The formulas" in page and "$$f(x) =" in page and page.rstrip().endswith("TOCTREE")


def test_staging_copies_the_pages_and_the_files_they_link_to(tmp_path: Path) -> None:
    book.stage_book(tmp_path / "src")
    staged = tmp_path / "src"
    assert sorted(path.stem for path in (staged / "docs").glob("*.md")) == DOCS_PAGES
    for linked in ("CITATION.cff", "LICENSE", "figures/04_claims.png", "data/derived/claims.csv"):
        assert (staged / linked).read_bytes() == (PROJECT_ROOT / linked).read_bytes(), linked
    index = (staged / "index.md").read_text()
    assert all(f"docs/{page}" in index for page in DOCS_PAGES)


def test_staging_refuses_a_navigation_that_misses_or_invents_a_page(tmp_path: Path, monkeypatch) -> None:
    listed = {caption: [entry for entry in entries if entry != "docs/layout"]
              for caption, entries in book.NAVIGATION.items()}
    monkeypatch.setattr(book, "NAVIGATION", listed)
    with pytest.raises(ValueError, match=r"\['layout'\].*does not list"):
        book.stage_book(tmp_path / "src")
    monkeypatch.setattr(book, "NAVIGATION", {**listed, "More": ["docs/layout", "docs/no-such-page"]})
    with pytest.raises(FileNotFoundError, match="no-such-page"):
        book.stage_book(tmp_path / "src")


def test_claims_register_is_claims_csv_and_its_absence_says_how_to_make_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="make reproduce"):
        book.claims_table(tmp_path)
    columns = ["id", "kind", "paper_words", "claim", "dataset", "metric", "mean_paper", "verdict_paper_budget",
               "mean_tuned", "verdict_tuned_budget", "note"]
    row = ["C1", "paper", "words", "y", "HIGGS", "auc", "0.012345", "holds", "", "", ""]
    (tmp_path / "claims.csv").write_text(",".join(columns + ["family"]) + "\n" + ",".join(row + ["03"]) + "\n")
    table = book.claims_table(tmp_path)
    assert table.columns.tolist() == columns and table["id"].tolist() == ["C1"]
    assert table["mean_paper"].tolist() == [0.0123] and table["verdict_tuned_budget"].isna().all()


# --- the HTML book in headless Chromium ---------------------------------------------


@pytest.fixture(scope="module")
def built_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The book, built once for this module from the committed notebooks."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip(
            f"no headless browser: {CHROMIUM} or {CHROMEDRIVER} is missing; install Debian's packages "
            "(apt-get install chromium chromium-driver, as .ci/run does) to check the book in a browser"
        )
    pytest.importorskip("sphinx", reason="the book needs Sphinx: pip install -e '.[book]'")
    out = tmp_path_factory.mktemp("book")
    book.build_book(out / "html", out / "src")
    return out / "html"


@pytest.fixture(scope="module")
def browser(built_book: Path):
    """Headless Chromium (Debian's) through Selenium, on the book served from 127.0.0.1."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="the browser test needs selenium: pip install -e '.[book]'")
    handler = functools.partial(_QuietHandler, directory=str(built_book))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: Selenium Manager never tries to download one.
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(60)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    yield driver, base
    driver.quit()
    server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Keep the test's output free of one line per request."""


def _pages(built_book: Path) -> list[str]:
    return sorted(str(path.relative_to(built_book)) for path in built_book.rglob("*.html")
                  if path.parent.name not in {"_static", "_sources"} and path.name not in {"search.html", "genindex.html"})


def _visit(driver, url: str) -> None:
    driver.get(url)
    driver.execute_script("return document.fonts.ready")
    # MathJax typesets after load; wait for it where the page has math.
    driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "if (window.MathJax && MathJax.startup && MathJax.startup.promise) { MathJax.startup.promise.then(() => done(true)); }"
        "else { done(false); }"
    )


def _screenshot(driver, path: Path) -> None:
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(int(height), 16000))
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 1000)


def test_every_page_loads_without_console_errors_and_every_image_loads(browser, built_book: Path) -> None:
    driver, base = browser
    pages = _pages(built_book)
    assert "index.html" in pages and len(pages) >= 7
    assert {f"docs/{page}.html" for page in DOCS_PAGES} <= set(pages)
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    failures = []
    images_seen = 0
    for page in pages:
        _visit(driver, base + page)
        errors = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        images = driver.execute_script(
            "return Array.from(document.images).map(i => [i.getAttribute('src'), i.complete, i.naturalWidth]);"
        )
        broken = [src for src, complete, width in images if not (complete and width > 0)]
        images_seen += len(images)
        _screenshot(driver, SCREENSHOTS / page.replace("/", "__").replace(".html", ".png"))
        if errors or broken:
            failures.append(f"{page}: console errors {errors}, broken images {broken}")
    assert failures == []
    assert images_seen >= 15  # the committed notebooks show at least the 15 figures of figures/


def test_navigation_reaches_every_notebook_in_order(browser) -> None:
    from selenium.webdriver.common.by import By

    driver, base = browser
    _visit(driver, base + "index.html")
    sidebar = {link.get_attribute("href").split("#")[0] for link in driver.find_elements(By.CSS_SELECTOR, "nav.bd-links a")}
    chapters = [f"{base}notebooks/{path.stem}.html" for path in notebooks()]
    assert set(chapters) <= sidebar
    assert {f"{base}docs/{page}.html" for page in DOCS_PAGES} <= sidebar
    assert __version__ in driver.title
    visited = []
    while True:
        following = driver.find_elements(By.CSS_SELECTOR, "a.right-next")
        if not following:
            break
        following[0].click()
        visited.append(driver.current_url.split("#")[0])
        assert len(visited) < 50, "the 'next' links run in a circle"
    assert [url for url in visited if url in chapters] == chapters


def test_formulas_are_typeset_and_solutions_start_hidden(browser) -> None:
    from selenium.webdriver.common.by import By

    driver, base = browser
    _visit(driver, base + "index.html")
    assert len(driver.find_elements(By.CSS_SELECTOR, "mjx-container")) >= 4
    for path in notebooks():
        _visit(driver, f"{base}notebooks/{path.stem}.html")
        dropdowns = driver.find_elements(By.CSS_SELECTOR, "details.sd-dropdown")
        titles = [d.find_element(By.CSS_SELECTOR, "summary").text.strip() for d in dropdowns]
        exercises = next(c.source for c in nbformat.read(path, as_version=4).cells if c.source.startswith("## Exercises"))
        numbers = re.findall(r"^(\d+)\. ", exercises, flags=re.MULTILINE)
        assert [t for t in titles if t.startswith("Solution")] == [f"Solution {n}" for n in numbers], path.name
        assert not any(d.get_attribute("open") for d in dropdowns)
        assert not any(p.is_displayed() for d in dropdowns for p in d.find_elements(By.CSS_SELECTOR, ".sd-card-body"))
