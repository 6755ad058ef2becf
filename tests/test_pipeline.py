"""The headless runner: run folders, resuming, starting over, and the reproduction report."""

import json
import re

import nbformat
import pandas as pd
import pytest

from nslib import __version__
from nslib.publish import pipeline, reproduction, timings


def _counting_notebook(folder):
    """A two-cell notebook that appends its PROFILE to derived/seen.txt: a stand-in for a cached run."""
    nb = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell('PROFILE = "full"')
    parameters.metadata["tags"] = ["parameters"]
    work = nbformat.v4.new_code_cell(
        "from nslib.core.paths import derived_dir\n"
        "with open(derived_dir() / 'seen.txt', 'a') as f:\n"
        "    f.write(PROFILE + '\\n')"
    )
    nb.cells = [parameters, work]
    nb.metadata["kernelspec"] = {"name": pipeline.KERNEL, "display_name": "Python", "language": "python"}
    path = folder / "01_count.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_a_second_run_resumes_in_the_same_folder_and_fresh_starts_over(tmp_path):
    notebook = _counting_notebook(tmp_path)
    run_dir = tmp_path / "run"
    pipeline.execute(run_dir, {"PROFILE": "quick"}, selection=[notebook])
    pipeline.execute(run_dir, {"PROFILE": "quick"}, selection=[notebook])
    assert (run_dir / "derived" / "seen.txt").read_text() == "quick\nquick\n"
    attempts = json.loads((run_dir / "run.json").read_text())
    assert len(attempts) == 2 and all(a["parameters"] == {"PROFILE": "quick"} for a in attempts)
    executed = nbformat.read(run_dir / "notebooks" / "01_count.ipynb", as_version=4)
    # Outside the repository a notebook is named by its file name: no machine path in the metadata.
    assert executed.metadata.papermill.input_path == "01_count.ipynb"
    pipeline.execute(run_dir, {"PROFILE": "full"}, fresh=True, selection=[notebook])
    assert (run_dir / "derived" / "seen.txt").read_text() == "full\n"
    assert len(json.loads((run_dir / "run.json").read_text())) == 1


@pytest.mark.slow
def test_a_failing_notebook_is_named_with_how_to_resume(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("raise ValueError('bad input; drop those rows first.')")]
    nb.metadata["kernelspec"] = {"name": pipeline.KERNEL, "display_name": "Python", "language": "python"}
    path = tmp_path / "02_fails.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(RuntimeError, match=r"02_fails.ipynb failed in cell 1: ValueError: bad input.*run the same command again") as failure:
        pipeline.execute(tmp_path / "run", {}, selection=[path])
    assert "rows first. The executed notebook" in str(failure.value)  # one full stop, not two


@pytest.mark.slow
def test_kernels_start_without_the_unencrypted_tcp_warning(tmp_path, capfd):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import sys; print('ran', file=sys.stderr)")]
    nb.metadata["kernelspec"] = {"name": pipeline.KERNEL, "display_name": "Python", "language": "python"}
    path = tmp_path / "01_quiet.ipynb"
    nbformat.write(nb, path)
    pipeline.execute(tmp_path / "run", {}, selection=[path])
    executed = nbformat.read(tmp_path / "run" / "notebooks" / "01_quiet.ipynb", as_version=4)
    outputs = "".join(output.get("text", "") for output in executed.cells[0].outputs)
    assert outputs == "ran\n"
    assert "without encryption" not in capfd.readouterr().err


def test_make_studys_reading_options_become_from_csvs_keywords():
    assert pipeline.reading_options() == {}
    assert pipeline.reading_options("no", ";", ",", "?,-999", "yes", "cp1252") == {
        "sep": ";", "decimal": ",", "na": "?,-999", "encoding": "cp1252", "header": False, "one_hot": True,
    }
    assert pipeline.reading_options(header="yes") == {"header": True}


def test_study_refuses_a_bad_file_before_any_notebook_starts(tmp_path, capsys):
    csv = tmp_path / "euro.csv"
    csv.write_text("a;b;label\n1,5;?;yes\n2,5;red;no\n3,5;4;no\n")
    code = pipeline.main(["study", "--csv", str(csv), "--label", "label", "--name", "pytest-refused", "--decimal", "."])
    assert code == 2
    message = capsys.readouterr().err
    assert message.startswith("make study: euro: ") and "has 3 problems" in message
    assert "DECIMAL=, (decimal=',')" in message and "missing values" in message and "ONE_HOT=yes" in message
    assert not (pipeline.PROJECT_ROOT / "build" / "study" / "pytest-refused").exists()


def test_run_counts_split_this_attempts_runs_from_earlier_ones(tmp_path):
    (tmp_path / "derived").mkdir()
    pd.DataFrame({"finished_at": ["2026-12-01T10:00:00+00:00", "2026-12-02T10:00:00+00:00",
                                  "2026-12-02T11:00:00+00:00"]}).to_csv(tmp_path / "derived" / "runs.csv")
    assert timings.run_counts(tmp_path, "2026-12-02T09:00:00+00:00") == {"trained": 2, "resumed": 1, "from_reference": 0}


def test_timings_count_each_run_for_the_notebook_it_finished_in(tmp_path):
    """Two notebooks of an attempt, runs finished before it (resumed), during each, and in its last second."""
    (tmp_path / "derived").mkdir()
    attempt = {
        "started": "2026-12-02T10:00:00+00:00", "finished": "2026-12-02T10:10:00+00:00",
        "parameters": {"PROFILE": "quick"}, "seconds": {"01_a.ipynb": 120.0, "02_b.ipynb": 480.0},
        "notebook_started": {"01_a.ipynb": "2026-12-02T10:00:00.2+00:00", "02_b.ipynb": "2026-12-02T10:02:00.4+00:00"},
        "load_average_start": 0.5, "load_average_end": 1.5,
    }
    (tmp_path / "run.json").write_text(json.dumps([{"started": "2026-12-01T09:00:00+00:00"}, attempt]))
    pd.DataFrame({
        "finished_at": ["2026-12-01T09:30:00+00:00", "2026-12-02T10:01:00+00:00", "2026-12-02T10:05:00+00:00",
                        "2026-12-02T10:09:59+00:00", "2026-12-02T10:10:00+00:00"],
        "device": ["cpu (compiled engine)", "cpu (compiled engine)", "cpu (torch engine)", "cpu (compiled engine)",
                   "cpu (compiled engine)"],
    }).to_csv(tmp_path / "derived" / "runs.csv", index=False)
    pd.DataFrame({"dataset": ["HIGGS"], "rows used": [300], "origin": ["mirror"]}).to_csv(
        tmp_path / "derived" / "datasets.csv", index=False)
    path = timings.write_timings(tmp_path, attempt, "make quick")
    measured = json.loads(path.read_text())
    assert path == tmp_path / "derived" / "timings.json"
    assert measured["notebooks"] == [{"notebook": "01_a.ipynb", "seconds": 120.0, "runs_trained": 1},
                                    {"notebook": "02_b.ipynb", "seconds": 480.0, "runs_trained": 3}]
    assert measured["runs"] == {"trained": 4, "resumed": 1} and measured["attempts"] == 2
    assert measured["engines"] == {"cpu (compiled engine)": 3, "cpu (torch engine)": 1}
    assert measured["seconds"] == 600.0 and measured["profile"] == "quick" and measured["command"] == "make quick"
    assert measured["data"] == {"HIGGS": {"rows": 300, "origin": "mirror"}}
    assert measured["machine"]["cores"] >= 1 and measured["machine"]["load_average_end"] == 1.5


def _tables(folder, sha, acc, verdict, program):
    folder.mkdir(parents=True)
    pd.DataFrame({"dataset": ["HIGGS"], "source": ["h.csv.gz"], "sha256": [sha], "rows used": [100]}).to_csv(
        folder / "datasets.csv", index=False)
    pd.DataFrame({"Dataset": ["HIGGS"], "Architecture": ["Light"], "Activation": ["ReLU"], "Acc": [acc],
                  "AUC": [0.7]}).to_csv(folder / "table2.csv", index=False)
    pd.DataFrame({"id": ["c"], "dataset": ["HIGGS"], "mean_paper": [0.01], "mean_tuned": [0.02],
                  "verdict_paper_budget": [verdict], "verdict_tuned_budget": ["holds"]}).to_csv(
        folder / "claims.csv", index=False)
    record = {"dataset": "HIGGS", "seed": 42, "program": program,
              "settings": {"population_size": 500, "generations": 5}}
    (folder / "formulas.json").write_text(json.dumps({"k": record}))


def test_report_judges_numbers_on_the_same_data_with_their_tolerances(tmp_path):
    _tables(tmp_path / "reference", "abc", 0.700, "holds", "cos(X1)")
    _tables(tmp_path / "run" / "derived", "abc", 0.705, "does not hold", "cos(X1)")
    path, summary = reproduction.write_report(tmp_path / "run", tmp_path / "reference",
                                              {"trained": 3, "resumed": 0, "from_reference": 0}, ["header"])
    numbers = reproduction.key_numbers(tmp_path / "run" / "derived", tmp_path / "reference")[1].set_index(["table", "number"])
    assert numbers.loc[("table2.csv", "Acc"), "status"] == "within"  # 0.005 <= 0.01
    assert numbers.loc[("claims.csv", "verdict_paper_budget"), "status"] == "OUT of tolerance"
    assert numbers.loc[("claims.csv", "verdict_tuned_budget"), "status"] == "within"
    assert numbers.loc[("formulas.json", "program"), "status"] == "within"
    assert "1 are out of tolerance" in summary[2] and "The data are the reference's" in path.read_text()
    assert path.read_text().splitlines()[2] == f"nsa-compendium {__version__} (cite it with `CITATION.cff`)."


def test_report_shows_but_does_not_judge_numbers_of_other_data(tmp_path):
    _tables(tmp_path / "reference", "abc", 0.700, "holds", "cos(X1)")
    _tables(tmp_path / "run" / "derived", "def", 0.650, "does not hold", "sin(X2)")
    path, summary = reproduction.write_report(tmp_path / "run", tmp_path / "reference",
                                              {"trained": 3, "resumed": 0, "from_reference": 0}, [])
    text = path.read_text()
    assert "The data differ from the reference's for HIGGS" in text
    assert "out of tolerance" not in summary[2] and "were computed on other data" in summary[2]
    assert "| data differ: differs |" in re.sub(r" {2,}", " ", text) and "0.6500" in text and "0.7000" in text


def _two_data_sets(folder, higgs_sha, transfer_auc, claim_mean):
    """Reference-shaped tables by hand: HIGGS and FOREST_COVER, a Transfer row and a claim that uses HIGGS's formula."""
    folder.mkdir(parents=True)
    pd.DataFrame({"dataset": ["HIGGS", "FOREST_COVER"], "source": ["h.csv.gz", "c.data.gz"],
                  "sha256": [higgs_sha, "fff"], "rows used": [100, 200]}).to_csv(folder / "datasets.csv", index=False)
    pd.DataFrame({"Dataset": "FOREST_COVER", "Architecture": "Light", "Activation": ["ReLU", "Hybrid (Transfer)"],
                  "Acc": 0.8, "AUC": [0.88, transfer_auc]}).to_csv(folder / "table2.csv", index=False)
    pd.DataFrame({"id": ["t", "x", "r"], "dataset": "FOREST_COVER",
                  "claim": ["Transfer (HIGGS) beats Light ReLU", "Paper's HIGGS formula x*cos(x) beats Light ReLU",
                            "Light GELU beats Light ReLU"],
                  "mean_paper": [claim_mean, 0.5, 0.1], "mean_tuned": [0.0, 0.5, 0.1],
                  "verdict_paper_budget": "holds", "verdict_tuned_budget": "holds"}).to_csv(
        folder / "claims.csv", index=False)


def test_report_shows_numbers_that_use_another_data_sets_formula_as_depending_on_data_that_differ(tmp_path):
    _two_data_sets(tmp_path / "reference", "abc", 0.90, 0.01)
    _two_data_sets(tmp_path / "run" / "derived", "new", 0.85, 0.01)  # only HIGGS's file differs
    numbers = reproduction.key_numbers(tmp_path / "run" / "derived", tmp_path / "reference")[1]
    status = {(row.table, row.key, row.number): row.status for row in numbers.itertuples()}
    assert status[("table2.csv", "FOREST_COVER / Light / Hybrid (Transfer)", "AUC")] == \
        "depends on data that differ (HIGGS): differs"  # 0.05 apart: not "OUT of tolerance"
    assert status[("table2.csv", "FOREST_COVER / Light / Hybrid (Transfer)", "Acc")] == \
        "depends on data that differ (HIGGS)"
    assert status[("table2.csv", "FOREST_COVER / Light / ReLU", "AUC")] == "within"
    assert status[("claims.csv", "t / FOREST_COVER", "mean_paper")] == "depends on data that differ (HIGGS)"
    assert status[("claims.csv", "x / FOREST_COVER", "mean_paper")] == "within"  # the paper's printed formula
    assert status[("claims.csv", "r / FOREST_COVER", "verdict_paper_budget")] == "within"
    assert "or with a formula found on other data" in reproduction.verdict(numbers)


def test_formula_sources_name_the_data_sets_a_row_uses():
    names = ["HIGGS", "FOREST_COVER", "SPAMBASE"]
    assert reproduction.formula_sources("HIGGS formula, GP seed 43 beats Light ReLU", names) == {"HIGGS"}
    assert reproduction.formula_sources("SPAMBASE / Light / Hybrid (Transfer)", names) == {"SPAMBASE", "HIGGS"}
    assert reproduction.formula_sources("Light GELU beats Light ReLU", names) == set()
    assert reproduction.formula_sources("Paper's HIGGS formula x*cos(x) beats Light ReLU", names) == set()


def test_formulas_are_compared_on_the_full_data_not_on_the_method_draws_subsamples(tmp_path):
    settings = {"population_size": 500, "generations": 5}
    for side, draw_program in (("run", "cos(X1)"), ("reference", "sin(X2)")):
        folder = tmp_path / side
        folder.mkdir()
        full = {"dataset": "HIGGS", "seed": 42, "program": "abs(X3)", "rows_used": 1000, "settings": settings}
        draw = {**full, "program": draw_program}  # seed 42 on a 900-row subsample: another draw of the method
        (folder / "formulas.json").write_text(json.dumps({
            "HIGGS|rows=900|seed=42|data=aa": draw, "HIGGS|rows=1000|seed=42|data=bb": full}))
    compared = reproduction.compare_formulas(tmp_path / "run", tmp_path / "reference", {"HIGGS": True})
    assert compared[["run", "reference", "status"]].values.tolist() == [["abs(X3)", "abs(X3)", "within"]]
