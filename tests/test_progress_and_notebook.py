"""Headless progress lines and one-line warnings: what saved notebooks show."""

import warnings

from nslib.core import notebook
from nslib.core.progress import SummaryBar, progress


def test_headless_progress_prints_one_finished_line(monkeypatch, capsys):
    monkeypatch.setenv("NSLIB_PROGRESS", "summary")
    with progress(total=30, desc="training 2 runs", unit="epoch") as bar:
        bar.update(10)
        bar.update(20)
    assert isinstance(bar, SummaryBar)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("training 2 runs: 30 epochs in ")
    assert "0%" not in out[0]


def test_headless_progress_over_an_iterable_counts_every_item(monkeypatch, capsys):
    monkeypatch.setenv("NSLIB_PROGRESS", "summary")
    assert list(progress(range(4), desc="GP seeds (HIGGS)")) == [0, 1, 2, 3]
    assert capsys.readouterr().out.startswith("GP seeds (HIGGS): 4 steps in ")


def test_a_disabled_headless_bar_prints_nothing(monkeypatch, capsys):
    monkeypatch.setenv("NSLIB_PROGRESS", "summary")
    with progress(total=3, disable=True) as bar:
        bar.update(3)
    assert capsys.readouterr().out == ""


def test_interactive_progress_is_tqdm(monkeypatch):
    monkeypatch.delenv("NSLIB_PROGRESS", raising=False)
    bar = progress(total=1, disable=True)
    assert not isinstance(bar, SummaryBar) and hasattr(bar, "format_dict")


def test_setup_shows_warnings_without_the_source_line(monkeypatch, capsys):
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)
    notebook.setup()
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("HIGGS: 100,000 rows were asked for", UserWarning)
    out = capsys.readouterr()
    assert out.out == "Note (UserWarning): HIGGS: 100,000 rows were asked for\n"
    assert ".py:" not in out.out + out.err
