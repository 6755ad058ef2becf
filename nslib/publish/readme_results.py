"""The README's Results section, written from the derived tables, never by hand.

``make reproduce`` ends by rewriting it between the results markers (``update_readme``); a test checks
that the committed README says what the committed tables say.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from nslib.core.paths import PROJECT_ROOT, reference_dir
from nslib.stats import paper
from nslib.stats.register import BUDGETS, PAPER, REGISTER_FILE, TUNED, tally
from nslib.stats.significance import MARGIN

START, END = "<!-- results:start -->", "<!-- results:end -->"


def markdown_table(frame: pd.DataFrame, float_format: str = ".4f") -> str:
    """``frame`` as a Markdown table: floats with ``float_format``, missing values empty, ``|`` escaped."""
    def cell(value: object) -> str:
        if value is None or (isinstance(value, float) and pd.isna(value)):
            return ""
        if isinstance(value, float):
            return format(value, float_format)
        return str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def _pm(mean: float, std: float) -> str:
    return f"{mean:.3f} ± {std:.3f}"


def _data_lines(derived: Path) -> list[str]:
    table = pd.read_csv(derived / "datasets.csv").rename(columns=lambda name: name.replace(" ", "_"))
    kinds = {True: "a sample of the official data set", False: "the official file"}
    return ["Data used (from `datasets.csv`):", ""] + [
        f"- {row.dataset}: {row.rows_used:,} rows ({row.selection}) of `{row.source}`, {kinds[bool(row.sample_file)]}, "
        f"read from the {row.origin}; sha256 `{row.sha256}…`"
        for row in table.itertuples()
    ]


def _grid_lines(derived: Path) -> list[str]:
    table = pd.read_csv(derived / "table2.csv")
    shown = pd.DataFrame({
        "data set": table["Dataset"], "model": table["Architecture"], "activation": table["Activation"],
        "accuracy": table["Acc"].combine(table["Acc_std"], _pm), "AUC": table["AUC"].combine(table["AUC_std"], _pm),
        "params": table["Params"].map("{:,}".format), "E": table["Efficiency"],
        "gain vs Heavy": table["Gain_vs_Heavy"].map("{:+.1%}".format, na_action="ignore"),
    })
    intro = "The paper's grid (`table2.csv`; mean ± sd over seeds; gain = E / E(Heavy) - 1, E = AUC / log10(params)):"
    return [intro, "", markdown_table(shown)]


def _headline_lines() -> list[str]:
    return ["The paper's own headline (its Table 2 summary), for comparison:", ""] + [
        f"- {row.dataset}: {row.arch} {row.activation}, accuracy {row.acc:.1%}, "
        f"{row.params:,} params, gain {row.efficiency_gain:+.1%}"
        for row in paper.HEADLINE.itertuples()
    ]


def _estimate(row: pd.Series, budget: str) -> str:
    mean = row[f"mean_{budget}"]
    if pd.isna(mean):
        return "-"
    if pd.isna(row[f"ci_low_{budget}"]):
        return f"{mean:+.3f}"
    return f"{mean:+.3f} [{row[f'ci_low_{budget}']:+.3f}, {row[f'ci_high_{budget}']:+.3f}]"


def _verdict(row: pd.Series, budget: str) -> str:
    # A claim missing at one budget has an empty verdict there; tally counts it as "not judged".
    verdict = row[f"verdict_{budget}_budget"]
    return "not judged" if pd.isna(verdict) else verdict


def _verdict_lines(path: Path) -> list[str]:
    register = pd.read_csv(path, keep_default_na=False, na_values=[""])
    paper_claims = register[register["kind"] == "paper"]
    counts = tally(register)
    summary = "; ".join(
        f"at the {budget} budget " + ", ".join(f"{v}: {counts.loc[v, budget]}" for v in counts.index
                                              if counts.loc[v, budget])
        for budget in BUDGETS
    )
    return [
        f"The paper's claims, each counted once (`{REGISTER_FILE}`; ten seeds, paired by seed, corrected "
        f"resampled t-test, Holm within each notebook, equivalence margin {MARGIN} AUC): of "
        f"{len(paper_claims)} claims, {summary}. The compendium's own questions are in the register too, "
        "and are not counted here.",
        "",
        "| claim | data set | metric | paper budget: estimate | verdict | tuned budget: estimate | verdict |",
        "|---|---|---|---|---|---|---|",
    ] + [
        f"| {row['claim']} | {row['dataset']} | {row['metric']} | {_estimate(row, PAPER)} | "
        f"**{_verdict(row, PAPER)}** | {_estimate(row, TUNED)} | **{_verdict(row, TUNED)}** |"
        for _, row in paper_claims.iterrows()
    ]


def _baseline_lines(path: Path) -> list[str]:
    table = pd.read_csv(path).groupby(["dataset", "model"], sort=False)[["acc", "auc"]].mean()
    return ["What a practitioner would use instead, on the same splits (`baselines.csv`, mean over seeds):", ""] + [
        f"- {dataset}, {model}: accuracy {row['acc']:.3f}, AUC {row['auc']:.3f}"
        for (dataset, model), row in table.iterrows()
    ]


def _bench_lines(path: Path) -> list[str]:
    bench = json.loads(path.read_text())
    paper_label = "extrapolated from one seed" if bench["paper_grid_extrapolated"] else "timed"
    met = {True: "met", False: "not met"}
    return [
        f"Training engine (`make bench`, `bench.json`, {bench['device']}, {bench['cpu_count']} cores): "
        f"the paper's grid of {bench['runs']} runs takes {bench['ours_grid_s']:.1f} s with `run_grid` against "
        f"{bench['paper_grid_s']:.1f} s for the paper-style DataLoader loop ({paper_label}): "
        f"**{bench['speedup']:.1f}x** faster (target 10x: {met[bench['speedup_target_met']]}). The arithmetic "
        f"floor ({bench['grid_tflop']:.2f} TFLOP at a measured {bench['matmul_gflops']:.0f} GFLOP/s) is "
        f"{bench['floor_s']:.1f} s, so `run_grid` runs at **{bench['floor_ratio']:.1f}x** the floor "
        f"(target 3x: {met[bench['floor_target_met']]}); peak memory of the whole bench process "
        f"{bench['peak_mb_end']:.0f} MB (target {bench['peak_target_mb']:.0f} MB, the paper's script: "
        f"{met[bench['peak_target_met']]})."
    ]


def results_markdown(derived: Path | None = None) -> str:
    """The Results section's body, built from the tables in ``derived`` (default: the committed ``data/derived/``)."""
    derived = derived or reference_dir()
    blocks = [_data_lines(derived), _grid_lines(derived), _headline_lines()]
    # The claims' register, the baselines and the bench, each where its file exists.
    optional = {REGISTER_FILE: _verdict_lines, "baselines.csv": _baseline_lines, "bench.json": _bench_lines}
    blocks += [lines(derived / name) for name, lines in optional.items() if (derived / name).exists()]
    return "\n\n".join("\n".join(block) for block in blocks)


def update_readme(readme: Path = PROJECT_ROOT / "README.md", derived: Path | None = None) -> bool:
    """Rewrite the Results section of ``readme``; True when its text changed."""
    text = readme.read_text()
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"{readme} has no {START} ... {END} markers around its Results section; add them.")
    new = pattern.sub(lambda _: f"{START}\n{results_markdown(derived)}\n{END}", text)
    readme.write_text(new)
    return new != text


if __name__ == "__main__":
    changed = update_readme()
    print(f"README.md Results section {'updated' if changed else 'already up to date'} from data/derived/")
