"""The paper's two networks, Heavy (``HEAVY_WIDTHS``, ReLU) and Light (``LIGHT_WIDTHS``, any activation).

Both are ``mlp``s. Their dropout masks come from 16-bit random words (one per unit
and sample), so that both training engines (``nslib.engine.grid``) draw exactly the
same masks from a run's own generator; see ``dropout_words``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn

from nslib.core.checks import check_int
from nslib.formulas.activations import activation_module

DROPOUT = 0.3
HEAVY_WIDTHS = (200, 100)
LIGHT_WIDTHS = (64, 32)
ARCHITECTURES = {"heavy": HEAVY_WIDTHS, "light": LIGHT_WIDTHS}

# A unit is kept when its signed 16-bit word is at least this: 45,875 of the
# 65,536 words, so the drop probability is 0.3000031 instead of exactly 0.3.
# Four masks per 64-bit draw make mask generation four times cheaper than
# one float per mask (about 1.2 ns instead of 4.7 ns a mask on this CPU).
_WORDS_PER_DRAW = 4
KEEP_FROM = -(2**15) + round(DROPOUT * 2**16)


def widths_of(arch: str) -> tuple[int, ...]:
    """The hidden widths of a named architecture, ``"heavy"`` or ``"light"``."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"arch={arch!r} is not known; use 'heavy' (200-100) or 'light' (64-32), or pass explicit widths.")
    return ARCHITECTURES[arch]


def check_widths(widths: Sequence[int]) -> tuple[int, ...]:
    """Validate hidden widths: a non-empty sequence of positive integers."""
    if isinstance(widths, (list, tuple)) and widths and all(
        isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in widths
    ):
        return tuple(widths)
    raise ValueError(f"widths={widths!r} must be a non-empty tuple of positive integers, e.g. (64, 32).")


def dropout_words_shape(batch: int, units: int) -> tuple[int, int]:
    """The shape of one batch's dropout words: one int64 per four units of a sample."""
    return batch, -(-units // _WORDS_PER_DRAW)


def dropout_words(
    batch: int, units: int, generator: torch.Generator, *, out: torch.Tensor | None = None
) -> torch.Tensor:
    """Draw the random words of one dropout layer for one batch: int64 ``[batch, ceil(units / 4)]``.

    Each 64-bit word holds four 16-bit words, one per unit (``keep_scale`` makes the
    mask). ``out``, contiguous and of that shape, is filled in place.
    """
    shape = dropout_words_shape(batch, units)
    if out is None:
        out = torch.empty(shape, dtype=torch.int64, device=generator.device)
    elif tuple(out.shape) != shape or not out.is_contiguous() or out.dtype != torch.int64:
        raise ValueError(f"out must be a contiguous int64 tensor of shape {shape}, got {tuple(out.shape)}.")
    return out.random_(-(2**63), None, generator=generator)


def keep_scale(words: torch.Tensor, units: int, *, out: torch.Tensor | None = None) -> torch.Tensor:
    """Dropout's float32 multiplier ``[..., units]`` from ``dropout_words``: ``1 / (1 - p)`` where kept, else 0.

    ``out``, if given, may have any strides (e.g. a transposed view).
    """
    halves = words.view(torch.int16)[..., :units]
    # w - KEEP_FROM + 1 is >= 1 for a kept unit and <= 0 otherwise (exact in
    # float32); clamping to [0, 1] gives the mask in cheap passes (comparisons
    # that produce bool tensors are several times slower on CPU).
    out = halves.float() if out is None else out.copy_(halves)
    return out.add_(1 - KEEP_FROM).clamp_(0.0, 1.0).mul_(1.0 / (1.0 - DROPOUT))


class SeededDropout(nn.Dropout):
    """``nn.Dropout(0.3)`` whose masks come from ``generator`` through ``dropout_words``, one per training call."""

    def __init__(self, generator: torch.Generator) -> None:
        super().__init__(DROPOUT)
        self.generator = generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Multiply ``x`` (``[batch, units]``) by a fresh mask in training mode."""
        if not self.training:
            return x
        batch, units = x.shape
        return x * keep_scale(dropout_words(batch, units, self.generator), units)


def mlp(
    d: int,
    widths: Sequence[int],
    activation: str,
    *,
    dropout_generator: torch.Generator | None = None,
) -> nn.Sequential:
    """Linear, BatchNorm1d, activation, Dropout(0.3) per hidden width; then Linear(last, 1), Sigmoid.

    ``activation`` is any spec ``nslib.formulas.activations.activation_module`` takes. With
    ``dropout_generator`` the dropout layers draw their masks from it
    (``SeededDropout``), which makes a training run repeatable bit for bit.
    """
    d = check_int("d", d, example="57 (the number of input features)")
    widths = check_widths(widths)
    layers: list[nn.Module] = []
    for width_in, width in itertools.pairwise((d, *widths)):
        dropout = nn.Dropout(DROPOUT) if dropout_generator is None else SeededDropout(dropout_generator)
        layers += [nn.Linear(width_in, width), nn.BatchNorm1d(width), activation_module(activation), dropout]
    return nn.Sequential(*layers, nn.Linear(widths[-1], 1), nn.Sigmoid())


def count_params(model: nn.Module) -> int:
    """All trainable parameters (BatchNorm's affine weights included, running statistics not)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_params_of(d: int, widths: Sequence[int], activation: str = "relu") -> int:
    """The trainable parameters of ``mlp(d, widths, activation)``, without building it."""
    widths = check_widths(widths)
    per_activation = count_params(activation_module(activation))
    layers = itertools.pairwise((d, *widths))  # each hidden layer's (inputs, units): Linear, BatchNorm1d, activation
    hidden = sum(width_in * width + width + 2 * width + per_activation for width_in, width in layers)
    return hidden + widths[-1] + 1
