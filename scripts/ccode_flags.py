"""Do ``nslib.engine.ccode.FLAGS`` keep IEEE NaN and infinity and still vectorise? (issue 13, the C engine's flags)

Compiles the value-and-derivative kernel of HIGGS's formula ``sub(cos(x), cos(abs(cos(x))))`` with
``FLAGS`` and with the fused probe's ``-ffast-math`` flags, and times each over 1e6 floats (one thread,
best of five) against torch's forward and backward through ``FormulaActivation``. It also counts, for
each build, the points of a few NaN-sensitive kernels (max, relu, sqrt at NaN) where the kernel's
finiteness differs from torch's. Figures are recorded in ``nslib/engine/ccode.py``'s docstring.

    .venv/bin/python scripts/ccode_flags.py
"""

from __future__ import annotations

import ctypes
import time

import numpy as np
import torch

from nslib.engine import ccode
from nslib.formulas.activations import activation_module

HIGGS = "sub(cos(x), cos(abs(cos(x))))"
FAST_MATH = ("-O3", "-ffast-math", "-march=native", "-fopenmp-simd", "-fdisable-tree-sincos", "-shared", "-fPIC")
NAN_PROBES = ("max(x, 0.5)", "relu", "sqrt(x)", "mul(x, div(1.5, x))")


def c_apply(spec: str, flags: tuple[str, ...]):
    """The kernel's ``apply`` on float32 arrays: (value, slope) of ``z``."""
    library = ccode.compiled(ccode.kernel_source(spec), flags)

    def apply(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        value, slope = np.empty_like(z), np.empty_like(z)
        library.apply(ctypes.c_long(z.size), *(a.ctypes.data_as(ctypes.c_void_p) for a in (z, value, slope)))
        return value, slope

    return apply


def torch_apply(spec: str):
    """Torch's forward and autograd backward of the activation."""
    module = activation_module(spec)

    def apply(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = torch.from_numpy(z).requires_grad_()
        y = module(x)
        (slope,) = torch.autograd.grad(y, x, torch.ones_like(y))
        return y.detach().numpy(), slope.numpy()

    return apply


def ns_per_element(apply, z: np.ndarray) -> float:
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        apply(z)
        rounds.append(time.perf_counter() - start)
    return min(rounds) / z.size * 1e9


def finiteness_mismatches(spec: str, flags: tuple[str, ...]) -> int:
    z = np.array([np.nan, np.inf, -np.inf, 0.0, 1.0, -1.0], np.float32)
    return sum(int(np.sum(np.isfinite(c) != np.isfinite(t))) for c, t in zip(c_apply(spec, flags)(z),
                                                                              torch_apply(spec)(z)))


def main() -> None:
    torch.set_num_threads(1)
    z = np.random.default_rng(0).uniform(-30, 30, 1_000_000).astype(np.float32)
    ways = {"FLAGS": c_apply(HIGGS, ccode.FLAGS), "-ffast-math": c_apply(HIGGS, FAST_MATH), "torch": torch_apply(HIGGS)}
    for name, apply in ways.items():
        print(f"{name:>12}: {ns_per_element(apply, z):6.2f} ns per element (value and derivative)")
    for name, flags in (("FLAGS", ccode.FLAGS), ("-ffast-math", FAST_MATH)):
        wrong = {spec: finiteness_mismatches(spec, flags) for spec in NAN_PROBES}
        print(f"{name:>12}: points where finiteness differs from torch's: {wrong}")


if __name__ == "__main__":
    main()
