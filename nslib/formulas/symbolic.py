"""Formulas in gplearn's notation: read them, print them, and compute them.

gplearn writes programs in prefix form, ``mul(cos(X3), X5)``. ``parse`` reads one with Python's
``ast.parse`` and a whitelist walk into an immutable tree, computed with numpy (as gplearn's
``execute``), torch (an activation ``nn.Module``) or sympy (for printing). Nothing is ever run:
a formula holds only operators, numbers, the variables ``x`` or ``X0``, ``X1``, ..., commas and
parentheses, and anything else is a ``FormulaError`` pointing at it.

Operators have gplearn's semantics (``gplearn/functions.py``): ``div(a, b)`` is ``a/b`` where
``|b| > 0.001`` else 1, ``log(a)`` is ``log|a|`` and ``inv(a)`` is ``1/a`` where ``|a| > 0.001``
else 0, and ``sqrt(a)`` is ``sqrt|a|``.

Torch gradients: ``torch.where`` lets a NaN from its unused branch leak into the gradient, so each
protected operator first replaces the inputs it will not use by 1 (its constant region has gradient 0).
At ``a == 0``, where ``sqrt|a|`` has an infinite slope, the gradient is 0, as torch's ``abs`` and
``relu`` choose at their kinks; elsewhere gradients are exact, large but finite near 0.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

if TYPE_CHECKING:
    import sympy

MAX_LENGTH = 10_000
MAX_DEPTH = 64
PROTECTION_THRESHOLD = 0.001  # gplearn's closure threshold for div, log and inv
_ERROR_WINDOW = 72  # characters of the formula shown around an error


class FormulaError(ValueError):
    """A formula that cannot be read or used; the message says where and why."""

    def __init__(self, message: str, text: str | None = None, position: int | None = None) -> None:
        self.text = text
        self.position = position
        if text is not None and position is not None:
            # The formula (or a window of it) on one line, and a caret under the position.
            start = max(0, min(position - _ERROR_WINDOW // 2, len(text) - _ERROR_WINDOW))
            end = min(len(text), start + _ERROR_WINDOW)
            prefix, suffix = "..." if start > 0 else "", "..." if end < len(text) else ""
            snippet = re.sub(r"\s", " ", text[start:end])  # tabs and newlines would shift the caret
            caret = " " * (len(prefix) + position - start) + "^"
            message = f"column {position + 1}: {message}\n  {prefix}{snippet}{suffix}\n  {caret}"
        super().__init__(message)


# ---------------------------------------------------------------- the operators


def _torch_guarded(value: Callable[..., torch.Tensor], argument: torch.Tensor, otherwise: float) -> torch.Tensor:
    """``value(argument)`` where ``|argument| > 0.001``, else ``otherwise``; unused entries reach ``value`` as 1."""
    used = argument.abs() > PROTECTION_THRESHOLD
    return torch.where(used, value(torch.where(used, argument, 1.0)), otherwise)


def _torch_sqrt(a: torch.Tensor) -> torch.Tensor:
    kink = a == 0  # sqrt|a|'s infinite slope there becomes 0 (module docstring)
    return torch.where(kink, 0.0, torch.sqrt(torch.where(kink, 1.0, a.abs())))


def _sympy_guarded(sympy: ModuleType, value: sympy.Expr, argument: sympy.Expr, otherwise: int) -> sympy.Expr:
    """``value`` where ``|argument| > 0.001``, else ``otherwise``, as a ``Piecewise``."""
    # The float, not the rational 1/1000: gplearn compares against the double 0.001,
    # which is a hair above 1/1000, and an input of exactly 0.001 must stay protected.
    return sympy.Piecewise((value, sympy.Abs(argument) > sympy.Float(PROTECTION_THRESHOLD)), (otherwise, True))


@dataclass(frozen=True)
class Operator:
    """One of gplearn's functions, computed the same way in numpy and torch, and its exact sympy form.

    ``sympy`` takes the sympy module first: it is imported on first use, so training workers do not carry it.
    """

    arity: int
    numpy: Callable[..., np.ndarray]
    torch: Callable[..., torch.Tensor]
    sympy: Callable[..., sympy.Expr]


OPERATORS: dict[str, Operator] = {
    "add": Operator(2, np.add, torch.add, lambda sympy, a, b: a + b),
    "sub": Operator(2, np.subtract, torch.sub, lambda sympy, a, b: a - b),
    "mul": Operator(2, np.multiply, torch.mul, lambda sympy, a, b: a * b),
    "div": Operator(2, lambda a, b: np.where(np.abs(b) > PROTECTION_THRESHOLD, np.divide(a, b), 1.0),
                    lambda a, b: _torch_guarded(lambda safe: a / safe, b, 1.0),
                    lambda sympy, a, b: _sympy_guarded(sympy, a / b, b, 1)),
    "sqrt": Operator(1, lambda a: np.sqrt(np.abs(a)), _torch_sqrt, lambda sympy, a: sympy.sqrt(sympy.Abs(a))),
    "log": Operator(1, lambda a: np.where(np.abs(a) > PROTECTION_THRESHOLD, np.log(np.abs(a)), 0.0),
                    lambda a: _torch_guarded(torch.log, a.abs(), 0.0),
                    lambda sympy, a: _sympy_guarded(sympy, sympy.log(sympy.Abs(a)), a, 0)),
    "abs": Operator(1, np.abs, torch.abs, lambda sympy, a: sympy.Abs(a)),
    "neg": Operator(1, np.negative, torch.neg, lambda sympy, a: -a),
    "inv": Operator(1, lambda a: np.where(np.abs(a) > PROTECTION_THRESHOLD, 1.0 / a, 0.0),
                    lambda a: _torch_guarded(lambda safe: 1.0 / safe, a, 0.0),
                    lambda sympy, a: _sympy_guarded(sympy, 1 / a, a, 0)),
    "max": Operator(2, np.maximum, torch.maximum, lambda sympy, a, b: sympy.Max(a, b)),
    "min": Operator(2, np.minimum, torch.minimum, lambda sympy, a, b: sympy.Min(a, b)),
    "sin": Operator(1, np.sin, torch.sin, lambda sympy, a: sympy.sin(a)),
    "cos": Operator(1, np.cos, torch.cos, lambda sympy, a: sympy.cos(a)),
    "tan": Operator(1, np.tan, torch.tan, lambda sympy, a: sympy.tan(a)),
    "sig": Operator(1, lambda a: 1 / (1 + np.exp(-a)), torch.sigmoid, lambda sympy, a: 1 / (1 + sympy.exp(-a))),
}

# ---------------------------------------------------------------- the tree


@dataclass(frozen=True)
class Constant:
    """A number in a formula."""

    value: float


@dataclass(frozen=True)
class Feature:
    """``X<index>``: a column of the data a formula was found on."""

    index: int


@dataclass(frozen=True)
class Input:
    """``x``: the one variable of a collapsed formula (the activation's input)."""


@dataclass(frozen=True)
class Call:
    """An operator applied to its arguments."""

    operator: str
    args: tuple[Node, ...]


Node = Constant | Feature | Input | Call


def _fold(node: Node, leaf: Callable[[Node], object], apply: Callable[[str, list], object]) -> object:
    """Compute a tree bottom-up: ``leaf`` for terminals, ``apply`` for an operator's name and its arguments."""
    if isinstance(node, Call):
        return apply(node.operator, [_fold(arg, leaf, apply) for arg in node.args])
    return leaf(node)


def _walk(node: Node) -> Iterator[Node]:
    yield node
    if isinstance(node, Call):
        for arg in node.args:
            yield from _walk(arg)


def _text_of_leaf(node: Node) -> str:
    if isinstance(node, Constant):
        # gplearn prints constants with '%.3f'; keep that look whenever it is exact,
        # and the shortest exact form otherwise, so that printing round-trips.
        short = f"{node.value:.3f}"
        exact = float(short) == node.value and math.copysign(1, float(short)) == math.copysign(1, node.value)
        return short if exact else repr(node.value)
    if isinstance(node, Feature):
        return f"X{node.index}"
    return "x"


# Operators whose value ignores their argument's sign: cos is even, and abs, sqrt
# and log take the absolute value first (gplearn's sqrt|a| and log|a|).
_SIGN_BLIND = frozenset({"cos", "abs", "sqrt", "log"})


def _cheaper_call(operator: str, args: list[Node]) -> Node:
    """``operator(*args)`` without sign changes that cannot change its value; ``args`` are already cheaper."""
    inner = args[0]
    if len(args) == 1 and isinstance(inner, Call) and inner.operator in ("abs", "neg"):
        if operator in _SIGN_BLIND:
            return _cheaper_call(operator, [inner.args[0]])
        if operator == "neg" and inner.operator == "neg":
            return inner.args[0]
    return Call(operator, tuple(args))


@dataclass(frozen=True)
class Formula:
    """A parsed formula: an immutable tree, compared and hashed by its structure."""

    root: Node

    def __str__(self) -> str:
        return _fold(self.root, _text_of_leaf, lambda name, args: f"{name}({', '.join(args)})")

    def __repr__(self) -> str:
        return f"Formula({str(self)!r})"

    @property
    def variables(self) -> tuple[str, ...]:
        """The variables used, ``('x',)`` or feature names in index order, e.g. ``('X3', 'X5')``."""
        if any(isinstance(node, Input) for node in _walk(self.root)):
            return ("x",)
        return tuple(f"X{index}" for index in self._feature_indices())

    @property
    def depth(self) -> int:
        """Operator levels on the longest path, as gplearn counts them (a terminal is 0)."""
        return _fold(self.root, lambda node: 0, lambda name, args: 1 + max(args))

    @property
    def size(self) -> int:
        """The number of nodes (operators and terminals), gplearn's program length."""
        return sum(1 for _ in _walk(self.root))

    @property
    def operators(self) -> tuple[str, ...]:
        """The distinct operators used, sorted by name."""
        return tuple(sorted({node.operator for node in _walk(self.root) if isinstance(node, Call)}))

    def _feature_indices(self) -> list[int]:
        return sorted({node.index for node in _walk(self.root) if isinstance(node, Feature)})

    def collapse(self) -> Formula:
        """The paper's step: every feature ``X<i>`` becomes ``x``."""

        def leaf(node: Node) -> Node:
            return Input() if isinstance(node, Feature) else node

        return Formula(_fold(self.root, leaf, lambda name, args: Call(name, tuple(args))))

    def cheaper(self) -> Formula:
        """The same function with fewer operations: ``abs`` and ``neg`` dropped where they cannot matter.

        A ``_SIGN_BLIND`` operator of ``abs(a)`` or ``neg(a)`` takes ``a``, and ``neg(neg(a))`` is ``a``:
        exact for every float, NaN and infinities included, so values are the literal formula's to the last bit.
        """
        return Formula(_fold(self.root, lambda node: node, _cheaper_call))

    def evaluate(self, X: np.ndarray) -> np.ndarray:
        """Compute the formula in float64 numpy, exactly as gplearn's ``execute`` does.

        A formula in ``X<i>`` takes ``[n_samples, n_features]`` and returns ``[n_samples]``; one in
        ``x`` (or constants only) works elementwise on an array of any shape and returns that shape.
        """
        values = np.asarray(X, dtype=np.float64)
        features = self._feature_indices()
        if features:
            if values.ndim != 2:
                raise FormulaError(
                    f"{self} uses feature variables, so evaluate() needs a 2-D array "
                    f"[n_samples, n_features]; got shape {values.shape}. "
                    "Pass the data's feature matrix, or collapse() the formula to apply it elementwise."
                )
            if features[-1] >= values.shape[1]:
                raise FormulaError(
                    f"{self} uses X{features[-1]} but the array has only {values.shape[1]} columns "
                    f"(X0..X{values.shape[1] - 1}); pass the full feature matrix the formula was found on."
                )
        shape = values.shape[:1] if features else values.shape

        def leaf(node: Node) -> np.ndarray:
            if isinstance(node, Constant):
                # Full arrays, not scalars, so numpy takes the same code path as gplearn.
                return np.full(shape, node.value)
            return values[:, node.index] if isinstance(node, Feature) else values

        # gplearn silences the same warnings (overflow in sig, poles of tan, ...).
        with np.errstate(all="ignore"):
            return np.array(_fold(self.root, leaf, lambda name, args: OPERATORS[name].numpy(*args)))

    def as_activation(self) -> Formula:
        """This formula, checked to be one an activation can apply: a formula in ``x``, else a ``FormulaError``."""
        if self._feature_indices():
            raise FormulaError(
                f"{self} uses feature variables {', '.join(self.variables)}; only a formula in x can be "
                "an activation: collapse() the formula first (every X<i> becomes x) or write it in x."
            )
        return self

    def to_torch(self) -> FormulaActivation:
        """An ``nn.Module`` applying the formula elementwise: an activation function."""
        return FormulaActivation(self)

    def to_sympy(self, simplify: bool = False) -> sympy.Expr:
        """The exact sympy expression, in real symbols ``x`` or ``X<i>``, for reading and printing.

        Protected operators become ``Piecewise`` (guards that constants decide vanish). sympy's
        canonical form merges like terms (``mul(cos(x), x)`` is ``x*cos(x)``); ``simplify=True`` adds
        ``sympy.simplify``, which can take minutes on nested protected operators. For numbers use
        ``evaluate()``: sympy rewrites a guard nested in another's into conditions undefined where it
        is false, and ``subs`` there raises a TypeError.
        """

        import sympy

        def leaf(node: Node) -> sympy.Expr:
            if isinstance(node, Constant):
                # Whole numbers exactly, so that div(1, x) reads 1/x rather than 1.0/x.
                return sympy.Integer(int(node.value)) if node.value.is_integer() else sympy.Float(node.value)
            return sympy.Symbol(_text_of_leaf(node), real=True)

        expression = _fold(self.root, leaf, lambda name, args: OPERATORS[name].sympy(sympy, *args))
        return sympy.simplify(expression) if simplify else expression

    def latex(self) -> str:
        """The formula as LaTeX (from ``to_sympy()``), e.g. ``x \\cos{\\left(x \\right)}``."""
        import sympy

        return sympy.latex(self.to_sympy())


class FormulaActivation(nn.Module):
    """A formula in ``x`` as an elementwise activation: any shape, device and floating dtype.

    It computes ``formula.cheaper()`` with each distinct subterm once (``evaluation_steps``) and constants as
    zero-dimensional tensors. Values are the literal formula's to the last bit; gradients can differ in
    the last bits where a shared subterm's gradient is summed before rather than after its backward step.
    """

    def __init__(self, formula: Formula) -> None:
        super().__init__()
        self.formula = formula.as_activation()
        self._steps = evaluation_steps(formula.cheaper().root)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the formula elementwise to ``x``."""
        if not torch.is_tensor(x) or not x.is_floating_point():
            raise TypeError(
                f"{self.formula} needs a floating-point tensor; got {getattr(x, 'dtype', type(x))}. "
                "Convert the input with .float() or .double()."
            )
        values: list[torch.Tensor] = []
        for node, arguments in self._steps:
            if isinstance(node, Call):
                values.append(OPERATORS[node.operator].torch(*(values[i] for i in arguments)))
            elif isinstance(node, Constant):
                values.append(torch.tensor(node.value, dtype=x.dtype, device=x.device))
            else:
                values.append(x)
        # A formula of constants only is a constant of x's shape.
        return values[-1] if values[-1].shape == x.shape else values[-1].expand(x.shape).contiguous()

    def extra_repr(self) -> str:
        return str(self.formula)


def evaluation_steps(root: Node) -> list[tuple[Node, tuple[int, ...]]]:
    """The tree as a straight-line program, each distinct subterm once, the root last.

    A step is a node and the indices of its arguments' steps (none for ``x`` and constants).
    """
    steps: list[tuple[Node, tuple[int, ...]]] = []

    @functools.cache  # a subterm seen before is its earlier step
    def visit(node: Node) -> int:
        steps.append((node, tuple(visit(arg) for arg in node.args) if isinstance(node, Call) else ()))
        return len(steps) - 1

    visit(root)
    return steps


# ---------------------------------------------------------------- the parser

