"""The README's Results and the docs' generated tables come from data/derived, never typed by hand."""

import json
import re
import shutil

import pandas as pd
import pytest

from nslib.core.paths import PROJECT_ROOT
from nslib.experiments.draws import DRAWS_FILE, VERDICTS_FILE
from nslib.experiments.specialist_draws import (
    SPECIALIST_DRAWS_FILE,
    SPECIALIST_VERDICTS_FILE,
)
from nslib.publish.readme_results import (
    END,
    HEADLINE_FIGURE,
    START,
    TIMINGS_END,
    TIMINGS_START,
    headline_markdown,
    results_markdown,
    update_docs,
    update_readme,
)
from nslib.publish.timings import timings_markdown
from nslib.stats.register import REGISTER_COLUMNS

COMMITTED = PROJECT_ROOT / "data" / "derived"


def squeezed(text: str) -> str:
    """``text`` with runs of spaces as one: tables are compared by their cells, not by the padding that aligns them."""
    return re.sub(r" {2,}", " ", text)
FIX = "run: .venv/bin/python -m nslib.publish.readme_results"


def _block(path, start=START, end=END) -> str:
    return path.read_text().split(start)[1].split(end)[0].strip()


def test_committed_readme_says_what_the_committed_tables_say() -> None:
    assert _block(PROJECT_ROOT / "README.md") == headline_markdown(COMMITTED).strip(), FIX


def test_committed_results_page_says_what_the_committed_tables_say() -> None:
    assert _block(PROJECT_ROOT / "docs" / "results.md") == results_markdown(COMMITTED).strip(), FIX


def test_committed_timing_page_says_what_the_committed_timings_say() -> None:
    assert _block(PROJECT_ROOT / "docs" / "timing.md", TIMINGS_START, TIMINGS_END) == \
        timings_markdown(COMMITTED).strip(), FIX


def test_the_readme_headline_tallies_the_paper_claims_and_shows_one_figure_that_exists() -> None:
    text = headline_markdown(COMMITTED)
    first = ("The paper's transfer claims judged as claims about its method" if (COMMITTED / VERDICTS_FILE).exists()
             else "The paper's claims, each counted once")
    assert text.startswith(first)
    assert "| claim | data set | paper budget | tuned budget |" in text
    assert text.count("![") == 1 and f"]({HEADLINE_FIGURE})" in text
    assert (PROJECT_ROOT / HEADLINE_FIGURE).is_file()
    assert "(docs/results.md)" in text and "gradient boosting" in text


def _timings(folder, **changes) -> None:
    """A timings.json by hand: two notebooks, one of them resumed from an earlier attempt."""
    record = {
        "command": "make reproduce", "profile": "full", "started": "2026-12-03T13:52:09+00:00",
        "finished": "2026-12-03T15:04:30+00:00", "attempts": 2, "seconds": 4341.4,
        "notebooks": [{"notebook": "01_data.ipynb", "seconds": 7.6, "runs_trained": 0},
                      {"notebook": "03_training.ipynb", "seconds": 4333.8, "runs_trained": 1234}],
        "runs": {"trained": 1234, "resumed": 56},
        "engines": {"cpu (compiled engine)": 1200, "cpu (torch engine)": 34},
        "machine": {"platform": "Linux-6.1-x86_64", "cpu": "Some CPU @ 2.0GHz", "cores": 2, "memory_gib": 23.4,
                    "jobs": None, "dask_scheduler": None, "load_average_start": 0.38, "load_average_end": 1.54},
        "data": {"HIGGS": {"rows": 20978, "origin": "mirror"}},
        "versions": "python=3.11.7 torch=2.13.0+cpu",
    }
    record.update(changes)
    (folder / "timings.json").write_text(json.dumps(record))


def test_timings_become_one_table_with_the_total_and_the_machine(tmp_path) -> None:
    _timings(tmp_path)
    text = timings_markdown(tmp_path)
    lines = squeezed(text).splitlines()
    assert "| notebook | wall time | runs trained |" in lines
    assert "| 01_data | 8 s | 0 |" in lines
    assert "| 03_training | 1 h 12 min | 1,234 |" in lines
    assert "| **all** | **1 h 12 min** | **1,234** |" in lines
    assert "from 2026-12-03 13:52 UTC to 2026-12-03 15:04 UTC" in text
    assert "2 attempts, 56 runs resumed from an earlier attempt" in text
    assert ("Machine: Linux-6.1-x86_64, Some CPU @ 2.0GHz, 2 cores, 23 GiB of memory; training on local cores, "
            "JOBS not set (one worker per core); load average 0.4 at the start and 1.5 at the end.") in text
    assert "cpu (compiled engine) 1,200, cpu (torch engine) 34" in text
    assert "HIGGS 20,978 rows from the mirror" in text


def test_timings_say_where_the_machine_was_not_recorded_and_where_dask_trained(tmp_path) -> None:
    _timings(tmp_path, machine=None, source="derived after the fact")
    assert "Machine: not recorded." in timings_markdown(tmp_path)
    assert "Source: derived after the fact" in timings_markdown(tmp_path)
    _timings(tmp_path, machine={"platform": "Linux", "cpu": "CPU", "cores": 64, "dask_scheduler": "tcp://h:8786"})
    assert "training on Dask scheduler tcp://h:8786." in timings_markdown(tmp_path)


def test_without_timings_the_page_says_how_to_measure_them(tmp_path) -> None:
    assert "`make reproduce` measures the run" in timings_markdown(tmp_path)


def test_update_docs_rewrites_both_generated_pages(tmp_path) -> None:
    derived = tmp_path / "derived"
    shutil.copytree(COMMITTED, derived)
    _timings(derived)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "results.md").write_text(f"# R\n\n{START}\nOLD\n{END}\n")
    (docs / "timing.md").write_text(f"# T\n\n{TIMINGS_START}\nOLD\n{TIMINGS_END}\nkept\n")
    assert update_docs(docs, derived) is True
    assert "OLD" not in (docs / "results.md").read_text() and "table2.csv" in (docs / "results.md").read_text()
    assert "| **all** | **1 h 12 min** | **1,234** |" in squeezed((docs / "timing.md").read_text())
    assert (docs / "timing.md").read_text().endswith("kept\n")
    assert update_docs(docs, derived) is False


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
        {"id": "04-method-transfer-relu", "family": "04_transfer", "kind": "method", "paper_words": '"transfer"',
         "claim": "METHOD CLAIM", "dataset": "FOREST_COVER", "metric": "share of draws", "mean_paper": 0.5,
         "verdict_paper_budget": "cannot tell", "verdict_tuned_budget": "does not hold"},
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
    assert "OWN QUESTION" not in text and "METHOD CLAIM" not in text
    header = "| claim | data set | metric | paper budget: estimate | verdict | tuned budget: estimate | verdict |"
    assert header in lines


def test_results_without_a_claims_register_say_nothing_about_verdicts(tmp_path) -> None:
    for name in ("datasets.csv", "table2.csv"):
        shutil.copy(COMMITTED / name, tmp_path / name)
    text = results_markdown(tmp_path)
    assert "claims.csv" not in text and "**holds**" not in text


def _method_verdicts_csv(folder) -> None:
    """method_verdicts.csv by hand: two claims, two budgets, 20 draws each."""
    rows = [("transfer-relu", "Transfer (HIGGS) beats Light ReLU", "FOREST_COVER", "paper", 3, 0.15, 0.032, 0.379,
             "holds"),
            ("transfer-relu", "Transfer (HIGGS) beats Light ReLU", "FOREST_COVER", "tuned", 0, 0.0, 0.0, 0.168,
             "cannot tell"),
            ("boundary-relu", "Light ReLU beats Transfer (HIGGS)", "SPAMBASE", "paper", 20, 1.0, 0.832, 1.0,
             "holds")]
    table = pd.DataFrame(rows, columns=["claim_id", "claim", "dataset", "budget", "n_holds", "share_holds", "ci_low",
                                        "ci_high", "protocol_verdict"]).assign(n_draws=20)
    table.to_csv(folder / VERDICTS_FILE, index=False)


def test_the_headline_states_the_method_over_its_draws_first_when_its_table_exists(tmp_path) -> None:
    shutil.copy(COMMITTED / "datasets.csv", tmp_path / "datasets.csv")
    _claims_csv(tmp_path)
    _method_verdicts_csv(tmp_path)
    pd.DataFrame({"dataset": ["FOREST_COVER", "FOREST_COVER", "SPAMBASE"], "budget": ["paper", "tuned", "tuned"],
                  "n_seeds": [10, 5, 10]}).to_csv(tmp_path / DRAWS_FILE, index=False)
    text = headline_markdown(tmp_path)
    assert text.startswith("The paper's transfer claims judged as claims about its method (`method_verdicts.csv`): "
                           "20 draws of the method (GP seeds x samples of the HIGGS rows), each draw's formula judged "
                           "as the paper's protocol is on 10 seeds (5 on FOREST_COVER at the tuned budget, where a run "
                           "is long);")
    assert text.index("method_verdicts.csv") < text.index("The paper's claims, each counted once")
    lines = text.splitlines()
    assert ("| Transfer (HIGGS) beats Light ReLU | FOREST_COVER | 3 of 20 (15% [3%, 38%]); protocol: holds | "
            "0 of 20 (0% [0%, 17%]); protocol: cannot tell |") in lines
    assert ("| Light ReLU beats Transfer (HIGGS) | SPAMBASE | 20 of 20 (100% [83%, 100%]); protocol: holds | - |"
            ) in lines
    assert "METHOD CLAIM" not in text  # the method's register rows are not the paper's claims


def test_the_specialist_claims_over_each_data_sets_draws_follow_the_transfer_claims(tmp_path) -> None:
    shutil.copy(COMMITTED / "datasets.csv", tmp_path / "datasets.csv")
    _claims_csv(tmp_path)
    _method_verdicts_csv(tmp_path)
    # 11 of 20 draws (55%, 32% to 77%: cannot tell for the method) where the protocol's verdict is cannot tell;
    # 3 of 20 (15%, 3% to 38%: does not hold) where the protocol's holds.
    rows = [("above18-SPAMBASE-specialist", "Specialist is more than 18% more efficient than Heavy ReLU", "SPAMBASE",
             "tuned", 11, 0.55, 0.315, 0.769, 2, "cannot tell"),
            ("below21-SPAMBASE-specialist", "Specialist is less than 21% more efficient than Heavy ReLU", "SPAMBASE",
             "paper", 3, 0.15, 0.032, 0.379, 12, "holds")]
    pd.DataFrame(rows, columns=["claim_id", "claim", "dataset", "budget", "n_holds", "share_holds", "ci_low", "ci_high",
                                "n_does_not_hold", "protocol_verdict"]).assign(n_draws=20).to_csv(
        tmp_path / SPECIALIST_VERDICTS_FILE, index=False)
    pd.DataFrame({"dataset": "SPAMBASE", "budget": ["paper", "tuned"], "n_seeds": [10, 5]}).to_csv(
        tmp_path / SPECIALIST_DRAWS_FILE, index=False)
    # The protocol's verdicts are the register's: tuned, "equivalent" there, where its draw alone said cannot tell.
    register = pd.read_csv(tmp_path / "claims.csv")
    protocol = pd.DataFrame({"id": ["05-above18-SPAMBASE-specialist", "05-below21-SPAMBASE-specialist"],
                             "family": "05_efficiency", "kind": "paper",
                             "verdict_paper_budget": ["cannot tell", "holds"],
                             "verdict_tuned_budget": ["equivalent", "holds"]})
    pd.concat([register, protocol]).to_csv(tmp_path / "claims.csv", index=False)
    text = headline_markdown(tmp_path)
    assert text.index("method_verdicts.csv") < text.index(SPECIALIST_VERDICTS_FILE) < text.index(
        "The paper's claims, each counted once")
    assert ("The paper's Specialist claims over 20 draws of the method on each data set's own rows "
            "(`specialist_verdicts.csv`, notebook 05): the method's verdict is the protocol's in 0 of 2 claims and "
            "budgets; not for \"Specialist is more than 18% more efficient than Heavy ReLU\" on SPAMBASE at the "
            "tuned budget, shown to hold in 11 of 20 draws and to fail in 2, the others undecided "
            "(`05-method-above18-SPAMBASE-specialist` tuned: cannot tell; the protocol's "
            "`05-above18-SPAMBASE-specialist` tuned: equivalent); \"Specialist is less than 21% more efficient than "
            "Heavy ReLU\" on SPAMBASE at the paper budget, shown to hold in 3 of 20 draws and to fail in 12, the "
            "others undecided (`05-method-below21-SPAMBASE-specialist` paper: does not hold; the protocol's "
            "`05-below21-SPAMBASE-specialist` paper: holds).") in text
    full = tmp_path / "full"  # the results page needs every table
    shutil.copytree(COMMITTED, full)
    for name in (SPECIALIST_VERDICTS_FILE, SPECIALIST_DRAWS_FILE):
        shutil.copy(tmp_path / name, full / name)
    page = results_markdown(full).splitlines()  # the whole table is on the results page
    assert ("| Specialist is more than 18% more efficient than Heavy ReLU | SPAMBASE | - | "
            "11 of 20 (55% [32%, 77%]); protocol: cannot tell |") in page
    assert any(line.startswith("The paper's Specialist claims judged as claims about its method, on each data set "
                               "(`specialist_verdicts.csv`): 20 draws of the method (per data set: GP seeds x "
                               "samples of its own rows), each draw's formula judged as the Specialist against "
                               "Heavy ReLU on 10 seeds (5 on SPAMBASE at the tuned budget, where a run is long);")
               for line in page)
    pd.read_csv(full / SPECIALIST_VERDICTS_FILE).iloc[:0].to_csv(full / SPECIALIST_VERDICTS_FILE, index=False)
    for generated in (headline_markdown(full), results_markdown(full)):  # a data set of your own: no rows, no block
        assert SPECIALIST_VERDICTS_FILE not in generated and "\n\n\n" not in generated


def test_without_method_verdicts_the_headline_omits_the_method(tmp_path) -> None:
    shutil.copy(COMMITTED / "datasets.csv", tmp_path / "datasets.csv")
    _claims_csv(tmp_path)
    text = headline_markdown(tmp_path)
    assert text.startswith("The paper's claims, each counted once") and "method_verdicts" not in text


def test_the_results_page_shows_each_shape_of_the_family_by_data_set_and_budget(tmp_path) -> None:
    derived = tmp_path / "derived"
    shutil.copytree(COMMITTED, derived)
    rows = [("FOREST_COVER", "paper", "cos", 1.0, 1, 0.0123, 0.0101, 0.0145),
            ("FOREST_COVER", "tuned", "cos", 1.0, 1, -0.002, -0.004, 0.0),
            ("FOREST_COVER", "tuned", "sin", 4.0, 8, -0.05, -0.06, -0.04),
            ("FOREST_COVER", "tuned", "HIGGS formula", None, 1, 0.0047, 0.0006, 0.0089)]
    pd.DataFrame(rows, columns=["dataset", "budget", "shape", "w", "turning_points", "gain", "ci_low", "ci_high"]
                 ).to_csv(derived / "shape_family.csv", index=False)
    text = squeezed(results_markdown(derived))
    assert "| shape | turning points | FOREST_COVER, paper budget | FOREST_COVER, tuned budget |" in text
    assert "| cos(x) | 1 | +0.0123 [+0.0101, +0.0145] | -0.0020 [-0.0040, +0.0000] |" in text
    assert "| sin(4x) | 8 | - | -0.0500 [-0.0600, -0.0400] |" in text
    assert "| HIGGS formula | 1 | - | +0.0047 [+0.0006, +0.0089] |" in text


def test_the_headline_says_how_many_waves_are_ahead_on_each_data_set_when_tuned(tmp_path) -> None:
    derived = tmp_path / "derived"
    shutil.copytree(COMMITTED, derived)
    rows = [("FOREST_COVER", "tuned", "cos", 0.5, 0.0146), ("FOREST_COVER", "tuned", "sin", 0.5, -0.0010),
            ("FOREST_COVER", "paper", "cos", 0.5, 0.9), ("FOREST_COVER", "tuned", "HIGGS formula", None, 0.0047),
            ("SPAMBASE", "tuned", "cos", 0.5, -0.002), ("SPAMBASE", "tuned", "sin", 0.5, -0.006)]
    pd.DataFrame(rows, columns=["dataset", "budget", "shape", "w", "gain"]).to_csv(derived / "shape_family.csv",
                                                                                 index=False)
    text = headline_markdown(derived)
    assert ("of the waves cos(w x) and sin(w x) for w = 0.5, on FOREST_COVER 1 of 2 are ahead on average "
            "(-0.0010 to +0.0146; the HIGGS formula +0.0047); on SPAMBASE 0 of 2 are ahead on average "
            "(-0.0060 to -0.0020).") in text


def test_the_headline_says_so_when_no_wave_was_trained_at_the_tuned_budget(tmp_path) -> None:
    derived = tmp_path / "derived"
    shutil.copytree(COMMITTED, derived)
    pd.DataFrame([("FOREST_COVER", "paper", "cos", 1.0, 0.01)], columns=["dataset", "budget", "shape", "w", "gain"]
                 ).to_csv(derived / "shape_family.csv", index=False)
    assert "no wave was trained at the tuned budget" in headline_markdown(derived)
