"""KANs (pykan) at a given parameter budget, trained and scored like the MLP runs."""

import math
import random

import numpy as np
import pandas as pd
import pytest
import torch
from kan.spline import curve2coef
from synthetic import synthetic_dataset

import nslib.experiments.kan
from nslib.data.datasets import split_and_scale
from nslib.engine.runstore import COLUMNS, RunStore
from nslib.experiments.kan import (
    build_kan,
    kan_grid,
    kan_width,
    train_kan,
    trainable_params,
)
from nslib.experiments.kan_edges import edge_functions, plot_edges, symbolic_edges

SMALL = dict(hidden=(3,), epochs=4, batch_size=64)  # a run of well under a second


def _data(n: int = 300):
    return synthetic_dataset("SYNTH", n=n, d=4)


def test_trainable_parameters_follow_pykans_layout_by_hand() -> None:
    # KAN [3, 2, 1], grid 4, order 2: each edge has grid + order = 6 spline
    # coefficients, a scale_base and a scale_sp, so 8 values; 3*2 + 2*1 = 8 edges.
    model = build_kan(3, (2,), seed=0, grid=4, order=2)
    assert trainable_params(model) == 8 * 8
    trained = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trained == {f"act_fun.{l}.{part}" for l in (0, 1) for part in ("coef", "scale_base", "scale_sp")}


def test_kan_width_picks_the_hidden_width_nearest_the_target() -> None:
    # [3, h, 1] with grid 4, order 2 has (3h + h) * 8 = 32h trainable values.
    assert kan_width(3, 100, grid=4, order=2) == (3,)  # 96, 4% off
    assert kan_width(3, 176, grid=4, order=2) == (5,)  # 160 and 192 are as near (9%); the smaller wins


def test_kan_width_refuses_a_budget_no_width_meets() -> None:
    with pytest.raises(ValueError, match="within 10%"):
        kan_width(3, 50, grid=4, order=2)  # 32 or 64


def test_a_kan_run_row_has_the_run_columns_and_its_settings() -> None:
    data = _data()
    row, model = train_kan(data, seed=3, **SMALL)
    assert set(row) == set(COLUMNS)
    assert row["arch"] == "kan" and row["activation"] == "KAN" and row["widths"] == "3"
    assert row["params"] == (4 * 3 + 3 * 1) * (5 + 3 + 2) == trainable_params(model)
    assert row["status"] == "ok" and len(row["train_loss"].split(";")) == 4
    assert row["efficiency"] == pytest.approx(row["auc"] / math.log10(row["params"]))
    assert "|kan|" in row["key"] and "seed=3" in row["key"] and "pykan=0.2.8" in row["versions"]


def test_a_kan_run_is_scored_on_the_seeds_split() -> None:
    # The reference: the test split of split_and_scale, scored by hand with the returned model.
    data = _data()
    row, model = train_kan(data, seed=5, **SMALL)
    _, X_test, _, y_test = split_and_scale(data, 5)
    with torch.no_grad():
        p = torch.sigmoid(model(torch.as_tensor(X_test))).squeeze(1).numpy()
    assert row["acc"] == pytest.approx(((p > 0.5) == y_test).mean())
    assert row["test_loss"] == pytest.approx(-np.mean(y_test * np.log(p) + (1 - y_test) * np.log(1 - p)), rel=1e-5)


def test_a_kan_run_is_stored_and_read_back(tmp_path) -> None:
    data = _data()
    row, _ = train_kan(data, seed=0, **SMALL)
    store = RunStore(tmp_path / "runs.csv")
    store.append([row])
    back = store.current({"SYNTH": data})
    assert back["key"].tolist() == [row["key"]]
    assert back.loc[0, "auc"] == row["auc"] and back.loc[0, "params"] == row["params"]


def test_one_seed_gives_the_same_numbers_and_another_seed_others() -> None:
    data = _data()
    first, _ = train_kan(data, seed=1, **SMALL)
    again, _ = train_kan(data, seed=1, **SMALL)
    other, _ = train_kan(data, seed=2, **SMALL)
    numbers = ("acc", "auc", "test_loss", "train_loss")
    assert [first[k] for k in numbers] == [again[k] for k in numbers]
    assert first["train_loss"] != other["train_loss"] and first["test_loss"] != other["test_loss"]


def test_building_a_kan_leaves_the_global_generators_alone() -> None:
    np.random.seed(11), random.seed(11), torch.manual_seed(11)
    expected = (np.random.rand(), random.random(), torch.rand(1).item())
    np.random.seed(11), random.seed(11), torch.manual_seed(11)
    build_kan(4, (3,), seed=0)
    assert (np.random.rand(), random.random(), torch.rand(1).item()) == expected


def test_a_kan_learns_a_two_feature_rule(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # pykan writes checkpoints to the working folder unless told not to
    row, _ = train_kan(_data(n=800), seed=0, hidden=(4,), epochs=25, batch_size=128)
    assert row["auc"] > 0.9 and row["acc"] > 0.8
    assert list(tmp_path.iterdir()) == []


def test_a_run_whose_output_is_not_finite_is_failed_with_the_reason() -> None:
    data = _data()
    data.X[::10, 1] = np.nan  # survives scaling, so some batch's output is NaN
    row, _ = train_kan(data, seed=0, **SMALL)
    assert row["status"] == "failed" and "the output became NaN or infinite at epoch 1" in row["reason"]
    assert math.isnan(row["auc"])


def test_the_grid_trains_each_run_once_and_reads_stored_runs_back(tmp_path, monkeypatch) -> None:
    datasets = {"SYNTH": _data(), "OTHER": synthetic_dataset("OTHER", n=200, d=3, seed=1)}
    store = RunStore(tmp_path / "runs.csv")
    table = kan_grid(datasets, seeds=(0, 1), store=store, progress=False, **SMALL)
    assert list(zip(table["dataset"], table["seed"])) == [("SYNTH", 0), ("SYNTH", 1), ("OTHER", 0), ("OTHER", 1)]
    assert (table["status"] == "ok").all()

    def no_training(*args: object) -> None:
        raise AssertionError("a stored run was trained again")

    monkeypatch.setattr(nslib.experiments.kan, "_train", no_training)
    again = kan_grid(datasets, seeds=(0, 1), store=store, progress=False, **SMALL)
    assert again["key"].tolist() == table["key"].tolist() and again["auc"].tolist() == table["auc"].tolist()


def _kan_with_a_sine_edge() -> torch.nn.Module:
    """A KAN [1, 1, 1] whose first edge is the spline of sin(3x) on [-1, 1], with no SiLU part."""
    model = build_kan(1, (1,), seed=0, grid=10)
    layer = model.act_fun[0]
    x = torch.linspace(-1, 1, 400)[:, None]
    layer.coef.data = curve2coef(x, torch.sin(3 * x)[:, :, None], layer.grid, layer.k)
    layer.scale_base.data.zero_()
    layer.scale_sp.data.fill_(1.0)
    return model


def test_edge_functions_sample_the_learned_function_over_its_input_range() -> None:
    model = _kan_with_a_sine_edge()
    X = np.linspace(-1, 1, 500, dtype=np.float32)[:, None]
    points = edge_functions(model, X, top=2, points=51, feature_names=["u"])
    edge = points[points["layer"] == 0]
    assert edge["edge"].unique().tolist() == ["u -> h1"] and len(edge) == 51
    assert edge["x"].min() == pytest.approx(-1) and edge["x"].max() == pytest.approx(1)
    assert np.abs(edge["y"] - np.sin(3 * edge["x"])).max() < 0.02
    assert points[points["layer"] == 1]["edge"].unique().tolist() == ["h1 -> output"]
    assert [ax.get_title() for ax in plot_edges(points).axes] == [
        f"{label} (score {score:.2g})" for label, score in points.groupby("edge", sort=False)["score"].first().items()
    ]


def test_symbolic_fitting_recovers_a_sine_edge_and_leaves_the_model_alone() -> None:
    model = _kan_with_a_sine_edge()
    before = {name: value.clone() for name, value in model.state_dict().items()}
    X = np.linspace(-1, 1, 500, dtype=np.float32)[:, None]
    table = symbolic_edges(model, X, top=2, rows=200)
    edge = table[table["layer"] == 0].iloc[0]
    assert edge["function"] in ("sin", "cos") and edge["function"] in edge["formula"]
    assert edge["r2"] > 0.99
    assert all(torch.equal(before[name], value) for name, value in model.state_dict().items())
    assert all(name == "0" for row in model.symbolic_fun[0].funs_name for name in row)


@pytest.mark.parametrize(
    "settings, message",
    [
        (dict(seed=-1), "seed=-1"),
        (dict(seed=0, epochs=0), "epochs=0"),
        (dict(seed=0, lr=0), "lr=0"),
        (dict(seed=0, test_size=1.5), "test_size=1.5"),
        (dict(seed=0, hidden=(0,)), "widths="),
        (dict(seed=0, grid=0), "grid=0"),
    ],
)
def test_bad_settings_are_refused_by_name(settings, message) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        train_kan(_data(), **settings)


def test_bad_inspection_arguments_are_refused_by_name() -> None:
    model = build_kan(2, (2,), seed=0)
    with pytest.raises(ValueError, match="2 features"):
        edge_functions(model, np.zeros((10, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="SYMBOLIC_LIB"):
        symbolic_edges(model, np.zeros((10, 2), dtype=np.float32), library=("sinh2",))
    with pytest.raises(ValueError, match="'DATA': 'SYNTH'"):
        kan_grid({"DATA": _data()}, seeds=(0,))


def test_the_grid_on_worker_processes_equals_the_grid_here_bit_for_bit(monkeypatch) -> None:
    datasets = {"SYNTH": _data()}
    tables = {}
    for jobs in ("1", "2"):
        monkeypatch.setenv("NSLIB_JOBS", jobs)
        tables[jobs] = kan_grid(datasets, seeds=(0, 1, 2), progress=False, **SMALL)
    columns = ["key", "seed", "acc", "auc", "test_loss", "train_loss", "params"]
    pd.testing.assert_frame_equal(tables["1"][columns], tables["2"][columns])
