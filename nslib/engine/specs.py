"""What one training run is and what it records: the spec, its split, its initial network, its row.

``make_spec`` checks a run's settings into a ``RunSpec``; ``seed_split`` makes the paper's
split of its seed (with a validation part when asked); ``initial_model`` builds its initial
network from its seed; ``run_row`` turns its outcome into one line of ``runs.csv``
(``nslib.engine.runstore.COLUMNS``). Every engine, and KAN, share these pieces, so a run's
split, weights and metrics are one thing whichever code trains it.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
import torch
from torch import nn

from nslib.core.checks import check_int
from nslib.core.repro import data_fingerprint, versions_text
from nslib.data.catalog import Dataset
from nslib.data.datasets import split_and_scale
from nslib.engine.models import check_widths, count_params_of, mlp, widths_of
from nslib.engine.runstore import RUN_CODE_VERSION
from nslib.formulas.activations import activation_label, resolve_formula
from nslib.stats.comparisons import efficiency

_GLOBAL_RNG = threading.Lock()


_versions = functools.cache(versions_text)  # package versions do not change within a session


@dataclass(frozen=True)
class RunSpec:
    """Everything that decides one training run, apart from the data; made by ``make_spec``.

    ``activation`` is the spec given by the user (``"relu"`` or a formula);
    ``formula`` is its canonical text (empty for ReLU, GELU, SiLU). A stored run is
    this spec's only on the same data and code version (``nslib.engine.runstore``).
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
    patience: int = 0

    @property
    def key(self) -> str:
        """A stable, readable identity for resume: equal keys mean the same run."""
        # What is computed: "relu" and "ReLU", or two spellings of a formula, are one run.
        computed = self.formula or self.activation.strip().lower()
        parts = [self.dataset, self.arch, "-".join(map(str, self.widths)), computed, f"seed={self.seed}",
                 f"epochs={self.epochs}", f"batch={self.batch_size}", f"lr={self.lr!r}", f"test={self.test_size!r}"]
        if self.validation:  # runs without a validation split keep the keys they had before it existed
            parts.append(f"val={self.validation!r}")
        if self.patience:
            parts.append(f"patience={self.patience}")
        return "|".join(parts)

    @property
    def shape(self) -> tuple:
        """What runs must share to be stacked: data set, widths and the training settings."""
        return (self.dataset, self.widths, self.epochs, self.batch_size, self.lr, self.test_size, self.validation,
                self.patience)

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
    patience: int = 0,
    widths: Sequence[int] | None = None,
) -> RunSpec:
    """Check one run's settings and record its activation's canonical formula.

    ``activation`` is a built-in name or a formula in ``x`` (a data set's discovered
    one comes from ``nslib.experiments.paper_grid.formulas_for``). ``arch`` is ``"heavy"`` or
    ``"light"``, or with explicit ``widths`` only a label (e.g. ``"width"``). With
    ``validation`` > 0 that fraction of the training part is held out and the run
    records its validation ROC AUC every epoch (``val_auc``), which budgets are
    tuned on (``nslib.experiments.tuning``); the test part is never looked at to tune.
    With ``patience`` > 0 (validation needed) the run stops early, ``epochs`` then being
    its cap, once its validation AUC has not improved for ``patience`` epochs
    (``patience_spent``); it is scored on the test part as it was when it stopped.
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
    patience = check_int("patience", patience, low=0, example="10")
    if patience and not validation:
        raise ValueError(f"patience={patience} stops a run on its validation curve: give it validation=0.2 as well.")
    return RunSpec(dataset, arch, widths, activation, resolve_formula(activation), seed, epochs, batch_size, float(lr),
                   test_size, float(validation), patience)


@dataclass(frozen=True)
class Split:
    """One seed's split of one data set, tensors on the training device; ``X_val`` is None without validation."""

    X_train: torch.Tensor
    X_test: torch.Tensor
    y_train: torch.Tensor
    y_test: np.ndarray
    X_val: torch.Tensor | None = None
    y_val: np.ndarray | None = None


def seed_split(dataset: Dataset, spec: RunSpec, device: torch.device) -> Split:
    """The paper's split of ``spec.seed``; with ``spec.validation``, its training part split again.

    The validation rows are carved from the scaled training part with ``train_test_split(random_state=seed)``:
    the scaler saw them, the network does not train on them, and the test part stays unseen.
    """
    X_train, X_test, y_train, y_test = split_and_scale(dataset, spec.seed, test_size=spec.test_size)
    X_val = y_val = None
    if spec.validation:
        from sklearn.model_selection import (
            train_test_split,  # here: sklearn stays out of workers without it
        )

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

    return Split(tensor(X_train), tensor(X_test), tensor(y_train), y_test, tensor(X_val), y_val)


def initial_model(spec: RunSpec, d: int, dropout_generator: torch.Generator | None = None) -> nn.Sequential:
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


def failure_reason(kind: str, epoch: int, batch: int, epochs: int) -> str:
    """Why a run stopped: ``kind`` ("the output" or "the loss") stopped being finite at this epoch and batch."""
    return (
        f"{kind} became NaN or infinite at epoch {epoch + 1} batch {batch + 1} "
        f"(of {epochs} epochs): the activation or its gradient overflows float32"
    )


def binary_metrics(p: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Accuracy at p > 0.5, ROC AUC and BCE test loss (log clamped at -100, like BCELoss)."""
    from sklearn.metrics import (
        roc_auc_score,  # here: importing sklearn costs a training worker 70 MB
    )

    p64 = p.astype(np.float64)
    with np.errstate(divide="ignore"):  # log(0) = -inf, clamped like BCELoss
        loss = -(y * np.maximum(np.log(p64), -100) + (1 - y) * np.maximum(np.log1p(-p64), -100)).mean()
    return float(((p > 0.5) == y).mean()), float(roc_auc_score(y, p)), float(loss)


def validation_auc(p: np.ndarray, split: Split) -> float:
    """ROC AUC on the validation rows; NaN when the output is not finite."""
    return binary_metrics(p, split.y_val)[1] if np.isfinite(p).all() else math.nan


def patience_spent(val_auc: Sequence[float], patience: int) -> bool:
    """Whether early stopping ends a run: its last ``patience`` validation AUCs were none above the best before them.

    A NaN AUC (a constant output) never counts as an improvement; ``patience`` 0 never stops.
    """
    if not patience or len(val_auc) <= patience:
        return False
    curve = np.nan_to_num(np.asarray(val_auc, dtype=float), nan=-np.inf)
    return int(np.argmax(curve)) < len(curve) - patience


def run_row(
    spec: RunSpec, dataset: Dataset, *, reason: str = "", p: np.ndarray | None = None, y: np.ndarray | None = None,
    train_loss: Sequence[float] = (), val_auc: Sequence[float] = (), seconds: float, device: torch.device,
    engine: str = "reference loop",
) -> dict:
    """One row of ``runs.csv`` (``nslib.engine.runstore.COLUMNS``): failed for ``reason``, else scored on predictions ``p``.

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


def activation_groups(module_specs: Sequence[str]) -> list[tuple[int, int, str]]:
    """``(first, last, module_spec)`` for each run of consecutive models of a stack that share an activation."""
    groups: list[tuple[int, int, str]] = []
    for module_spec, group in itertools.groupby(module_specs):
        first = groups[-1][1] if groups else 0
        groups.append((first, first + len(list(group)), module_spec))
    return groups
