"""The README's Results section is generated from data/derived, never typed by hand."""

import shutil

import pytest

from nslib.paths import PROJECT_ROOT
from nslib.report import END, START, results_markdown, update_readme

COMMITTED = PROJECT_ROOT / "data" / "derived"


def test_committed_readme_says_what_the_committed_tables_say() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split(START)[1].split(END)[0].strip()
    assert section == results_markdown(COMMITTED).strip(), "run: .venv/bin/python -m nslib.report"


def test_results_name_the_data_and_every_verdict(tmp_path) -> None:
    text = results_markdown(COMMITTED)
    assert "datasets.csv" in text and "table2.csv" in text
    assert text.count("**holds**") + text.count("**does not hold**") + text.count("**cannot tell") >= 3


def test_a_changed_table_changes_the_readme(tmp_path) -> None:
    derived = tmp_path / "derived"
    shutil.copytree(COMMITTED, derived)
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{START}\nPLACEHOLDER-TEXT\n{END}\n")
    assert update_readme(readme, derived) is True
    assert "PLACEHOLDER-TEXT" not in readme.read_text()
    assert update_readme(readme, derived) is False


def test_readme_without_markers_is_an_error(tmp_path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    with pytest.raises(ValueError, match="markers"):
        update_readme(readme, COMMITTED)
