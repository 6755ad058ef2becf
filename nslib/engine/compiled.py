"""The stacked engine's CPU step in compiled C: no autograd graph, torch only for the matrix products.

``CompiledStack`` trains K runs of one shape as ``nslib.engine.torch_stack.TorchStack`` does (same
initial weights, permutations, dropout words, BatchNorm, Sigmoid + BCELoss and Adam),
but each training step is ``torch.bmm`` for the products and one C loop per layer and
direction for everything else, plus one for the output unit and its loss and one for
Adam over all parameters at once (a flat buffer). Activations are model-major,
``[K, batch, units]``, and every C loop runs model by model, so a run's numbers do not
depend on what it is stacked with. The kernels release the GIL (ctypes), so worker
threads train in parallel.

Its numbers agree with the torch engine's to rounding (about 1e-6 relative on one
step; training amplifies it), not to the bit. It needs gcc and glibc's vector maths
(``nslib.engine.ccode``); CUDA and rational runs use the torch engine, and so does every run where the kernels
cannot be built or loaded (``nslib.engine.kernel_cache.KernelUnavailable``, ``report_fallback``).
"""

from __future__ import annotations

import ctypes
import functools
import itertools
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from nslib.engine.ccode import activation_functions, compiled
from nslib.engine.models import DROPOUT, KEEP_FROM, dropout_words, dropout_words_shape
from nslib.engine.specs import activation_groups

ADAM_BETAS = (0.9, 0.999)  # torch.optim.Adam's defaults, as the torch engine uses them
ADAM_EPS = 1e-8

KERNELS = f"""
#define KEEP_FROM {KEEP_FROM}.0f
#define KEEP_SCALE {1.0 / (1.0 - DROPOUT)!r}f
""" + """
#include <float.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
%s
/* keep_scale (nslib.engine.models) of one 16-bit dropout word: w - KEEP_FROM + 1 clamped to [0, 1], times 1 / (1 - p)
   (comparisons, not fminf and fmaxf, which gcc does not vectorise without -ffinite-math-only) */
static inline float keep(int16_t w) {
  float kept = (float)w - KEEP_FROM + 1.0f;
  kept = kept < 0.0f ? 0.0f : kept;
  return (kept > 1.0f ? 1.0f : kept) * KEEP_SCALE;
}

/* Training: h [K, n, m] -> out [K, n, m]: BatchNorm on the batch (its running statistics updated), the
   activation, dropout from the words [K, n, stride] (int16); saves xhat [K, n, m] and invstd [K, m]. Sums over
   the batch are in double. Where the sum of squares overflows float32 (values near 1e19), as torch's float sums
   do, invstd is 0, as torch's is, and ``backward`` then gives NaN gradients, as torch's does: the run fails.
   Scratch arrays of a layer's width are on the heap (on the C stack a million units overflow it); each
   kernel that has them returns 1, having done nothing, when they cannot be had, else 0. */
int forward(int K, int n, int m, const float *restrict h, const float *restrict gamma, const float *restrict beta,
            const int16_t *restrict words, float *restrict out, float *restrict xhat, float *restrict invstd,
            float *restrict running_mean, float *restrict running_var, int stride, float momentum, float eps) {
  double *sum = malloc(sizeof(double) * m), *squares = malloc(sizeof(double) * m);
  float *mean = malloc(sizeof(float) * m);
  if (!sum || !squares || !mean) { free(sum); free(squares); free(mean); return 1; }
  for (int k = 0; k < K; k++) {
    size_t block = (size_t)k * n * m;
    const float *H = h + block, *G = gamma + k * m, *B = beta + k * m;
    float *O = out + block, *X = xhat + block, *S = invstd + k * m;
    for (int j = 0; j < m; j++) sum[j] = squares[j] = 0.0;
    for (int i = 0; i < n; i++)
#pragma omp simd
      for (int j = 0; j < m; j++) sum[j] += H[(size_t)i * m + j];
    for (int j = 0; j < m; j++) mean[j] = (float)(sum[j] / n);
    for (int i = 0; i < n; i++)
#pragma omp simd
      for (int j = 0; j < m; j++) { double d = H[(size_t)i * m + j] - sum[j] / n; squares[j] += d * d; }
    for (int j = 0; j < m; j++) {
      S[j] = squares[j] <= FLT_MAX ? (float)(1.0 / sqrt(squares[j] / n + eps)) : 0.0f;
      running_mean[k * m + j] = (1 - momentum) * running_mean[k * m + j] + momentum * mean[j];
      running_var[k * m + j] = (1 - momentum) * running_var[k * m + j] + momentum * (float)(squares[j] / (n - 1));
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
  free(sum); free(squares); free(mean);
  return 0;
}

/* grad_out [K, n, m] -> grad_h [K, n, m], and the gradients of gamma, beta and the layer's bias [K, m]. */
int backward(int K, int n, int m, const float *restrict grad_out, const float *restrict xhat,
             const float *restrict invstd, const float *restrict gamma, const float *restrict beta,
             const int16_t *restrict words, float *restrict grad_h, float *restrict grad_gamma,
             float *restrict grad_beta, float *restrict grad_bias, int stride) {
  double *dot = malloc(sizeof(double) * m), *sum = malloc(sizeof(double) * m), *bias = malloc(sizeof(double) * m);
  if (!dot || !sum || !bias) { free(dot); free(sum); free(bias); return 1; }
  for (int k = 0; k < K; k++) {
    size_t block = (size_t)k * n * m;
    const float *GO = grad_out + block, *X = xhat + block, *G = gamma + k * m, *B = beta + k * m, *S = invstd + k * m;
    float *GH = grad_h + block;
    for (int j = 0; j < m; j++) dot[j] = sum[j] = bias[j] = 0.0;
    for (int i = 0; i < n; i++) {
      size_t row = (size_t)i * m;
      const int16_t *w = words + ((size_t)k * n + i) * stride;
#pragma omp simd
      for (int j = 0; j < m; j++) {
        float x = X[row + j], grad_z = GO[row + j] * keep(w[j]) * df(G[j] * x + B[j]);
        GH[row + j] = grad_z;
        dot[j] += grad_z * x;
        sum[j] += grad_z;
      }
    }
    for (int j = 0; j < m; j++) {
      grad_gamma[k * m + j] = (float)dot[j];
      grad_beta[k * m + j] = (float)sum[j];
    }
    for (int i = 0; i < n; i++) {
      size_t row = (size_t)i * m;
#pragma omp simd
      for (int j = 0; j < m; j++) {
        float g = G[j] * S[j] / n * (n * GH[row + j] - (float)sum[j] - X[row + j] * (float)dot[j]);
        g = S[j] == 0.0f ? NAN : g;
        GH[row + j] = g;
        bias[j] += g;
      }
    }
    for (int j = 0; j < m; j++) grad_bias[k * m + j] = (float)bias[j];
  }
  free(dot); free(sum); free(bias);
  return 0;
}

/* Evaluation: h [K, n, m] -> out [K, n, m], BatchNorm with the running statistics, then the activation. */
int infer(int K, int n, int m, const float *restrict h, const float *restrict gamma, const float *restrict beta,
          const float *restrict running_mean, const float *restrict running_var, float *restrict out, float eps) {
  float *scale = malloc(sizeof(float) * m), *shift = malloc(sizeof(float) * m);
  if (!scale || !shift) { free(scale); free(shift); return 1; }
  for (int k = 0; k < K; k++) {
    for (int j = 0; j < m; j++) {
      scale[j] = gamma[k * m + j] / sqrtf(running_var[k * m + j] + eps);
      shift[j] = beta[k * m + j] - running_mean[k * m + j] * scale[j];
    }
    for (int i = 0; i < n; i++) {
      size_t row = ((size_t)k * n + i) * m;
#pragma omp simd
      for (int j = 0; j < m; j++) out[row + j] = f(h[row + j] * scale[j] + shift[j]);
    }
  }
  free(scale); free(shift);
  return 0;
}

/* The output unit's probabilities p [K, n] from the last hidden activations a [K, n, m]. */
void probability(int K, int n, int m, const float *restrict a, const float *restrict weight,
                 const float *restrict bias, float *restrict p) {
  for (int k = 0; k < K; k++)
    for (int i = 0; i < n; i++) {
      const float *row = a + ((size_t)k * n + i) * m, *W = weight + k * m;
      float z = 0.0f;
#pragma omp simd reduction(+ : z)
      for (int j = 0; j < m; j++) z += row[j] * W[j];
      p[k * n + i] = 1.0f / (1.0f + expf(-(z + bias[k])));
    }
}

/* Training's output unit, Sigmoid and BCELoss (mean, log clamped at -100): p [K, n], loss [K], and the
   gradients of the last hidden activations a [K, n, m], of the output weights [K, m] and bias [K]. */
void head(int K, int n, int m, const float *restrict a, const float *restrict weight, const float *restrict bias,
          const float *restrict y, float *restrict p, float *restrict loss, float *restrict grad_a,
          float *restrict grad_weight, float *restrict grad_bias) {
  probability(K, n, m, a, weight, bias, p);
  for (int k = 0; k < K; k++) {
    const float *A = a + (size_t)k * n * m, *W = weight + k * m;
    float *GA = grad_a + (size_t)k * n * m, *GW = grad_weight + k * m, total = 0.0f, grad_b = 0.0f;
    for (int j = 0; j < m; j++) GW[j] = 0.0f;
    for (int i = 0; i < n; i++) {
      /* BCELoss's backward, then Sigmoid's, as torch takes them: a saturated q (exactly 0 or 1) passes no gradient */
      float q = p[k * n + i], t = y[k * n + i];
      float grad_z = (1.0f / n) * (q - t) / fmaxf((1.0f - q) * q, 1e-12f) * (1.0f - q) * q;
      total -= t * fmaxf(logf(q), -100.0f) + (1.0f - t) * fmaxf(logf(1.0f - q), -100.0f);
      grad_b += grad_z;
#pragma omp simd
      for (int j = 0; j < m; j++) {
        GA[(size_t)i * m + j] = grad_z * W[j];
        GW[j] += grad_z * A[(size_t)i * m + j];
      }
    }
    loss[k] = total / n;
    grad_bias[k] = grad_b;
  }
}

/* One Adam step (torch's formula, no weight decay) over every parameter of the stack at once. A model's
   parameters sit at other places of the buffer in other stacks, so this loop must compute the same in SIMD
   and scalar code: no fused multiply-adds, which gcc may form in one and not the other. */
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
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
#pragma GCC pop_options
"""


_INT, _LONG, _FLOAT, _POINTER = ctypes.c_int, ctypes.c_long, ctypes.c_float, ctypes.c_void_p
_INT_MAX = 2**31 - 1  # ctypes wraps a larger Python int passed as a C int without a word
# Each kernel's C signature, declared so that ctypes converts and checks every argument (a float where an int
# or a pointer is due is an error, not garbage in a register) and reads the status that kernels return.
SIGNATURES = {
    "forward": (_INT, [_INT] * 3 + [_POINTER] * 9 + [_INT, _FLOAT, _FLOAT]),
    "backward": (_INT, [_INT] * 3 + [_POINTER] * 10 + [_INT]),
    "infer": (_INT, [_INT] * 3 + [_POINTER] * 6 + [_FLOAT]),
    "probability": (None, [_INT] * 3 + [_POINTER] * 4),
    "head": (None, [_INT] * 3 + [_POINTER] * 9),
    "adam": (None, [_LONG] + [_POINTER] * 4 + [_FLOAT] * 4 + [_INT]),
}


@functools.cache
def kernels(module_spec: str) -> ctypes.CDLL:
    """The compiled kernels for one activation (``"relu"``, ``"gelu"``, ``"silu"`` or a formula's text), their
    signatures declared; ``KernelUnavailable`` where they cannot be built or loaded here (``nslib.engine.ccode``)."""
    library = compiled(KERNELS % activation_functions(module_spec))
    for name, (result, arguments) in SIGNATURES.items():
        function = getattr(library, name)
        function.restype, function.argtypes = result, arguments
    return library


def _pointer(tensor: torch.Tensor, first: int = 0) -> ctypes.c_void_p:
    """The address of ``tensor[first]``, model ``first``'s block of a contiguous ``[K, ...]`` tensor."""
    return ctypes.c_void_p(tensor.data_ptr() + first * (tensor.numel() // tensor.shape[0]) * tensor.element_size())


class CompiledStack:
    """K runs of one shape (no rational activation) trained together on the CPU with the compiled kernels.

    ``models`` are the runs' initial networks (``nn.Sequential`` of Linear, BatchNorm1d, activation, dropout).
    Weights are ``[K, in, out]`` (transposed ``nn.Linear`` weights); every parameter, its gradient and Adam's
    two moments live in one flat buffer each, so that one ``adam`` call updates them all.
    """

    def __init__(self, specs: Sequence[Any], models: Sequence[nn.Sequential]) -> None:
        self.K, self.widths, self.lr = len(specs), specs[0].widths, specs[0].lr
        self.d = models[0][0].in_features
        linears = [[m for m in model if isinstance(m, nn.Linear)] for model in models]
        norms = [[m for m in model if isinstance(m, nn.BatchNorm1d)] for model in models]
        layers, hidden = range(len(linears[0])), range(len(norms[0]))
        tensors = [torch.stack([lin[layer].weight.detach().T for lin in linears]) for layer in layers]
        tensors += [torch.stack([lin[layer].bias.detach() for lin in linears]) for layer in layers]
        tensors += [torch.stack([getattr(bn[layer], name).detach() for bn in norms])
                    for name in ("weight", "bias") for layer in hidden]
        self._pack([tensors, *([torch.zeros_like(t) for t in tensors] for _ in range(3))])
        self.bn_momentum, self.bn_eps = norms[0][0].momentum, norms[0][0].eps
        self.running_mean = [torch.stack([bn[layer].running_mean for bn in norms]) for layer in hidden]
        self.running_var = [torch.stack([bn[layer].running_var for bn in norms]) for layer in hidden]
        self.module_specs = [spec.module_spec for spec in specs]
        self.groups = [(first, last, kernels(spec)) for first, last, spec in activation_groups(self.module_specs)]
        self.generators = [torch.Generator().manual_seed(spec.seed) for spec in specs]
        self.steps = 0
        self._buffers: dict[int, dict[str, list[torch.Tensor]]] = {}

    def _pack(self, tensors: Sequence[Sequence[torch.Tensor]]) -> None:
        """Lay out the parameters, gradients and Adam's two moments (``tensors``: four lists of ``[K, ...]`` tensors,
        in the order W, b, gamma, beta) each in one flat buffer, and name their views."""
        shapes = [t.shape for t in tensors[0]]
        offsets = list(itertools.pairwise([0, *itertools.accumulate(shape.numel() for shape in shapes)]))
        self.flat, self.grad, self.mean, self.square = (torch.cat([t.flatten() for t in group]) for group in tensors)
        # (parameters, gradients, Adam's mean, Adam's square): each a list of [K, ...] views into its flat buffer
        self.views = [[flat[a:b].view(shape) for (a, b), shape in zip(offsets, shapes)]
                      for flat in (self.flat, self.grad, self.mean, self.square)]
        self.parameters, self.gradients = self.views[:2]
        L, H = len(self.widths) + 1, len(self.widths)
        self.W, self.b = self.parameters[:L], self.parameters[L : 2 * L]
        self.gamma, self.beta = self.parameters[2 * L : 2 * L + H], self.parameters[2 * L + H :]
        self.grad_W, self.grad_b = self.gradients[:L], self.gradients[L : 2 * L]
        self.grad_gamma, self.grad_beta = self.gradients[2 * L : 2 * L + H], self.gradients[2 * L + H :]

    def keep(self, positions: Sequence[int]) -> None:
        """Keep only the models at ``positions``, in order: stopped runs leave, the kept ones train on unchanged."""
        if not positions:
            raise ValueError("a stack keeps at least one model; end the stack instead of keeping none.")
        index = torch.tensor(positions, dtype=torch.long)
        self._pack([[t[index] for t in views] for views in self.views])
        self.running_mean = [mean[index] for mean in self.running_mean]
        self.running_var = [var[index] for var in self.running_var]
        self.module_specs = [self.module_specs[position] for position in positions]
        self.groups = [(first, last, kernels(spec)) for first, last, spec in activation_groups(self.module_specs)]
        self.generators = [self.generators[position] for position in positions]
        self.K, self._buffers = len(positions), {}

    def _batch_buffers(self, n: int) -> dict[str, list[torch.Tensor]]:
        """This batch size's reused work tensors (fresh memory is slow to fault in)."""
        if n not in self._buffers:
            K, widths = self.K, self.widths
            self._buffers[n] = {
                "words": [torch.empty(K, *dropout_words_shape(n, units), dtype=torch.int64) for units in widths],
                **{name: [torch.empty(K, n, units) for units in widths]
                   for name in ("h", "a", "xhat", "grad_h", "grad_a")},
                "invstd": [torch.empty(K, units) for units in widths],
                "x": [torch.empty(K, n, self.d)], "y": [torch.empty(K, n)],
            }
        return self._buffers[n]

    def _per_group(self, kernel: str, n: int, units: int, tensors: Sequence[torch.Tensor], *scalars: Any) -> None:
        """``kernel(K_group, n, units, *pointers, *scalars)`` for each activation group, on its models' blocks."""
        if self.K * max(n, units) > _INT_MAX:  # the kernels index a group's [K, n] and [K, units] blocks with ints
            raise ValueError(f"{self.K} runs of {units:,} units on batches of {n:,} rows are too large for the compiled "
                             "kernels, whose indices are C ints; use fewer runs a stack (max_stack) or NSLIB_ENGINE=torch")
        for first, last, library in self.groups:
            status = getattr(library, kernel)(last - first, n, units, *(_pointer(t, first) for t in tensors), *scalars)
            if status:
                raise MemoryError(f"the compiled kernel {kernel} could not allocate its scratch memory for a layer of "
                                  f"{units:,} units")

    def train_batch(
        self, X: Sequence[torch.Tensor], y: Sequence[torch.Tensor], rows: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Forward training batch ``rows`` ``[K, n]`` of each model's ``X`` and ``y``: probabilities ``[K, n]``, losses
        ``[K]``. The output unit's gradients are kept for ``step``."""
        n, buffers = rows.shape[1], self._batch_buffers(rows.shape[1])
        x, target = buffers["x"][0], buffers["y"][0]
        for k in range(self.K):
            torch.index_select(X[k], 0, rows[k], out=x[k])
            torch.index_select(y[k], 0, rows[k], out=target[k])
        for k, generator in enumerate(self.generators):
            for units, words in zip(self.widths, buffers["words"]):
                dropout_words(n, units, generator, out=words[k])
        self._words = [words.view(torch.int16) for words in buffers["words"]]
        self._x, self._n = x, n
        a = x
        for layer, units in enumerate(self.widths):
            torch.baddbmm(self.b[layer].unsqueeze(1), a, self.W[layer], out=buffers["h"][layer])
            a = buffers["a"][layer]
            self._per_group("forward", n, units, [
                buffers["h"][layer], self.gamma[layer], self.beta[layer], self._words[layer], a,
                buffers["xhat"][layer], buffers["invstd"][layer], self.running_mean[layer], self.running_var[layer],
            ], ctypes.c_int(self._words[layer].shape[2]), ctypes.c_float(self.bn_momentum), ctypes.c_float(self.bn_eps))
        p, loss = torch.empty(self.K, n), torch.empty(self.K)
        self._per_group("head", n, self.widths[-1], [
            a, self.W[-1], self.b[-1], target, p, loss, buffers["grad_a"][-1], self.grad_W[-1], self.grad_b[-1]])
        return p, loss

    def step(self, alive: torch.Tensor) -> None:
        """Back-propagate the last ``train_batch`` (models not ``alive`` get no gradient) and take one Adam step."""
        n, buffers = self._n, self._batch_buffers(self._n)
        if not alive.all():
            for gradient in (buffers["grad_a"][-1], self.grad_W[-1], self.grad_b[-1]):
                gradient[~alive] = 0.0
        for layer in reversed(range(len(self.widths))):
            self._per_group("backward", n, self.widths[layer], [
                buffers["grad_a"][layer], buffers["xhat"][layer], buffers["invstd"][layer], self.gamma[layer],
                self.beta[layer], self._words[layer], buffers["grad_h"][layer], self.grad_gamma[layer],
                self.grad_beta[layer], self.grad_b[layer],
            ], ctypes.c_int(self._words[layer].shape[2]))
            below = self._x if layer == 0 else buffers["a"][layer - 1]
            torch.bmm(below.transpose(1, 2), buffers["grad_h"][layer], out=self.grad_W[layer])
            if layer:
                torch.bmm(buffers["grad_h"][layer], self.W[layer].transpose(1, 2), out=buffers["grad_a"][layer - 1])
        self.steps += 1
        self.groups[0][2].adam(
            ctypes.c_long(self.flat.numel()), *map(_pointer, (self.flat, self.grad, self.mean, self.square)),
            ctypes.c_float(self.lr), *map(ctypes.c_float, ADAM_BETAS), ctypes.c_float(ADAM_EPS),
            ctypes.c_int(self.steps),
        )

    def probabilities(self, X: Sequence[torch.Tensor]) -> torch.Tensor:
        """Eval-mode probabilities ``[K, n]`` for each model's rows ``X[k]`` ``[n, d]``."""
        n, a = X[0].shape[0], torch.stack(X)
        for layer, units in enumerate(self.widths):
            h = torch.baddbmm(self.b[layer].unsqueeze(1), a, self.W[layer])
            a = torch.empty_like(h)
            self._per_group("infer", n, units, [
                h, self.gamma[layer], self.beta[layer], self.running_mean[layer], self.running_var[layer], a,
            ], ctypes.c_float(self.bn_eps))
        p = torch.empty(self.K, n)
        self._per_group("probability", n, self.widths[-1], [a, self.W[-1], self.b[-1], p])
        return p
