"""Activation functions by name, so that a configuration can say which one it uses.

A spec is one of: a built-in (``"relu"``, ``"gelu"``, ``"silu"``, any case); a
formula in ``x`` in gplearn's notation (``"mul(cos(x), x)"``); or a data set
name (``"HIGGS"``, ``"FOREST_COVER"``, ``"SPAMBASE"``, any case), which stands for
the formula discovered on that data set with the paper's settings.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial

from torch import nn

from nslib.data import known_names
from nslib.symbolic import Formula, FormulaError, parse

# key -> (label for tables, factory). GELU is the exact one, as in the paper's code.
BUILTINS: dict[str, tuple[str, Callable[[], nn.Module]]] = {
    "relu": ("ReLU", nn.ReLU),
    "gelu": ("GELU", partial(nn.GELU, approximate="none")),
    "silu": ("SiLU", nn.SiLU),
}

# A lone word that is not a variable is a name the user expected us to know.
_UNKNOWN_NAME = re.compile(r"(?!x$|X\d+$)[A-Za-z_]\w*")


def _options() -> str:
    return (
        f"use one of {', '.join(BUILTINS)} (any case), a data set name "
        f"({', '.join(known_names())}) for its discovered formula, or a formula in x "
        "such as 'mul(cos(x), x)'"
    )


def _formula(spec: str) -> Formula | None:
    """The formula a spec stands for, checked to be in ``x``; None for a built-in."""
    if not isinstance(spec, str):
        raise TypeError(f"activation spec {spec!r} must be a string; {_options()}.")
    key = spec.strip()
    if key.lower() in BUILTINS:
        return None
    if key.upper() in known_names():
        # Imported here: discovery pulls in the data and gplearn, which a built-in never needs.
        from nslib.discovery import discovered_formula

        source = f"the formula discovered on {key.upper()}"
        formula = parse(discovered_formula(key.upper()))
    elif not key or _UNKNOWN_NAME.fullmatch(key):
        raise ValueError(f"activation {spec!r} is not known; {_options()}.")
    else:
        source = f"activation {spec!r}"
        formula = parse(key)
    if formula.variables not in ((), ("x",)):
        raise FormulaError(
            f"{source} uses the feature variables {', '.join(formula.variables)}; an activation "
            "takes one input: collapse() the formula first (every X<i> becomes x) or write it in x."
        )
    return formula


def activation_module(spec: str) -> nn.Module:
    """A fresh activation module for ``spec`` (see the module docstring for the forms)."""
    formula = _formula(spec)
    if formula is None:
        return BUILTINS[spec.strip().lower()][1]()
    return formula.to_torch()


def activation_label(spec: str) -> str:
    """A readable name for tables: ``ReLU``, ``GELU``, ``SiLU`` or the formula itself."""
    formula = _formula(spec)
    return BUILTINS[spec.strip().lower()][0] if formula is None else str(formula)


def resolve_formula(spec: str) -> str | None:
    """The formula text ``spec`` stands for (None for a built-in), to record with results."""
    formula = _formula(spec)
    return None if formula is None else str(formula)
