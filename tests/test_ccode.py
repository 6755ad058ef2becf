"""The generated C computes each activation and the gradient torch's autograd gives, NaN and infinity included."""

from __future__ import annotations

import ctypes
import importlib.util
import shutil
import subprocess
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch

from nslib.engine import ccode
from nslib.formulas.activations import activation_module

FLAGS_SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "ccode_flags.py"
pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="the kernels are compiled with gcc")

# Agreement: |C - torch| <= TOLERANCE * max(1, |torch|) + CONDITIONING * (the largest error torch's own float32
# makes against its float64 within WINDOW points of the sorted grid): where float32 cancels (x * sin(x) + x at
# x = -26.9, div(sin(x), x)' near 0) neither side can do better. Not counted: errors at |x| = float32(0.001), a
# hair above the double 0.001, where float64 takes the other branch.
TOLERANCE = 2e-6
CONDITIONING = 4
WINDOW = 2
THRESHOLD = 0.001
EDGES = [0.0, -0.0, THRESHOLD, -THRESHOLD, 0.0010001, -0.0010001, 1e-30, -1e-30, 1e30, -1e30,
         float("inf"), float("-inf"), float("nan"), 2.0, -2.0, 0.5, 1.5]
GRID = np.sort(np.concatenate([np.linspace(-30, 30, 20_001), EDGES]).astype(np.float32))  # nan last
NAMED = ["relu", "gelu", "silu"]
# Every operator at least twice, nested, with shared subterms, constants, and protected operators
# whose arguments cross their thresholds on the grid (x, x - 2, sin(x), x * x, ...).
FORMULAS = [
    "x",
    "sub(cos(x), cos(abs(cos(x))))",
    "add(mul(x, sin(x)), sub(x, 0.5))",
    "mul(add(x, 1.5), sig(x))",
    "sig(neg(mul(x, x)))",
    "div(sin(x), x)",
    "div(cos(x), mul(x, 0.5))",
    "div(x, sub(x, 2))",
    "div(1, cos(x))",
    "log(x)",
    "log(mul(x, x))",
    "log(sig(x))",
    "inv(x)",
    "inv(sin(x))",
    "mul(x, div(1.5, x))",
    "sqrt(x)",
    "sqrt(sub(x, 2))",
    "mul(sqrt(x), x)",
    "abs(sin(x))",
    "mul(abs(x), x)",
    "neg(tan(x))",
    "tan(mul(0.1, x))",
    "max(x, 0.0)",
    "max(x, neg(x))",
    "max(sin(x), cos(x))",
    "min(x, mul(x, 0.5))",
    "min(abs(x), x)",
    "min(sqrt(x), inv(x))",
    "mul(sin(x), div(sin(x), add(sin(x), 2)))",
    "sig(mul(inv(add(x, 0.5)), log(sqrt(x))))",
    "add(tan(sin(x)), max(log(x), div(x, 3)))",
    "sub(neg(neg(x)), abs(abs(x)))",
    "add(1.5, -2)",
    "mul(x, 3e38)",
    "add(x, 1e30)",
]


@pytest.fixture(autouse=True, scope="module")
def kernel_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NSLIB_KERNEL_CACHE", str(tmp_path_factory.mktemp("kernels")))
        yield


def generated(spec: str, z: np.ndarray = GRID) -> tuple[np.ndarray, np.ndarray]:
    """The compiled kernel's f and df on ``z``."""
    library = ccode.compiled(ccode.kernel_source(spec))
    value, slope = np.empty_like(z), np.empty_like(z)
    pointers = (array.ctypes.data_as(ctypes.c_void_p) for array in (z, value, slope))
    library.apply(ctypes.c_long(z.size), *pointers)
    return value, slope


def from_torch(spec: str, z: np.ndarray = GRID, dtype: torch.dtype = torch.float32) -> list[np.ndarray]:
    """The activation module's forward and autograd's gradient on ``z`` (0 where the output ignores x)."""
    x = torch.from_numpy(z.copy()).to(dtype).requires_grad_()
    y = activation_module(spec)(x)
    if not y.requires_grad:
        return [y.numpy(), np.zeros_like(y.numpy())]
    y.sum().backward()
    return [y.detach().numpy(), x.grad.numpy()]


def expected(spec: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """Torch's value and derivative in float32, each with the error allowed at each point."""
    single, double = from_torch(spec), from_torch(spec, dtype=torch.float64)
    pairs = []
    for ours, exact in zip(single, double):
        with np.errstate(invalid="ignore"):
            error = np.where(np.abs(GRID) == np.float32(THRESHOLD), 0.0, np.abs(ours - exact))
        error = np.nan_to_num(error, nan=0.0, posinf=0.0)
        nearby = np.lib.stride_tricks.sliding_window_view(np.pad(error, WINDOW), 2 * WINDOW + 1).max(axis=1)
        pairs.append((ours, TOLERANCE * np.maximum(1, np.abs(ours)) + CONDITIONING * nearby))
    return pairs


def disagreements(expected: tuple[np.ndarray, np.ndarray], got: np.ndarray) -> int:
    """Points where one is finite and the other not, or both finite and further apart than allowed."""
    value, allowed = expected
    finite = np.isfinite(value)
    with np.errstate(invalid="ignore"):
        far = np.abs(got - value) > allowed
    return int(np.sum(finite != np.isfinite(got)) + np.sum(finite & np.isfinite(got) & far))


@pytest.mark.parametrize("spec", NAMED + FORMULAS)
def test_value_and_derivative_agree_with_torch(spec):
    (value, slope), (expected_value, expected_slope) = generated(spec), expected(spec)
    assert disagreements(expected_value, value) == 0
    assert disagreements(expected_slope, slope) == 0


def test_every_operator_is_tested_at_least_twice():
    from nslib.formulas.parser import parse
    from nslib.formulas.symbolic import OPERATORS

    counts = {name: sum(name in parse(text).cheaper().operators for text in FORMULAS) for name in OPERATORS}
    assert min(counts.values()) >= 2, counts


def test_a_wrong_generator_is_caught():
    value, slope = generated("sub(cos(x), cos(abs(cos(x))))")
    expected_value, expected_slope = expected("sub(sin(x), cos(abs(cos(x))))")
    assert disagreements(expected_value, value) > 1000 and disagreements(expected_slope, slope) > 1000


def test_a_wrong_derivative_rule_is_caught(monkeypatch):
    rules = ccode._terms

    def wrong(k, operator, a, b):  # tan' = 1 - tan^2
        terms = rules(k, operator, a, b)
        return [ccode._Term(0, lambda t: f"{t} * (1.0f - v{k} * v{k})")] if operator == "tan" else terms

    monkeypatch.setattr(ccode, "_terms", wrong)
    assert disagreements(expected("neg(tan(x))")[1], generated("neg(tan(x))")[1]) > 1000


def test_a_nan_from_above_does_not_pass_a_protected_operator():
    # At x = nan, torch.where gives div(1.5, x)'s branch a clean 0, so only x's own path is left: finite.
    z = np.array([np.nan], np.float32)
    expected_slope = from_torch("mul(x, div(1.5, x))", z)[1]
    assert np.isfinite(expected_slope[0]) and generated("mul(x, div(1.5, x))", z)[1][0] == expected_slope[0]


def test_rational_needs_the_torch_engine():
    with pytest.raises(ValueError, match="per-model coefficients"):
        ccode.activation_c("rational")


def test_a_second_build_of_the_same_source_reuses_the_library(tmp_path, monkeypatch):
    monkeypatch.setenv("NSLIB_KERNEL_CACHE", str(tmp_path))
    source = ccode.kernel_source("sin(x)")
    ccode.compiled(source)
    with mock.patch.object(subprocess, "run", wraps=subprocess.run) as run:
        ccode.compiled(source)
        assert run.call_count == 0
        ccode.compiled(ccode.kernel_source("cos(x)"))
        assert run.call_count == 1
    assert len(list(tmp_path.glob("*.so"))) == 2 and not list(tmp_path.glob("*.partial"))


def test_gcc_errors_are_reported(tmp_path, monkeypatch):
    monkeypatch.setenv("NSLIB_KERNEL_CACHE", str(tmp_path))
    with pytest.raises(RuntimeError, match="(?s)gcc could not compile.*undeclared_name"):
        ccode.compiled("float f(void) { return undeclared_name; }")
    assert [path.name for path in tmp_path.iterdir()] == [".lock"]  # no library, record or build folder left


def test_a_missing_gcc_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("NSLIB_KERNEL_CACHE", str(tmp_path))
    with mock.patch.object(subprocess, "run", side_effect=FileNotFoundError("gcc")):
        with pytest.raises(RuntimeError, match="apt-get install gcc"):
            ccode.compiled("float f(void) { return 1.0f; }")


def test_the_flags_keep_nan_where_fast_math_loses_it():
    spec = importlib.util.spec_from_file_location("ccode_flags", FLAGS_SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert all(script.finiteness_mismatches(probe, ccode.FLAGS) == 0 for probe in script.NAN_PROBES)
    assert script.finiteness_mismatches("max(x, 0.5)", script.FAST_MATH) > 0
