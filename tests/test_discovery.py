"""Genetic-programming discovery: the paper's draw, determinism, scores, the cache, the controls."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

from nslib.core.parallel import Executor
from nslib.core.paths import mirror_dir
from nslib.data.catalog import Dataset, Provenance
from nslib.data.datasets import load
from nslib.formulas import discovery
from nslib.formulas.parser import parse
from nslib.stats import paper

SMALL_GP = {"population_size": 60, "generations": 2, "sample_fraction": 0.5}


def synthetic(name: str = "SYNTHETIC", n: int = 400, seed: int = 0, shift: float = 0.0) -> Dataset:
    """A small binary data set whose label depends on features 1 and 3 only."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5)).astype(np.float32)
    X[:, 0] += shift
    y = (X[:, 1] - 0.5 * X[:, 3] + 0.3 * rng.normal(size=n) > 0).astype(np.int64)
    digest = hashlib.sha256(X.tobytes() + y.tobytes()).hexdigest()
    provenance = Provenance(sha256=digest, rows_used=n, is_sample=False, from_mirror=False)
    return Dataset(name=name, X=X, y=y, feature_names=[f"f{i}" for i in range(5)], provenance=provenance)


@pytest.fixture(autouse=True)
def fresh_derived_dir(tmp_path, monkeypatch):
    """Every test writes formulas.json into its own empty folder."""
    monkeypatch.setenv("NSLIB_DERIVED_DIR", str(tmp_path))
    return tmp_path


def test_discovery_sample_is_the_papers_legacy_numpy_draw():
    np.random.seed(42)
    papers = np.random.choice(20978, int(0.1 * 20978), replace=False)
    ours = discovery.discovery_sample(20978, 0.1, seed=42)
    assert len(ours) == 2097  # truncated like int(0.1 * n), not rounded
    np.testing.assert_array_equal(ours, papers)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_discovery_sample_needs_a_fraction_strictly_between_0_and_1(fraction):
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        discovery.discovery_sample(100, fraction, seed=0)


def test_the_same_inputs_give_the_same_program():
    first = discovery.discover(synthetic(), use_cache=False, **SMALL_GP)
    second = discovery.discover(synthetic(), use_cache=False, **SMALL_GP)
    assert (first.program, first.fitness, first.auc_multivariate) == (
        second.program,
        second.fitness,
        second.auc_multivariate,
    )


def test_another_gp_seed_gives_another_program():
    programs = {discovery.discover(synthetic(), seed=seed, **SMALL_GP).program for seed in (1, 2)}
    assert len(programs) == 2


def test_the_formula_is_the_program_with_every_feature_collapsed_to_x():
    record = discovery.discover(synthetic(), **SMALL_GP)
    assert record.formula == str(parse(record.program).collapse())
    assert parse(record.formula).variables in {("x",), ()}


def test_multivariate_auc_is_the_program_scored_on_the_rows_gp_did_not_see():
    data = synthetic()
    record = discovery.discover(data, seed=3, **SMALL_GP)
    sample = discovery.discovery_sample(len(data.y), SMALL_GP["sample_fraction"], seed=3)
    unseen = np.setdiff1d(np.arange(len(data.y)), sample)
    scaler = StandardScaler().fit(data.X[sample].astype(np.float64))
    score = parse(record.program).evaluate(scaler.transform(data.X[unseen].astype(np.float64)))
    assert record.auc_multivariate == pytest.approx(roc_auc_score(data.y[unseen], score), abs=1e-12)
    assert record.sample_rows == len(sample) and record.rows_used == len(data.y)


def test_collapsed_auc_equals_multivariate_auc_for_a_program_in_one_feature():
    # With a heavy parsimony penalty, GP settles on a program in the one strong feature.
    record = discovery.discover(synthetic(), seed=0, parsimony_coefficient=0.05, **SMALL_GP)
    assert len(parse(record.program).variables) == 1
    assert record.collapsed_feature == parse(record.program).variables[0]
    assert record.auc_collapsed == pytest.approx(record.auc_multivariate, abs=1e-12)


def test_best_single_feature_is_chosen_on_the_sample_with_its_sign():
    record = discovery.discover(synthetic(), **SMALL_GP)
    assert record.best_single_feature == "X1"
    assert record.auc_best_single_feature > 0.8


def test_a_second_call_reads_the_cache_without_running_gp(monkeypatch, fresh_derived_dir):
    first = discovery.discover(synthetic(), **SMALL_GP)

    def no_gp(*args, **kwargs):
        raise AssertionError("GP ran although the result was cached")

    monkeypatch.setattr(discovery, "SymbolicClassifier", no_gp)
    assert discovery.discover(synthetic(), **SMALL_GP) == first
    stored = (fresh_derived_dir / "formulas.json").read_text()
    assert stored == json.dumps(json.loads(stored), indent=2, sort_keys=True) + "\n"


@pytest.mark.parametrize(
    "change",
    [
        {"data": synthetic(shift=1.0)},
        {"data": synthetic(n=300)},
        {"seed": 7},
        {"generations": 3},
        {"function_set": ("add", "mul")},
        {"sample_fraction": 0.4},
        {"tournament_size": 5},
    ],
    ids=["data", "rows", "seed", "generations", "function_set", "sample_fraction", "gplearn_kwargs"],
)
def test_a_changed_input_is_recomputed(change, monkeypatch):
    arguments = {"seed": 42, **SMALL_GP}
    discovery.discover(synthetic(), **arguments)
    runs = []
    real = discovery.SymbolicClassifier

    def counting(*args, **kwargs):
        runs.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(discovery, "SymbolicClassifier", counting)
    data = change.pop("data", synthetic())
    discovery.discover(data, **{**arguments, **change})
    assert len(runs) == 1
    assert len(discovery.read_cache()) == 2


def test_use_cache_false_runs_gp_again_and_keeps_one_entry(monkeypatch):
    discovery.discover(synthetic(), **SMALL_GP)
    runs = []
    real = discovery.SymbolicClassifier
    monkeypatch.setattr(discovery, "SymbolicClassifier", lambda **kwargs: runs.append(1) or real(**kwargs))
    discovery.discover(synthetic(), use_cache=False, **SMALL_GP)
    assert len(runs) == 1 and len(discovery.read_cache()) == 1


def test_a_record_round_trips_through_json():
    record = discovery.discover(synthetic(), **SMALL_GP)
    assert discovery.Discovery.from_dict(json.loads(json.dumps(asdict(record)))) == record
    assert record.settings["gplearn_kwargs"] == {} and record.versions["gplearn"] == "0.4.3"


def test_from_dict_names_the_missing_fields():
    values = asdict(discovery.discover(synthetic(), **SMALL_GP))
    del values["fitness"]
    with pytest.raises(ValueError, match="missing fields \\['fitness'\\]"):
        discovery.Discovery.from_dict(values)


def test_gplearn_arguments_that_discover_sets_itself_are_refused():
    with pytest.raises(TypeError, match="random_state"):
        discovery.discover(synthetic(), random_state=1, **SMALL_GP)


@pytest.mark.parametrize("seed", [-1, 2**32, 4.2, True])
def test_a_seed_random_state_cannot_take_is_refused(seed):
    with pytest.raises(ValueError, match="seed="):
        discovery.discover(synthetic(), seed=seed, **SMALL_GP)


def test_gplearn_arguments_that_cannot_be_recorded_are_refused():
    with pytest.raises(TypeError, match="cannot be recorded"):
        discovery.discover(synthetic(), metric=object(), **SMALL_GP)


def test_a_sample_with_one_class_is_refused_with_a_clear_message():
    data = synthetic(n=40)
    data.y[:] = 0
    with pytest.raises(ValueError, match="one class only"):
        discovery.discover(data, **SMALL_GP)


def test_random_programs_are_fixed_by_their_seed_and_parse():
    programs = discovery.random_programs(8, seed=5, n_features=28)
    assert programs == discovery.random_programs(8, seed=5, n_features=28)
    assert programs != discovery.random_programs(8, seed=6, n_features=28)
    for program in programs:
        formula = parse(program)
        assert set(formula.operators) <= set(discovery.PAPER_FUNCTION_SET)
        assert all(int(name[1:]) < 28 for name in formula.variables)
        assert 1 <= formula.depth <= 6


def test_random_programs_refuse_an_unknown_function():
    with pytest.raises(ValueError, match="unknown gplearn functions \\['tanh'\\]"):
        discovery.random_programs(1, seed=0, n_features=3, function_set=("add", "tanh"))


def test_stability_has_one_row_per_gp_seed_each_the_program_a_fresh_discovery_finds():
    table = discovery.stability(synthetic(), [1, 2, 3], **SMALL_GP)
    assert list(table["seed"]) == [1, 2, 3]
    assert list(table.columns) == ["seed", "program", "formula", "fitness", "auc_multivariate", "auc_collapsed"]
    fresh = discovery.discover(synthetic(), seed=2, use_cache=False, store=False, **SMALL_GP)
    assert table.loc[1, "program"] == fresh.program and table.loc[1, "fitness"] == fresh.fitness


def test_stability_on_worker_processes_equals_stability_here_and_caches_every_seed():
    here = discovery.stability(synthetic(), [1, 2, 3], executor=Executor(jobs=1), **SMALL_GP)
    (discovery.derived_dir() / discovery.CACHE_FILE).unlink()
    there = discovery.stability(synthetic(), [1, 2, 3], executor=Executor(jobs=2), **SMALL_GP)
    pd.testing.assert_frame_equal(there, here)
    assert len(discovery.read_cache()) == 3  # written by this process, not the workers


def test_stability_without_the_cache_runs_gp_only_in_the_workers(monkeypatch):
    # Workers are fresh processes with the real gplearn; GP in this process would raise.
    here = discovery.stability(synthetic(), [1, 2], executor=Executor(jobs=1), use_cache=False, **SMALL_GP)

    def no_gp_here(*args, **kwargs):
        raise AssertionError("GP ran again in the calling process")

    monkeypatch.setattr(discovery, "SymbolicClassifier", no_gp_here)
    there = discovery.stability(synthetic(), [1, 2], executor=Executor(jobs=2), use_cache=False, **SMALL_GP)
    pd.testing.assert_frame_equal(there, here)


def test_stability_with_store_false_leaves_formulas_json_alone(fresh_derived_dir):
    table = discovery.stability(synthetic(), [1], executor=Executor(jobs=2), store=False, **SMALL_GP)
    assert len(table) == 1 and not (fresh_derived_dir / discovery.CACHE_FILE).exists()


def test_a_cache_entry_of_another_code_version_is_never_read_back(monkeypatch):
    first = discovery.discover(synthetic(), **SMALL_GP)
    monkeypatch.setattr(discovery, "DISCOVERY_CODE_VERSION", "older")
    runs = []
    real = discovery.SymbolicClassifier
    monkeypatch.setattr(discovery, "SymbolicClassifier", lambda **kwargs: runs.append(1) or real(**kwargs))
    assert discovery.discover(synthetic(), **SMALL_GP).program == first.program
    assert len(runs) == 1 and len(discovery.read_cache()) == 2


def test_simplified_text_reads_like_algebra_with_short_constants():
    spambase = "sub(add(add(sin(x), x), add(x, add(x, sub(x, x)))), sub(x, x))"
    assert discovery.simplified_text(spambase) == "3*x + sin(x)"
    assert discovery.simplified_text("mul(x, -0.11649)") == "-0.116*x"
    assert discovery.simplified_text("sub(cos(x), cos(x))") == "0"


def test_activation_curves_take_the_derivative_by_autograd():
    xs = np.linspace(-5, 5, 41)
    curves = discovery.activation_curves(
        {"x cos x": parse("mul(cos(x), x)").to_torch(), "ReLU": torch.relu, "constant": parse("0.5").to_torch()},
        xs,
    ).set_index("activation")
    x = xs.astype(np.float32)
    np.testing.assert_allclose(curves.loc["x cos x", "derivative"], np.cos(x) - x * np.sin(x), atol=1e-5)
    np.testing.assert_allclose(curves.loc["ReLU", "derivative"], (x > 0).astype(float))
    np.testing.assert_array_equal(curves.loc["constant", "value"], np.full(41, 0.5, dtype=np.float32))
    np.testing.assert_array_equal(curves.loc["constant", "derivative"], np.zeros(41))


def test_plot_activation_draws_values_and_derivatives_with_labelled_axes():
    curves = discovery.activation_curves({"ReLU": torch.relu, "SiLU": torch.nn.functional.silu}, [-1.0, 0.0, 1.0])
    fig = discovery.plot_activation(curves, "test")
    assert [ax.get_ylabel() for ax in fig.axes] == ["f(x)", "f'(x)"]
    assert {text.get_text() for text in fig.axes[1].get_legend().get_texts()} == {"ReLU", "SiLU"}


@pytest.mark.slow
@pytest.mark.skipif(mirror_dir() is None, reason="needs the offline data mirror (NSLIB_DATA_MIRROR)")
@pytest.mark.filterwarnings("ignore::UserWarning")  # the mirror's samples are smaller than the paper's data
@pytest.mark.parametrize("name", sorted(paper.PAPER_CODE_PROGRAMS))
def test_seed_42_finds_the_program_the_papers_code_finds_on_the_mirror(name):
    assert discovery.discover(load(name)).program == paper.PAPER_CODE_PROGRAMS[name]
