"""Argument checks shared by every module: one wording for one mistake."""

from __future__ import annotations

import numbers


def check_int(name: str, value: object, low: int = 1, high: int | None = None, example: str = "") -> int:
    """``value`` as an int if it is an integer (not a bool) in ``[low, high]``; else a ValueError naming ``name``."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if ok and value >= low and (high is None or value <= high):
        return int(value)
    bounds = f">= {low}" if high is None else f"from {low} to {high}"
    hint = f", for example {example}" if example else ""
    raise ValueError(f"{name}={value!r} must be an integer {bounds}{hint}.")
