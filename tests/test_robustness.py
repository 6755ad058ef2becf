"""The robustness table: each claim judged again under every budget, metric and margin (hand-made runs)."""

import math

import pandas as pd
import pytest

from nslib.stats import robustness
from nslib.stats.register import Claim

ROWS = {"D": 10000}


def _runs(shift_big: float, shift_small: float) -> pd.DataFrame:
    """Ten seeds of three configs on D: "big" leads "base" by shift_big, "small" by shift_small (+-0.0001 per
    seed), in AUC and in accuracy alike; 100 and 1000 parameters."""
    rows = []
    for seed in range(10):
        wiggle = 0.0001 * (-1) ** seed
        for config, lead in (("base", 0.0), ("big", shift_big + wiggle), ("small", shift_small + wiggle)):
            rows.append({"dataset": "D", "config": config, "seed": seed, "status": "ok", "auc": 0.80 + lead,
                         "acc": 0.70 + lead, "params": 1000 if config == "base" else 100})
    return pd.DataFrame(rows)


CLAIMS = [Claim("x-big", "big beats base", "D", "big", "base", paper_words="w"),
          Claim("x-small", "small beats base", "D", "small", "base", paper_words="w")]


def test_every_claim_is_judged_under_each_budget_metric_and_margin_and_a_flip_is_not_robust():
    runs = {"paper": _runs(0.05, 0.004), "tuned": _runs(0.03, 0.004)}
    table = robustness.choices(CLAIMS, runs, ROWS, family="x")
    assert len(table) == 2 * 2 * 2 * 3  # claims x budgets x metrics x margins
    assert set(table["metric"]) == {"auc", "acc"} and set(table["margin"]) == {0.0025, 0.005, 0.01}
    small = table[table["id"] == "x-small"].set_index(["budget", "metric", "margin"])["verdict"]
    # 0.004 +- 0.0001: clearly above 0 and above 0.0025, clearly inside +-0.005 and +-0.01.
    assert (small.xs(0.0025, level="margin") == "holds").all()
    assert (small.xs(0.005, level="margin") == "equivalent").all()
    assert (small.xs(0.01, level="margin") == "equivalent").all()
    summary = robustness.summary(table).set_index("id")
    assert summary.loc["x-big", "robust"] and summary.loc["x-big", "holds"] == 12
    assert not summary.loc["x-small", "robust"]
    assert (summary.loc["x-small", "holds"], summary.loc["x-small", "equivalent"]) == (4, 8)


def test_an_efficiency_claim_swaps_to_accuracy_over_log10_params():
    runs = _runs(0.05, 0.004)
    claim = Claim("x-e", "small is more efficient", "D", "small", "base", metric="efficiency", relative=True,
                  offset=0.4)
    runs = runs.assign(efficiency=runs["auc"] / runs["params"].map(math.log10))
    table = robustness.choices([claim], {"paper": runs}, ROWS, margins=(0.005,))
    means = table.set_index("metric")["mean"]
    # E_small / E_base - 1 = (lead + x) / x * log10(1000) / log10(100) - 1, minus the offset 0.4.
    assert means["efficiency"] == pytest.approx(0.804 / 0.80 * 1.5 - 1 - 0.4)
    assert means["efficiency_acc"] == pytest.approx(0.704 / 0.70 * 1.5 - 1 - 0.4)


def test_a_draw_of_the_method_is_one_more_choice():
    runs = {"paper": _runs(0.05, 0.004)}
    draws = {"GP seed 43": {"paper": _runs(0.05, -0.02)}}
    table = robustness.choices(CLAIMS, runs, ROWS, margins=(0.005,), draws=draws)
    assert set(table["draw"]) == {robustness.AS_RUN, "GP seed 43"}
    small = table[table["id"] == "x-small"].set_index(["draw", "metric"])["verdict"]
    assert small[("GP seed 43", "auc")] == "does not hold" and small[(robustness.AS_RUN, "auc")] == "equivalent"
    assert list(robustness.verdict_grid(table).columns)[0].startswith("as run, paper, ")


def test_record_replaces_its_familys_rows_and_keeps_the_others(tmp_path, monkeypatch):
    monkeypatch.setenv("NSLIB_DERIVED_DIR", str(tmp_path))
    runs = {"paper": _runs(0.05, 0.004)}
    robustness.record("03", robustness.choices(CLAIMS, runs, ROWS, margins=(0.005,)))
    robustness.record("05", robustness.choices(CLAIMS[:1], runs, ROWS, margins=(0.005,)))
    again = robustness.record("03", robustness.choices(CLAIMS[:1], runs, ROWS, margins=(0.005,)))
    on_disk = pd.read_csv(tmp_path / robustness.ROBUSTNESS_FILE, dtype={"family": str})
    assert on_disk["family"].tolist() == ["05", "05", "03", "03"] == again["family"].tolist()


def test_the_readme_counts_robust_paper_claims_only_and_omits_the_line_without_the_table(tmp_path):
    from nslib.core.paths import reference_dir
    from nslib.publish.readme_results import headline_markdown

    for name in ("claims.csv", "datasets.csv"):
        (tmp_path / name).write_bytes((reference_dir() / name).read_bytes())
    assert "Robust (" not in headline_markdown(tmp_path)
    # Three paper claims, two with one verdict (robust), one that moves; an own question that moves, not counted.
    rows = [("p1", "paper", "holds"), ("p1", "paper", "holds"), ("p2", "paper", "cannot tell"),
            ("p2", "paper", "cannot tell"), ("p3", "paper", "holds"), ("p3", "paper", "equivalent"),
            ("q1", "own question", "holds"), ("q1", "own question", "cannot tell")]
    table = pd.DataFrame([{"family": "05", "id": i, "kind": k, "claim": i, "dataset": "D", "draw": "as run",
                           "budget": "paper", "metric": "auc", "margin": m, "n_seeds": 10, "mean": 0.0,
                           "ci_low": 0.0, "ci_high": 0.0, "verdict": v}
                          for (i, k, v), m in zip(rows, [0.0025, 0.01] * 4)])
    table.to_csv(tmp_path / robustness.ROBUSTNESS_FILE, index=False)
    text = headline_markdown(tmp_path)
    assert "2 of 3 paper claims keep one verdict" in text and "margins 0.0025, 0.01" in text


def test_a_choice_with_no_spread_gets_no_test_instead_of_stopping_the_table():
    runs = _runs(0.05, 0.004)
    runs.loc[runs["config"] == "small", "acc"] = 0.71  # exactly 0.01 above base's 0.70 on every seed
    table = robustness.choices(CLAIMS, {"paper": runs}, ROWS, margins=(0.005,))
    verdicts = table.set_index(["id", "metric"])["verdict"]
    assert verdicts[("x-small", "acc")] == robustness.NO_TEST and verdicts[("x-small", "auc")] == "equivalent"
    assert verdicts[("x-big", "acc")] == "holds"
    assert not robustness.summary(table).set_index("id").loc["x-small", "robust"]


def test_a_difference_that_holds_but_is_smaller_than_the_margin_is_marked_below_it(tmp_path, monkeypatch):
    from nslib.stats import register
    from nslib.stats.significance import judge

    # 0.003 +- 0.001926 alternating: sd 0.00203, corrected se sqrt(0.1 + 0.25) * 0.00203 = 0.00120, so
    # t = 0.003 / 0.00120 = 2.50 (p = 0.034: holds) and the TOST t = (0.003 - 0.005) / 0.00120 = -1.67
    # (p = 0.065: not equivalent). A steady 0.05 holds well above the margin.
    small = [0.003 + 0.001926 * (-1) ** j for j in range(10)]
    big = [0.05 + 0.001 * (-1) ** j for j in range(10)]
    claims = pd.DataFrame({"id": ["s", "b"], "claim": ["s", "b"], "differences": [small, big],
                           "n_train": 8000, "n_test": 2000, "kind": "paper", "paper_words": "w", "source": "",
                           "dataset": "D", "metric": "auc"})
    judged = judge(claims)
    assert judged["verdict"].tolist() == ["holds", "holds"]
    assert register.below_margin(judged).tolist() == [True, False]
    assert register.side_by_side({"paper": judged}).loc["s", "paper: verdict"] == "holds, below the margin"
    monkeypatch.setenv("NSLIB_DERIVED_DIR", str(tmp_path))
    written = register.record("x", {"paper": judged}).set_index("id")
    assert written.loc["s", "below_margin_paper_budget"] and not written.loc["b", "below_margin_paper_budget"]
