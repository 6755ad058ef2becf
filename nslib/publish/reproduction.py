"""The reproduction report: this run's key numbers beside the committed reference.

``make reproduce`` computes every table in a run folder of its own and then
calls ``write_report``, which sets the run's key numbers beside the committed
``data/derived/`` tables: the data each was computed on, the paper grid's cells,
the baselines, the verdicts and the formulas, each with its tolerance and
whether it is within it. Where a data set's fingerprint differs from the
reference's (the full download against the offline mirror, say), its numbers
are shown but not judged: other data give other numbers. So are the numbers
that depend on it through a formula (``formula_sources``): a Forest Cover
Transfer number uses the formula GP found on HIGGS, and is shown as "depends on
data that differ (HIGGS)" when HIGGS's data differ.

Tolerances. The same code on the same data with the same seeds gives the same
numbers on one kind of CPU; on another, float rounding differs and training
amplifies it. ``METRIC_TOLERANCE`` (0.01 of accuracy or AUC, about one seed's
standard deviation in the grid) absorbs that; formulas and verdicts must agree
exactly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from nslib import __version__
from nslib.experiments.transfer import PAPER_FORMULA_LABEL, SOURCE
from nslib.publish.markdown import markdown_table

METRIC_TOLERANCE = 0.01


@dataclass(frozen=True)
class KeyTable:
    """One derived table's key numbers: the file, its identifying columns and the compared values."""

    file: str
    title: str
    keys: tuple[str, ...]
    numbers: tuple[str, ...] = ()
    exact: tuple[str, ...] = ()
    dataset_column: str = "dataset"
    text_columns: tuple[str, ...] = ()  # columns that name a row's formulas, for ``formula_sources``


KEY_TABLES = (
    KeyTable("table2.csv", "The paper's grid (mean over seeds)", ("Dataset", "Architecture", "Activation"),
             numbers=("Acc", "AUC"), dataset_column="Dataset", text_columns=("Activation",)),
    KeyTable("baselines.csv", "Baselines on the same splits", ("dataset", "model"), numbers=("acc", "auc")),
    KeyTable("claims.csv", "The claims register", ("id", "dataset"), numbers=("mean_paper", "mean_tuned"),
             exact=("verdict_paper_budget", "verdict_tuned_budget"), text_columns=("claim",)),
)


def formula_sources(text: str, names: Iterable[str]) -> set[str]:
    """The data sets whose discovered formula a row named by ``text`` uses: every one of ``names`` it mentions
    ("Transfer (HIGGS)", "HIGGS formula, GP seed 43"), and the transfer source for the paper's "Hybrid
    (Transfer)". The paper's printed x*cos(x) depends on no data set of ours."""
    text = text.replace(PAPER_FORMULA_LABEL, "")
    found = {name for name in names if re.search(rf"(?<![A-Za-z_]){re.escape(name)}(?![A-Za-z_])", text)}
    return found | ({SOURCE} if "Hybrid (Transfer)" in text else set())


def fingerprints(derived: Path) -> pd.DataFrame:
    """Per data set: the file, its sha256 (short) and the rows used, from ``datasets.csv``."""
    path = derived / "datasets.csv"
    if not path.exists():
        return pd.DataFrame(columns=["dataset", "source", "sha256", "rows used"]).set_index("dataset")
    return pd.read_csv(path, dtype={"sha256": str}).set_index("dataset")[["source", "sha256", "rows used"]]


def data_comparison(run: Path, reference: Path) -> pd.DataFrame:
    """This run's data fingerprints beside the reference's, with ``same`` per data set."""
    ours, theirs = fingerprints(run), fingerprints(reference)
    table = ours.join(theirs, how="outer", suffixes=(" (run)", " (reference)"))
    why = []
    for a, b, r1, r2 in zip(table["sha256 (run)"], table["sha256 (reference)"],
                            table["rows used (run)"], table["rows used (reference)"]):
        why.append("same" if a == b and r1 == r2 else "other file" if a != b else "other rows used")
    table["same"] = [reason == "same" for reason in why]
    table["difference"] = why
    return table


def _formula_table(derived: Path) -> pd.DataFrame:
    path = derived / "formulas.json"
    if not path.exists():
        return pd.DataFrame(columns=["dataset", "seed", "settings", "program"])
    # Formulas found on all of a data set's rows; the method's draws on subsamples (``rows=`` fewer than the data
    # set's in their cache key) are compared through method_draws.csv instead.
    records = [record for key, record in json.loads(path.read_text()).items()
               if "rows_used" not in record or f"|rows={record['rows_used']}|" in key]
    return pd.DataFrame([
        {"dataset": r["dataset"], "seed": r["seed"], "program": r["program"],
         "settings": f"population {r['settings']['population_size']}, {r['settings']['generations']} generations"}
        for r in records
    ], columns=["dataset", "seed", "program", "settings"]).drop_duplicates(["dataset", "seed", "settings"])


def _status(same_data: bool, ours: object, theirs: object, tolerance: float | None,
            other_sources: Iterable[str] = ()) -> str:
    if pd.isna(ours) or pd.isna(theirs):
        return "missing"
    if tolerance is None:
        ok = ours == theirs
    else:
        ok = abs(float(ours) - float(theirs)) <= tolerance
    if not same_data:
        return "data differ" + ("" if ok else ": differs")
    if other_sources:
        return f"depends on data that differ ({', '.join(sorted(other_sources))})" + ("" if ok else ": differs")
    return "within" if ok else "OUT of tolerance"


def compare_table(spec: KeyTable, run: Path, reference: Path, same: dict[str, bool]) -> pd.DataFrame:
    """One row per key number of ``spec``: this run's value, the reference's, the tolerance and the status."""
    paths = run / spec.file, reference / spec.file
    if not all(path.exists() for path in paths):
        missing = [str(path.parent.name + "/" + path.name) for path in paths if not path.exists()]
        return pd.DataFrame([{"table": spec.file, "key": "-", "number": "-", "run": None, "reference": None,
                              "tolerance": "-", "status": f"missing: {', '.join(missing)}"}])
    ours, theirs = (pd.read_csv(path).set_index(list(spec.keys)) for path in paths)
    rows = []
    for key in ours.index.union(theirs.index):
        dataset = key[list(spec.keys).index(spec.dataset_column)]
        same_data = same.get(dataset, False)
        named = " ".join(str(part) for part in key) + " " + " ".join(
            str(table[column].get(key, "")) for table in (ours, theirs) if key in table.index
            for column in spec.text_columns if column in table.columns)
        differing = {name for name in formula_sources(named, same) if not same[name] and name != dataset}
        for column, tolerance in [*((c, METRIC_TOLERANCE) for c in spec.numbers), *((c, None) for c in spec.exact)]:
            a = ours[column].get(key) if key in ours.index else None
            b = theirs[column].get(key) if key in theirs.index else None
            rows.append({
                "table": spec.file, "key": " / ".join(str(part) for part in key), "number": column,
                "run": a, "reference": b, "tolerance": "exact" if tolerance is None else f"±{tolerance}",
                "status": _status(same_data, a, b, tolerance, differing),
            })
    return pd.DataFrame(rows)


def compare_formulas(run: Path, reference: Path, same: dict[str, bool]) -> pd.DataFrame:
    """Every GP program of the run beside the reference's (same data set, seed and settings): exact match."""
    keys = ["dataset", "seed", "settings"]
    table = _formula_table(run).merge(_formula_table(reference), on=keys, how="outer", suffixes=(" (run)", " (reference)"))
    return pd.DataFrame([{
        "table": "formulas.json", "key": f"{row['dataset']} / seed {row['seed']} / {row['settings']}",
        "number": "program", "run": row["program (run)"], "reference": row["program (reference)"],
        "tolerance": "exact", "status": _status(same.get(row["dataset"], False), row["program (run)"],
                                               row["program (reference)"], None),
    } for _, row in table.iterrows()])


def key_numbers(run: Path, reference: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The data comparison and every key number's comparison."""
    data = data_comparison(run, reference)
    same = data["same"].to_dict()
    numbers = pd.concat([*(compare_table(spec, run, reference, same) for spec in KEY_TABLES),
                         compare_formulas(run, reference, same)], ignore_index=True)
    return data, numbers


def verdict(numbers: pd.DataFrame) -> str:
    """One sentence: how many key numbers are within tolerance, how many differ by the data, how many are out."""
    status = numbers["status"]
    within, out = int((status == "within").sum()), int((status == "OUT of tolerance").sum())
    other_data = int((status.str.startswith("data differ") | status.str.startswith("depends on data")).sum())
    missing = int(status.str.startswith("missing").sum())
    judged = within + out
    text = f"{within} of {judged} key numbers computed on the reference's data are within tolerance"
    if out:
        text += f"; **{out} are out of tolerance**"
    if other_data:
        text += (f"; {other_data} were computed on other data, or with a formula found on other data, "
                 "and are shown, not judged")
    if missing:
        text += f"; {missing} are missing from one side"
    return text + "."


def write_report(run_dir: Path, reference: Path, runs: dict[str, int], header: list[str]) -> tuple[Path, list[str]]:
    """Write ``run_dir/REPORT.md``; return its path and a short summary for the terminal.

    ``runs`` counts the runs of ``runs.csv``: ``trained`` in this invocation,
    ``resumed`` (finished by an earlier, interrupted invocation in the same run
    folder) and ``from_reference`` (always 0: the run folder never reads the
    committed tables). ``header`` holds the lines that open the report
    (profile, times, versions).
    """
    derived = run_dir / "derived"
    data, numbers = key_numbers(derived, reference)
    differ = [name for name, same in data["same"].items() if not same]
    data_note = (
        "The data are the reference's for every data set."
        if not differ else
        f"**The data differ from the reference's for {', '.join(differ)}**: their numbers are shown beside the "
        "reference's but not judged, since other rows give other numbers."
    )
    summary = [
        f"runs: {runs['trained']} trained now, {runs['resumed']} resumed from an earlier attempt in this folder, "
        f"{runs['from_reference']} read from the committed tables",
        data_note.replace("**", ""),
        verdict(numbers).replace("**", ""),
    ]
    text = "\n\n".join([
        "# Reproduction report",
        f"nsa-compendium {__version__} (cite it with `CITATION.cff`).",
        "\n".join(header),
        "## Data\n\n" + data_note + "\n\n" + markdown_table(data.reset_index()),
        "## Runs\n\n" + summary[0] + ".",
        f"## Key numbers\n\n{verdict(numbers)} Tolerances: accuracy, AUC and mean differences "
        f"±{METRIC_TOLERANCE} (float rounding differs between CPUs and training amplifies it); "
        "programs and verdicts exactly.\n\n" + markdown_table(numbers),
    ]) + "\n"
    path = run_dir / "REPORT.md"
    path.write_text(text)
    return path, summary
