"""Reading a formula: gplearn's prefix text into a ``Formula``, against a whitelist, never run.

``parse`` reads ``mul(cos(X3), X5)`` with Python's ``ast.parse`` and walks the tree,
accepting only the operators of ``OPERATORS``, numbers and variables (``x`` or
``X0, X1, ...``); anything else is a ``FormulaError`` that points at the place.
"""

from __future__ import annotations

import ast
import math
import re

from nslib.formulas.symbolic import (
    MAX_DEPTH,
    MAX_LENGTH,
    OPERATORS,
    Call,
    Constant,
    Feature,
    Formula,
    FormulaError,
    Input,
    Node,
)

# Python's parser reads the text; only these characters reach it.
_FOREIGN_CHARACTER = re.compile(r"[^A-Za-z0-9_.,()+\-\s]")
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_FEATURE = re.compile(r"X(\d+)")
_WHAT_A_FORMULA_HOLDS = (
    "a formula holds only operators such as add(...), numbers, the variables x or X0, X1, ..., commas and parentheses"
)
_EXPECTED_TERM = "an operator such as mul(x, x), a number or a variable (x or X0, X1, ...)"


class _Reader:
    """The whitelist walk over Python's tree of a formula, which becomes the formula's tree.

    Left to right, so that of the tree's problems the leftmost is the one reported.
    """

    def __init__(self, text: str, indent: int) -> None:
        self.text = text
        self.indent = indent  # ast counts columns from the first non-blank character
        self.first_variable: ast.Name | None = None

    def fail(self, message: str, node: ast.expr) -> FormulaError:
        return FormulaError(message, self.text, self.indent + node.col_offset)

    def term(self, node: ast.expr, depth: int) -> Node:
        written = self.text[self.indent + node.col_offset : self.indent + node.end_col_offset]
        if _NUMBER.fullmatch(written):  # a constant, or ast's minus applied to one
            if not math.isfinite(value := float(written)):
                raise self.fail(f"constant {written} is too large for a float", node)
            return Constant(value)
        if isinstance(node, ast.Name):
            return self.variable(node)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            return self.call(node, depth + 1)
        # A sign before anything but a digit is the one slip gplearn users make.
        hint = "; negative numbers are written -0.5, negation is neg(...)" if isinstance(node, ast.UnaryOp) else ""
        raise self.fail(f"expected {_EXPECTED_TERM}, found {written!r}{hint}", node)

    def variable(self, node: ast.Name) -> Node:
        name = node.id
        if name in OPERATORS:
            raise self.fail(f"operator {name!r} needs its arguments in parentheses: {name}(...)", node)
        feature = _FEATURE.fullmatch(name)
        if name != "x" and feature is None:
            raise self.fail(f"{name!r} is not an operator, number or variable; variables are x or X0, X1, ...", node)
        if self.first_variable is None:
            self.first_variable = node
        elif (self.first_variable.id == "x") != (name == "x"):
            raise self.fail(
                f"{name!r} mixes feature variables X<i> with x (first used: "
                f"{self.first_variable.id!r}); write the formula in one or the other",
                node,
            )
        return Input() if name == "x" else Feature(int(feature.group(1)))

    def call(self, node: ast.Call, depth: int) -> Node:
        name = node.func.id
        operator = OPERATORS.get(name)
        if operator is None:
            raise self.fail(f"unknown operator {name!r}; known operators: {', '.join(OPERATORS)}", node)
        if depth > MAX_DEPTH:
            raise self.fail(f"formula is nested more than MAX_DEPTH={MAX_DEPTH} operators deep", node)
        args = tuple(self.term(arg, depth) for arg in node.args)
        if len(args) != operator.arity:
            plural = "argument" if operator.arity == 1 else "arguments"
            raise self.fail(f"{name} takes {operator.arity} {plural}, got {len(args)}", node)
        return Call(name, args)


def parse(text: str) -> Formula:
    """Read a gplearn program string such as ``mul(cos(X3), X5)`` or ``add(x, -0.412)``.

    Python's ``ast.parse`` reads the text (nothing is run); a whitelist walk keeps calls of the
    operators, numbers and ``x`` or ``X0``, ``X1``, ..., with parentheses around a term and a comma
    after the last argument allowed, as in Python. Anything else raises ``FormulaError`` (a ValueError)
    pointing at its column.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse() needs the formula as a string, such as 'mul(cos(x), x)'; got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise FormulaError(
            f"formula is {len(text):,} characters long, more than MAX_LENGTH={MAX_LENGTH:,}; "
            "gplearn programs are far shorter, so this is likely not a formula"
        )
    if foreign := _FOREIGN_CHARACTER.search(text):
        raise FormulaError(f"unexpected character {foreign.group()!r}; {_WHAT_A_FORMULA_HOLDS}", text, foreign.start())
    # One line (ast's columns count within a line), without the indent ast refuses.
    body = re.sub(r"\s", " ", text).lstrip()
    indent = len(text) - len(body)
    if not body:
        raise FormulaError(f"empty formula; expected {_EXPECTED_TERM}", text, len(text))
    try:
        tree = ast.parse(body, mode="eval")
    except SyntaxError as error:
        # ast's offset counts from 1; 0 is the end of the text.
        position = indent + error.offset - 1 if error.offset else len(text)
        raise FormulaError(f"{error.msg}; {_WHAT_A_FORMULA_HOLDS}", text, position) from None
    except (MemoryError, RecursionError):  # CPython's parser on thousands of nested signs
        message = "formula is nested too deeply for Python's parser; gplearn programs are far shallower"
        raise FormulaError(message) from None
    return Formula(_Reader(text, indent).term(tree.body, depth=0))
