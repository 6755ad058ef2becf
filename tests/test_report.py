"""The README's Results section is generated from data/derived, never typed by hand."""

import shutil

import pandas as pd
import pytest

from nslib.core.paths import PROJECT_ROOT
from nslib.publish.readme_results import END, START, results_markdown, update_readme
from nslib.stats.register import REGISTER_COLUMNS

COMMITTED = PROJECT_ROOT / "data" / "derived"


def test_committed_readme_says_what_the_committed_tables_say() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split(START)[1].split(END)[0].strip()
    assert section == results_markdown(COMMITTED).strip(), "run: .venv/bin/python -m nslib.publish.readme_results"


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


def _claims_csv(folder) -> None:
    """A claims register by hand: two of the paper's claims, one rank-type, and one of the compendium's own."""
    rows = [
        {"id": "04-a", "family": "04_transfer", "kind": "paper", "paper_words": '"A wins"', "claim": "A beats B",
         "dataset": "FOREST_COVER", "metric": "auc", "mean_paper": 0.012, "ci_low_paper": 0.004,
         "ci_high_paper": 0.020, "mean_tuned": -0.010, "ci_low_tuned": -0.018, "ci_high_tuned": -0.002,
         "verdict_paper_budget": "holds", "verdict_tuned_budget": "does not hold"},
        {"id": "05-b", "family": "05_efficiency", "kind": "paper", "paper_words": '"18-21%"', "claim": "C gains 18%",
         "dataset": "HIGGS", "metric": "efficiency", "mean_paper": 0.001, "ci_low_paper": -0.02,
         "ci_high_paper": 0.03, "verdict_paper_budget": "cannot tell", "verdict_tuned_budget": "",
         "note": "C failed at every tuned learning rate"},
        {"id": "04-rank", "family": "04_transfer", "kind": "paper", "paper_words": '"ranks high"',
         "claim": "A ranks high",
         "dataset": "SPAMBASE", "metric": "auc", "mean_paper": 0.25, "mean_tuned": 0.5, "test": "rank share",
         "verdict_paper_budget": "holds", "verdict_tuned_budget": "equivalent"},
        {"id": "03-own", "family": "03_training", "kind": "own question", "paper_words": "", "claim": "OWN QUESTION",
         "dataset": "HIGGS", "metric": "auc", "mean_paper": 0.5, "mean_tuned": 0.5,
         "verdict_paper_budget": "holds", "verdict_tuned_budget": "holds"},
    ]
    pd.DataFrame(rows).reindex(columns=REGISTER_COLUMNS).to_csv(folder / "claims.csv", index=False)


def test_results_count_only_the_papers_claims_at_both_budgets(tmp_path) -> None:
    for name in ("datasets.csv", "table2.csv"):
        shutil.copy(COMMITTED / name, tmp_path / name)
    _claims_csv(tmp_path)
    text = results_markdown(tmp_path)
    assert ("of 3 claims, at the paper budget holds: 2, cannot tell: 1; "
            "at the tuned budget does not hold: 1, equivalent: 1, not judged: 1.") in text
    lines = text.splitlines()
    assert ("| A beats B | FOREST_COVER | auc | +0.012 [+0.004, +0.020] | **holds** | -0.010 [-0.018, -0.002] | "
            "**does not hold** |") in lines
    assert ("| C gains 18% | HIGGS | efficiency | +0.001 [-0.020, +0.030] | **cannot tell** | - | "
            "**not judged** |") in lines
    assert "| A ranks high | SPAMBASE | auc | +0.250 | **holds** | +0.500 | **equivalent** |" in lines
    assert "OWN QUESTION" not in text
    header = "| claim | data set | metric | paper budget: estimate | verdict | tuned budget: estimate | verdict |"
    assert header in lines


def test_results_without_a_claims_register_say_nothing_about_verdicts(tmp_path) -> None:
    for name in ("datasets.csv", "table2.csv"):
        shutil.copy(COMMITTED / name, tmp_path / name)
    text = results_markdown(tmp_path)
    assert "claims.csv" not in text and "**holds**" not in text
