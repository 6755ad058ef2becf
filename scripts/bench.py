"""Time the training engine against the paper-style loop on the paper's grid (``make bench``).

Prints, for one run on this machine:

1. per configuration (seed 42, 15 epochs): the paper-style loop (a DataLoader
   over a TensorDataset with shuffle=True, batch 1024, Sigmoid + BCELoss,
   train/eval toggles, one run after another) against ``nslib.engine.grid.run_grid``
   training that run alone, and the ratio;
2. the whole grid (per data set Heavy-ReLU; Light ReLU, GELU, SiLU and the data
   set's own formula; for FOREST_COVER and SPAMBASE also the HIGGS formula; seeds
   42, 43, 44) with ``run_grid``, against the paper-style loop on the same grid
   (timed on every seed when that takes under 4 minutes or with ``--paper-full``,
   otherwise seed 42 times the number of seeds, labelled as extrapolated);
3. the arithmetic floor: the grid's matrix-multiply FLOPs (forward and backward,
   6 per weight per sample) at the measured ``torch.mm`` rate on 2048 x 2048 float32;
4. the peak resident memory of this whole process (imports, data, run_grid and
   the paper-style loop), against the paper's script's 640 MB
   (``nslib.stats.paper.PAPER_CODE_PEAK_MB``).

The specialist formulas are the programs the paper's code finds on the
mirror's data with seed 42 (``nslib.stats.paper.PAPER_CODE_PROGRAMS``), collapsed to x,
so the bench needs no discovery run. Results go to ``derived_dir()/bench.json``.
Timings are noisy on a shared machine: the load average is recorded with them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
import warnings
from datetime import datetime, timezone

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from tqdm.auto import tqdm

from nslib.core.files import atomic_write
from nslib.core.paths import derived_dir
from nslib.core.repro import pick_device, versions
from nslib.data.catalog import Dataset
from nslib.data.datasets import load, split_and_scale
from nslib.engine.grid import run_grid
from nslib.engine.models import mlp
from nslib.engine.specs import RunSpec
from nslib.experiments.paper_grid import paper_specs
from nslib.formulas.parser import parse
from nslib.stats.paper import PAPER_CODE_PEAK_MB, PAPER_CODE_PROGRAMS

DATASETS = ("HIGGS", "FOREST_COVER", "SPAMBASE")
TRANSFER_FROM = "HIGGS"
SPEEDUP_TARGET = 10.0
FLOOR_TARGET = 3.0
BUSY_LOAD = 0.5  # a load average above this at the start means the timings are not a quiet machine's
PAPER_FULL_LIMIT_S = 240.0  # time the paper-style loop on every seed when that takes less than this


def grid(seeds: tuple[int, ...], epochs: int) -> list[RunSpec]:
    """The paper's grid with the paper code's own formulas as specialists and HIGGS's as transfer."""
    formulas = {name: str(parse(program).collapse()) for name, program in PAPER_CODE_PROGRAMS.items()}
    return paper_specs(DATASETS, formulas, seeds, epochs, transfer_from=TRANSFER_FROM)


def paper_style_run(spec: RunSpec, dataset: Dataset) -> float:
    """One run the way the paper's script does it; returns its wall time in seconds."""
    start = time.perf_counter()
    X_train, X_test, y_train, y_test = split_and_scale(dataset, spec.seed, test_size=spec.test_size)
    torch.manual_seed(spec.seed)
    model = mlp(dataset.n_features, spec.widths, spec.module_spec)
    loader = DataLoader(
        TensorDataset(torch.tensor(X_train), torch.tensor(y_train, dtype=torch.float32).unsqueeze(1)),
        batch_size=spec.batch_size,
        shuffle=True,
    )
    criterion, optimizer = nn.BCELoss(), torch.optim.Adam(model.parameters(), lr=spec.lr)
    for _ in range(spec.epochs):
        model.train()
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = criterion(model(xb), yb)
            loss.backward()
            optimizer.step()
    model.train(False)
    with torch.no_grad():
        p = model(torch.tensor(X_test)).squeeze(1).numpy()
    roc_auc_score(y_test, p)
    return time.perf_counter() - start


def paper_style_times(specs: list[RunSpec], datasets: dict[str, Dataset], args: argparse.Namespace) -> dict:
    """Wall seconds of ``paper_style_run`` per spec key, with a progress bar."""
    bar = tqdm(specs, desc=f"paper-style loop, {args.paper_threads} threads", disable=args.quick)
    return {spec.key: paper_style_run(spec, datasets[spec.dataset]) for spec in bar}


def matmul_rate(size: int, repeats: int) -> float:
    """The best ``torch.mm`` rate on ``size x size`` float32 matrices, in FLOP/s."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    best = min(_timed(torch.mm, a, b) for _ in range(repeats))
    return 2 * size**3 / best


def _timed(fn, *args, **kwargs) -> float:
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def grid_flops(specs: list[RunSpec], datasets: dict[str, Dataset]) -> float:
    """Matrix-multiply FLOPs of training: 6 per weight per training sample per epoch."""
    total = 0.0
    for spec in specs:
        dataset = datasets[spec.dataset]
        n_train = dataset.n_rows - int(np.ceil(dataset.n_rows * spec.test_size))
        widths = (dataset.n_features, *spec.widths, 1)
        weights = sum(a * b for a, b in zip(widths[:-1], widths[1:]))
        total += 6.0 * n_train * spec.epochs * weights
    return total


def peak_mb() -> float:
    """This process's peak resident memory (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny settings: a smoke test in seconds")
    parser.add_argument("--paper-full", action="store_true", help="time the paper-style loop on every seed")
    parser.add_argument("--repeat", type=int, default=1, help="time the grid this many times, keep the best")
    parser.add_argument("--paper-threads", type=int, default=torch.get_num_threads(),
                        help="torch threads for the paper-style loop (default: torch's default, as the paper's code)")
    args = parser.parse_args()
    rows, epochs, seeds = (1000, 1, (42,)) if args.quick else (None, 15, (42, 43, 44))
    device = pick_device("auto")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the mirror's samples are smaller than the paper's data; recorded below
        datasets = {name: load(name, rows=rows) for name in DATASETS}
    specs = grid(seeds, epochs)
    first_seed = [spec for spec in specs if spec.seed == seeds[0]]
    load_start = os.getloadavg()[0]
    print(f"device {device}, torch threads {torch.get_num_threads()}, cores {os.cpu_count()}, "
          f"load average {load_start:.2f}")
    if load_start > BUSY_LOAD:
        print("other programs are using the CPU: every timing below is slower than on a quiet machine, "
              "the paper-style loop's most (its two threads wait for each other)")
    print("rows: " + ", ".join(f"{name} {data.n_rows:,}" for name, data in datasets.items()))

    rate = matmul_rate(512 if args.quick else 2048, 3 if args.quick else 5)
    flops = grid_flops(specs, datasets)
    floor = flops / rate

    print(f"timing run_grid on the whole grid ({len(specs)} runs)...", flush=True)
    cpu = time.process_time()
    ours_grid = min(
        _timed(run_grid, specs, datasets, progress=not args.quick, device=device)
        for _ in range(max(1, args.repeat))
    )
    ours_grid_cpu = (time.process_time() - cpu) / max(1, args.repeat)
    peak_ours = peak_mb()
    ours_alone = {
        spec.key: _timed(run_grid, [spec], datasets, progress=False, device=device, workers=1)
        for spec in tqdm(first_seed, desc="run_grid, one run at a time", disable=args.quick)
    }
    cpu, threads = time.process_time(), torch.get_num_threads()
    torch.set_num_threads(args.paper_threads)
    paper = paper_style_times(first_seed, datasets, args)
    # The other seeds cost the same: time them too only when that takes a few minutes at most.
    full = args.paper_full or sum(paper.values()) * len(seeds) < PAPER_FULL_LIMIT_S
    if full:
        paper.update(paper_style_times([spec for spec in specs if spec.seed != seeds[0]], datasets, args))
    torch.set_num_threads(threads)
    scale = 1 if full else len(seeds)
    paper_grid, paper_grid_cpu = sum(paper.values()) * scale, (time.process_time() - cpu) * scale

    print(f"\nper run (seed {seeds[0]}, {epochs} epochs): paper-style loop vs run_grid training it alone")
    print(f"{'data set':<13} {'model':<6} {'activation':<34} {'paper s':>8} {'ours s':>7} {'ratio':>6}")
    per_run = []
    for spec in first_seed:
        ratio = paper[spec.key] / ours_alone[spec.key]
        per_run.append({"dataset": spec.dataset, "arch": spec.arch, "activation": spec.activation,
                        "paper_s": paper[spec.key], "ours_s": ours_alone[spec.key], "ratio": ratio})
        print(f"{spec.dataset:<13} {spec.arch:<6} {spec.activation[:34]:<34} "
              f"{paper[spec.key]:8.2f} {ours_alone[spec.key]:7.2f} {ratio:6.1f}")

    speedup = paper_grid / ours_grid
    label = "timed" if full else f"seed {seeds[0]} timed, x{len(seeds)} seeds (extrapolated)"
    print(f"\nwhole grid, {len(specs)} runs:")
    print(f"  paper-style loop  {paper_grid:8.1f} s  ({label})")
    print(f"  run_grid          {ours_grid:8.1f} s  ({speedup:.1f}x faster; target {SPEEDUP_TARGET:.0f}x: "
          f"{'met' if speedup >= SPEEDUP_TARGET else 'NOT met'})")
    print(f"  arithmetic floor  {floor:8.1f} s  ({flops / 1e12:.2f} TFLOP at {rate / 1e9:.0f} GFLOP/s; "
          f"run_grid is {ours_grid / floor:.1f}x the floor; target {FLOOR_TARGET:.0f}x: "
          f"{'met' if ours_grid <= FLOOR_TARGET * floor else 'NOT met'})")
    print(f"  CPU time          {paper_grid_cpu:8.1f} s paper-style, {ours_grid_cpu:.1f} s run_grid "
          "(summed over threads)")
    peak = peak_mb()
    print(f"  peak memory       {peak:8.0f} MB for the whole process ({peak_ours:.0f} MB after run_grid; "
          f"target {PAPER_CODE_PEAK_MB:.0f} MB: {'met' if peak <= PAPER_CODE_PEAK_MB else 'NOT met'})")

    result = {
        "quick": args.quick,
        "device": str(device),
        "torch_threads": torch.get_num_threads(),
        "paper_threads": args.paper_threads,
        "cpu_count": os.cpu_count(),
        "load_average_start": load_start,
        "load_average_end": os.getloadavg()[0],
        "rows": {name: data.n_rows for name, data in datasets.items()},
        "runs": len(specs),
        "epochs": epochs,
        "seeds": list(seeds),
        "per_run": per_run,
        "paper_grid_s": paper_grid,
        "paper_grid_extrapolated": not full,
        "ours_grid_s": ours_grid,
        "paper_grid_cpu_s": paper_grid_cpu,
        "ours_grid_cpu_s": ours_grid_cpu,
        "speedup": speedup,
        "speedup_target_met": speedup >= SPEEDUP_TARGET,
        "grid_tflop": flops / 1e12,
        "matmul_gflops": rate / 1e9,
        "floor_s": floor,
        "floor_ratio": ours_grid / floor,
        "floor_target_met": ours_grid <= FLOOR_TARGET * floor,
        "peak_mb_after_ours": peak_ours,
        "peak_mb_end": peak,
        "peak_target_mb": PAPER_CODE_PEAK_MB,
        "peak_target_met": peak <= PAPER_CODE_PEAK_MB,
        "versions": versions(),
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    path = derived_dir() / "bench.json"
    with atomic_write(path, "w") as out:
        out.write(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten: {path}")


if __name__ == "__main__":
    main()
