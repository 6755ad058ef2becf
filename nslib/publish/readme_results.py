"""The README's Results and the docs' generated tables, written from the derived tables, never by hand.

The README shows the headline (``headline_markdown``: the paper's claims, tallied and judged, one figure,
gradient boosting and the data); ``docs/results.md`` shows every table (``results_markdown``) and
``docs/timing.md`` how long the run that made them took (``nslib.publish.timings.timings_markdown``).
``make reproduce`` ends by rewriting each between its markers (``update_readme``, ``update_docs``); tests
check that the committed pages say what the committed tables say.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from nslib.core.paths import PROJECT_ROOT, reference_dir
from nslib.experiments import shape_family, specialist_draws, tuning
from nslib.experiments.draws import DRAWS_FILE, VERDICTS_FILE, method_verdict
from nslib.experiments.profiles import get_profile
from nslib.publish.markdown import markdown_table
from nslib.publish.timings import timings_markdown
from nslib.stats import paper, robustness
from nslib.stats.register import BUDGETS, PAPER, REGISTER_FILE, TUNED, tally
from nslib.stats.significance import ACC_MARGIN, GAIN_MARGIN, MARGIN

START, END = "<!-- results:start -->", "<!-- results:end -->"
TIMINGS_START, TIMINGS_END = "<!-- timings:start -->", "<!-- timings:end -->"
DOCS_DIR = PROJECT_ROOT / "docs"
# The README's one figure: the transfer claims, at both budgets (notebook 04).
HEADLINE_FIGURE = "figures/04_claims.png"


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
    if pd.isna(verdict):
        return "not judged"
    # A difference that holds (or does not) by less than the margin says so beside the verdict.
    return f"{verdict}, below the margin" if str(row.get(f"below_margin_{budget}_budget", "")) == "True" else verdict


def _register(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def _tally_sentence(register: pd.DataFrame) -> str:
    """The paper's claims counted once each, by verdict at each budget: one sentence."""
    counts = tally(register)
    summary = "; ".join(
        f"at the {budget} budget " + ", ".join(f"{v}: {counts.loc[v, budget]}" for v in counts.index
                                              if counts.loc[v, budget])
        for budget in BUDGETS
    )
    return (
        f"The paper's claims, each counted once (`{REGISTER_FILE}`; ten seeds, paired by seed, corrected "
        f"resampled t-test, Holm within each notebook, equivalence margin {MARGIN} AUC, {ACC_MARGIN} accuracy, "
        f"{GAIN_MARGIN} of efficiency gain): of "
        f"{int((register['kind'] == 'paper').sum())} claims, {summary}. The compendium's own questions are in "
        "the register too, and are not counted here."
    )


def _robust_sentence(path: Path) -> str:
    """How many of the paper's claims keep one verdict under every analysis choice (``robustness.csv``)."""
    table = pd.read_csv(path, keep_default_na=False, dtype={"family": str, "id": str})
    claims = robustness.summary(table[table["kind"] == "paper"])
    margins = ", ".join(f"{m:g}" for m in sorted(set(table["margin"].astype(float))))
    return (
        f"Robust (`{robustness.ROBUSTNESS_FILE}`): {int(claims['robust'].sum())} of {len(claims)} paper claims "
        f"keep one verdict under every analysis choice (both budgets, the claim's metric and the other one of "
        f"AUC and accuracy, margins {margins}); the others' verdicts move with a choice."
    )


def _budget_sentence(path: Path) -> str:
    """How many tuned budgets (``tuned_budgets.csv``, each configuration once) sit at an edge of their search."""
    table = pd.read_csv(path, keep_default_na=False, dtype={"family": str})
    table = table.drop_duplicates(["dataset", "arch", "widths", "activation", "formula"])
    edges = table[table["at_edge"].astype(str) == "True"]
    named = "; ".join(f"{dataset}: " + " · ".join(part) for dataset, part in  # names may hold commas
                      tuning.config_names(edges).groupby(edges["dataset"], sort=False))
    where = f": {len(edges)} at an edge, so a floor ({named})" if len(edges) else ", none at an edge"
    profile = get_profile("full")
    return (f"Tuned budgets (`{tuning.BUDGETS_FILE}`): {len(table)} configurations, each chosen on "
            f"{len(profile.tune_seeds)} tuning seeds' validation curves with early stopping (a cap of "
            f"{profile.tune_epochs} epochs) and its learning rates extended past any edge{where}; "
            f"[is the tuned budget converged?](docs/convergence.md)")


def _verdict_lines(path: Path) -> list[str]:
    register = _register(path)
    paper_claims = register[register["kind"] == "paper"]
    robust = path.parent / robustness.ROBUSTNESS_FILE
    return [
        _tally_sentence(register),
        *(["", _robust_sentence(robust)] if robust.exists() else []),
        "",
        "| claim | data set | metric | paper budget: estimate | verdict | tuned budget: estimate | verdict |",
        "|---|---|---|---|---|---|---|",
    ] + [
        f"| {row['claim']} | {row['dataset']} | {row['metric']} | {_estimate(row, PAPER)} | "
        f"**{_verdict(row, PAPER)}** | {_estimate(row, TUNED)} | **{_verdict(row, TUNED)}** |"
        for _, row in paper_claims.iterrows()
    ]


def _method_lines(path: Path, draws_file: str, subject: str, draws: str, judged: str) -> list[str]:
    """Claims judged over the method's draws (``path``: a ``draws.method_verdicts`` table; ``draws_file``, beside it,
    its per-draw table): per claim, the share of draws where it holds, per budget; none for a table without rows.
    ``subject`` opens the sentence, ``draws`` says what a draw is and ``judged`` how each draw is judged; the seeds
    the draws trained on, and where they had fewer, are read from the per-draw table."""
    table = pd.read_csv(path, keep_default_na=False, na_values=[""])
    if table.empty:
        return []
    per_draw = path.parent / draws_file
    if per_draw.exists():
        seeds = pd.read_csv(per_draw).groupby(["dataset", "budget"], sort=False)["n_seeds"].max()
        fewer = [f"{int(n)} on {dataset} at the {budget} budget" for (dataset, budget), n in seeds.items()
                 if n < seeds.max()]
        judged += f" on {int(seeds.max())} seeds" + (f" ({', '.join(fewer)}, where a run is long)" if fewer else "")
    cells = {}
    for row in table.itertuples():
        cells.setdefault((row.claim, row.dataset), {})[row.budget] = (
            f"{row.n_holds} of {row.n_draws} ({row.share_holds:.0%} [{row.ci_low:.0%}, {row.ci_high:.0%}]); "
            f"protocol: {row.protocol_verdict}")
    n_draws = int(table["n_draws"].max())
    return [
        f"{subject} (`{path.name}`): {n_draws} draws of the method ({draws}), {judged}; per claim, the draws for "
        "which it holds, their share with a 95% Clopper-Pearson interval, and the protocol draw's verdict (GP seed "
        "42 on the full sample).",
        "",
        f"| claim | data set | {PAPER} budget: draws where it holds | {TUNED} budget: draws where it holds |",
        "|---|---|---|---|",
    ] + [f"| {claim} | {dataset} | {by.get(PAPER, '-')} | {by.get(TUNED, '-')} |"
         for (claim, dataset), by in cells.items()]


def _transfer_method_lines(path: Path) -> list[str]:
    """The transfer claims over the HIGGS draws (notebook 04)."""
    return _method_lines(path, DRAWS_FILE, "The paper's transfer claims judged as claims about its method",
                         "GP seeds x samples of the HIGGS rows", "each draw's formula judged as the paper's protocol is")


def _specialist_method_lines(path: Path) -> list[str]:
    """The Specialist claims over each data set's own draws (notebook 05)."""
    return _method_lines(path, specialist_draws.SPECIALIST_DRAWS_FILE,
                         "The paper's Specialist claims judged as claims about its method, on each data set",
                         "per data set: GP seeds x samples of its own rows",
                         "each draw's formula judged as the Specialist against Heavy ReLU")


def _specialist_sentence(path: Path) -> str:
    """The README's line on the Specialist claims over each data set's draws: where the method's verdict and the
    protocol's (the claims register's, ``REGISTER_FILE`` beside ``path``) agree, and each place where they do not
    (the table itself is on the results page)."""
    table = pd.read_csv(path, keep_default_na=False, na_values=[""])
    if table.empty:
        return ""
    register = path.parent / REGISTER_FILE
    claims = pd.read_csv(register, keep_default_na=False).set_index("id") if register.exists() else None

    def protocol(claim_id: str, budget: str, in_draws: str) -> tuple[str, str]:  # the verdict, and how it is cited
        key = specialist_draws.PREFIX + claim_id
        if claims is None or key not in claims.index:
            return in_draws, f"the protocol's draw: {in_draws}"
        verdict = claims.loc[key, f"verdict_{budget}_budget"]
        return verdict, f"the protocol's `{key}` {budget}: {verdict}"

    table["verdict"] = [method_verdict(low, high) for low, high in zip(table["ci_low"], table["ci_high"])]
    table[["protocol", "cited"]] = [protocol(*row) for row in zip(table["claim_id"], table["budget"],
                                                                  table["protocol_verdict"])]
    apart = table[table["verdict"] != table["protocol"]]
    parts = [f"\"{row.claim}\" on {row.dataset} at the {row.budget} budget, shown to hold in {row.n_holds} of "
             f"{row.n_draws} draws and to fail in {row.n_does_not_hold}, the others undecided "
             f"(`{specialist_draws.METHOD_PREFIX}{row.claim_id}` {row.budget}: {row.verdict}; {row.cited})"
             for row in apart.itertuples()]
    return (f"The paper's Specialist claims over {int(table['n_draws'].max())} draws of the method on each data set's "
            f"own rows (`{path.name}`, notebook 05): the method's verdict is the protocol's in "
            f"{len(table) - len(apart)} of {len(table)} claims and budgets" + (f"; not for {'; '.join(parts)}"
                                                                               if parts else "") + ".")


def _shape_lines(path: Path) -> list[str]:
    """What the transfer gain is made of (``shape_family.csv``): each shape's gain over Light ReLU, per data set and
    budget, with its interval and its turning points on [-3, 3]."""
    table = pd.read_csv(path, keep_default_na=False, na_values=[""])
    return [f"What the transfer gain is made of (`{shape_family.FAMILY_FILE}`, notebook 04): each shape's mean gain in "
            "ROC AUC over Light ReLU, paired by seed, with its corrected 95% interval (one at a time, not a registered "
            "claim), and its turning points on [-3, 3].", "", markdown_table(shape_family.wide_table(table))]


def _shape_sentence(path: Path) -> str:
    """The README's line on what the transfer gain is made of: per data set, the family's tuned gains."""
    tuned = pd.read_csv(path, keep_default_na=False, na_values=[""]).query("budget == @TUNED")
    waves = tuned[tuned["w"].notna() & tuned["gain"].notna()]
    if waves.empty:
        return (f"What the transfer gain is made of (`{shape_family.FAMILY_FILE}`): no wave was trained at the "
                "tuned budget.")
    parts = []
    for name, here in waves.groupby("dataset", sort=False):
        higgs = tuned.loc[(tuned["dataset"] == name) & (tuned["shape"] == shape_family.HIGGS_LABEL), "gain"]
        parts.append(f"on {name} {int((here['gain'] > 0).sum())} of {len(here)} are ahead on average "
                     f"({here['gain'].min():+.4f} to {here['gain'].max():+.4f}"
                     + (f"; the HIGGS formula {higgs.iloc[0]:+.4f})" if len(higgs) else ")"))
    frequencies = ", ".join(f"{w:g}" for w in sorted(waves["w"].unique()))
    return (f"What the transfer gain is made of (`{shape_family.FAMILY_FILE}`, notebook 04): against Light ReLU at "
            f"the tuned budget, of the waves cos(w x) and sin(w x) for w = {frequencies}, " + "; ".join(parts) + ".")


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
    optional = {VERDICTS_FILE: _transfer_method_lines,
                specialist_draws.SPECIALIST_VERDICTS_FILE: _specialist_method_lines,
                REGISTER_FILE: _verdict_lines, shape_family.FAMILY_FILE: _shape_lines,
                "baselines.csv": _baseline_lines, "bench.json": _bench_lines}
    blocks += [lines(derived / name) for name, lines in optional.items() if (derived / name).exists()]
    return "\n\n".join("\n".join(block) for block in blocks if block)


def _verdict_table(register: pd.DataFrame, families: Sequence[str] | None = None) -> list[str]:
    """The paper's claims (of ``families``, default all) with their verdicts only; the estimates are on the
    results page."""
    paper_claims = register[register["kind"] == "paper"]
    if families is not None:
        paper_claims = paper_claims[paper_claims["family"].isin(families)]
    return ["| claim | data set | paper budget | tuned budget |", "|---|---|---|---|"] + [
        f"| {row['claim']} | {row['dataset']} | **{_verdict(row, PAPER)}** | **{_verdict(row, TUNED)}** |"
        for _, row in paper_claims.iterrows()
    ]


def _boosting_line(derived: Path) -> str:
    """Default gradient boosting's AUC beside the best network of the paper's grid, per data set."""
    boosting = pd.read_csv(derived / "baselines.csv").query("model == 'gradient boosting'")
    boosting = boosting.groupby("dataset", sort=False)["auc"].mean()
    grid = pd.read_csv(derived / "table2.csv")
    best = grid.loc[grid.groupby("Dataset", sort=False)["AUC"].idxmax()].set_index("Dataset")
    parts = [
        f"{dataset} {auc:.3f} against {best.loc[dataset, 'AUC']:.3f} "
        f"({best.loc[dataset, 'Architecture']} {best.loc[dataset, 'Activation']})"
        for dataset, auc in boosting.items() if dataset in best.index
    ]
    return ("Default gradient boosting on the same splits, AUC against the best network of the paper's grid "
            f"(`baselines.csv`, `table2.csv`, mean over seeds): {'; '.join(parts)}.")


def _data_sentence(derived: Path) -> str:
    table = pd.read_csv(derived / "datasets.csv")
    kinds = {True: "a sample", False: "the official file"}
    parts = [f"{row['dataset']} {row['rows used']:,} rows ({kinds[bool(row['sample file'])]}, from the "
             f"{row['origin']})" for _, row in table.iterrows()]
    return f"Data (`datasets.csv`): {'; '.join(parts)}."


def headline_markdown(derived: Path | None = None, results_page: str = "docs/results.md") -> str:
    """The README's Results: the transfer claims over the method's draws (when ``method_verdicts.csv`` exists)
    and the Specialist claims over each data set's draws (when ``specialist_verdicts.csv`` does),
    the paper's claims tallied and judged, one figure, gradient boosting, the data.

    Built from the tables in ``derived`` (default: the committed ``data/derived/``); every table in full
    is on ``results_page``.
    """
    derived = derived or reference_dir()
    # The method first: the paper's claims are about it, not one GP run. A table without rows says nothing.
    blocks = ["\n".join(_transfer_method_lines(derived / VERDICTS_FILE))] if (derived / VERDICTS_FILE).exists() else []
    if (derived / specialist_draws.SPECIALIST_VERDICTS_FILE).exists():
        blocks.append(_specialist_sentence(derived / specialist_draws.SPECIALIST_VERDICTS_FILE))
    blocks = [block for block in blocks if block]
    if (derived / REGISTER_FILE).exists():
        register = _register(derived / REGISTER_FILE)
        blocks.append(_tally_sentence(register))
        if (derived / robustness.ROBUSTNESS_FILE).exists():
            blocks.append(_robust_sentence(derived / robustness.ROBUSTNESS_FILE))
        if (derived / tuning.BUDGETS_FILE).exists():
            blocks.append(_budget_sentence(derived / tuning.BUDGETS_FILE))
        transfer = ["04_transfer"]  # the title's claim; the efficiency claims are on the results page
        others = int(((register["kind"] == "paper") & ~register["family"].isin(transfer)).sum())
        blocks.append("The paper's transfer claims, claim by claim, for its protocol (GP seed 42 on the full sample); "
                      f"its {others} efficiency and accuracy claims are on [the results page]({results_page}):\n\n"
                      + "\n".join(_verdict_table(register, transfer)))
    blocks.append(f"![The transfer claims of notebook 04: the claimed winner minus the other, per claim, at the "
                  f"paper's budget and at a tuned one]({HEADLINE_FIGURE})")
    if (derived / shape_family.FAMILY_FILE).exists():
        blocks.append(_shape_sentence(derived / shape_family.FAMILY_FILE))
    if (derived / "baselines.csv").exists():
        blocks.append(_boosting_line(derived))
    blocks.append(_data_sentence(derived) + f" Every table, with estimates and intervals: [the results page]"
                  f"({results_page}).")
    return "\n\n".join(blocks)


def replace_block(text: str, start: str, end: str, body: str) -> str:
    """``text`` with what stands between the markers ``start`` and ``end`` replaced by ``body``."""
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"no {start} ... {end} markers around the generated part; add them.")
    return pattern.sub(lambda _: f"{start}\n{body}\n{end}", text)


def _update_block(path: Path, start: str, end: str, body: str) -> bool:
    """Replace the text between ``start`` and ``end`` in ``path`` with ``body``; True when it changed."""
    text = path.read_text()
    try:
        new = replace_block(text, start, end, body)
    except ValueError as error:
        raise ValueError(f"{path} has {error}") from None
    path.write_text(new)
    return new != text


def update_readme(readme: Path = PROJECT_ROOT / "README.md", derived: Path | None = None) -> bool:
    """Rewrite the Results section of ``readme`` (``headline_markdown``); True when its text changed."""
    return _update_block(readme, START, END, headline_markdown(derived))


def update_docs(docs: Path = DOCS_DIR, derived: Path | None = None) -> bool:
    """Rewrite the generated parts of ``docs/results.md`` and ``docs/timing.md``; True when either changed."""
    results = _update_block(docs / "results.md", START, END, results_markdown(derived))
    timing = _update_block(docs / "timing.md", TIMINGS_START, TIMINGS_END, timings_markdown(derived))
    return results or timing


if __name__ == "__main__":
    changed = update_readme() | update_docs()
    print(f"README.md and docs/ {'updated' if changed else 'already up to date'} from data/derived/")
