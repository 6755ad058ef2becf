"""Would a fused C kernel pay? (issue: engine speed, the "fused elementwise work" avenue)

The stacked engine spends most of a step outside the matrix products: BatchNorm,
the activation and dropout are separate torch calls, each reading and writing the
whole ``[batch, K * units]`` block, forward and backward. This probe writes one C
loop per direction that does all three (training-mode BatchNorm with its running
statistics, the activation, the dropout mask), compiles it with gcc, calls it
through ctypes and times it against the engine's torch calls on the same inputs,
one thread, best of three rounds. It prints the time of each and their largest
relative difference, for each activation in ``ACTIVATIONS`` (ReLU, GELU, SiLU and
the bench's three formulas; HIGGS's cheaper form is cos(x) - cos(cos(x))). With
``--stacks`` it also trains whole stacks of eight Forest Cover runs (``run_grid``,
one worker) with the kernels in place of the engine's training-mode BatchNorm,
activation and dropout, to see what a whole step gains.

With ``--whole-step EPOCHS`` it trains the bench's grid (``make bench``) stack by
stack, one thread, with the engine and with ``WholeStep``: a step with no autograd
graph, ``torch.bmm`` for the products and C for everything else (BatchNorm, the
activation, dropout from the engine's own random words, the output unit with Sigmoid
and BCELoss, Adam over one flat buffer), from the engine's initial weights. It prints
each stack's time and how far its training losses drift from the engine's. Every
activation of the bench has hand-written C (``ACTIVATIONS``). The figures are
recorded in ``nslib/training.py``'s docstring.

    .venv/bin/python scripts/fused_probe.py            # widths 256, 512, 1792
    .venv/bin/python scripts/fused_probe.py 512 --repeats 20
    NSLIB_DATA_MIRROR=../shared/data .venv/bin/python scripts/fused_probe.py --stacks --whole-step 15
"""

from __future__ import annotations

import argparse
import ctypes
import itertools
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from unittest import mock

import torch
import torch.nn.functional as F

from nslib import training
from nslib.activations import activation_module, resolve_formula
from nslib.data import load
from nslib.grids import paper_specs
from nslib.models import DROPOUT, KEEP_FROM, dropout_words, dropout_words_shape
from nslib.paper import PAPER_CODE_PROGRAMS
from nslib.symbolic import parse

BATCH = 1024
DATASETS = ("HIGGS", "FOREST_COVER", "SPAMBASE")
FLAGS = ["-O3", "-ffast-math", "-march=native", "-fopenmp-simd", "-fdisable-tree-sincos", "-shared", "-fPIC"]
# Each activation: the spec the engine uses, then its C value f(z) and derivative df(z).
ACTIVATIONS = {
    "ReLU": ("relu", "return z > 0.0f ? z : 0.0f;", "return z > 0.0f ? 1.0f : 0.0f;"),
    "HIGGS formula": (
        "sub(cos(x), cos(abs(cos(x))))",
        "float c = cosf(z); return c - cosf(c);",
        "float c = cosf(z); float s = sinf(z); return -s * (1.0f + sinf(c));",
    ),
    "GELU": (
        "gelu",
        "return 0.5f * z * (1.0f + erff(z * 0.70710678f));",
        "return 0.5f * (1.0f + erff(z * 0.70710678f)) + 0.39894228f * z * expf(-0.5f * z * z);",
    ),
    "SiLU": (
        "silu",
        "return z / (1.0f + expf(-z));",
        "float s = 1.0f / (1.0f + expf(-z)); return s * (1.0f + z * (1.0f - s));",
    ),
    # The paper code's FOREST_COVER and SPAMBASE programs, collapsed to x: x (0 - sin(x^2)) and sin(x) + 3x.
    "FOREST_COVER formula": (
        "mul(x, sub(sub(add(x, x), add(x, x)), sin(mul(x, x))))",
        "return z * (0.0f - sinf(z * z));",
        "float q = z * z; return (0.0f - sinf(q)) - 2.0f * q * cosf(q);",
    ),
    "SPAMBASE formula": (
        "sub(add(add(sin(x), x), add(x, add(x, sub(x, x)))), sub(x, x))",
        "return sinf(z) + z + (z + z);",
        "return cosf(z) + 3.0f;",
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


def compiled(value: str, derivative: str, folder: Path, kernels: str = KERNELS) -> ctypes.CDLL:
    """``kernels`` (the fused layer's by default) for one activation, compiled into the empty ``folder``."""
    source, library = folder / "fused.c", folder / "fused.so"
    source.write_text(kernels % (value, derivative))
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
        library.forward(n, m, *map(_pointer, pointers), ctypes.c_float(training.BN_MOMENTUM),
                        ctypes.c_float(training.BN_EPS))
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
    """``_Stack.forward`` with ``FusedLayer`` in training mode (one activation per stack); evaluation unchanged."""
    engine_forward = training._Stack.forward

    def forward(stack: training._Stack, x: torch.Tensor, masks: Sequence[torch.Tensor] | None) -> torch.Tensor:
        if masks is None:
            return engine_forward(stack, x, masks)
        a = x
        for layer, padded in enumerate(stack.padded):
            h = training._StackedLinear.apply(a, stack.W[layer], stack.b[layer], padded)
            a = FusedLayer.apply(h, stack.gamma[layer], stack.beta[layer], masks[layer], stack.running_mean[layer],
                                 stack.running_var[layer], library)
        logits = training._StackedLinear.apply(a, stack.W[-1], stack.b[-1], 1).T
        return training._simd_aligned(torch.sigmoid, logits)

    return forward


def whole_stacks(epochs: int = 3) -> None:
    """Train eight Forest Cover runs per case with the engine, then with the kernels; print both, best of two."""
    data = {"FOREST_COVER": load("FOREST_COVER")}
    engine_forward = training._Stack.forward
    for arch, name in (("light", "ReLU"), ("light", "HIGGS formula"), ("heavy", "ReLU")):
        spec, value, derivative = ACTIVATIONS[name]
        specs = [training.make_spec("FOREST_COVER", arch, spec, seed=seed, epochs=epochs) for seed in range(8)]
        with tempfile.TemporaryDirectory() as folder:
            ways = {"torch": engine_forward, "fused": fused_forward(compiled(value, derivative, Path(folder)))}
            seconds, auc = {}, {}
            for way in [*ways, *ways]:
                with mock.patch.object(training._Stack, "forward", ways[way]):
                    start = time.perf_counter()
                    rows = training.run_grid(specs, data, progress=False, workers=1)
                seconds[way] = min(seconds.get(way, float("inf")), time.perf_counter() - start)
                auc[way] = rows["auc"].mean()
        print(f"{arch:>5} {name:>13}, 8 runs x {epochs} epochs: torch {seconds['torch']:6.2f} s  fused "
              f"{seconds['fused']:6.2f} s  x{seconds['torch'] / seconds['fused']:4.2f}  mean AUC {auc['torch']:.5f} "
              f"vs {auc['fused']:.5f}")


# ------------------------------------------------------------ the whole step, no autograd
WHOLE_STEP_KERNELS = f"""
#define KEEP_FROM {KEEP_FROM}.0f
#define KEEP_SCALE {1.0 / (1.0 - DROPOUT)!r}f
""" + """
#include <math.h>
#include <stddef.h>
#include <stdint.h>
static inline float f(float z) { %s }
static inline float df(float z) { %s }
/* keep_scale of one 16-bit dropout word */
static inline float keep(int16_t w) { return fminf(fmaxf((float)w - KEEP_FROM + 1.0f, 0.0f), 1.0f) * KEEP_SCALE; }

/* K models' hidden layer, model-major: h [K, n, m] -> out [K, n, m]; words int16 [K, n, stride]. */
void forward(int K, int n, int m, const float *restrict h, const float *restrict gamma, const float *restrict beta,
             const int16_t *restrict words, float *restrict out, float *restrict xhat, float *restrict invstd,
             float *restrict running_mean, float *restrict running_var, int stride, float momentum, float eps) {
  float mean[m], var[m];
  for (int k = 0; k < K; k++) {
    size_t block = (size_t)k * n * m;
    const float *H = h + block, *G = gamma + k * m, *B = beta + k * m;
    float *O = out + block, *X = xhat + block, *S = invstd + k * m;
    for (int j = 0; j < m; j++) mean[j] = var[j] = 0.0f;
    for (int i = 0; i < n; i++)
#pragma omp simd
      for (int j = 0; j < m; j++) mean[j] += H[(size_t)i * m + j];
    for (int j = 0; j < m; j++) mean[j] /= n;
    for (int i = 0; i < n; i++)
#pragma omp simd
      for (int j = 0; j < m; j++) { float d = H[(size_t)i * m + j] - mean[j]; var[j] += d * d; }
    for (int j = 0; j < m; j++) {
      S[j] = 1.0f / sqrtf(var[j] / n + eps);
      running_mean[k * m + j] = (1 - momentum) * running_mean[k * m + j] + momentum * mean[j];
      running_var[k * m + j] = (1 - momentum) * running_var[k * m + j] + momentum * var[j] / (n - 1);
    }
    for (int i = 0; i < n; i++) {
      size_t row = (size_t)i * m;
      const int16_t *w = words + ((size_t)k * n + i) * stride;
#pragma omp simd
      for (int j = 0; j < m; j++) {
        float x = (H[row + j] - mean[j]) * S[j];
        X[row + j] = x;
        O[row + j] = f(G[j] * x + B[j]) * keep(w[j]);
      }
    }
  }
}

/* grad_out [K, n, m] -> grad_h [K, n, m], and the gradients of gamma, beta and the layer's bias [K, m]. */
void backward(int K, int n, int m, const float *restrict grad_out, const float *restrict xhat,
              const float *restrict invstd, const float *restrict gamma, const float *restrict beta,
              const int16_t *restrict words, float *restrict grad_h, float *restrict grad_gamma,
              float *restrict grad_beta, float *restrict grad_bias, int stride) {
  for (int k = 0; k < K; k++) {
    size_t block = (size_t)k * n * m;
    const float *GO = grad_out + block, *X = xhat + block, *G = gamma + k * m, *B = beta + k * m, *S = invstd + k * m;
    float *GH = grad_h + block, *GG = grad_gamma + k * m, *GB = grad_beta + k * m, *GBias = grad_bias + k * m;
    for (int j = 0; j < m; j++) GG[j] = GB[j] = GBias[j] = 0.0f;
    for (int i = 0; i < n; i++) {
      size_t row = (size_t)i * m;
      const int16_t *w = words + ((size_t)k * n + i) * stride;
#pragma omp simd
      for (int j = 0; j < m; j++) {
        float x = X[row + j], grad_z = GO[row + j] * keep(w[j]) * df(G[j] * x + B[j]);
        GH[row + j] = grad_z;
        GG[j] += grad_z * x;
        GB[j] += grad_z;
      }
    }
    for (int i = 0; i < n; i++) {
      size_t row = (size_t)i * m;
#pragma omp simd
      for (int j = 0; j < m; j++) {
        float g = G[j] * S[j] / n * (n * GH[row + j] - GB[j] - X[row + j] * GG[j]);
        GH[row + j] = g;
        GBias[j] += g;
      }
    }
  }
}

/* The output unit, Sigmoid and BCELoss (mean, log clamped at -100): p [K, n], loss [K], and the gradients
   of the last hidden activations a [K, n, m], of the output weights [K, m] and bias [K]. */
void head(int K, int n, int m, const float *restrict a, const float *restrict weight, const float *restrict bias,
          const float *restrict y, float *restrict p, float *restrict loss, float *restrict grad_a,
          float *restrict grad_weight, float *restrict grad_bias) {
  for (int k = 0; k < K; k++) {
    const float *A = a + (size_t)k * n * m, *W = weight + k * m;
    float *GA = grad_a + (size_t)k * n * m, *GW = grad_weight + k * m, total = 0.0f, grad_b = 0.0f;
    for (int j = 0; j < m; j++) GW[j] = 0.0f;
    for (int i = 0; i < n; i++) {
      const float *row = A + (size_t)i * m;
      float z = 0.0f;
#pragma omp simd reduction(+ : z)
      for (int j = 0; j < m; j++) z += row[j] * W[j];
      float q = 1.0f / (1.0f + expf(-(z + bias[k]))), t = y[k * n + i], grad_z = (q - t) / n;
      p[k * n + i] = q;
      total -= t * fmaxf(logf(q), -100.0f) + (1.0f - t) * fmaxf(logf(1.0f - q), -100.0f);
      grad_b += grad_z;
#pragma omp simd
      for (int j = 0; j < m; j++) {
        GA[(size_t)i * m + j] = grad_z * W[j];
        GW[j] += grad_z * row[j];
      }
    }
    loss[k] = total / n;
    grad_bias[k] = grad_b;
  }
}

/* One Adam step (torch's formula, no weight decay) over every parameter of the stack at once. */
void adam(long size, float *restrict param, const float *restrict grad, float *restrict mean, float *restrict square,
          float lr, float beta1, float beta2, float eps, int step) {
  float step_size = lr / (1.0f - powf(beta1, step)), correction = sqrtf(1.0f - powf(beta2, step));
#pragma omp simd
  for (long i = 0; i < size; i++) {
    mean[i] = beta1 * mean[i] + (1.0f - beta1) * grad[i];
    square[i] = beta2 * square[i] + (1.0f - beta2) * grad[i] * grad[i];
    param[i] -= step_size * mean[i] / (sqrtf(square[i]) / correction + eps);
  }
}
"""


class WholeStep:
    """A stack's training step with no autograd graph: ``torch.bmm`` for the products, the kernels for the rest.

    Same initial weights (``_initial_model``), permutations and dropout words as the engine; activations
    model-major, ``[K, n, units]``; every parameter, gradient and Adam moment in one flat buffer each.
    ``libraries`` maps each spec's ``module_spec`` to its compiled ``WHOLE_STEP_KERNELS``.
    """

    def __init__(self, specs: Sequence[training.RunSpec], d: int, libraries: dict[str, ctypes.CDLL]) -> None:
        self.K, self.widths, self.lr = len(specs), specs[0].widths, specs[0].lr
        models = [training._initial_model(spec, d) for spec in specs]
        linears = [[m for m in model if isinstance(m, torch.nn.Linear)] for model in models]
        norms = [[m for m in model if isinstance(m, torch.nn.BatchNorm1d)] for model in models]
        layers, hidden = range(len(linears[0])), range(len(norms[0]))
        tensors = [torch.stack([lin[layer].weight.detach().T for lin in linears]) for layer in layers]
        tensors += [torch.stack([lin[layer].bias.detach() for lin in linears]) for layer in layers]
        tensors += [torch.stack([getattr(bn[layer], name).detach() for bn in norms])
                    for name in ("weight", "bias") for layer in hidden]
        self.flat = torch.cat([t.flatten() for t in tensors])
        self.grad, self.mean, self.square = (torch.zeros_like(self.flat) for _ in range(3))
        offsets = [0, *itertools.accumulate(t.numel() for t in tensors)]
        views = [self.flat[a:b].view(t.shape) for a, b, t in zip(offsets, offsets[1:], tensors)]
        grads = [self.grad[a:b].view(t.shape) for a, b, t in zip(offsets, offsets[1:], tensors)]
        L, H = len(layers), len(hidden)
        self.W, self.b = views[:L], views[L : 2 * L]
        self.gamma, self.beta = views[2 * L : 2 * L + H], views[2 * L + H :]
        self.grad_W, self.grad_b = grads[:L], grads[L : 2 * L]
        self.grad_gamma, self.grad_beta = grads[2 * L : 2 * L + H], grads[2 * L + H :]
        self.running_mean = [torch.zeros(self.K, units) for units in self.widths]
        self.running_var = [torch.ones(self.K, units) for units in self.widths]
        self.groups, first = [], 0  # (first, last, library): consecutive specs sharing an activation
        for module_spec, group in itertools.groupby(specs, key=lambda spec: spec.module_spec):
            self.groups.append((first, first + len(list(group)), libraries[module_spec]))
            first = self.groups[-1][1]
        self.generators = [torch.Generator().manual_seed(spec.seed) for spec in specs]
        self.steps, self._buffers = 0, {}

    def _batch_buffers(self, n: int) -> dict[str, list[torch.Tensor]]:
        if n not in self._buffers:
            K, widths = self.K, self.widths
            self._buffers[n] = {
                "words": [torch.empty(K, *dropout_words_shape(n, units), dtype=torch.int64) for units in widths],
                **{name: [torch.empty(K, n, units) for units in widths]
                   for name in ("h", "a", "xhat", "grad_h", "grad_a")},
                "invstd": [torch.empty(K, units) for units in widths],
            }
        return self._buffers[n]

    def _per_group(self, kernel: str, n: int, units: int, tensors: Sequence[torch.Tensor], *scalars: Any) -> None:
        """``kernel(K_group, n, units, *pointers, *scalars)`` per activation group, tensors at the group's models."""
        for first, last, library in self.groups:
            pointers = [ctypes.c_void_p(t.data_ptr() + first * t[0].numel() * t.element_size()) for t in tensors]
            getattr(library, kernel)(last - first, n, units, *pointers, *scalars)

    def step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One Adam step on inputs ``[K, n, d]`` and targets ``[K, n]``; returns each model's loss ``[K]``."""
        n, buffers = x.shape[1], self._batch_buffers(x.shape[1])
        for k, generator in enumerate(self.generators):
            for units, words in zip(self.widths, buffers["words"]):
                dropout_words(n, units, generator, out=words[k])
        words = [w.view(torch.int16) for w in buffers["words"]]
        a = x
        for layer, units in enumerate(self.widths):
            torch.baddbmm(self.b[layer].unsqueeze(1), a, self.W[layer], out=buffers["h"][layer])
            a = buffers["a"][layer]
            self._per_group("forward", n, units, [
                buffers["h"][layer], self.gamma[layer], self.beta[layer], words[layer], a, buffers["xhat"][layer],
                buffers["invstd"][layer], self.running_mean[layer], self.running_var[layer],
            ], ctypes.c_int(words[layer].shape[2]), ctypes.c_float(training.BN_MOMENTUM),
                ctypes.c_float(training.BN_EPS))
        p, loss = torch.empty(self.K, n), torch.empty(self.K)
        self._per_group("head", n, self.widths[-1], [
            a, self.W[-1], self.b[-1], y, p, loss, buffers["grad_a"][-1], self.grad_W[-1], self.grad_b[-1]])
        for layer in reversed(range(len(self.widths))):
            self._per_group("backward", n, self.widths[layer], [
                buffers["grad_a"][layer], buffers["xhat"][layer], buffers["invstd"][layer], self.gamma[layer],
                self.beta[layer], words[layer], buffers["grad_h"][layer], self.grad_gamma[layer],
                self.grad_beta[layer], self.grad_b[layer],
            ], ctypes.c_int(words[layer].shape[2]))
            below = x if layer == 0 else buffers["a"][layer - 1]
            torch.bmm(below.transpose(1, 2), buffers["grad_h"][layer], out=self.grad_W[layer])
            if layer:
                torch.bmm(buffers["grad_h"][layer], self.W[layer].transpose(1, 2), out=buffers["grad_a"][layer - 1])
        self.steps += 1
        library = self.groups[0][2]
        library.adam(ctypes.c_long(self.flat.numel()), *map(_pointer, (self.flat, self.grad, self.mean, self.square)),
                     ctypes.c_float(self.lr), ctypes.c_float(0.9), ctypes.c_float(0.999), ctypes.c_float(1e-8),
                     ctypes.c_int(self.steps))
        torch.isfinite(p).all(1)  # the engine's check for failed runs, for a fair time
        return loss


def train_whole_steps(
    specs: Sequence[training.RunSpec], splits: dict, libraries: dict[str, ctypes.CDLL]
) -> list[list[float]]:
    """Train a stack with ``WholeStep`` as ``_train_stack`` does (no evaluation); each run's mean loss per epoch."""
    X, y = [splits[spec.seed].X_train for spec in specs], [splits[spec.seed].y_train for spec in specs]
    (n, d), K, batch_size = X[0].shape, len(specs), specs[0].batch_size
    stack = WholeStep(specs, d, libraries)
    losses = torch.zeros(specs[0].epochs, K)
    for epoch in range(specs[0].epochs):
        order = torch.stack([torch.randperm(n, generator=g) for g in stack.generators])
        for first in range(0, n, batch_size):
            rows = order[:, first : first + batch_size]
            inputs, targets = torch.empty(K, rows.shape[1], d), torch.empty(K, rows.shape[1])
            for k in range(K):
                torch.index_select(X[k], 0, rows[k], out=inputs[k])
                torch.index_select(y[k], 0, rows[k], out=targets[k])
            losses[epoch] += stack.step(inputs, targets) * rows.shape[1]
    return (losses / n).T.tolist()


def whole_step_grid(epochs: int) -> None:
    """The bench's grid, stack by stack on one thread: the engine's ``_train_stack`` against ``WholeStep``."""
    formulas = {name: str(parse(program).collapse()) for name, program in PAPER_CODE_PROGRAMS.items()}
    specs = paper_specs(DATASETS, formulas, (42, 43, 44), epochs, transfer_from="HIGGS")
    data = {name: load(name) for name in DATASETS}
    c_code = {resolve_formula(spec) or spec: (value, derivative) for spec, value, derivative in ACTIVATIONS.values()}
    device, totals = torch.device("cpu"), {"engine": 0.0, "whole step": 0.0}
    with tempfile.TemporaryDirectory() as folder:
        libraries = {}
        for number, spec in enumerate(sorted({spec.module_spec for spec in specs})):
            (Path(folder) / str(number)).mkdir()
            libraries[spec] = compiled(*c_code[spec], Path(folder) / str(number), WHOLE_STEP_KERNELS)
        for stack in training._stacks(specs, training.MAX_STACK):
            dataset = data[stack[0].dataset]
            splits = training._seed_splits(stack, dataset, device, {})
            start = time.perf_counter()
            rows = training._train_stack(stack, dataset, splits, device, lambda epochs: None)
            engine_s = time.perf_counter() - start
            start = time.perf_counter()
            losses = train_whole_steps(stack, splits, libraries)
            whole_s = time.perf_counter() - start
            engine_losses = [[float(v) for v in row["train_loss"].split(";")] for row in rows]
            difference = max(abs(a - b) / a for run, other in zip(engine_losses, losses) for a, b in zip(run, other))
            totals["engine"] += engine_s
            totals["whole step"] += whole_s
            print(f"{dataset.name:>12} {stack[0].arch:>5} x{len(stack)} ({len({s.module_spec for s in stack})} "
                  f"activations): engine {engine_s:6.2f} s  whole step {whole_s:6.2f} s  x{engine_s / whole_s:4.2f}  "
                  f"train loss differs by up to {difference:.1e} (relative)")
    print(f"grid, {len(specs)} runs x {epochs} epochs, one thread: engine {totals['engine']:.1f} s, whole step "
          f"{totals['whole step']:.1f} s, x{totals['engine'] / totals['whole step']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("widths", nargs="*", type=int, default=[256, 512, 1792], help="columns of the layer block")
    parser.add_argument("--repeats", type=int, default=50, help="steps per timed round")
    parser.add_argument("--stacks", action="store_true", help="also train whole stacks (needs the data)")
    parser.add_argument("--whole-step", type=int, metavar="EPOCHS", default=0,
                        help="also train the bench's grid with the whole step in C for EPOCHS epochs (needs the data)")
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
    if args.whole_step:
        whole_step_grid(args.whole_step)


if __name__ == "__main__":
    main()
