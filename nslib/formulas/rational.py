"""A learned rational activation: the safe Padé Activation Unit (PAU), one curve per layer.

Molina, Schramowski and Kersting, "Padé Activation Units: End-to-end Learning
of Flexible Activation Functions in Deep Networks" (ICLR 2020), learn the
activation of each layer as a rational function. We use their "safe" form of
degree 5 over 4, whose denominator is at least 1, so the curve has no poles:

    R(x) = P(x) / Q(x),  P(x) = a_0 + a_1 x + ... + a_5 x^5,
                         Q(x) = 1 + |b_1| |x| + |b_2| |x|^2 + |b_3| |x|^3 + |b_4| |x|^4.

A layer's ten coefficients ``(a_0..a_5, b_1..b_4)`` are shared by all its
units, and start where a least-squares fit puts them to approximate the exact
GELU on [-3, 3] (``initial_coefficients``); training then moves them with the
rest of the network. ``rational`` computes K such activations at once with a
hand-written backward, so that the stacked engine (``nslib.engine.grid``) and the
``Rational`` module of the reference loop share one computation.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

import matplotlib.pyplot as plt
import numpy as np
import torch
from scipy.optimize import lsq_linear
from scipy.special import erf
from torch import nn

from nslib.formulas.parser import parse
from nslib.formulas.symbolic import Formula

NUMERATOR_DEGREE, DENOMINATOR_DEGREE = 5, 4
N_COEFFICIENTS = NUMERATOR_DEGREE + 1 + DENOMINATOR_DEGREE  # a_0..a_5, b_1..b_4
FIT_RANGE = (-3.0, 3.0)  # where the initial curve approximates GELU: BatchNorm's output lies mostly here
_FIT_POINTS = 601  # a grid step of 0.01
PLOT_RANGE = (-4.0, 4.0)


@functools.cache
def _fitted() -> tuple[float, ...]:
    # Multiplying R(x) = f(x) through by Q(x) makes the fit linear in the
    # coefficients: P(x) - f(x) (|b_1| |x| + ... ) = f(x), with |b_k| >= 0 as bounds.
    x = np.linspace(*FIT_RANGE, _FIT_POINTS)
    target = gelu(x)
    powers = np.column_stack([x**j for j in range(NUMERATOR_DEGREE + 1)])
    denominators = np.column_stack([-target * np.abs(x) ** k for k in range(1, DENOMINATOR_DEGREE + 1)])
    lower = [-np.inf] * (NUMERATOR_DEGREE + 1) + [0.0] * DENOMINATOR_DEGREE
    fit = lsq_linear(np.hstack([powers, denominators]), target, bounds=(lower, np.inf), method="bvls")
    return tuple(float(c) for c in fit.x)


def gelu(x: np.ndarray) -> np.ndarray:
    """The exact GELU, ``x * Phi(x)``, in float64 numpy: the curve a rational starts from."""
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


def initial_coefficients() -> np.ndarray:
    """The ten starting coefficients ``(a_0..a_5, b_1..b_4)``: the least-squares fit of R to GELU on [-3, 3].

    Deterministic (a bounded linear least-squares problem, no starting point)
    and computed once per process. A fresh array each call.
    """
    return np.array(_fitted())


def _signs(values: torch.Tensor) -> torch.Tensor:
    """The derivative of ``|b|``: its sign, taken as +1 at 0 so that a zero coefficient can still move."""
    return torch.where(values < 0, -1.0, 1.0).to(values.dtype)


def _terms(coefficients: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """``[a_0..a_5]`` and ``[|b_1|..|b_4|]``, each ``[1, K, 1]`` to broadcast over ``x`` ``[batch, K, n]``."""
    columns = [coefficients[:, i].view(1, -1, 1) for i in range(N_COEFFICIENTS)]
    return columns[: NUMERATOR_DEGREE + 1], [column.abs() for column in columns[NUMERATOR_DEGREE + 1 :]]


class _RationalFunction(torch.autograd.Function):
    """``R`` on ``x`` ``[batch, K, n]`` with coefficients ``[K, 10]``; see ``rational``."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, coefficients: torch.Tensor) -> torch.Tensor:
        a, b = _terms(coefficients)
        # Horner's scheme with separate multiplications and additions (no fused
        # multiply-add), so every element rounds the same in SIMD and scalar code.
        p = x * a[NUMERATOR_DEGREE]
        for j in range(NUMERATOR_DEGREE - 1, 0, -1):
            p.add_(a[j]).mul_(x)
        p.add_(a[0])
        magnitude = x.abs()
        q = magnitude * b[-1]
        for k in range(DENOMINATOR_DEGREE - 2, -1, -1):
            q.add_(b[k]).mul_(magnitude)
        q.add_(1.0)
        out = p.div_(q)
        ctx.save_for_backward(x, coefficients, q, out)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        x, coefficients, q, out = ctx.saved_tensors
        a, b = _terms(coefficients)
        # Contiguous, so that the per-model sums below run the same whatever the caller's layout.
        t = grad.contiguous() / q  # dR/dP times the incoming gradient
        magnitude = x.abs()
        work = torch.empty_like(t)  # one buffer, reused: fresh memory is slow to fault in
        grad_x = grad_coefficients = None
        if ctx.needs_input_grad[1]:
            # dR/da_j = x^j / Q and dR/db_k = -sign(b_k) |x|^k R / Q, summed over the batch and units.
            partial_sums = [t.sum(0)]
            torch.mul(t, x, out=work)
            for j in range(1, NUMERATOR_DEGREE + 1):
                partial_sums.append(work.sum(0))
                if j < NUMERATOR_DEGREE:
                    work.mul_(x)
            torch.mul(t, out, out=work)
            for _ in range(DENOMINATOR_DEGREE):
                partial_sums.append(work.mul_(magnitude).sum(0))
            # [K, 10, n] summed over the units: each model's row the same way wherever it sits,
            # when n is a whole number of SIMD blocks (as the stacked engine's blocks are).
            grad_coefficients = torch.stack(partial_sums, dim=1).sum(2)
            signs = _signs(coefficients[:, NUMERATOR_DEGREE + 1 :])
            grad_coefficients[:, NUMERATOR_DEGREE + 1 :].mul_(signs).neg_()
        if ctx.needs_input_grad[0]:
            # dR/dx = (P'(x) - R(x) Q'(x)) / Q(x), with Q'(x) = sign(x) (|b_1| + 2 |b_2| |x| + ...).
            dq = torch.mul(magnitude, DENOMINATOR_DEGREE * b[-1], out=work)
            for k in range(DENOMINATOR_DEGREE - 1, 1, -1):
                dq.add_(k * b[k - 1]).mul_(magnitude)
            dq.add_(b[0]).mul_(torch.sign(x)).mul_(out)
            dp = torch.mul(x, NUMERATOR_DEGREE * a[NUMERATOR_DEGREE], out=magnitude)  # |x| is no longer needed
            for j in range(NUMERATOR_DEGREE - 1, 1, -1):
                dp.add_(j * a[j]).mul_(x)
            grad_x = dp.add_(a[1]).sub_(dq).mul_(t)
        return grad_x, grad_coefficients


def rational(x: torch.Tensor, coefficients: torch.Tensor) -> torch.Tensor:
    """K rational activations at once: ``R_k`` applied to ``x[:, k, :]``, with model k's ``coefficients[k]``.

    ``x`` is ``[batch, K, n]`` and ``coefficients`` ``[K, 10]``, in the order
    ``(a_0..a_5, b_1..b_4)`` of the module docstring; the result has ``x``'s
    shape. Differentiable in both; the gradient of ``|b_k|`` at ``b_k = 0`` is
    taken as +1.
    """
    if x.dim() != 3 or coefficients.shape != (x.shape[1], N_COEFFICIENTS):
        raise ValueError(
            f"rational() takes x [batch, K, n] and coefficients [K, {N_COEFFICIENTS}]; got "
            f"{tuple(x.shape)} and {tuple(coefficients.shape)}. For one layer use the Rational module."
        )
    return _RationalFunction.apply(x, coefficients)


class Rational(nn.Module):
    """The safe PAU as an activation module: one learned curve for all units of a layer.

    ``coefficients`` (10 parameters, ``(a_0..a_5, b_1..b_4)``) start at
    ``initial_coefficients()``, the fit to GELU. The input is ``[batch, units]``,
    or any shape whose first dimension is the batch.
    """

    def __init__(self) -> None:
        super().__init__()
        self.coefficients = nn.Parameter(torch.tensor(initial_coefficients(), dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the layer's rational curve elementwise."""
        rows = x.shape[0] if x.dim() > 1 else 1
        return rational(x.reshape(rows, 1, -1), self.coefficients.unsqueeze(0)).view(x.shape)

    def extra_repr(self) -> str:
        return f"degree {NUMERATOR_DEGREE}/{DENOMINATOR_DEGREE}, safe denominator"


def learned_coefficients(network: nn.Module) -> np.ndarray:
    """The coefficients of every ``Rational`` in ``network``, one row of 10 per layer in order, float64.

    ``network`` is a trained ``nslib.engine.models.mlp`` with the ``"rational"``
    activation, e.g. the one ``nslib.engine.reference.trained_network`` returns.
    """
    rows = [m.coefficients.detach().cpu().double().numpy() for m in network.modules() if isinstance(m, Rational)]
    if not rows:
        raise ValueError("the network has no Rational activation; train it with activation='rational'.")
    return np.stack(rows)


def curve(coefficients: np.ndarray, x: np.ndarray) -> np.ndarray:
    """One layer's rational curve at ``x``, from its 10 coefficients, in float64 numpy."""
    coefficients = np.asarray(coefficients, dtype=np.float64)
    if coefficients.shape != (N_COEFFICIENTS,):
        raise ValueError(f"coefficients must be one layer's {N_COEFFICIENTS} values; got shape {coefficients.shape}.")
    values = torch.as_tensor(np.asarray(x, dtype=np.float64))
    with torch.no_grad():
        out = rational(values.reshape(1, 1, -1), torch.as_tensor(coefficients).view(1, -1))
    return out.view(values.shape).numpy()


def plot_curves(
    coefficients: np.ndarray,
    compare: Mapping[str, Callable[[np.ndarray], np.ndarray] | Formula | str] | None = None,
    *,
    ax: plt.Axes | None = None,
    x_range: tuple[float, float] = PLOT_RANGE,
) -> plt.Axes:
    """Draw each layer's learned curve on ``x_range`` beside the curves in ``compare``, and return the axes.

    ``coefficients`` is ``[layers, 10]`` (``learned_coefficients``). ``compare``
    maps a label to a numpy function of x (e.g. ``nslib.formulas.rational.gelu``), a
    ``nslib.formulas.symbolic`` formula in x, or formula text; these are drawn dashed.
    """
    coefficients = np.atleast_2d(np.asarray(coefficients, dtype=np.float64))
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    x = np.linspace(*x_range, 401)
    for layer, row in enumerate(coefficients, start=1):
        ax.plot(x, curve(row, x), label=f"rational, hidden layer {layer}")
    for label, function in (compare or {}).items():
        if isinstance(function, str):
            function = parse(function)
        values = function.evaluate(x) if isinstance(function, Formula) else function(x)
        ax.plot(x, values, linestyle="--", label=label)
    ax.set(xlabel="x (activation input)", ylabel="activation output", title="Learned rational activations")
    ax.legend()
    return ax
