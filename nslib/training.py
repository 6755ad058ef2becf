"""Training runs: one with a plain loop, or a whole grid with a fast stacked engine.

One run is what the paper does per configuration and seed (``docs/method.md``):
``split_and_scale``, Adam (lr 1e-3), Sigmoid + binary cross-entropy (BCELoss, its
log clamped at -100), shuffled mini-batches of 1024 (the last, partial one
included), 15 epochs; then, in eval mode, accuracy at p > 0.5, ROC AUC and
efficiency = AUC / log10(params).

``trained_network`` is the reference: an ``nn.Module`` loop, slow but plainly right.
``run_grid``, which the notebooks use, trains runs of the same shape (data set,
widths, epochs, batch size, learning rate) K at a time, with one of two engines
(``engine``); there is no DataLoader: each epoch's permutations index the data on
the device.

- The compiled engine (``nslib.compiled``), on the CPU: each step is ``torch.bmm``
  for the products and, for everything else (BatchNorm, the activation, dropout, the
  output unit with BCELoss, Adam), C loops that gcc compiles, with C generated for
  each activation and its derivative (``nslib.ccode``); no autograd graph.
- The torch engine (``_Stack``), on a GPU, for rational runs (their coefficients
  are per model), with ``NSLIB_ENGINE=torch``, and wherever the compiled kernels
  cannot be built or loaded (no gcc or libmvec; one line says so): weights become ``[K, in, out]``
  tensors multiplied with ``torch.bmm``, and activations stay sample-major,
  ``[batch, K * units]``, so that one native ``batch_norm`` call computes every
  model's own batch and running statistics. Adam is elementwise, so one Adam
  minimising the sum of the models' losses is K independent Adams.

Every random choice of a run comes from its own seed: the initial weights
(``torch.manual_seed(seed)`` then ``mlp(...)``), and one ``torch.Generator``
seeded with ``seed`` that draws, in this order, each epoch's permutation and then
each batch's dropout masks layer by layer (``nslib.models.dropout_words``), the
same in every engine. On the CPU, with torch on one thread (as ``run_grid`` sets
it), a run's accuracy, ROC AUC and test loss are bit for bit the same whatever it
is stacked with and however many workers train (see ``_SIMD_BLOCK`` and
``nslib.ccode.FLAGS``); with the torch engine its recorded ``train_loss`` can
differ in the last digit. The engines and the reference loop agree to rounding,
which training amplifies, not to the bit; each row records its engine (``device``).
A run whose output or loss stops being finite is stopped and recorded as ``failed``
with the reason; the rest of its stack trains on.

Where the time goes, in the torch engine: the matrix products are a quarter
(Light) to two fifths (Heavy) of a step; the rest is memory-bound elementwise work
(BatchNorm, the activation, dropout, Adam), cos-heavy formula activations (torch's
cos and sin take 1.3 ns a float32 value here, thirteen times a multiplication),
and per-operation overhead on small matrices. Measured (the paper's 51-run grid on
this project's shared 2-core virtual machine, CPU seconds; before -> after):

- Kept, and what reached the targets: the compiled engine. The whole step in C
  around ``torch.bmm``, model-major ``[K, batch, units]``, one pass per layer and
  direction, Adam over one flat buffer. The bench grid (``make bench``, two workers,
  wall): 31.6 s, 6.7x faster than the paper-style loop and 5.2x the floor -> 22.1 s,
  11.5x and 2.9x, on a slower day of this machine (``torch.mm`` at 146 against 181
  GFLOP/s); peak memory 632 -> 628 MB. Its kernels release the GIL, so two threads
  nearly double one (5 epochs: 9.5 -> 5.0 s, where the torch engine's gained 1.5x, 18.6
  -> 12.6 s). Single thread, stack by stack, 15 epochs (a prototype of it): 59.8 ->
  32.9 s, Light stacks 1.85-2.46x, Heavy 1.38-1.82x. Every number moved in its last
  digits (training losses within 1e-6 to 1e-4 of the torch engine's; chaotic formula
  runs drift further). The flags keep IEEE NaN and infinity (a failed run shows as
  NaN; ``-ffast-math`` would lose it) and vectorise sin, cos, exp and erf through
  glibc's libmvec; gcc compiles each activation once, in about 0.45 s.
- Kept: formula activations compute ``Formula.cheaper()``, each shared subterm
  once (``nslib.symbolic.FormulaActivation``), to the literal formula's last bit.
  Forward and backward on ``[1024, 512]`` float32: HIGGS's
  ``sub(cos(x), cos(abs(cos(x))))`` 11.0 -> 6.6 ms, FOREST_COVER's 5.1 -> 4.0 ms,
  SPAMBASE's 3.9 -> 3.8 ms. Formula runs' numbers moved in the last bits (a shared
  subterm's gradient is summed once); ReLU, GELU and SiLU runs' did not.
- Kept, for memory: each model gathers its batch from its seed's split in place,
  not from a stacked copy per stack; one malloc arena for all workers
  (``_keep_freed_memory``); evaluation ``EVAL_CHUNK`` rows at a time. The grid's
  peak: 808 -> 608 MB; CPU time 58.3 -> 56.8 s.
- Kept: activations keep their SIMD padding from layer to layer
  (``_StackedLinear``), instead of a padding and an unpadding copy around every
  hidden layer: a Heavy FOREST_COVER stack 1.06 -> 0.88 s of CPU an epoch, same bits.
- Measured, nothing to gain: the layout of the batched products. Strided
  sample-major views and contiguous per-model matrices run within 3% of each
  other, at about 57% of the ``torch.mm`` rate on 2048 x 2048 that defines the
  floor (one ``torch.mm`` of the same total size is no faster): the products
  alone are about 1.75x the floor, so the 3x target leaves the elementwise work
  little more than the products' time. Adam with ``foreach=True``: same numbers, no faster.
- Not kept: stacks of up to 16 runs instead of 8: CPU time 57.3 -> 55.4 s (3%),
  but peak memory 615 -> 738 MB, over the paper's script's 640 MB.
- Not kept: stacks in worker processes (joblib's loky) instead of threads.
  Threads scale poorly on Light FOREST_COVER stacks (2 workers: 1.26-1.4x one
  worker's speed; a step's per-model Python loops hold the GIL), but on a mixed
  grid (48 runs, 15 epochs, three data sets, Heavy and Light) processes took
  37.0 s, threads 38.4 s: within the noise, for a torch and a data copy per worker.
- Not kept: ``torch.compile`` (inductor's C++ backend) of the activation: HIGGS's
  formula, forward and backward on ``[1024, 512]``, 5.8 -> 1.0 ms, but compiling
  took 48 s cold and 11 s warm, per activation and process: the bench grid's
  formula runs would save about 5 s of CPU for about 150 s of compiling three
  formulas cold, and CI and ``make bench`` start cold.
- Measured, then superseded by the compiled engine (``scripts/fused_probe.py``):
  BatchNorm (training mode), activation and dropout fused into one C loop per direction (gcc -O3 -ffast-math
  -march=native, glibc's vector sin/cos; 0.3 s to compile, called through ctypes),
  against this engine's torch calls, forward and backward of one layer block
  ``[1024, 256 | 512 | 1792]``, one thread, three runs: HIGGS's formula 2.7-4.8x
  faster (e.g. 6.4 -> 1.9 ms on 512 columns), ReLU 1.3-7.1x (this machine's memory
  bandwidth varies from run to run). It agrees with torch to 1.2e-6 (relative), not
  to the bit, so every recorded number would move in its last digits, and it needs
  a C compiler at run time. gcc turns sin and cos of one value into a scalar
  ``sincosf`` (about 6x slower); keeping both vectorised needs ``-fdisable-tree-sincos``.
  In whole stacks (``--stacks``: eight Forest Cover runs, 3 epochs, one worker,
  evaluation unchanged) the gain shrinks to Light HIGGS formula 1.34-1.39x, Light
  ReLU 1.01-1.06x, Heavy ReLU 1.00-1.19x (two runs): the products, Adam, the masks
  and the per-operation overhead stay, so this avenue alone would not reach the
  10x and 3x targets.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import itertools
import math
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import CancelledError, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from nslib.progress import progress as progress_bar

from nslib.activations import activation_label, activation_module, resolve_formula
from nslib.checks import check_int
from nslib.comparisons import efficiency
from nslib.compiled import CompiledStack
from nslib.data import Dataset, split_and_scale
from nslib.kernel_cache import KernelUnavailable, report_fallback
from nslib.models import check_widths, count_params_of, dropout_words, dropout_words_shape, keep_scale, mlp, widths_of
from nslib.parallel import Executor, executor_from_env, map_unordered
from nslib.rational import N_COEFFICIENTS, Rational, rational
from nslib.repro import data_fingerprint, pick_device, versions_text
from nslib.results import RUN_CODE_VERSION, RunStore, as_table

ENGINES = ("compiled", "torch")
BN_MOMENTUM = 0.1  # nn.BatchNorm1d's defaults
BN_EPS = 1e-5
# Test rows per forward pass in evaluation: the training batch, so that evaluation
# reuses the blocks training freed (4096 rows grew the grid's peak by 77 MB).
EVAL_CHUNK = 1024
MAX_STACK = 8  # runs trained at once: 5 to 15 cost the same per run (measured); 8 leaves stacks to share out
# torch's CPU kernels work in SIMD blocks of 32 float32 values (two AVX-512
# vectors) and do the remainder with scalar code, which for some functions
# (sigmoid, SiLU, column sums, BatchNorm's backward) rounds differently. Keeping
# each model's values in whole blocks makes its numbers independent of how many
# models share a tensor.
_SIMD_BLOCK = 32
_GLOBAL_RNG = threading.Lock()
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8  # mallopt parameters, glibc's malloc.h
_versions = functools.cache(versions_text)  # package versions do not change within a session


@dataclass(frozen=True)
class RunSpec:
    """Everything that decides one training run, apart from the data; made by ``make_spec``.

    ``activation`` is the spec given by the user (``"relu"`` or a formula);
    ``formula`` is its canonical text (empty for ReLU, GELU, SiLU). A stored run is
    this spec's only on the same data and code version (``nslib.results``).
    """

    dataset: str
    arch: str
    widths: tuple[int, ...]
    activation: str
    formula: str
    seed: int
    epochs: int = 15
    batch_size: int = 1024
    lr: float = 1e-3
    test_size: float = 0.2
    validation: float = 0.0

    @property
    def key(self) -> str:
        """A stable, readable identity for resume: equal keys mean the same run."""
        # What is computed: "relu" and "ReLU", or two spellings of a formula, are one run.
        computed = self.formula or self.activation.strip().lower()
        parts = [self.dataset, self.arch, "-".join(map(str, self.widths)), computed, f"seed={self.seed}",
                 f"epochs={self.epochs}", f"batch={self.batch_size}", f"lr={self.lr!r}", f"test={self.test_size!r}"]
        if self.validation:  # runs without a validation split keep the keys they had before it existed
            parts.append(f"val={self.validation!r}")
        return "|".join(parts)

    @property
    def shape(self) -> tuple:
        """What runs must share to be stacked: data set, widths and the training settings."""
        return (self.dataset, self.widths, self.epochs, self.batch_size, self.lr, self.test_size, self.validation)

    @property
    def module_spec(self) -> str:
        """What ``activation_module`` is built from: the recorded formula if any."""
        return self.formula or self.activation


def make_spec(
    dataset: str,
    arch: str,
    activation: str,
    seed: int,
    *,
    epochs: int = 15,
    batch_size: int = 1024,
    lr: float = 1e-3,
    test_size: float = 0.2,
    validation: float = 0.0,
    widths: Sequence[int] | None = None,
) -> RunSpec:
    """Check one run's settings and record its activation's canonical formula.

    ``activation`` is a built-in name or a formula in ``x`` (a data set's discovered
    one comes from ``nslib.grids.formulas_for``). ``arch`` is ``"heavy"`` or
    ``"light"``, or with explicit ``widths`` only a label (e.g. ``"width"``). With
    ``validation`` > 0 that fraction of the training part is held out and the run
    records its validation ROC AUC every epoch (``val_auc``), which budgets are
    tuned on (``nslib.tuning``); the test part is never looked at to tune.
    """
    widths = widths_of(arch) if widths is None else check_widths(widths)
    seed = check_int("seed", seed, low=0, example="42")
    epochs = check_int("epochs", epochs, example="15")
    batch_size = check_int("batch_size", batch_size, low=2, example="1024")
    if not (isinstance(lr, (int, float)) and lr > 0):
        raise ValueError(f"lr={lr!r} must be a positive number, e.g. 1e-3.")
    if not 0 < test_size < 1:
        raise ValueError(f"test_size={test_size!r} must be a fraction between 0 and 1, e.g. 0.2.")
    if not 0 <= validation < 1:
        raise ValueError(f"validation={validation!r} must be 0 (none) or a fraction of the training part, e.g. 0.2.")
    return RunSpec(dataset, arch, widths, activation, resolve_formula(activation), seed, epochs, batch_size, float(lr),
                   test_size, float(validation))


# ------------------------------------------------------------ shared pieces


@dataclass(frozen=True)
class _Split:
    """One seed's split of one data set, tensors on the training device; ``X_val`` is None without validation."""

    X_train: torch.Tensor
    X_test: torch.Tensor
    y_train: torch.Tensor
    y_test: np.ndarray
    X_val: torch.Tensor | None = None
    y_val: np.ndarray | None = None


def _split(dataset: Dataset, spec: RunSpec, device: torch.device) -> _Split:
    """The paper's split of ``spec.seed``; with ``spec.validation``, its training part split again.

    The validation rows are carved from the scaled training part with ``train_test_split(random_state=seed)``:
    the scaler saw them, the network does not train on them, and the test part stays unseen.
    """
    X_train, X_test, y_train, y_test = split_and_scale(dataset, spec.seed, test_size=spec.test_size)
    X_val = y_val = None
    if spec.validation:
        from sklearn.model_selection import train_test_split  # here: sklearn stays out of workers without it

        X_train, X_val, y_train, y_val = train_test_split(
            X_train, y_train, test_size=spec.validation, random_state=spec.seed
        )
    if len(X_train) % spec.batch_size == 1:
        raise ValueError(
            f"{dataset.name}: {len(X_train)} training rows leave a last batch of 1 row with "
            f"batch_size={spec.batch_size}, which BatchNorm cannot normalise; choose another batch size."
        )

    def tensor(array: np.ndarray | None) -> torch.Tensor | None:
        if array is None:
            return None
        return torch.as_tensor(np.ascontiguousarray(array), dtype=torch.float32, device=device)

    return _Split(tensor(X_train), tensor(X_test), tensor(y_train), y_test, tensor(X_val), y_val)


def _initial_model(spec: RunSpec, d: int, dropout_generator: torch.Generator | None = None) -> nn.Sequential:
    """The run's initial network: ``torch.manual_seed(seed)`` then ``mlp``; global RNG left as it was."""
    # nn.Linear draws from the global generator, which worker threads share.
    with _GLOBAL_RNG, torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec.seed)
        return mlp(d, spec.widths, spec.module_spec, dropout_generator=dropout_generator)


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one thread in this block (or decorated function), then restore the setting.

    Multi-threaded kernels on small tensors gain little, round differently with the thread
    count, and slow down many times over on cores other programs share.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _failure(kind: str, epoch: int, batch: int, spec: RunSpec) -> str:
    return (
        f"{kind} became NaN or infinite at epoch {epoch + 1} batch {batch + 1} "
        f"(of {spec.epochs} epochs): the activation or its gradient overflows float32"
    )


def binary_metrics(p: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Accuracy at p > 0.5, ROC AUC and BCE test loss (log clamped at -100, like BCELoss)."""
    from sklearn.metrics import roc_auc_score  # here: importing sklearn costs a training worker 70 MB

    p64 = p.astype(np.float64)
    with np.errstate(divide="ignore"):  # log(0) = -inf, clamped like BCELoss
        loss = -(y * np.maximum(np.log(p64), -100) + (1 - y) * np.maximum(np.log1p(-p64), -100)).mean()
    return float(((p > 0.5) == y).mean()), float(roc_auc_score(y, p)), float(loss)


def _validation_auc(p: np.ndarray, split: _Split) -> float:
    """ROC AUC on the validation rows; NaN when the output is not finite."""
    return binary_metrics(p, split.y_val)[1] if np.isfinite(p).all() else math.nan


def _row(
    spec: RunSpec, dataset: Dataset, *, reason: str = "", p: np.ndarray | None = None, y: np.ndarray | None = None,
    train_loss: Sequence[float] = (), val_auc: Sequence[float] = (), seconds: float, device: torch.device,
    engine: str = "reference loop",
) -> dict:
    """One row of ``runs.csv`` (``nslib.results.COLUMNS``): failed for ``reason``, else scored on predictions ``p``.

    ``device`` is recorded with the ``engine`` that trained the run, whose rounding the numbers carry."""
    if not reason and not np.isfinite(p).all():
        reason = "the output on the test set is NaN or infinite: the activation overflows float32"
    elif not reason and len(np.unique(y)) < 2:
        reason = "the test set holds one class only, so ROC AUC is undefined; use more rows"
    acc, auc, test_loss = (math.nan, math.nan, math.nan) if reason else binary_metrics(p, y)
    params = count_params_of(dataset.n_features, spec.widths, spec.module_spec)
    return {
        "key": spec.key,
        "dataset": spec.dataset,
        "arch": spec.arch,
        "widths": "-".join(map(str, spec.widths)),
        "activation": activation_label(spec.activation),
        "formula": spec.formula,
        "seed": spec.seed,
        "epochs": spec.epochs,
        "batch_size": spec.batch_size,
        "lr": spec.lr,
        "rows": int(dataset.provenance.rows_used),
        "acc": acc,
        "auc": auc,
        "test_loss": test_loss,
        "params": params,
        "efficiency": efficiency(auc, params),
        "seconds": seconds,
        "status": "failed" if reason else "ok",
        "reason": reason,
        "train_loss": ";".join(f"{loss:.6g}" for loss in train_loss),
        "validation": spec.validation,
        "val_auc": ";".join(f"{auc:.6f}" for auc in val_auc),
        "data_sha256": data_fingerprint(dataset.X, dataset.y),
        "code_version": RUN_CODE_VERSION,
        "versions": _versions(),
        "device": f"{device} ({engine})",
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


# ------------------------------------------------------------ the reference loop


@one_thread()
def trained_network(
    dataset: Dataset, arch: str, activation: str, seed: int, *, device: str | torch.device = "auto", **settings: Any
) -> tuple[dict, nn.Sequential]:
    """Train and evaluate one network with a plain ``nn.Module`` loop; return its ``runs.csv`` row and the network.

    ``settings`` are ``make_spec``'s keyword arguments. This is the reference
    ``run_grid`` is tested against: the same split, initial weights, permutations,
    dropout masks and metrics. The network (eval mode; a failed run's as it was when
    it failed) is for looking inside, e.g. at a rational activation's learned curves
    (``nslib.rational.learned_coefficients``).
    """
    spec = make_spec(dataset.name, arch, activation, seed, **settings)
    device = pick_device(device)
    start = time.perf_counter()
    split = _split(dataset, spec, device)
    n, d = split.X_train.shape
    generator = torch.Generator(device=device).manual_seed(spec.seed)
    model = _initial_model(spec, d, dropout_generator=generator).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=spec.lr)
    losses, val_auc = [], []
    for epoch in range(spec.epochs):
        model.train()
        order = torch.randperm(n, generator=generator, device=device)
        total = 0.0
        for batch, first in enumerate(range(0, n, spec.batch_size)):
            rows = order[first : first + spec.batch_size]
            p = model(split.X_train[rows]).squeeze(1)
            # binary_cross_entropy raises on a NaN probability: check the output first.
            loss = F.binary_cross_entropy(p, split.y_train[rows]) if torch.isfinite(p).all() else None
            if loss is None or not torch.isfinite(loss):
                reason = _failure("the output" if loss is None else "the loss", epoch, batch, spec)
                row = _row(spec, dataset, reason=reason, train_loss=losses, val_auc=val_auc,
                           seconds=time.perf_counter() - start, device=device)
                return row, model.train(False)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(rows)
        losses.append(total / n)
        if split.X_val is not None:
            model.train(False)
            with torch.no_grad():
                val_auc.append(_validation_auc(model(split.X_val).squeeze(1).cpu().numpy(), split))
    model.train(False)
    with torch.no_grad():
        p = model(split.X_test).squeeze(1).cpu().numpy()
    row = _row(spec, dataset, p=p, y=split.y_test, train_loss=losses, val_auc=val_auc,
               seconds=time.perf_counter() - start, device=device)
    return row, model


# ------------------------------------------------------------ the stacked engine


def _simd_aligned(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """``fn(x)`` for an ``fn`` that keeps the last dimension of ``x`` (``[..., n]``), every row in SIMD code."""
    pad = -x.shape[-1] % _SIMD_BLOCK
    if pad == 0 and x.is_contiguous():
        return fn(x)
    return fn(F.pad(x, (0, pad)))[..., : x.shape[-1]]


class _StackedLinear(torch.autograd.Function):
    """K Linear layers at once on sample-major activations: ``[batch, K * in_block] -> [batch, K * padded]``.

    Model k owns columns ``k * in_block : k * in_block + in`` of the input (the rest of its
    block is SIMD padding, ignored) and ``k * padded : k * padded + out`` of the output, whose
    padding is zero; ``weight`` is ``[K, in, out]`` (transposed ``nn.Linear`` weights),
    ``bias`` ``[K, out]``. The products run on strided views, the layout change fused with the
    bias addition. A single output (the last layer) uses elementwise products: BLAS would take
    a matrix-vector path for a lone model and round differently from the batched one.
    """

    @staticmethod
    def forward(ctx, a: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, padded: int) -> torch.Tensor:
        batch, (K, width_in, width_out) = a.shape[0], weight.shape
        a3 = a.view(batch, K, -1)[..., :width_in]
        if width_out == 1:
            products = (a3 * weight.view(1, K, width_in)).sum(2, keepdim=True)
        else:
            products = torch.bmm(a3.transpose(0, 1), weight).transpose(0, 1)
        out = torch.empty(batch, K, padded, dtype=a.dtype, device=a.device)
        out[..., width_out:].zero_()
        torch.add(products, bias, out=out[..., :width_out])
        ctx.save_for_backward(a, weight)
        return out.view(batch, K * padded)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor, torch.Tensor, None]:
        a, weight = ctx.saved_tensors
        batch, (K, width_in, width_out) = a.shape[0], weight.shape
        a3 = a.view(batch, K, -1)[..., :width_in]
        grad3 = grad.reshape(batch, K, -1)[..., :width_out]
        grad_a = None
        if ctx.needs_input_grad[0]:
            # Written straight into the input's padded, sample-major layout: no copy.
            grad_a = torch.empty_like(a).view(batch, K, -1)
            grad_a[..., width_in:].zero_()
        if width_out == 1:
            grad_weight = _simd_aligned(lambda t: t.sum(0), a3 * grad3).unsqueeze(-1)
            if grad_a is not None:
                torch.mul(grad3, weight.view(1, K, width_in), out=grad_a[..., :width_in])
        else:
            grad_weight = torch.bmm(a3.permute(1, 2, 0), grad3.transpose(0, 1))
            if grad_a is not None:
                torch.bmm(grad3.transpose(0, 1), weight.transpose(1, 2), out=grad_a[..., :width_in].transpose(0, 1))
        grad_bias = _simd_aligned(lambda t: t.sum(0), grad3)
        return None if grad_a is None else grad_a.view(batch, -1), grad_weight, grad_bias, None


class _Stack:
    """K runs of one shape trained together, in the layout of ``_StackedLinear``.

    BatchNorm's weights and running statistics are flat ``[K * padded]``, the padding's entries
    inert. Rational runs' coefficients are ``[K, 10]`` per hidden layer, from each run's ``Rational``.
    """

    def __init__(self, specs: Sequence[RunSpec], d: int, device: torch.device) -> None:
        self.specs = specs
        self.K, self.device, self.widths = len(self.specs), device, self.specs[0].widths
        self.padded = [math.ceil(units / _SIMD_BLOCK) * _SIMD_BLOCK for units in self.widths]
        models = [_initial_model(spec, d) for spec in self.specs]
        rationals = [[m for m in model if isinstance(m, Rational)] for model in models]
        linears = [[m for m in model if isinstance(m, nn.Linear)] for model in models]
        norms = [[m for m in model if isinstance(m, nn.BatchNorm1d)] for model in models]

        def stacked(tensors: Iterable[torch.Tensor]) -> torch.Tensor:
            return torch.stack([t.detach() for t in tensors]).to(device).contiguous()

        def flat(layer: int, name: str, fill: float) -> torch.Tensor:
            pad = self.padded[layer] - self.widths[layer]
            return torch.cat([F.pad(getattr(bn[layer], name).detach(), (0, pad), value=fill) for bn in norms]).to(device)

        layers, hidden = range(len(linears[0])), range(len(norms[0]))
        self.W = [stacked(lin[layer].weight.T for lin in linears).requires_grad_() for layer in layers]
        self.b = [stacked(lin[layer].bias for lin in linears).requires_grad_() for layer in layers]
        self.gamma = [flat(layer, "weight", 1.0).requires_grad_() for layer in hidden]
        self.beta = [flat(layer, "bias", 0.0).requires_grad_() for layer in hidden]
        self.running_mean = [flat(layer, "running_mean", 0.0) for layer in hidden]
        self.running_var = [flat(layer, "running_var", 1.0) for layer in hidden]
        # Each model's rational coefficients (zero, unused, for a model without), where some run is rational.
        self.coefficients = [
            stacked(r[layer].coefficients if r else torch.zeros(N_COEFFICIENTS) for r in rationals).requires_grad_()
            for layer in hidden
        ] if any(rationals) else []
        self.parameters = [*self.W, *self.b, *self.gamma, *self.beta, *self.coefficients]
        # Not fused=True: faster, but its kernel rounds some tensors' tails differently.
        self.optimizer = torch.optim.Adam(self.parameters, lr=self.specs[0].lr)
        # Contiguous slices (first, last) sharing an activation (``_stacks`` puts such runs next to each other), with
        # its module; a Rational module only marks its slice, which computes with its models' coefficients.
        self.groups: list[tuple[int, int, nn.Module]] = []
        for module_spec, group in itertools.groupby(self.specs, key=lambda spec: spec.module_spec):
            first = self.groups[-1][1] if self.groups else 0
            self.groups.append((first, first + len(list(group)), activation_module(module_spec).to(device)))
        self.generators = [torch.Generator(device=device).manual_seed(spec.seed) for spec in self.specs]
        self._buffers: dict[int, list[tuple[torch.Tensor, torch.Tensor]]] = {}
        self._inputs = torch.empty(self.specs[0].batch_size, self.K, d, device=device)  # reused, as the masks are
        self._targets = torch.empty(self.K, self.specs[0].batch_size, device=device)

    def _activate(self, h: torch.Tensor, layer: int) -> torch.Tensor:
        units = h.shape[1] // self.K

        def apply(first: int, last: int, act: nn.Module, block: torch.Tensor) -> torch.Tensor:
            if isinstance(act, Rational):  # each model's own coefficients, not the module's
                out = rational(block.view(block.shape[0], last - first, units), self.coefficients[layer][first:last])
                return out.view(block.shape)
            return act(block)

        if len(self.groups) == 1:
            return apply(*self.groups[0], h)
        # split, not slicing: its backward is one concatenation, not a zero-filled
        # full-size gradient per group. Blocks are made contiguous because some
        # kernels (GELU's) round differently on strided input.
        blocks = h.split([(last - first) * units for first, last, _ in self.groups], dim=1)
        return torch.cat([apply(*group, block.contiguous()) for group, block in zip(self.groups, blocks)], dim=1)

    def forward(self, x: torch.Tensor, masks: Sequence[torch.Tensor] | None) -> torch.Tensor:
        """Probabilities ``[K, batch]`` for inputs ``[batch, K * d]``; training mode when ``masks`` are given."""
        a = x
        for layer, padded in enumerate(self.padded):
            h = _StackedLinear.apply(a, self.W[layer], self.b[layer], padded)
            h = F.batch_norm(
                h, self.running_mean[layer], self.running_var[layer], self.gamma[layer], self.beta[layer],
                training=masks is not None, momentum=BN_MOMENTUM, eps=BN_EPS,
            )
            h = self._activate(h, layer)
            a = h * masks[layer] if masks is not None else h
        return _simd_aligned(torch.sigmoid, _StackedLinear.apply(a, self.W[-1], self.b[-1], 1).T)

    def train_batch(
        self, X: Sequence[torch.Tensor], y: Sequence[torch.Tensor], rows: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Forward training batch ``rows`` ``[K, n]`` of each model's ``X`` and ``y``: probabilities ``[K, n]`` and
        losses ``[K]``. Each model's rows are gathered from its seed's split straight into its slice of the input."""
        size = rows.shape[1]
        x, target = self._inputs[:size], self._targets[:, :size]
        for k in range(self.K):
            torch.index_select(X[k], 0, rows[k], out=x[:, k])
            torch.index_select(y[k], 0, rows[k], out=target[k])
        p = self.forward(x.view(size, -1), self.masks(size))
        # A NaN probability makes binary_cross_entropy raise; that model fails anyway.
        self._loss = F.binary_cross_entropy(p.nan_to_num(0.5), target, reduction="none").mean(1)
        return p, self._loss

    def step(self, alive: torch.Tensor) -> None:
        """Back-propagate the last ``train_batch`` (models not ``alive`` get no gradient) and take one Adam step."""
        self.optimizer.zero_grad()
        torch.where(alive, self._loss, 0.0).sum().backward()
        self.optimizer.step()

    def probabilities(self, X: Sequence[torch.Tensor]) -> torch.Tensor:
        """Eval-mode probabilities ``[K, n]`` for each model's rows ``X[k]`` ``[n, d]``."""
        with torch.no_grad():
            return self.forward(torch.stack(X, dim=1).view(X[0].shape[0], -1), None)  # [n, K, d] -> [n, K * d]

    def masks(self, batch: int) -> list[torch.Tensor]:
        """Each model's dropout multipliers for one batch, ``[batch, K * padded]`` per layer.

        Model k draws its words from its own generator, layer after layer, as ``SeededDropout`` does.
        The buffers are reused (fresh memory is slow to fault in): the graph that saved them is gone.
        """
        if batch not in self._buffers:
            self._buffers[batch] = [
                (
                    torch.empty((self.K, *dropout_words_shape(batch, units)), dtype=torch.int64, device=self.device),
                    torch.zeros(batch, self.K, padded, device=self.device),
                )
                for units, padded in zip(self.widths, self.padded)
            ]
        buffers = self._buffers[batch]
        for k, generator in enumerate(self.generators):
            for units, (words, _) in zip(self.widths, buffers):
                dropout_words(batch, units, generator, out=words[k])
        for units, (words, mask) in zip(self.widths, buffers):
            keep_scale(words, units, out=mask[:, :, :units].transpose(0, 1))
        return [mask.view(batch, -1) for _, mask in buffers]

    def freeze(self, k: int) -> None:
        """Stop failed model ``k``: zero its weights, gradients and Adam state, so that it stays finite.

        Its output is then constant and, its loss masked out, its gradients zero: Adam never moves it again.
        """
        with torch.no_grad():
            for p in self.parameters:
                for tensor in [p, p.grad, *self.optimizer.state[p].values()]:  # Adam's step count is not per model
                    if tensor is not None and tensor.shape == p.shape:
                        tensor.view(self.K, -1)[k].zero_()
            for mean, var in zip(self.running_mean, self.running_var):
                mean.view(self.K, -1)[k].zero_()
                var.view(self.K, -1)[k].fill_(1.0)


def engine(device: torch.device, specs: Sequence[RunSpec]) -> str:
    """Which engine trains ``specs``: ``"compiled"`` (``nslib.compiled``) on the CPU, ``"torch"`` (``_Stack``) on a GPU
    or for rational runs, whose coefficients are per model; ``NSLIB_ENGINE=torch`` picks torch's on the CPU too.
    Where the compiled kernels cannot be had, ``_new_stack`` falls back to the torch engine."""
    chosen = os.environ.get("NSLIB_ENGINE", "compiled")
    if chosen not in ENGINES:
        raise ValueError(f"NSLIB_ENGINE={chosen!r} is not an engine; use one of {list(ENGINES)} or leave it unset.")
    if device.type != "cpu" or any(map(_is_rational, specs)):
        return "torch"
    return chosen


def _is_rational(spec: RunSpec) -> bool:
    return spec.module_spec.lower() == "rational"


def _new_stack(
    specs: Sequence[RunSpec], d: int, device: torch.device, engine_name: str
) -> tuple[_Stack | CompiledStack, str]:
    """A stack of ``engine_name`` and the engine it is: the torch engine's where the compiled kernels cannot be had
    here (no gcc, no libmvec, not Linux, a refused kernel cache), which ``report_fallback`` says once."""
    if engine_name == "compiled":
        try:
            return CompiledStack(specs, [_initial_model(spec, d) for spec in specs]), engine_name
        except KernelUnavailable as error:
            report_fallback(error)
    return _Stack(specs, d, device), "torch"


def _train_stack(
    specs: Sequence[RunSpec],
    dataset: Dataset,
    splits: Mapping[int, _Split],
    device: torch.device,
    advance: Callable[[int], object],
) -> list[dict]:
    """Train one stack of same-shape runs and return their rows; ``advance(K)`` is called after each epoch."""
    start = time.perf_counter()
    n, d = next(iter(splits.values())).X_train.shape
    stack, engine_name = _new_stack(specs, d, device, engine(device, specs))
    K, batch_size, epochs = len(specs), specs[0].batch_size, specs[0].epochs
    X = [splits[spec.seed].X_train for spec in specs]
    y = [splits[spec.seed].y_train for spec in specs]
    losses = torch.zeros(epochs, K, device=device)
    val_auc: list[list[float]] = [[] for _ in range(K)]
    alive = torch.ones(K, dtype=torch.bool, device=device)
    reasons, stopped_at = [""] * K, [epochs] * K  # why each run failed, and the epochs it completed
    for epoch in range(epochs):
        order = torch.stack([torch.randperm(n, generator=g, device=device) for g in stack.generators])
        for batch, first in enumerate(range(0, n, batch_size)):
            rows = order[:, first : first + batch_size]
            p, loss = stack.train_batch(X, y, rows)
            bad_output = ~torch.isfinite(p).all(1)
            newly_failed = torch.nonzero((bad_output | ~torch.isfinite(loss)) & alive).flatten().tolist()
            for k in newly_failed:
                alive[k] = False
                stopped_at[k] = epoch
                reasons[k] = _failure("the output" if bad_output[k] else "the loss", epoch, batch, specs[k])
            stack.step(alive)
            for k in newly_failed:
                stack.freeze(k)
            losses[epoch] += loss.detach().nan_to_num(0.0) * rows.shape[1]
        if specs[0].validation:
            for k, p in enumerate(_predict(stack, [splits[spec.seed].X_val for spec in specs])):
                if alive[k]:
                    val_auc[k].append(_validation_auc(p, splits[specs[k].seed]))
        advance(K)
    losses_per_run = (losses / n).T.cpu().tolist()
    probabilities = _predict(stack, [splits[spec.seed].X_test for spec in specs])
    seconds = (time.perf_counter() - start) / K
    return [
        _row(spec, dataset, reason=reasons[k], p=probabilities[k], y=splits[spec.seed].y_test,
             train_loss=losses_per_run[k][: stopped_at[k]], val_auc=val_auc[k], seconds=seconds, device=device,
             engine=f"{engine_name} engine")
        for k, spec in enumerate(specs)
    ]


def _predict(stack: _Stack | CompiledStack, X: Sequence[torch.Tensor]) -> list[np.ndarray]:
    """Each model's eval-mode probabilities on its rows ``X[k]``, ``EVAL_CHUNK`` rows at a time."""
    chunks = [stack.probabilities([X_k[first : first + EVAL_CHUNK] for X_k in X])
              for first in range(0, len(X[0]), EVAL_CHUNK)]
    return list(torch.cat(chunks, dim=1).cpu().numpy())


# ------------------------------------------------------------ the grid


def _stacks(specs: Sequence[RunSpec], max_stack: int) -> list[list[RunSpec]]:
    """Same-shape runs in stacks of at most ``max_stack``, split evenly, runs of one activation together.

    A stack computes each of its activations once, so fewer and larger activation groups are faster.
    """
    groups: dict[tuple, list[RunSpec]] = {}
    for spec in sorted(specs, key=lambda spec: spec.module_spec):
        # Rational runs train with the torch engine (``engine``), so they are stacked apart from the others.
        groups.setdefault((spec.shape, _is_rational(spec)), []).append(spec)
    stacks = []
    for group in groups.values():
        parts = -(-len(group) // max_stack)
        size = -(-len(group) // parts)
        stacks += [group[first : first + size] for first in range(0, len(group), size)]
    return stacks


def _seed_splits(
    stack: Sequence[RunSpec], dataset: Dataset, device: torch.device, splits: dict[tuple, _Split]
) -> dict[int, _Split]:
    """Each seed's split for ``stack``: from ``splits`` (keyed by data set, seed and split settings), or made there."""
    for spec in stack:
        where = (spec.dataset, spec.seed, spec.test_size, spec.validation)
        if where not in splits:
            splits[where] = _split(dataset, spec, device)
    return {spec.seed: splits[spec.dataset, spec.seed, spec.test_size, spec.validation] for spec in stack}


def _cost(stack: Sequence[RunSpec], dataset: Dataset) -> float:
    """A rough training cost of a stack (multiply-adds, plus elementwise work), to start the longest first."""
    spec = stack[0]
    per_sample = count_params_of(dataset.n_features, spec.widths, spec.module_spec) + 20 * sum(spec.widths)
    return len(stack) * dataset.n_rows * (1 - spec.test_size) * spec.epochs * per_sample


@functools.cache
def _keep_freed_memory() -> None:
    """Let glibc keep freed memory for reuse instead of handing it back to the kernel.

    A training step frees and allocates megabytes of tensors, which glibc by default
    returns to the kernel for the next step to fault in again: on this project's
    virtual machines about 1,100 page faults and 3-5 ms a step (15-20% of a Heavy
    step). All threads share one arena, so a block one worker freed serves the next
    (an arena per thread kept each thread's peak: 707 instead of 645 MB with 2 workers
    on FOREST_COVER). Linux with glibc only, else nothing; the process keeps its peak.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)  # glibc's largest: blocks up to 32 MB come from the heap
    libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)  # and the heap is never trimmed
    libc.mallopt(_M_ARENA_MAX, 1)


def _default_workers(device: torch.device) -> int:
    if device.type != "cpu":
        return 1
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_grid(
    specs: Iterable[RunSpec],
    datasets: Mapping[str, Dataset],
    *,
    store: RunStore | None = None,
    device: str | torch.device = "auto",
    progress: bool = True,
    max_stack: int = MAX_STACK,
    workers: int | None = None,
    executor: Executor | None = None,
) -> pd.DataFrame:
    """Train every spec and return one row per spec, in the order given.

    ``datasets`` maps each spec's data set name to its Dataset. Runs of the same shape are
    trained in stacks of at most ``max_stack`` (see the module docstring), ``workers`` stacks
    at a time, each in its own thread (default: one per CPU core; one on a GPU), torch on one
    thread (``one_thread``).

    With a ``store``, runs it holds for the same data and code version (``RunStore.current``)
    are read back, not trained again; each stack's rows are appended as soon as it finishes,
    so an interrupted grid resumes where it stopped. ``executor`` (default: ``NSLIB_JOBS``,
    which also sets the default ``workers``, and ``NSLIB_DASK_SCHEDULER``; see
    ``nslib.parallel``) can send the stacks to a Dask cluster instead, their rows coming back
    into the same store.
    """
    specs = list(specs)
    executor = executor or executor_from_env()
    keys = [spec.key for spec in specs]
    repeated = sorted(key for key, count in Counter(keys).items() if count > 1)
    if repeated:
        raise ValueError(f"these runs are asked for more than once: {repeated}; each spec must be unique.")
    missing = sorted({spec.dataset for spec in specs} - set(datasets))
    if missing:
        raise ValueError(f"no Dataset given for {missing}; pass datasets={{name: nslib.data.load(name)}}.")
    check_int("max_stack", max_stack, example=str(MAX_STACK))
    if workers is not None:
        check_int("workers", workers, example="2")
    device = pick_device(device)
    old = store.current(datasets) if store is not None else as_table([])
    old = old[old["key"].isin(keys)]
    done = set(old["key"])
    todo = [spec for spec in specs if spec.key not in done]
    stacks = sorted(_stacks(todo, max_stack), key=lambda stack: -_cost(stack, datasets[stack[0].dataset]))
    jobs = [(stack, datasets[stack[0].dataset]) for stack in stacks]
    new_rows: list[dict] = []

    def finished(rows: list[dict]) -> None:
        if store is not None:
            store.append(rows)
        new_rows.extend(rows)

    _keep_freed_memory()
    if workers is None:
        workers = executor.jobs if executor.jobs not in (None, -1) else _default_workers(device)
    with progress_bar(total=sum(spec.epochs for spec in todo), unit="epoch", desc=f"training {len(todo)} runs",
              disable=not progress) as bar, one_thread():
        if executor.scheduler is not None:
            for rows in map_unordered(_train_elsewhere, [(stack, data, device.type) for stack, data in jobs], executor):
                bar.update(sum(row["epochs"] for row in rows))
                finished(rows)
        elif jobs:
            splits: dict[tuple, _Split] = {}  # the stacks of one data set, seed and split settings share its split
            _run_threaded([(stack, data, _seed_splits(stack, data, device, splits)) for stack, data in jobs],
                          device, workers, bar.update, finished)
    table = pd.concat([old, as_table(new_rows)], ignore_index=True).set_index("key")
    return table.loc[keys].reset_index()


@one_thread()
def _train_elsewhere(job: tuple[list[RunSpec], Dataset, str]) -> list[dict]:
    """Train one stack in a worker process (a Dask worker): its own splits, one torch thread."""
    stack, dataset, device_type = job
    device = pick_device(device_type if device_type != "cuda" else "auto")
    return _train_stack(stack, dataset, _seed_splits(stack, dataset, device, {}), device, lambda epochs: None)


def _run_threaded(
    jobs: Sequence[tuple[list[RunSpec], Dataset, dict[int, _Split]]],
    device: torch.device,
    workers: int,
    update_bar: Callable[[int], object],
    finished: Callable[[list[dict]], None],
) -> None:
    """Train the stacks ``workers`` at a time; ``finished`` gets each stack's rows in the calling thread."""
    lock, stop = threading.Lock(), threading.Event()

    def advance(epochs: int) -> None:
        if stop.is_set():
            raise CancelledError  # the grid stopped: end this stack too; nobody reads its result
        with lock:
            update_bar(epochs)

    # torch's thread setting is per thread (OpenMP), so each worker sets it again.
    pool = ThreadPoolExecutor(min(workers, len(jobs)), initializer=torch.set_num_threads, initargs=(1,))
    futures = [pool.submit(_train_stack, stack, data, seed_splits, device, advance) for stack, data, seed_splits in jobs]
    try:
        for future in as_completed(futures):
            finished(future.result())
    finally:
        # On an error or an interrupt, stacks still training stop at their next epoch.
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
