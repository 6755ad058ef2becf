"""What a headless run measured of itself: wall time per notebook, runs trained, the machine, in ``timings.json``.

``make reproduce``, ``make quick`` and ``make study`` write it into their run folder's ``derived/``; the
reproduce run copies it back beside the other tables, and ``docs/timing.md``'s table is generated from it
(``timings_markdown``, written by ``nslib.publish.readme_results.update_docs``).
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
from nslib.core.paths import reference_dir
from nslib.publish.markdown import markdown_table

TIMINGS_FILE = "timings.json"


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
    path = run_dir / "derived" / TIMINGS_FILE
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


def _duration(seconds: float) -> str:
    """``seconds`` for reading: "42 s", "3 min 49 s", "1 h 2 min"."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


def _utc(stamp: str) -> str:
    """An ISO time stamp as "2026-12-03 13:52 UTC"."""
    return pd.Timestamp(stamp).tz_convert("UTC").strftime("%Y-%m-%d %H:%M UTC")


def _machine_sentence(machine: dict | None) -> str:
    if not machine:
        return "Machine: not recorded."
    memory = f", {machine['memory_gib']:.0f} GiB of memory" if machine.get("memory_gib") else ""
    load = ""
    if machine.get("load_average_start") is not None:
        load = (f"; load average {machine['load_average_start']:.1f} at the start and "
                f"{machine['load_average_end']:.1f} at the end")
    where = f"Dask scheduler {machine['dask_scheduler']}" if machine.get("dask_scheduler") else \
        f"local cores, JOBS {machine.get('jobs') or 'not set (one worker per core)'}"
    return (f"Machine: {machine['platform']}, {machine['cpu']}, {machine['cores']} cores{memory}; training on "
            f"{where}{load}.")


def timings_markdown(derived: Path | None = None) -> str:
    """How long the run that wrote ``derived`` took: one table from its ``timings.json``, and the machine."""
    derived = derived or reference_dir()
    path = derived / TIMINGS_FILE
    if not path.exists():
        return (f"No `{TIMINGS_FILE}` in `data/derived/` yet: `make reproduce` measures the run and writes it, "
                "and this table with it.")
    timings = json.loads(path.read_text())
    rows = pd.DataFrame(timings["notebooks"])
    table = pd.DataFrame({
        "notebook": rows["notebook"].str.removesuffix(".ipynb"),
        "wall time": rows["seconds"].map(_duration),
        "runs trained": rows["runs_trained"].map("{:,}".format),
    })
    total = {"notebook": "**all**", "wall time": f"**{_duration(timings['seconds'])}**",
             "runs trained": f"**{timings['runs']['trained']:,}**"}
    table = pd.concat([table, pd.DataFrame([total])], ignore_index=True)
    attempts = timings["attempts"]
    lines = [
        f"Measured by `{timings['command']}` (profile `{timings['profile']}`) from {_utc(timings['started'])} "
        f"to {_utc(timings['finished'])} (`{TIMINGS_FILE}`): {attempts} attempt{'s' if attempts != 1 else ''}, "
        f"{timings['runs']['resumed']:,} runs resumed from an earlier attempt. Runs trained counts the rows of "
        "`runs.csv` that finished while the notebook ran.",
        "",
        markdown_table(table),
        "",
        "- " + _machine_sentence(timings.get("machine")),
        "- Engines of the runs trained (`runs.csv`'s `device`): "
        + ", ".join(f"{name} {count:,}" for name, count in timings["engines"].items()) + ".",
        "- Data: " + ", ".join(f"{name} {facts['rows']:,} rows from the {facts['origin']}"
                               for name, facts in timings["data"].items()) + ".",
        f"- Versions: {timings['versions']}.",
    ]
    if timings.get("source"):
        lines.append(f"- Source: {timings['source']}")
    return "\n".join(lines)
