"""Training runs: the reference loop, the stacked engine, and how they agree."""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from nslib.data.catalog import Dataset, Provenance
from nslib.engine.compiled import CompiledStack
from nslib.engine.grid import ENGINES, run_grid
from nslib.engine.reference import trained_network
from nslib.engine.specs import make_spec, patience_spent
from nslib.engine.torch_stack import TorchStack

# Overflows float32 within the first batches: x * 1e30 after BatchNorm.
OVERFLOWING = "mul(x, 1e30)"
HYBRID = "sub(cos(x), cos(abs(cos(x))))"


def _dataset(n: int = 1200, d: int = 6, seed: int = 0) -> Dataset:
    """A learnable synthetic problem; 1200 rows leave 960 for training, 7.5 batches of 128."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(size=n) > 0).astype(np.int64)
    provenance = Provenance(sha256=f"synthetic-{n}-{d}-{seed}", rows_used=n, is_sample=False, from_mirror=False)
    return Dataset("SYN", X, y, [f"f{i}" for i in range(d)], provenance)


DATA = {"SYN": _dataset()}
SETTINGS = dict(epochs=2, batch_size=128)


def _grid(activations: list[str], seeds: tuple[int, ...] = (42,), **settings: object) -> list:
    return [make_spec("SYN", "light", act, seed, **{**SETTINGS, **settings}) for act in activations for seed in seeds]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each engine that trains on the CPU, chosen as a user chooses it (``NSLIB_ENGINE``)."""
    monkeypatch.setenv("NSLIB_ENGINE", request.param)
    return request.param


def test_a_spec_records_its_widths_and_formula_and_has_a_stable_key() -> None:
    spec = make_spec("SYN", "light", "mul(cos(x),x)", 42)
    assert spec.widths == (64, 32) and spec.formula == "mul(cos(x), x)"
    assert spec.key == make_spec("SYN", "light", "mul(cos(x), x)", 42).key
    assert spec.key != make_spec("SYN", "light", "mul(cos(x), x)", 43).key
    assert make_spec("SYN", "light", "ReLU", 42).key == make_spec("SYN", "light", "relu", 42).key
    assert make_spec("SYN", "width", "relu", 42, widths=(8, 4)).widths == (8, 4)
    with pytest.raises(ValueError, match="epochs"):
        make_spec("SYN", "light", "relu", 42, epochs=0)


def test_a_reference_run_learns_and_reports_consistent_metrics() -> None:
    row = trained_network(DATA["SYN"], "light", "relu", 42, **SETTINGS)[0]
    assert row["status"] == "ok" and row["reason"] == ""
    assert row["auc"] > 0.8 and 0.5 < row["acc"] <= 1
    assert row["params"] == 64 * 6 + 64 + 128 + 64 * 32 + 32 + 64 + 33
    assert row["efficiency"] == pytest.approx(row["auc"] / math.log10(row["params"]))
    losses = [float(v) for v in row["train_loss"].split(";")]
    assert len(losses) == 2 and losses[1] < losses[0]
    X, y = DATA["SYN"].X, DATA["SYN"].y
    digest = hashlib.sha256(b"(1200, 6)<f4" + X.tobytes() + f"(1200,){y.dtype.str}".encode() + y.tobytes())
    assert row["rows"] == 1200 and row["data_sha256"] == digest.hexdigest() and row["code_version"] != ""


@pytest.mark.parametrize(
    ("activation", "widths", "engine_name"),
    [(activation, widths, name) for activation, widths in [("relu", (64, 32)), ("gelu", (16, 16)), (HYBRID, (64, 32))]
     for name in ENGINES] + [("rational", (64, 32), "torch")],  # rational runs have no compiled kernels
)
def test_the_stacked_engine_matches_the_reference_loop(
    activation: str, widths: tuple[int, int], engine_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Same initial weights, permutations and dropout masks; only the rounding of
    # batched against single matrix products differs, and training amplifies it.
    monkeypatch.setenv("NSLIB_ENGINE", engine_name)
    reference = trained_network(DATA["SYN"], "light", activation, 42, widths=widths, **SETTINGS)[0]
    stacked = run_grid(_grid([activation], widths=widths), DATA, progress=False).iloc[0]
    assert stacked["device"] == f"cpu ({engine_name} engine)"
    reference_loss = [float(v) for v in reference["train_loss"].split(";")]
    stacked_loss = [float(v) for v in stacked["train_loss"].split(";")]
    assert stacked_loss == pytest.approx(reference_loss, rel=1e-4)
    assert stacked["auc"] == pytest.approx(reference["auc"], abs=2e-3)
    assert stacked["acc"] == pytest.approx(reference["acc"], abs=1e-2)
    assert stacked["test_loss"] == pytest.approx(reference["test_loss"], rel=1e-3)


@pytest.mark.parametrize("widths", [(64, 32), (12, 6)])
def test_a_run_gives_the_same_numbers_alone_and_in_any_stack(widths: tuple[int, int], engine: str) -> None:
    # 1200 rows: 960 to train, a last batch of 64; (12, 6) are not whole SIMD blocks.
    specs = _grid(["gelu", HYBRID, "relu"], seeds=(42, 43), widths=widths)
    alone = run_grid(specs[:1], DATA, progress=False)
    together = run_grid(specs, DATA, progress=False, workers=1)
    in_threads = run_grid(specs, DATA, progress=False, workers=2, max_stack=2)
    assert set(together["device"]) == {f"cpu ({engine} engine)"}
    columns = ["acc", "auc", "test_loss", "train_loss"]
    assert alone[columns].iloc[0].tolist() == together[columns].iloc[0].tolist()
    assert together[columns].equals(in_threads[columns])


@pytest.mark.parametrize("widths", [(64, 32), (12, 6)])
def test_a_rational_run_gives_the_same_numbers_alone_beside_rationals_and_in_mixed_stacks(
    widths: tuple[int, int],
) -> None:
    # Each rational run has its own coefficients, learned from its own batches:
    # its numbers must not depend on its neighbours, its place or the workers.
    specs = _grid(["gelu", HYBRID, "relu", "rational"], seeds=(42, 43), widths=widths)
    rationals = [spec for spec in specs if spec.activation == "rational"]
    columns = ["acc", "auc", "test_loss", "train_loss"]
    alone = pd.concat([run_grid([spec], DATA, progress=False) for spec in rationals], ignore_index=True)
    side_by_side = run_grid(rationals, DATA, progress=False)
    mixed = run_grid(specs, DATA, progress=False, workers=1)
    in_threads = run_grid(specs, DATA, progress=False, workers=2, max_stack=3)  # rationals at other places
    assert alone[columns].equals(side_by_side[columns])
    assert alone[columns].equals(mixed[mixed["activation"] == "Rational"][columns].reset_index(drop=True))
    assert mixed[columns].equals(in_threads[columns])
    assert alone["auc"].iloc[0] != alone["auc"].iloc[1]  # two seeds, two different runs


def test_an_overflowing_activation_fails_its_run_and_its_stack_trains_on(engine: str) -> None:
    specs = _grid(["relu", OVERFLOWING])
    rows = run_grid(specs, DATA, progress=False)
    assert set(rows["device"]) == {f"cpu ({engine} engine)"}
    failed = rows.iloc[1]
    assert failed["status"] == "failed" and math.isnan(failed["auc"])
    assert "epoch 1 batch" in failed["reason"] and "overflows" in failed["reason"]
    alone = run_grid(specs[:1], DATA, progress=False).iloc[0]
    assert rows.iloc[0]["status"] == "ok" and rows.iloc[0]["auc"] == alone["auc"]
    reference = trained_network(DATA["SYN"], "light", OVERFLOWING, 42, **SETTINGS)[0]
    assert reference["status"] == "failed" and reference["reason"] == failed["reason"]


def test_run_grid_returns_rows_in_the_order_asked_and_restores_torch_threads() -> None:
    threads = torch.get_num_threads()
    specs = _grid(["silu", "relu"], seeds=(43, 42), epochs=1)
    rows = run_grid(specs, DATA, progress=False)
    assert rows["key"].tolist() == [spec.key for spec in specs]
    assert torch.get_num_threads() == threads


def test_run_grid_refuses_repeated_specs_and_unknown_data_sets() -> None:
    spec = _grid(["relu"])[0]
    with pytest.raises(ValueError, match="more than once"):
        run_grid([spec, spec], DATA, progress=False)
    with pytest.raises(ValueError, match="no Dataset given for \\['OTHER'\\]"):
        run_grid([make_spec("OTHER", "light", "relu", 42)], DATA, progress=False)


def test_a_last_batch_of_one_row_is_refused_with_the_fix() -> None:
    data = {"SYN": _dataset(n=1285)}  # 1028 training rows: with batches of 1027, a last batch of 1
    with pytest.raises(ValueError, match="last batch of 1 row"):
        run_grid(_grid(["relu"], batch_size=1027), data, progress=False)


@pytest.mark.skipif(not os.environ.get("NSLIB_DATA_MIRROR"), reason="needs the data mirror (NSLIB_DATA_MIRROR)")
def test_the_bench_script_runs_quick_and_writes_its_numbers(tmp_path: Path) -> None:
    env = {**os.environ, "NSLIB_DERIVED_DIR": str(tmp_path)}
    script = Path(__file__).resolve().parent.parent / "scripts" / "bench.py"
    command = [sys.executable, str(script), "--quick", "--paper-threads", "1"]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "whole grid, 17 runs" in done.stdout and "arithmetic floor" in done.stdout
    numbers = json.loads((tmp_path / "bench.json").read_text())
    assert numbers["quick"] and numbers["runs"] == 17 and len(numbers["per_run"]) == 17
    assert numbers["ours_grid_s"] > 0 and numbers["floor_s"] > 0 and numbers["peak_mb_end"] > 0
    assert numbers["peak_target_mb"] == 640 and numbers["peak_target_met"] == (numbers["peak_mb_end"] <= 640)


def test_a_validation_run_records_one_validation_auc_per_epoch_in_either_engine() -> None:
    specs = _grid(["relu", HYBRID], seeds=(42, 43), epochs=3, validation=0.25)
    stacked = run_grid(specs, DATA, progress=False, workers=2, max_stack=2)
    alone = run_grid(specs[:1], DATA, progress=False).iloc[0]
    reference = trained_network(DATA["SYN"], "light", "relu", 42, epochs=3, batch_size=128, validation=0.25)[0]
    val_auc = [[float(v) for v in row.split(";")] for row in stacked["val_auc"]]
    assert [len(values) for values in val_auc] == [3, 3, 3, 3]
    assert all(0 <= value <= 1 for values in val_auc for value in values) and min(val_auc[0]) > 0.7
    assert alone["val_auc"] == stacked.iloc[0]["val_auc"]
    assert val_auc[0] == pytest.approx([float(v) for v in reference["val_auc"].split(";")], abs=2e-3)
    assert set(stacked["validation"]) == {0.25}
    # Without validation nothing is held out and the row says so.
    plain = run_grid(_grid(["relu"], epochs=3), DATA, progress=False).iloc[0]
    assert plain["val_auc"] == "" and plain["validation"] == 0 and plain["auc"] != alone["auc"]


def test_patience_is_spent_only_after_that_many_epochs_without_a_better_validation_auc() -> None:
    assert not patience_spent([0.6, 0.7, 0.65, 0.69], 3)  # two epochs since the best
    assert patience_spent([0.6, 0.7, 0.65, 0.69, 0.7], 3)  # three, and an equal AUC is no improvement
    assert not patience_spent([0.6, 0.7, 0.65, 0.69, 0.71], 3)
    assert not patience_spent([0.5] * 20, 0)  # no patience: never stops
    assert patience_spent([0.6, math.nan, math.nan], 2)  # a constant output never improves


def test_early_stopping_ends_a_run_where_its_own_curve_says_in_either_engine_and_alone(
    engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # lr 0.3 on 960 rows overfits within a few epochs, lr 1e-3 keeps improving: one stack, runs stopping apart.
    settings = dict(epochs=25, validation=0.25, patience=3)
    specs = [make_spec("SYN", "light", act, seed, batch_size=128, lr=lr, **settings)
             for act in ("relu", HYBRID) for seed in (42, 43) for lr in (0.3, 1e-3)]
    trained = []  # how many models each training batch computes
    for stack_class in (CompiledStack, TorchStack):
        def counted(self, X, y, rows, train_batch=stack_class.train_batch):
            trained.append(len(X))
            return train_batch(self, X, y, rows)
        monkeypatch.setattr(stack_class, "train_batch", counted)
    rows = pd.concat([run_grid([spec for spec in specs if spec.lr == lr], DATA, progress=False, max_stack=4)
                      for lr in (0.3, 1e-3)]).set_index("key").loc[[spec.key for spec in specs]]
    curves = [[float(v) for v in text.split(";")] for text in rows["val_auc"]]
    lengths = [len(curve) for curve in curves]
    for curve, spec in zip(curves, specs):
        best = int(np.argmax(curve))
        # It stopped exactly when patience ran out, or trained to the cap.
        assert len(curve) == best + 1 + spec.patience or (len(curve) == spec.epochs and best + spec.patience >= 25)
    assert min(lengths) < 25, "no run stopped early: the test no longer exercises early stopping"
    assert [len(loss.split(";")) for loss in rows["train_loss"]] == lengths
    assert (rows["status"] == "ok").all() and rows["auc"].between(0.5, 1).all()
    # A run that stopped left its stack: the stacks computed the epochs their runs trained, no more.
    batches_per_epoch = -(-int(len(DATA["SYN"].y) * 0.8 * 0.75) // 128)
    assert sum(trained) == batches_per_epoch * sum(lengths)
    # A run's curve and score do not depend on its stack mates stopping, nor on the engine's stacking.
    alone = pd.concat([run_grid([spec], DATA, progress=False) for spec in specs]).set_index("key")
    assert alone[["val_auc", "auc"]].equals(rows[["val_auc", "auc"]])
    # The torch engine's batch mean of the loss rounds its last digit with the stack's size (also before runs left).
    for stacked_loss, alone_loss in zip(rows["train_loss"], alone["train_loss"]):
        assert np.allclose(np.array(stacked_loss.split(";"), float), np.array(alone_loss.split(";"), float), rtol=1e-5)
    reference = trained_network(DATA["SYN"], "light", "relu", 42, batch_size=128, lr=0.3, **settings)[0]
    assert len(reference["val_auc"].split(";")) == lengths[0]
    assert reference["auc"] == pytest.approx(rows.iloc[0]["auc"], abs=2e-3)


def test_patience_changes_the_key_and_needs_a_validation_split() -> None:
    plain = make_spec("SYN", "light", "relu", 42, validation=0.2)
    assert make_spec("SYN", "light", "relu", 42, validation=0.2, patience=10).key == plain.key + "|patience=10"
    with pytest.raises(ValueError, match="validation=0.2 as well"):
        make_spec("SYN", "light", "relu", 42, patience=10)
    with pytest.raises(ValueError, match="patience=-1"):
        make_spec("SYN", "light", "relu", 42, validation=0.2, patience=-1)


def test_a_validation_split_changes_the_key_and_only_then() -> None:
    plain = make_spec("SYN", "light", "relu", 42)
    assert plain.key == "SYN|light|64-32|relu|seed=42|epochs=15|batch=1024|lr=0.001|test=0.2"
    assert make_spec("SYN", "light", "relu", 42, validation=0.2).key == plain.key + "|val=0.2"
    with pytest.raises(ValueError, match="validation=1.5"):
        make_spec("SYN", "light", "relu", 42, validation=1.5)


FAKE_GCC = """#!/bin/sh
# A gcc that runs but cannot link glibc's vector maths, as on macOS or musl.
case "$*" in
  *--version*) echo "gcc (fake) 1.0" ;;
  *--help=target*) printf 'The following options are target specific:\\n  -march=  \\t\\tfake\\n' ;;
  *) echo "/usr/bin/ld: cannot find -lmvec: No such file or directory" >&2
     echo "collect2: error: ld returned 1 exit status" >&2; exit 1 ;;
esac
"""
WITHOUT_THE_COMPILED_ENGINE = """
import json, os, sys, warnings
sys.modules["fcntl"] = None  # as on Windows, which has no fcntl
from nslib.engine.kernel_cache import EngineFallbackWarning
from nslib.engine.runstore import RunStore
from nslib.engine.grid import run_grid
from nslib.engine.specs import make_spec
sys.path.insert(0, sys.argv[1])
from test_training import DATA

store, report = RunStore(os.path.join(sys.argv[2], "runs.csv")), {}
for first_seed, (machine, path, cache) in enumerate(json.loads(sys.argv[3]), start=42):
    os.environ.update(PATH=path, NSLIB_KERNEL_CACHE=cache)
    specs = [make_spec("SYN", "light", act, seed, epochs=1, batch_size=128, widths=(8, 4))
             for act in ("relu", "sin(x)") for seed in (first_seed, first_seed + 10)]  # runs of its own
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # every warning given, not only the first of each text
        rows = run_grid(specs, DATA, store=store, progress=False, max_stack=1, workers=2)  # four stacks
    said = [str(w.message) for w in caught if issubclass(w.category, EngineFallbackWarning)]
    report[machine] = {"said": said, "device": sorted(set(rows["device"])), "status": sorted(set(rows["status"]))}
report["stored"] = len(store.read())
print(json.dumps(report))
"""


def test_without_gcc_libmvec_or_a_private_cache_a_grid_trains_with_the_torch_engine_saying_so_once(
    tmp_path: Path,
) -> None:
    """A fresh process on machines where the compiled kernels cannot be had, and without fcntl, as on Windows.

    Today's code stopped each grid: without gcc with a RuntimeError, with a gcc that cannot link libmvec with
    ``ld: cannot find -lmvec``; it loaded from a cache folder others can write; and without fcntl nslib did not
    import (``nslib.engine.runstore`` imported it).
    """
    no_gcc, fake = tmp_path / "no_gcc", tmp_path / "fake_gcc"
    no_gcc.mkdir()
    fake.mkdir()
    (fake / "gcc").write_text(FAKE_GCC)
    (fake / "gcc").chmod(0o755)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    machines = [("no gcc", str(no_gcc), str(tmp_path / "cache1")), ("no libmvec", str(fake), str(tmp_path / "cache2")),
                ("shared cache", os.environ["PATH"], str(shared))]
    command = [sys.executable, "-c", WITHOUT_THE_COMPILED_ENGINE, str(Path(__file__).parent), str(tmp_path),
               json.dumps(machines)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.splitlines()[-1])
    for machine, why in [("no gcc", "gcc was not found"), ("no libmvec", "cannot find -lmvec"),
                         ("shared cache", "can be written by other users")]:
        said = report[machine]["said"]
        assert len(said) == 1 and why in said[0] and "\n" not in said[0], (machine, said)
        assert "torch engine trains instead" in said[0]
        assert report[machine]["device"] == ["cpu (torch engine)"] and report[machine]["status"] == ["ok"]
    assert report["stored"] == 12
