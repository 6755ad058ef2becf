"""Activation functions by name, so that a configuration can say which one it uses.

A spec is a built-in (``"relu"``, ``"gelu"``, ``"silu"``, any case), the learned rational
activation (``"rational"``, ``nslib.formulas.rational``) or a formula in ``x`` in gplearn's notation
(``"mul(cos(x), x)"``). A data set's discovered formula is looked up by the caller
(``nslib.experiments.paper_grid.formulas_for``), so that naming an activation never loads data or runs GP.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial

from torch import nn

from nslib.formulas.parser import parse
from nslib.formulas.rational import Rational

# key -> (label for tables, factory): torch's fixed activations; GELU is the exact one, as in the paper's code.
# Which of them the paper compares against is the paper grid's business (nslib.experiments.paper_grid).
TORCH_BUILTINS: dict[str, tuple[str, Callable[[], nn.Module]]] = {
    "relu": ("ReLU", nn.ReLU),
    "gelu": ("GELU", partial(nn.GELU, approximate="none")),
    "silu": ("SiLU", nn.SiLU),
}
# Every activation known by name: torch's and the learned rational one.
NAMED = {**TORCH_BUILTINS, "rational": ("Rational", Rational)}
# The labels of every named (not formula) activation, as tables show them.
NAMED_LABELS = tuple(label for label, _ in NAMED.values())

# A lone word that is not a variable is a name the user expected us to know.
_UNKNOWN_NAME = re.compile(r"(?!x$|X\d+$)[A-Za-z_]\w*")
_OPTIONS = (
    f"use one of {', '.join(NAMED)} (any case) or a formula in x such as 'mul(cos(x), x)'; "
    "for a data set's discovered formula pass nslib.experiments.paper_grid.formulas_for(...)[name]"
)


def _resolved(spec: str) -> tuple[str, Callable[[], nn.Module], str]:
    """``spec``'s label for tables, its module factory and its formula text (empty for a named activation)."""
    if not isinstance(spec, str):
        raise TypeError(f"activation spec {spec!r} must be a string; {_OPTIONS}.")
    key = spec.strip()
    if key.lower() in NAMED:
        return (*NAMED[key.lower()], "")
    if not key or _UNKNOWN_NAME.fullmatch(key):
        raise ValueError(f"activation {spec!r} is not known; {_OPTIONS}.")
    formula = parse(key).as_activation()
    return str(formula), formula.to_torch, str(formula)


def activation_module(spec: str) -> nn.Module:
    """A fresh activation module for ``spec``: a torch built-in, a ``Rational`` or the formula elementwise."""
    return _resolved(spec)[1]()


def activation_label(spec: str) -> str:
    """A readable name for tables: ``ReLU``, ``GELU``, ``SiLU``, ``Rational`` or the formula in canonical form."""
    return _resolved(spec)[0]


def resolve_formula(spec: str) -> str:
    """The canonical formula text ``spec`` stands for, to record with results; empty for a named activation."""
    return _resolved(spec)[2]
