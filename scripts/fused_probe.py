"""Would a fused C kernel pay? (issue: engine speed, the "fused elementwise work" avenue)

The stacked engine spends most of a step outside the matrix products: BatchNorm,
the activation and dropout are separate torch calls, each reading and writing the
whole ``[batch, K * units]`` block, forward and backward. This probe writes one C
loop per direction that does all three (training-mode BatchNorm with its running
statistics, the activation, the dropout mask), compiles it with gcc, calls it
through ctypes and times it against the engine's torch calls on the same inputs,
one thread, best of three rounds. It prints the time of each and their largest
relative difference, for ReLU and for HIGGS's formula, whose cheaper form is
cos(x) - cos(cos(x)). With ``--stacks`` it also trains whole stacks of eight
Forest Cover runs (``run_grid``, one worker) with the kernels in place of the
engine's training-mode BatchNorm, activation and dropout, to see what a whole step
gains. Its figures are recorded in ``docs/engine.md``.

    .venv/bin/python scripts/fused_probe.py            # widths 256, 512, 1792
    .venv/bin/python scripts/fused_probe.py 512 --repeats 20
    NSLIB_DATA_MIRROR=../shared/data .venv/bin/python scripts/fused_probe.py --stacks
"""

from __future__ import annotations

import argparse
import ctypes
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from unittest import mock

import torch
import torch.nn.functional as F

from nslib.data.datasets import load
from nslib.engine import grid, specs, torch_stack
from nslib.formulas.activations import activation_module

BATCH = 1024
FLAGS = ["-O3", "-ffast-math", "-march=native", "-fopenmp-simd", "-fdisable-tree-sincos", "-shared", "-fPIC"]
# Each activation: the spec the engine uses, then its C value f(z) and derivative df(z).
ACTIVATIONS = {
    "ReLU": ("relu", "return z > 0.0f ? z : 0.0f;", "return z > 0.0f ? 1.0f : 0.0f;"),
    "HIGGS formula": (
        "sub(cos(x), cos(abs(cos(x))))",
        "float c = cosf(z); return c - cosf(c);",
        "float c = cosf(z); float s = sinf(z); return -s * (1.0f + sinf(c));",
    ),
}
KERNELS = """
#include <math.h>
#include <stdlib.h>
#include <string.h>
static inline float f(float z) { %s }
static inline float df(float z) { %s }

/* h [n, m] -> out [n, m]; saves xhat [n, m] and invstd [m]; updates the running statistics. */
void forward(int n, int m, const float *restrict h, const float *restrict gamma, const float *restrict beta,
             const float *restrict mask, float *restrict out, float *restrict xhat, float *restrict invstd,
             float *restrict running_mean, float *restrict running_var, float momentum, float eps) {
  float *mean = calloc(m, sizeof(float)), *var = calloc(m, sizeof(float));
  for (int i = 0; i < n; i++) for (int j = 0; j < m; j++) mean[j] += h[(size_t)i * m + j];
  for (int j = 0; j < m; j++) mean[j] /= n;
  for (int i = 0; i < n; i++) for (int j = 0; j < m; j++) { float d = h[(size_t)i * m + j] - mean[j]; var[j] += d * d; }
  for (int j = 0; j < m; j++) {
    invstd[j] = 1.0f / sqrtf(var[j] / n + eps);
    running_mean[j] = (1 - momentum) * running_mean[j] + momentum * mean[j];
    running_var[j] = (1 - momentum) * running_var[j] + momentum * var[j] / (n - 1);
  }
  for (int i = 0; i < n; i++) {
    size_t row = (size_t)i * m;
#pragma omp simd
    for (int j = 0; j < m; j++) {
      float x = (h[row + j] - mean[j]) * invstd[j];
      xhat[row + j] = x;
      out[row + j] = f(gamma[j] * x + beta[j]) * mask[row + j];
    }
  }
  free(mean);
  free(var);
}

/* grad_out [n, m] -> grad_h [n, m], grad_gamma [m], grad_beta [m]. */
void backward(int n, int m, const float *restrict grad_out, const float *restrict xhat,
              const float *restrict invstd, const float *restrict gamma, const float *restrict beta,
              const float *restrict mask, float *restrict grad_h, float *restrict grad_gamma,
              float *restrict grad_beta) {
  memset(grad_gamma, 0, m * sizeof(float));
  memset(grad_beta, 0, m * sizeof(float));
  for (int i = 0; i < n; i++) {
    size_t row = (size_t)i * m;
#pragma omp simd
    for (int j = 0; j < m; j++) {
      float x = xhat[row + j];
      float grad_z = grad_out[row + j] * mask[row + j] * df(gamma[j] * x + beta[j]);
      grad_h[row + j] = grad_z;
      grad_gamma[j] += grad_z * x;
      grad_beta[j] += grad_z;
    }
  }
  for (int i = 0; i < n; i++) {
    size_t row = (size_t)i * m;
    for (int j = 0; j < m; j++)
      grad_h[row + j] = gamma[j] * invstd[j] / n * (n * grad_h[row + j] - grad_beta[j] - xhat[row + j] * grad_gamma[j]);
  }
}
"""
Step = Callable[[dict[str, torch.Tensor]], tuple[torch.Tensor, ...]]


def compiled(value: str, derivative: str, folder: Path) -> ctypes.CDLL:
    """The fused kernels for one activation, compiled into the empty ``folder``."""
    source, library = folder / "fused.c", folder / "fused.so"
    source.write_text(KERNELS % (value, derivative))
    command = ["gcc", *FLAGS, str(source), "-o", str(library), "-lmvec", "-lm"]
    built = subprocess.run(command, capture_output=True, text=True)
    if built.returncode:
        raise RuntimeError(f"gcc could not build the probe's kernels:\n{built.stderr}")
    return ctypes.CDLL(str(library))


def _pointer(tensor: torch.Tensor) -> ctypes.c_void_p:
    return ctypes.c_void_p(tensor.data_ptr())


def inputs(m: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """One layer's pre-activations, BatchNorm weights, a dropout mask (p = 0.3) and an upstream gradient."""
    generator = torch.Generator().manual_seed(seed)

    def normal(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator)
    keep = torch.rand(BATCH, m, generator=generator) > 0.3
    return {"h": 3 * normal(BATCH, m) + 1, "gamma": 1 + 0.1 * normal(m), "beta": 0.1 * normal(m),
            "mask": keep.float() / 0.7, "grad": normal(BATCH, m)}


def torch_step(spec: str) -> Step:
    """The engine's way: ``F.batch_norm``, the activation module and the mask, then autograd backward."""
    activation = activation_module(spec)

    def step(t: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        h, gamma, beta = (t[name].detach().requires_grad_() for name in ("h", "gamma", "beta"))
        mean, var = torch.zeros(h.shape[1]), torch.ones(h.shape[1])
        out = activation(F.batch_norm(h, mean, var, gamma, beta, training=True, momentum=0.1, eps=1e-5)) * t["mask"]
        out.backward(t["grad"])
        return out.detach(), h.grad, gamma.grad, beta.grad

    return step


def fused_step(library: ctypes.CDLL) -> Step:
    """The fused kernels on the same inputs."""
    def step(t: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        n, m = t["h"].shape
        out, xhat, grad_h = (torch.empty(n, m) for _ in range(3))
        invstd, grad_gamma, grad_beta = (torch.empty(m) for _ in range(3))
        mean, var = torch.zeros(m), torch.ones(m)
        forward = (t["h"], t["gamma"], t["beta"], t["mask"], out, xhat, invstd, mean, var)
        library.forward(n, m, *map(_pointer, forward), ctypes.c_float(0.1), ctypes.c_float(1e-5))
        backward = (t["grad"], xhat, invstd, t["gamma"], t["beta"], t["mask"], grad_h, grad_gamma, grad_beta)
        library.backward(n, m, *map(_pointer, backward))
        return out, grad_h, grad_gamma, grad_beta

    return step


def largest_difference(first: tuple[torch.Tensor, ...], second: tuple[torch.Tensor, ...]) -> float:
    """The largest difference between matching outputs, relative to each output's largest value."""
    return max(float((a - b).abs().max() / a.abs().max()) for a, b in zip(first, second))


def best_ms(step: Step, t: dict[str, torch.Tensor], repeats: int) -> float:
    """The best of three rounds of ``repeats`` steps, in milliseconds a step."""
    rounds = []
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeats):
            step(t)
        rounds.append((time.perf_counter() - start) / repeats * 1e3)
    return min(rounds)


class FusedLayer(torch.autograd.Function):
    """One stacked layer's training-mode BatchNorm, activation and dropout through the compiled kernels."""

    @staticmethod
    def forward(ctx: Any, h: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, mask: torch.Tensor,
                running_mean: torch.Tensor, running_var: torch.Tensor, library: ctypes.CDLL) -> torch.Tensor:
        h = h.contiguous()
        n, m = h.shape
        out, xhat, invstd = torch.empty_like(h), torch.empty_like(h), torch.empty(m)
        pointers = (h, gamma, beta, mask, out, xhat, invstd, running_mean, running_var)
        library.forward(n, m, *map(_pointer, pointers), ctypes.c_float(torch_stack.BN_MOMENTUM),
                        ctypes.c_float(torch_stack.BN_EPS))
        ctx.save_for_backward(xhat, invstd, gamma, beta, mask)
        ctx.library = library
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        xhat, invstd, gamma, beta, mask = ctx.saved_tensors
        grad = grad.contiguous()
        n, m = grad.shape
        grad_h, grad_gamma, grad_beta = torch.empty_like(grad), torch.empty(m), torch.empty(m)
        pointers = (grad, xhat, invstd, gamma, beta, mask, grad_h, grad_gamma, grad_beta)
        ctx.library.backward(n, m, *map(_pointer, pointers))
        return grad_h, grad_gamma, grad_beta, None, None, None, None


def fused_forward(library: ctypes.CDLL) -> Callable:
    """``TorchStack.forward`` with ``FusedLayer`` in training mode (one activation per stack); evaluation unchanged."""
    engine_forward = torch_stack.TorchStack.forward

    def forward(stack: torch_stack.TorchStack, x: torch.Tensor, masks: Sequence[torch.Tensor] | None) -> torch.Tensor:
        if masks is None:
            return engine_forward(stack, x, masks)
        a = x
        for layer, padded in enumerate(stack.padded):
            h = torch_stack._StackedLinear.apply(a, stack.W[layer], stack.b[layer], padded)
            a = FusedLayer.apply(h, stack.gamma[layer], stack.beta[layer], masks[layer], stack.running_mean[layer],
                                 stack.running_var[layer], library)
        logits = torch_stack._StackedLinear.apply(a, stack.W[-1], stack.b[-1], 1).T
        return torch_stack._simd_aligned(torch.sigmoid, logits)

    return forward


def whole_stacks(epochs: int = 3) -> None:
    """Train eight Forest Cover runs per case with the engine, then with the kernels; print both, best of two."""
    data = {"FOREST_COVER": load("FOREST_COVER")}
    engine_forward = torch_stack.TorchStack.forward
    for arch, name in (("light", "ReLU"), ("light", "HIGGS formula"), ("heavy", "ReLU")):
        spec, value, derivative = ACTIVATIONS[name]
        specs = [specs.make_spec("FOREST_COVER", arch, spec, seed=seed, epochs=epochs) for seed in range(8)]
        with tempfile.TemporaryDirectory() as folder:
            ways = {"torch": engine_forward, "fused": fused_forward(compiled(value, derivative, Path(folder)))}
            seconds, auc = {}, {}
            for way in [*ways, *ways]:
                with mock.patch.object(torch_stack.TorchStack, "forward", ways[way]):
                    start = time.perf_counter()
                    rows = grid.run_grid(specs, data, progress=False, workers=1)
                seconds[way] = min(seconds.get(way, float("inf")), time.perf_counter() - start)
                auc[way] = rows["auc"].mean()
        print(f"{arch:>5} {name:>13}, 8 runs x {epochs} epochs: torch {seconds['torch']:6.2f} s  fused "
              f"{seconds['fused']:6.2f} s  x{seconds['torch'] / seconds['fused']:4.2f}  mean AUC {auc['torch']:.5f} "
              f"vs {auc['fused']:.5f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("widths", nargs="*", type=int, default=[256, 512, 1792], help="columns of the layer block")
    parser.add_argument("--repeats", type=int, default=50, help="steps per timed round")
    parser.add_argument("--stacks", action="store_true", help="also train whole stacks (needs the data)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name, (spec, value, derivative) in ACTIVATIONS.items():
        with tempfile.TemporaryDirectory() as folder:
            ours, fused = torch_step(spec), fused_step(compiled(value, derivative, Path(folder)))
            for m in args.widths:
                t = inputs(m)
                difference = largest_difference(ours(t), fused(t))
                torch_ms, fused_ms = best_ms(ours, t, args.repeats), best_ms(fused, t, args.repeats)
                print(f"{name:>13} [{BATCH}, {m:>4}]  torch {torch_ms:7.3f} ms  fused {fused_ms:7.3f} ms  "
                      f"x{torch_ms / fused_ms:4.1f}  largest relative difference {difference:.1e}")
    if args.stacks:
        whole_stacks()


if __name__ == "__main__":
    main()
