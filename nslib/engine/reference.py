"""The reference loop: one run trained with a plain ``nn.Module`` loop, slow but plainly right.

``trained_network`` is what the paper does per configuration and seed, and what the fast
engines (``nslib.engine.grid``) are tested against. ``train_minibatches`` is its loop over
shuffled mini-batches, which KAN (``nslib.experiments.kan``) trains through as well.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nslib.core.repro import pick_device
from nslib.data.catalog import Dataset
from nslib.engine.specs import (
    failure_reason,
    initial_model,
    make_spec,
    one_thread,
    patience_spent,
    run_row,
    seed_split,
    validation_auc,
)


def train_minibatches(
    probabilities: Callable[[torch.Tensor], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int,
    batch_size: int,
    generator: torch.Generator,
    before_epoch: Callable[[], object] = lambda: None,
    after_epoch: Callable[[], object] = lambda: None,
) -> tuple[list[float], str]:
    """Train on shuffled mini-batches with binary cross-entropy; return each epoch's mean loss and why it stopped.

    ``probabilities(X_batch)`` is the model's output in (0, 1), shape ``[batch, 1]``. Each epoch
    draws its permutation from ``generator``, and the last, partial batch is included. Training
    stops at the first batch whose output or loss is not finite: the reason says where
    (``failure_reason``), and the losses cover the epochs completed; the reason is empty when
    every epoch ran. An ``after_epoch`` that returns True ends training there (early stopping),
    with an empty reason.
    """
    n = len(X)
    losses: list[float] = []
    for epoch in range(epochs):
        before_epoch()
        order = torch.randperm(n, generator=generator, device=X.device)
        total = 0.0
        for batch, first in enumerate(range(0, n, batch_size)):
            rows = order[first : first + batch_size]
            p = probabilities(X[rows]).squeeze(1)
            # binary_cross_entropy raises on a NaN probability: check the output first.
            loss = F.binary_cross_entropy(p, y[rows]) if torch.isfinite(p).all() else None
            if loss is None or not torch.isfinite(loss):
                return losses, failure_reason("the output" if loss is None else "the loss", epoch, batch, epochs)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(rows)
        losses.append(total / n)
        if after_epoch() is True:
            break
    return losses, ""


@one_thread()
def trained_network(
    dataset: Dataset, arch: str, activation: str, seed: int, *, device: str | torch.device = "auto", **settings: Any
) -> tuple[dict, nn.Sequential]:
    """Train and evaluate one network with a plain ``nn.Module`` loop; return its ``runs.csv`` row and the network.

    ``settings`` are ``make_spec``'s keyword arguments. This is the reference
    ``run_grid`` is tested against: the same split, initial weights, permutations,
    dropout masks and metrics. The network (eval mode; a failed run's as it was when
    it failed) is for looking inside, e.g. at a rational activation's learned curves
    (``nslib.formulas.rational.learned_coefficients``).
    """
    spec = make_spec(dataset.name, arch, activation, seed, **settings)
    device = pick_device(device)
    start = time.perf_counter()
    split = seed_split(dataset, spec, device)
    d = split.X_train.shape[1]
    generator = torch.Generator(device=device).manual_seed(spec.seed)
    model = initial_model(spec, d, dropout_generator=generator).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=spec.lr)
    val_auc: list[float] = []

    def validate() -> bool:
        """Record the validation AUC; True when early stopping ends the run (``patience_spent``)."""
        if split.X_val is None:
            return False
        model.train(False)
        with torch.no_grad():
            val_auc.append(validation_auc(model(split.X_val).squeeze(1).cpu().numpy(), split))
        return patience_spent(val_auc, spec.patience)

    losses, reason = train_minibatches(model, optimizer, split.X_train, split.y_train, epochs=spec.epochs,
                                       batch_size=spec.batch_size, generator=generator, before_epoch=model.train,
                                       after_epoch=validate)
    if reason:
        row = run_row(spec, dataset, reason=reason, train_loss=losses, val_auc=val_auc,
                      seconds=time.perf_counter() - start, device=device)
        return row, model.train(False)
    model.train(False)
    with torch.no_grad():
        p = model(split.X_test).squeeze(1).cpu().numpy()
    row = run_row(spec, dataset, p=p, y=split.y_test, train_loss=losses, val_auc=val_auc,
                  seconds=time.perf_counter() - start, device=device)
    return row, model
