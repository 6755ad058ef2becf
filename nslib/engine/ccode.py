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

``compiled(source)`` builds a shared library with ``FLAGS`` into a cache (``nslib.engine.kernel_cache``) keyed by
the source, the flags, and the compiler and CPU they are built for, both found without running anything, so
that a cache hit starts no process: gcc's file (path, size and modification time, ccache's default
``compiler_check``) and the lines of ``/proc/cpuinfo`` that ``-march=native`` reads (vendor, family, model,
stepping, cache, feature flags), so a cache shared by machines never hands one CPU code for another's. What
gcc says it is and what it resolves ``-march=native`` to (its target and every ``-m`` flag) are run only to
build, and recorded in the entry. Where the kernels cannot be had (not Linux with glibc, no gcc, no libmvec,
a refused cache folder), ``KernelUnavailable`` says why and the torch engine trains instead.
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
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nslib.engine import kernel_cache
from nslib.engine.kernel_cache import KernelUnavailable, cache_folder
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
_MISSING_GCC = ("gcc was not found; the compiled kernels need gcc and glibc's libmvec "
                "(Debian/Ubuntu: apt-get install gcc libc6-dev; conda: conda install -c conda-forge gcc)")
_CPU_FIELDS = {"vendor_id", "cpu family", "model", "model name", "stepping", "cache size", "flags",  # x86
               "Features", "CPU implementer", "CPU architecture", "CPU variant", "CPU part", "CPU revision"}  # Arm
_FAILED: dict[tuple[str, str], KernelUnavailable] = {}  # (kernel key, cache folder): why it could not be had
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


@functools.cache
def _cpu() -> str:
    """The lines of ``/proc/cpuinfo`` that decide what ``-march=native`` means (empty where there is none)."""
    try:
        first = Path("/proc/cpuinfo").read_text().split("\n\n")[0]
    except OSError:
        return ""
    return "\n".join(line for line in first.splitlines() if line.split(":")[0].strip() in _CPU_FIELDS)


def _machine(gcc: str) -> tuple[str, ...]:
    """What the machine code depends on besides the source and flags, found without running anything: gcc's
    file (path, size, modification time: ccache's default ``compiler_check``) and the CPU."""
    compiler = Path(gcc).resolve()
    info = compiler.stat()
    return platform.machine(), str(compiler), str(info.st_size), str(info.st_mtime_ns), _cpu()


def _gcc(gcc: str, *arguments: str, source: str | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run([gcc, *arguments], input=source, capture_output=True, text=True)
    except FileNotFoundError:
        raise KernelUnavailable(_MISSING_GCC) from None


def _first_error(stderr: str) -> str:
    """The line of gcc's messages a reader needs first: its first error, else its last line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return next((line for line in lines if "error" in line or "cannot find" in line), lines[-1] if lines else "")


@functools.cache
def _compiler_identity(gcc: str, machine: tuple[str, ...]) -> str:
    """``gcc --version``'s first line and what ``-march=native`` means on this CPU, recorded with what it builds.

    Run only to build (a cache hit runs no subprocess), once per process and compiler.
    """
    identity = []
    for arguments in (("--version",), ("-march=native", "-Q", "--help=target")):
        done = _gcc(gcc, *arguments)
        if done.returncode or not done.stdout.strip():
            raise KernelUnavailable(f"{gcc} {' '.join(arguments)} failed (exit {done.returncode}): "
                                    f"{_first_error(done.stderr)}", done.stderr)
        identity.append(done.stdout)
    # The target's options up to the lists of known values, without the disabled ones: what -march=native chose.
    target = identity[1].split("\n\n")[0].splitlines()
    return "\n".join([identity[0].splitlines()[0], *(line for line in target if "[disabled]" not in line)])


def _build(source: str, flags: tuple[str, ...], gcc: str, machine: tuple[str, ...], output: Path) -> str:
    """Compile ``source`` into ``output``; what built it (``_compiler_identity``)."""
    identity = _compiler_identity(gcc, machine)
    built = _gcc(gcc, *flags, "-x", "c", "-", "-o", str(output), *LIBRARIES, source=source)
    if built.returncode:
        hint = "; glibc's vector maths (libmvec) comes with libc6-dev on Debian and Ubuntu" if "mvec" in built.stderr else ""
        raise KernelUnavailable(f"gcc could not compile the kernel ({_first_error(built.stderr)}){hint}",
                                built.stderr.strip())
    return identity


def compiled(source: str, flags: tuple[str, ...] = FLAGS) -> ctypes.CDLL:
    """``source`` built with ``flags`` into a shared library, reused from the cache (``nslib.engine.kernel_cache``).

    ``KernelUnavailable`` says why when it cannot be: not Linux with glibc, no gcc, a failed build or a refused
    cache folder. A kernel that failed once is not tried again in this process.
    """
    linux = sys.platform.startswith("linux")
    if not (linux and platform.libc_ver()[0] == "glibc"):
        here = "a Linux without glibc" if linux else platform.system()
        raise KernelUnavailable(f"the compiled kernels need Linux with glibc (its libmvec vectorises their maths), "
                                f"and this is {here}")
    gcc = shutil.which("gcc")
    if gcc is None:
        raise KernelUnavailable(_MISSING_GCC)
    machine = _machine(gcc)
    key = hashlib.sha256("\0".join([source, *flags, *LIBRARIES, *machine]).encode()).hexdigest()
    attempt = (key, str(cache_folder()))
    if attempt in _FAILED:
        raise _FAILED[attempt].with_traceback(None)
    try:
        return kernel_cache.load(key, functools.partial(_build, source, flags, gcc, machine))
    except KernelUnavailable as error:
        _FAILED[attempt] = error
        raise
