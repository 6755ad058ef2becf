"""C code for an activation's value and derivative, and gcc to compile it, for the compiled engine (``nslib.engine.compiled``).

``activation_c(spec)`` writes the bodies of ``static inline float f(float z)`` and ``df(float z)`` for
``"relu"``, ``"gelu"``, ``"silu"`` or any formula in ``x``. A formula becomes straight-line code from
``evaluation_steps`` of its ``cheaper()`` form (each shared subterm once, as ``FormulaActivation`` computes it), and
its derivative is forward mode over the same steps, each operator's local derivative written as torch's
backward writes it (``sig``: ``(1 - y) * y``, ``tan``: ``1 + y * y``, ``div``'s divisor: ``(a / b) / b``).

Where torch's gradient is not a product: ``torch.where`` (the protected operators, ``sqrt``'s kink) and
``torch.maximum``'s masking *select* a zero for the branch not taken, so an upstream NaN never reaches
below them, while a NaN from below still meets a multiplication by 0. Forward mode keeps that with a flag
per step, "dead": its tangent comes only through such zeros, so a derivative above leaves it as it is
(0, or NaN from below) instead of multiplying it. ``abs`` multiplies by ``sign(a)``: a NaN from above
stays NaN at 0. On ties ``max`` and ``min`` give each side half, and each side all when one is NaN.

``compiled(source)`` builds a shared library with ``FLAGS`` into a cache keyed by the source, the flags
and the compiler and CPU they were built for: ``-march=native`` is keyed by what gcc resolves it to (the
target and every ``-m`` flag), so a cache shared by machines never hands one CPU code for another's.
The flags keep IEEE NaN and infinity (no ``-ffast-math``: its ``-ffinite-math-only`` lets gcc drop NaN
checks, and the engine spots a failed run by NaN; with it, ``max`` and ``relu`` lose NaN) and still
vectorise sinf, cosf, tanf, expf, logf and erff through glibc's libmvec, declared ``simd`` in ``PRELUDE``
(math.h does so only under ``__FAST_MATH__``). ``scripts/ccode_flags.py``, HIGGS's formula, value and
derivative of 1e6 floats, one thread, two shared cores (AVX-512, gcc 12): ``FLAGS`` 1.7-2.2 ns an element,
``-ffast-math`` 1.7-2.1 ns, ``FLAGS`` without the ``simd`` declarations 16.7 ns, torch 8.9-11.5 ns.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nslib.formulas.activations import resolve_formula
from nslib.formulas.parser import parse
from nslib.formulas.symbolic import (
    PROTECTION_THRESHOLD,
    Call,
    Constant,
    evaluation_steps,
)

# No peeling of loops to align them: a model's SIMD lanes then depend only on its own columns, not on where its
# block starts in a stack, so its numbers do not depend on what it is stacked with.
FLAGS = ("-O3", "-march=native", "-fno-math-errno", "-fno-trapping-math", "-fopenmp-simd",
         "-fdisable-tree-sincos", "--param=vect-max-peeling-for-alignment=0", "-shared", "-fPIC")
LIBRARIES = ("-lmvec", "-lm")
VECTOR_FUNCTIONS = ("sinf", "cosf", "tanf", "expf", "logf", "erff")
PRELUDE = "#include <math.h>\n" + "".join(
    f'__attribute__((simd("notinbranch"))) float {name}(float);\n' for name in VECTOR_FUNCTIONS)
_MISSING_GCC = ("gcc was not found; the compiled training engine needs gcc and glibc's libmvec "
                "(Debian/Ubuntu: apt-get install gcc libc6-dev; conda: conda install -c conda-forge gcc), "
                "or set NSLIB_ENGINE=torch to train with the slower torch engine")
_THRESHOLD = f"{np.float32(PROTECTION_THRESHOLD)!s}f"

# The named activations, as torch's CPU kernels compute them (GELU exact, with erf).
_NAMED = {
    "relu": ("return z < 0.0f ? 0.0f : z;",
             "return z <= 0.0f ? 0.0f : 1.0f;"),  # threshold_backward: a NaN input passes the gradient
    "gelu": ("return z * 0.5f * (1.0f + erff(z * (float)M_SQRT1_2));",
             "const float cdf = 0.5f * (1.0f + erff(z * (float)M_SQRT1_2));\n"
             "const float pdf = expf(-0.5f * z * z) * (float)(M_2_SQRTPI * M_SQRT1_2 * 0.5);\n"
             "return cdf + z * pdf;"),
    "silu": ("return z / (1.0f + expf(-z));",
             "const float s = 1.0f / (1.0f + expf(-z));\nreturn s * (1.0f + z * (1.0f - s));"),
}


def activation_c(module_spec: str) -> tuple[str, str]:
    """C statements for the bodies of ``f(z)`` and ``df(z)``, the activation ``module_spec`` names and its slope."""
    key = module_spec.strip().lower() if isinstance(module_spec, str) else ""
    if key == "rational":
        raise ValueError("the rational activation has per-model coefficients (learned weights), so it has no "
                         "fixed C code; train it with the torch engine")
    if key in _NAMED:
        return _NAMED[key]
    program = _Program(evaluation_steps(parse(resolve_formula(module_spec)).cheaper().root))
    return program.value_body(), program.derivative_body()


def activation_functions(module_spec: str) -> str:
    """C that defines ``f(z)`` and ``df(z)`` for ``module_spec``, with ``PRELUDE`` (math.h, the vector functions)."""
    value, derivative = activation_c(module_spec)
    return (f"{PRELUDE}static inline float f(float z) {{\n{value}\n}}\n"
            f"static inline float df(float z) {{\n{derivative}\n}}\n")


def kernel_source(module_spec: str) -> str:
    """A whole C file whose ``apply(n, z, value, slope)`` writes ``f`` and ``df`` of ``n`` floats."""
    return (activation_functions(module_spec)
            + "void apply(long n, const float *restrict z, float *restrict value, float *restrict slope) {\n"
            "#pragma omp simd\n"
            "  for (long i = 0; i < n; i++) { value[i] = f(z[i]); slope[i] = df(z[i]); }\n}\n")


# ---------------------------------------------------------------- formulas


def _literal(value: float) -> str:
    """A float32 constant as torch rounds it (``torch.tensor(value, dtype=float32)``), as a C literal."""
    with np.errstate(over="ignore"):
        single = np.float32(value)
    if np.isinf(single):
        return "INFINITY" if single > 0 else "(-INFINITY)"
    return f"({single!s}f)"  # numpy's shortest text that reads back as this float32


@dataclass(frozen=True)
class _Term:
    """One argument's share of a step's tangent: ``through(t)`` where torch multiplies, 0 where it selects 0."""

    argument: int
    through: Callable[[str], str]
    selected_zero: str | None = None  # a C condition: torch.where / masked_fill give this branch a clean 0


def _sign(a: str) -> str:
    """torch.sgn as a float: 0 at +-0 and NaN."""
    return f"(float)(({a} > 0.0f) - ({a} < 0.0f))"


def _guarded(k: int, argument: str, value: Callable[[str], str], otherwise: str) -> list[str]:
    """``_torch_guarded``: ``u`` whether used, ``s`` the safe argument, ``w`` the value on it, ``v`` the result."""
    return [f"const int u{k} = fabsf({argument}) > {_THRESHOLD};",
            f"const float s{k} = u{k} ? {argument} : 1.0f;",
            f"const float w{k} = {value(f's{k}')};",
            f"const float v{k} = u{k} ? w{k} : {otherwise};"]


def _values(k: int, operator: str, a: str, b: str) -> list[str]:
    """C statements that leave ``operator``'s value in ``v{k}``, as ``OPERATORS[operator].torch`` computes it."""
    simple = {"add": f"{a} + {b}", "sub": f"{a} - {b}", "mul": f"{a} * {b}", "abs": f"fabsf({a})", "neg": f"-{a}",
              "max": f"{a} != {a} || {a} > {b} ? {a} : {b}", "min": f"{a} != {a} || {a} < {b} ? {a} : {b}",
              "sin": f"sinf({a})", "cos": f"cosf({a})", "tan": f"tanf({a})", "sig": f"1.0f / (1.0f + expf(-{a}))"}
    if operator in simple:
        return [f"const float v{k} = {simple[operator]};"]
    if operator == "div":
        return _guarded(k, b, lambda safe: f"{a} / {safe}", "1.0f")
    if operator == "inv":
        return _guarded(k, a, lambda safe: f"1.0f / {safe}", "0.0f")
    if operator == "log":  # log|a|: torch guards |a|, so s is |a| where used
        return [f"const int u{k} = fabsf({a}) > {_THRESHOLD};", f"const float s{k} = u{k} ? fabsf({a}) : 1.0f;",
                f"const float v{k} = u{k} ? logf(s{k}) : 0.0f;"]
    # sqrt|a| with slope 0 at its kink a == 0
    return [f"const int u{k} = {a} != 0.0f;", f"const float s{k} = sqrtf(u{k} ? fabsf({a}) : 1.0f);",
            f"const float v{k} = u{k} ? s{k} : 0.0f;"]


def _terms(k: int, operator: str, a: str, b: str) -> list[_Term]:
    """How each argument's tangent reaches step ``k``'s: torch's backward formula for ``operator``."""
    y, unused = f"v{k}", f"!u{k}"

    def halved_on_a_tie(t: str) -> str:  # torch.maximum / minimum: each side half the gradient on a tie
        return f"({a} == {b} ? {t} * 0.5f : {t})"

    rules = {
        "add": [_Term(0, lambda t: t), _Term(1, lambda t: t)],
        "sub": [_Term(0, lambda t: t), _Term(1, lambda t: f"-{t}")],
        "mul": [_Term(0, lambda t: f"{t} * {b}"), _Term(1, lambda t: f"{t} * {a}")],
        "neg": [_Term(0, lambda t: f"-{t}")],
        "abs": [_Term(0, lambda t: f"{t} * {_sign(a)}")],
        "sin": [_Term(0, lambda t: f"{t} * cosf({a})")],
        "cos": [_Term(0, lambda t: f"{t} * -sinf({a})")],
        "tan": [_Term(0, lambda t: f"{t} * (1.0f + {y} * {y})")],
        "sig": [_Term(0, lambda t: f"{t} * (1.0f - {y}) * {y}")],
        "max": [_Term(0, halved_on_a_tie, f"{a} < {b}"), _Term(1, halved_on_a_tie, f"{a} > {b}")],
        "min": [_Term(0, halved_on_a_tie, f"{a} > {b}"), _Term(1, halved_on_a_tie, f"{a} < {b}")],
        "div": [_Term(0, lambda t: f"{t} / s{k}", unused), _Term(1, lambda t: f"-{t} * (w{k} / s{k})", unused)],
        "inv": [_Term(0, lambda t: f"-{t} * (w{k} * w{k})", unused)],
        "log": [_Term(0, lambda t: f"{t} / s{k} * {_sign(a)}", unused)],
        "sqrt": [_Term(0, lambda t: f"{t} / (2.0f * s{k}) * {_sign(a)}", unused)],
    }
    return rules[operator]


class _Program:
    """A formula's steps as C: ``v<k>`` each step's value, ``d<k>`` its tangent, ``q<k>`` whether it is dead.

    A step's tangent is ``None`` where it does not depend on ``x`` (torch computes no gradient there),
    its dead flag ``None`` where it cannot be dead.
    """

    def __init__(self, steps: list) -> None:
        self.values: list[str] = []
        self.tangents: list[str] = []
        self.tangent_of: list[str | None] = []
        self.dead_of: list[str | None] = []
        for k, (node, arguments) in enumerate(steps):
            self._step(k, node, arguments)

    def _step(self, k: int, node: object, arguments: tuple[int, ...]) -> None:
        if isinstance(node, Constant):
            self.values.append(f"const float v{k} = {_literal(node.value)};")
            self.tangent_of.append(None)
            self.dead_of.append(None)
        elif not isinstance(node, Call):
            self.values.append(f"const float v{k} = z;")
            self.tangents.append(f"const float d{k} = 1.0f;")
            self.tangent_of.append(f"d{k}")
            self.dead_of.append(None)
        else:
            a, b = (f"v{i}" for i in (*arguments, arguments[0])[:2])
            self.values.extend(_values(k, node.operator, a, b))
            self._tangent(k, [(term, arguments[term.argument]) for term in _terms(k, node.operator, a, b)])

    def _tangent(self, k: int, terms: list[tuple[_Term, int]]) -> None:
        """``d<k>``, the sum of the terms of the arguments that have a tangent, and ``q<k>``, all terms dead."""
        parts, deads = [], []
        for term, i in terms:
            t, dead = self.tangent_of[i], self.dead_of[i]
            if t is None:
                continue
            part = term.through(t)
            if term.selected_zero is not None:
                part = f"({term.selected_zero} ? {t} * 0.0f : {part})"
            if dead is not None:
                part = f"({dead} ? {t} : {part})"
            parts.append(part)
            deads.append(" || ".join(c for c in (dead, term.selected_zero) if c is not None) or None)
        if not parts:
            self.tangent_of.append(None)
            self.dead_of.append(None)
            return
        self.tangents.append(f"const float d{k} = {' + '.join(parts)};")
        self.tangent_of.append(f"d{k}")
        if None in deads:
            self.dead_of.append(None)
        else:
            self.tangents.append(f"const int q{k} = {' && '.join(f'({dead})' for dead in deads)};")
            self.dead_of.append(f"q{k}")

    def value_body(self) -> str:
        """The body of ``f``: the values, returning the last."""
        return "\n".join([*self.values, f"return v{len(self.tangent_of) - 1};"])

    def derivative_body(self) -> str:
        """The body of ``df``: the values, then the tangents, returning the last (0 for a constant)."""
        root = self.tangent_of[-1]
        return "\n".join([*self.values, *self.tangents, f"return {root if root is not None else '0.0f'};"])


# ---------------------------------------------------------------- compiling


def cache_folder() -> Path:
    """Where compiled kernels are kept: ``NSLIB_KERNEL_CACHE``, else ``~/.cache/nslib/kernels``."""
    return Path(os.environ.get("NSLIB_KERNEL_CACHE") or Path.home() / ".cache" / "nslib" / "kernels")


def _gcc(*arguments: str, source: str | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["gcc", *arguments], input=source, capture_output=True, text=True)
    except FileNotFoundError:
        raise RuntimeError(_MISSING_GCC) from None


@functools.cache
def _compiler_identity() -> str:
    """``gcc --version``'s first line and what ``-march=native`` means on this CPU (a shared cache may span CPUs)."""
    version = _gcc("--version").stdout.splitlines()[0]
    return version + "\n" + _gcc("-march=native", "-Q", "--help=target").stdout


def compiled(source: str, flags: tuple[str, ...] = FLAGS) -> ctypes.CDLL:
    """``source`` built with ``flags`` into a shared library, reused from the cache when built before."""
    key = hashlib.sha256("\0".join([source, *flags, *LIBRARIES, _compiler_identity()]).encode()).hexdigest()
    folder = cache_folder()
    library = folder / f"{key}.so"
    if not library.exists():
        folder.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(suffix=".so.partial", dir=folder)
        os.close(handle)
        try:
            built = _gcc(*flags, "-x", "c", "-", "-o", partial, *LIBRARIES, source=source)
            if built.returncode:
                raise RuntimeError(f"gcc could not compile the kernel:\n{built.stderr.strip()}\n"
                                   "(NSLIB_ENGINE=torch trains with the torch engine, which needs no compiler)")
            os.replace(partial, library)
        finally:
            Path(partial).unlink(missing_ok=True)
    return ctypes.CDLL(str(library))
