"""The whole study, headless: every notebook executed by papermill into a run folder of its own.

``make reproduce``, ``make quick`` and ``make study`` all come here. A run folder
(``build/reproduce/`` by default) holds the executed notebooks, ``derived/``
(every table, ``runs.csv`` and ``formulas.json``, and ``timings.json``: how long
the last attempt took, per notebook, and on what machine), ``figures/``, ``run.json``
(the attempts, their parameters and times) and ``REPORT.md``. Notebooks read
and write only that folder, never the committed ``data/derived/``, so every
number is recomputed. Started again after an interruption, a run resumes in
the same folder: finished runs and formulas are read back from its own
``derived/`` (their cache keys hold the data's fingerprint and the code's
version, so nothing of other data or older code is reused); ``fresh=True``
empties the folder first.

``reproduce`` then writes the reproduction report (``nslib.publish.reproduction``) and,
for the full profile, copies the notebooks, tables and figures back over the
committed ones and regenerates the README's Results and the generated tables of
``docs/results.md`` and ``docs/timing.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from nslib.core.paths import (
    NOTEBOOK_DIR,
    PROJECT_ROOT,
    notebooks,
    reference_dir,
    reference_figures_dir,
    shown,
)
from nslib.publish.timings import run_counts, write_timings

KERNEL = "nsa-compendium"
CELL_TIMEOUT = 1800  # seconds; a hung kernel must not hang a headless run
# Kernels talk over Unix sockets, not TCP: over TCP ipykernel warns at every start that nothing is encrypted.
KERNEL_CONFIG = {"KernelManager": {"transport": "ipc"}}


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the kernels papermill starts, then restore them."""
    old = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in old.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def execute(run_dir: Path, parameters: Mapping[str, object], *, fresh: bool = False,
            selection: Sequence[Path] | None = None) -> dict:
    """Execute the notebooks into ``run_dir`` with ``parameters``; return this attempt's record.

    The record (also appended to ``run_dir/run.json``) holds the start time, the
    parameters and each notebook's seconds. A failing notebook stops the run
    with a RuntimeError that names it; its partial output is kept in the folder.
    """
    import papermill
    from traitlets.config import Config

    if fresh and run_dir.exists():
        shutil.rmtree(run_dir)
    (run_dir / "notebooks").mkdir(parents=True, exist_ok=True)
    log_path = run_dir / "run.json"
    attempts = json.loads(log_path.read_text()) if log_path.exists() else []
    attempt = {"started": _now(), "parameters": dict(parameters), "seconds": {}, "notebook_started": {},
               "load_average_start": os.getloadavg()[0]}
    attempts.append(attempt)
    environment = {
        "NSLIB_DERIVED_DIR": str((run_dir / "derived").resolve()),
        "NSLIB_FIGURES_DIR": str((run_dir / "figures").resolve()),
        "NSLIB_PROGRESS": "summary",
    }
    with _environment(environment):
        for notebook in selection or notebooks():
            print(f"== {notebook.name}", flush=True)
            start = time.perf_counter()
            attempt["notebook_started"][notebook.name] = datetime.now(timezone.utc).isoformat()
            try:
                papermill.execute_notebook(
                    notebook, run_dir / "notebooks" / notebook.name, parameters=dict(parameters),
                    kernel_name=KERNEL, cwd=str(NOTEBOOK_DIR), execution_timeout=CELL_TIMEOUT,
                    progress_bar=sys.stderr.isatty(), config=Config(KERNEL_CONFIG),
                )
            except papermill.PapermillExecutionError as error:
                raise RuntimeError(
                    f"{notebook.name} failed in cell {error.exec_count}: {error.ename}: {error.evalue.rstrip('.')}. "
                    f"The executed notebook, up to the error, is {shown(run_dir / 'notebooks' / notebook.name)}; "
                    "fix the cause and run the same command again to resume."
                ) from None
            finally:
                attempt["seconds"][notebook.name] = round(time.perf_counter() - start, 1)
                log_path.write_text(json.dumps(attempts, indent=2) + "\n")
            _readable_paths(run_dir / "notebooks" / notebook.name)
    attempt["finished"] = _now()
    attempt["load_average_end"] = os.getloadavg()[0]
    log_path.write_text(json.dumps(attempts, indent=2) + "\n")
    return attempt


def _readable_paths(path: Path) -> None:
    """Replace the absolute paths papermill records in a notebook's metadata by ``shown`` ones.

    The executed notebooks are committed and read; a machine's folders mean nothing there.
    """
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    record = notebook.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        if record.get(key):
            record[key] = shown(record[key])
    nbformat.write(notebook, path)


def _copy_back(run_dir: Path) -> None:
    """Replace the committed notebooks, tables and figures with the run's."""
    for source, target in ((run_dir / "notebooks", NOTEBOOK_DIR), (run_dir / "derived", reference_dir()),
                           (run_dir / "figures", reference_figures_dir())):
        target.mkdir(parents=True, exist_ok=True)
        for path in sorted(source.iterdir()):
            if path.is_file() and not path.name.startswith("."):
                shutil.copy2(path, target / path.name)


def reproduce(run_dir: Path, *, profile: str = "full", fresh: bool = False, copy_back: bool = True) -> int:
    """The whole study recomputed in ``run_dir``, its report, and (full profile) the copy back; 0 when done (a failing notebook raises RuntimeError)."""
    from nslib.core.repro import versions_text
    from nslib.publish import readme_results, reproduction

    start = time.perf_counter()
    attempt = execute(run_dir, {"PROFILE": profile}, fresh=fresh)
    write_timings(run_dir, attempt, "make reproduce")
    counts = run_counts(run_dir, attempt["started"])
    header = [
        f"Profile `{profile}`; run folder `{shown(run_dir)}`; started {attempt['started']}, "
        f"finished {attempt['finished']}.",
        "Seconds per notebook: " + ", ".join(f"{name} {s:.0f}" for name, s in attempt["seconds"].items()) + ".",
        f"Versions: {versions_text()}.",
        f"Reference: the committed `{shown(reference_dir())}`.",
    ]
    path, summary = reproduction.write_report(run_dir, reference_dir(), counts, header)
    copied = copy_back and profile == "full"
    if copied:
        _copy_back(run_dir)
        readme_results.update_readme()
        readme_results.update_docs()
    print("\n".join(["", f"Reproduction report: {shown(path)}", *(f"- {line}" for line in summary),
                     "Copied back: notebooks/, data/derived/, figures/, the README's Results and docs/' generated tables."
                     if copied else f"Not copied back (profile {profile!r}); the outputs stay in {shown(run_dir)}.",
                     f"Total time: {time.perf_counter() - start:.0f} s"]))
    return 0


def quick(run_dir: Path) -> int:
    """Every notebook with the quick profile, into a fresh ``run_dir``; 0 when done (a failing notebook raises RuntimeError)."""
    start = time.perf_counter()
    attempt = execute(run_dir, {"PROFILE": "quick"}, fresh=True)
    write_timings(run_dir, attempt, "make quick")
    print(f"\nExecuted notebooks, tables and figures: {shown(run_dir)}\nTotal time: {time.perf_counter() - start:.0f} s")
    return 0


def _label(value: str) -> str | int:
    """A label column from the command line: an integer position ("0", "-1") or a column name."""
    return int(value) if value.lstrip("-").isdigit() else value


def reading_options(header: str = "auto", sep: str | None = None, decimal: str | None = None,
                    na: str | None = None, one_hot: str = "no", encoding: str | None = None) -> dict[str, object]:
    """``make study``'s HEADER=, SEP=, DECIMAL=, NA=, ONE_HOT= and ENCODING= as ``from_csv``'s keywords.

    ``header`` and ``one_hot`` are "yes" or "no" (``header`` also "auto": detect);
    the others pass as they are, and only those given.
    """
    options = {"sep": sep, "decimal": decimal, "na": na, "encoding": encoding}
    options = {key: value for key, value in options.items() if value is not None}
    if header != "auto":
        options["header"] = header == "yes"
    if one_hot == "yes":
        options["one_hot"] = True
    return options


def study(csv: Path, label: str, *, positive: str | None = None, name: str | None = None,
          profile: str = "full", fresh: bool = False, options: Mapping[str, object] | None = None) -> int:
    """The whole study on a user's CSV (with HIGGS as the transfer's source) into ``build/study/<name>``.

    The file is read first, by the notebooks' own ``load_selection`` with the
    same ``options`` (``reading_options``): a file that cannot be used stops
    here, with every problem and its fix, before any notebook starts.
    """
    from nslib.core.repro import versions_text
    from nslib.data.catalog import DataError
    from nslib.data.datasets import load_selection
    from nslib.publish import study_report

    csv = csv.expanduser().resolve()
    if not csv.is_file():
        print(f"make study: CSV={csv} is not a file; give the path of your data file.", file=sys.stderr)
        return 2
    options = dict(options or {})
    try:
        dataset = next(iter(load_selection([], user_csv=csv, user_label=_label(label), user_positive=positive,
                                           user_options=options).values()))
    except DataError as error:
        print(f"make study: {error}", file=sys.stderr)
        return 2
    record = dataset.provenance
    print(f"{csv.name}: {dataset.n_rows:,} rows, {dataset.n_features} features; header: {record.header}; "
          f"label: {record.label_rule}. {record.note}", flush=True)
    name = name or csv.name.split(".")[0]
    run_dir = PROJECT_ROOT / "build" / "study" / name
    parameters = {"PROFILE": profile, "DATASETS": ["HIGGS"], "USER_CSV": str(csv), "USER_LABEL": _label(label),
                  "USER_POSITIVE": positive, "USER_CSV_OPTIONS": options}
    start = time.perf_counter()
    attempt = execute(run_dir, parameters, fresh=fresh)
    write_timings(run_dir, attempt, "make study")
    used = pd.read_csv(run_dir / "derived" / "datasets.csv")["dataset"]
    dataset = next(value for value in used if value != "HIGGS")
    counts = run_counts(run_dir, attempt["started"])
    header = [
        f"File `{csv.name}`, label column `{label}`" + (f", positive class `{positive}`" if positive else "")
        + f"; profile `{profile}`; run folder `{shown(run_dir)}`.",
        f"Runs: {counts['trained']} trained now, {counts['resumed']} resumed from an earlier attempt.",
        f"Versions: {versions_text()}.",
    ]
    path = study_report.write_report(run_dir, dataset, header)
    print(f"\nStudy report: {shown(path)}\nNotebooks, tables and figures: {shown(run_dir)}\n"
          f"Total time: {time.perf_counter() - start:.0f} s")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m nslib.publish.pipeline reproduce|quick|study [options]``."""
    parser = argparse.ArgumentParser(prog="python -m nslib.publish.pipeline", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("reproduce", help="the whole study, recomputed, with its report")
    run.add_argument("--run-dir", type=Path, default=PROJECT_ROOT / "build" / "reproduce")
    run.add_argument("--profile", default="full")
    run.add_argument("--fresh", action="store_true", help="empty the run folder first")
    run.add_argument("--no-copy-back", dest="copy_back", action="store_false")
    smoke = commands.add_parser("quick", help="every notebook with the quick profile")
    smoke.add_argument("--run-dir", type=Path, default=PROJECT_ROOT / "build" / "quick")
    own = commands.add_parser("study", help="the whole study on your own CSV file")
    own.add_argument("--csv", type=Path, required=True)
    own.add_argument("--label", required=True, help="the label column's name, or its position (0, -1)")
    own.add_argument("--positive", help="the label value that counts as the positive class")
    own.add_argument("--name", help="the study's name (default: the file's name)")
    own.add_argument("--profile", default="full")
    own.add_argument("--fresh", action="store_true", help="empty the study folder first")
    own.add_argument("--header", choices=("yes", "no", "auto"), default="auto", help="whether line 1 names the columns")
    own.add_argument("--sep", help="the separator: one character, or comma, semicolon, tab, pipe, space")
    own.add_argument("--decimal", help="the decimal mark, . or ,")
    own.add_argument("--na", help="more values that mark a missing value, separated by commas (e.g. -999,unknown)")
    own.add_argument("--one-hot", choices=("yes", "no"), default="no", help="one-hot encode text feature columns")
    own.add_argument("--encoding", help="the file's text encoding, e.g. cp1252, latin-1, utf-16")
    args = parser.parse_args(argv)
    try:
        if args.command == "study":
            options = reading_options(args.header, args.sep, args.decimal, args.na, args.one_hot, args.encoding)
            return study(args.csv, args.label, positive=args.positive, name=args.name, profile=args.profile,
                         fresh=args.fresh, options=options)
        if args.command == "reproduce":
            return reproduce(args.run_dir, profile=args.profile, fresh=args.fresh, copy_back=args.copy_back)
        return quick(args.run_dir)
    except RuntimeError as error:  # a notebook failed: execute names it and says how to resume
        print(f"\nmake {args.command} stopped: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
