"""The report of ``make study``: the compendium's questions, answered for one user data set.

``write_report`` reads the tables the notebooks wrote in a study's run folder and
keeps, from each, the rows of the user's data set: the grid (Heavy against Light
ReLU, GELU and SiLU), the data set's own GP formula (the Specialist), whether the
HIGGS formula transfers (the claims register's verdicts), where it ranks among random formulas,
and gradient boosting. Every number comes from those tables.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from nslib import __version__
from nslib.publish.markdown import markdown_table
from nslib.stats.significance import MARGIN

# (file, dataset column, columns shown, heading, what it answers)
SECTIONS = (
    ("table2.csv", "Dataset", ["Architecture", "Activation", "Acc", "AUC", "Params", "Gain_vs_Heavy", "Seeds"],
     "The grid", "Heavy against Light ReLU, GELU and SiLU, the data set's own formula (Specialist) and "
     "the HIGGS formula (Transfer), mean over seeds."),
    ("claims.csv", "dataset", ["claim", "metric", "n_seeds_paper", "mean_paper", "verdict_paper_budget",
                               "mean_tuned", "verdict_tuned_budget"],
     "The questions, judged", "Every question of the notebooks asked of this data set, at the paper's budget "
     "and at a tuned one: paired over seeds, a positive mean says the claim is right; the verdicts come from "
     f"the corrected resampled t-test with Holm's correction and a {MARGIN} AUC equivalence margin."),
    ("baselines.csv", "dataset", ["model", "seeds", "acc", "auc"],
     "What a practitioner would use", "Gradient boosting and logistic regression on the same splits."),
)


def _section(derived: Path, name: str, file: str, column: str, shown: list[str], heading: str, text: str) -> str:
    path = derived / file
    if not path.exists():
        return f"## {heading}\n\n`{file}` was not written by this study's notebooks."
    table = pd.read_csv(path)
    rows = table[table[column] == name]
    if rows.empty:
        return f"## {heading}\n\n`{file}` holds no row for {name}."
    return f"## {heading}\n\n{text} (`{file}`)\n\n" + markdown_table(rows[[c for c in shown if c in rows.columns]], ".4g")


def _formula_section(derived: Path, name: str) -> str:
    path = derived / "formulas.json"
    records = [r for r in json.loads(path.read_text()).values() if r["dataset"] == name] if path.exists() else []
    if not records:
        return f"## The data set's own formula\n\nNo GP formula was found for {name}."
    lines = [f"- seed {r['seed']}: program `{r['program']}`, collapsed to `{r['formula']}` "
             f"(AUC on unseen rows: program {r['auc_multivariate']:.3f})" for r in records]
    return "## The data set's own formula\n\nWhat genetic programming finds on a tenth of the rows " \
           "(`formulas.json`):\n\n" + "\n".join(lines)


def write_report(run_dir: Path, name: str, header: list[str]) -> Path:
    """Write ``run_dir/REPORT.md`` for user data set ``name`` from ``run_dir/derived``; return its path."""
    derived = run_dir / "derived"
    data = pd.read_csv(derived / "datasets.csv").set_index("dataset")
    facts = data.loc[name]
    def fact(column: str, value: object) -> str:
        if isinstance(value, float) and value.is_integer():
            return f"{int(value):,}"
        return Path(str(value)).name if column == "source" else str(value)

    data_lines = [f"- {column}: {fact(column, facts[column])}" for column in data.columns if pd.notna(facts[column])]
    blocks = [f"# Study of {name}", f"nsa-compendium {__version__} (cite it with `CITATION.cff`).",
              "\n".join(header), "## The data\n\n" + "\n".join(data_lines)]
    blocks.append(_formula_section(derived, name))
    blocks += [_section(derived, name, *section) for section in SECTIONS]
    path = run_dir / "REPORT.md"
    path.write_text("\n\n".join(blocks) + "\n")
    return path
