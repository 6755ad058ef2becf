"""What a headless run measured of itself: wall time per notebook, runs trained, the machine, in ``timings.json``.

``make reproduce``, ``make quick`` and ``make study`` write it into their run folder's ``derived/``; the
reproduce run copies it back beside the other tables, and ``docs/timing.md``'s table is generated from it
(``nslib.publish.readme_results.update_docs``).
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from nslib.core.files import atomic_write
from nslib.core.parallel import JOBS_VARIABLE, SCHEDULER_VARIABLE


def _cpu_model() -> str:
    """The processor's name from /proc/cpuinfo (Linux); elsewhere what ``platform`` knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine(attempt: Mapping[str, object]) -> dict[str, object]:
    """The machine an attempt ran on: system, processor, cores, memory, where training ran, load."""
    return {
        "platform": platform.platform(terse=True), "cpu": _cpu_model(), "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "jobs": os.environ.get(JOBS_VARIABLE), "dask_scheduler": os.environ.get(SCHEDULER_VARIABLE),
        "load_average_start": attempt.get("load_average_start"), "load_average_end": attempt.get("load_average_end"),
    }


def timings(run_dir: Path, attempt: Mapping, command: str) -> dict[str, object]:
    """How long ``attempt`` took: each notebook's seconds and the runs of ``runs.csv`` it trained, and on what.

    A run counts for the notebook during which it finished (``runs.csv`` stamps it to the
    second); runs finished before the attempt started were resumed and count for none.
    """
    from nslib.core.repro import versions_text

    derived = run_dir / "derived"
    names = list(attempt["seconds"])
    per_notebook = pd.Series(0, index=names)
    engines: dict[str, int] = {}
    if (derived / "runs.csv").exists():
        runs = pd.read_csv(derived / "runs.csv", usecols=["finished_at", "device"])
        # The first notebook's runs start with the attempt, as run_counts counts them; runs.csv and the
        # attempt's end are stamped to the second, so a run of the attempt's last second is its own too.
        starts = [attempt["started"], *(attempt["notebook_started"][name] for name in names[1:])]
        edges = pd.to_datetime([*starts, attempt["finished"]], utc=True, format="ISO8601")
        edges += pd.to_timedelta([0] * len(names) + [1], "s")
        notebook = pd.cut(pd.to_datetime(runs["finished_at"], utc=True), bins=edges, labels=names, right=False)
        per_notebook = notebook.value_counts().reindex(names, fill_value=0)
        engines = runs.loc[notebook.notna(), "device"].value_counts().to_dict()
    data = {}
    if (derived / "datasets.csv").exists():
        table = pd.read_csv(derived / "datasets.csv")
        data = {row["dataset"]: {"rows": int(row["rows used"]), "origin": row["origin"]} for _, row in table.iterrows()}
    counts = run_counts(run_dir, attempt["started"])
    return {
        "command": command, "profile": attempt["parameters"].get("PROFILE"),
        "started": attempt["started"], "finished": attempt["finished"],
        "attempts": len(json.loads((run_dir / "run.json").read_text())),
        "seconds": round(sum(attempt["seconds"].values()), 1),
        "notebooks": [{"notebook": name, "seconds": attempt["seconds"][name], "runs_trained": int(per_notebook[name])}
                      for name in names],
        "runs": {"trained": counts["trained"], "resumed": counts["resumed"]},
        "engines": {str(name): int(count) for name, count in engines.items()},
        "machine": machine(attempt), "data": data, "versions": versions_text(),
    }


def write_timings(run_dir: Path, attempt: Mapping, command: str) -> Path:
    """Write ``timings(...)`` to ``run_dir/derived/timings.json`` (copied back with the tables); return its path."""
    path = run_dir / "derived" / "timings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "w") as handle:
        handle.write(json.dumps(timings(run_dir, attempt, command), indent=2) + "\n")
    return path


def run_counts(run_dir: Path, started: str) -> dict[str, int]:
    """How many runs in ``run_dir``'s ``runs.csv`` were trained since ``started``, and how many before."""
    path = run_dir / "derived" / "runs.csv"
    if not path.exists():
        return {"trained": 0, "resumed": 0, "from_reference": 0}
    finished = pd.to_datetime(pd.read_csv(path, usecols=["finished_at"])["finished_at"], utc=True)
    now = finished >= pd.Timestamp(started)
    return {"trained": int(now.sum()), "resumed": int((~now).sum()), "from_reference": 0}
