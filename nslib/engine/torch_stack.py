"""The torch engine: K runs of one shape trained at once with ``torch.bmm``, on any device.

``TorchStack`` is the engine on a GPU, for rational runs (their coefficients are per model)
and with ``NSLIB_ENGINE=torch``: weights become ``[K, in, out]`` tensors multiplied with
``torch.bmm``, and activations stay sample-major, ``[batch, K * units]``, so that one native
``batch_norm`` call computes every model's own batch and running statistics. Adam is
elementwise, so one Adam minimising the sum of the models' losses is K independent Adams.
Its measurements are in ``docs/engine.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from nslib.engine.models import dropout_words, dropout_words_shape, keep_scale
from nslib.engine.specs import RunSpec, activation_groups, initial_model
from nslib.formulas.activations import activation_module
from nslib.formulas.rational import N_COEFFICIENTS, Rational, rational

BN_MOMENTUM = 0.1  # nn.BatchNorm1d's defaults
BN_EPS = 1e-5


# torch's CPU kernels work in SIMD blocks of 32 float32 values (two AVX-512
# vectors) and do the remainder with scalar code, which for some functions
# (sigmoid, SiLU, column sums, BatchNorm's backward) rounds differently. Keeping
# each model's values in whole blocks makes its numbers independent of how many
# models share a tensor.
_SIMD_BLOCK = 32


def _simd_aligned(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """``fn(x)`` for an ``fn`` that keeps the last dimension of ``x`` (``[..., n]``), every row in SIMD code."""
    pad = -x.shape[-1] % _SIMD_BLOCK
    if pad == 0 and x.is_contiguous():
        return fn(x)
    return fn(F.pad(x, (0, pad)))[..., : x.shape[-1]]


class _StackedLinear(torch.autograd.Function):
    """K Linear layers at once on sample-major activations: ``[batch, K * in_block] -> [batch, K * padded]``.

    Model k owns columns ``k * in_block : k * in_block + in`` of the input (the rest of its
    block is SIMD padding, ignored) and ``k * padded : k * padded + out`` of the output, whose
    padding is zero; ``weight`` is ``[K, in, out]`` (transposed ``nn.Linear`` weights),
    ``bias`` ``[K, out]``. The products run on strided views, the layout change fused with the
    bias addition. A single output (the last layer) uses elementwise products: BLAS would take
    a matrix-vector path for a lone model and round differently from the batched one.
    """

    @staticmethod
    def forward(ctx, a: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, padded: int) -> torch.Tensor:
        batch, (K, width_in, width_out) = a.shape[0], weight.shape
        a3 = a.view(batch, K, -1)[..., :width_in]
        if width_out == 1:
            products = (a3 * weight.view(1, K, width_in)).sum(2, keepdim=True)
        else:
            products = torch.bmm(a3.transpose(0, 1), weight).transpose(0, 1)
        out = torch.empty(batch, K, padded, dtype=a.dtype, device=a.device)
        out[..., width_out:].zero_()
        torch.add(products, bias, out=out[..., :width_out])
        ctx.save_for_backward(a, weight)
        return out.view(batch, K * padded)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor, torch.Tensor, None]:
        a, weight = ctx.saved_tensors
        batch, (K, width_in, width_out) = a.shape[0], weight.shape
        a3 = a.view(batch, K, -1)[..., :width_in]
        grad3 = grad.reshape(batch, K, -1)[..., :width_out]
        grad_a = None
        if ctx.needs_input_grad[0]:
            # Written straight into the input's padded, sample-major layout: no copy.
            grad_a = torch.empty_like(a).view(batch, K, -1)
            grad_a[..., width_in:].zero_()
        if width_out == 1:
            grad_weight = _simd_aligned(lambda t: t.sum(0), a3 * grad3).unsqueeze(-1)
            if grad_a is not None:
                torch.mul(grad3, weight.view(1, K, width_in), out=grad_a[..., :width_in])
        else:
            grad_weight = torch.bmm(a3.permute(1, 2, 0), grad3.transpose(0, 1))
            if grad_a is not None:
                torch.bmm(grad3.transpose(0, 1), weight.transpose(1, 2), out=grad_a[..., :width_in].transpose(0, 1))
        grad_bias = _simd_aligned(lambda t: t.sum(0), grad3)
        return None if grad_a is None else grad_a.view(batch, -1), grad_weight, grad_bias, None


class TorchStack:
    """K runs of one shape trained together, in the layout of ``_StackedLinear``.

    BatchNorm's weights and running statistics are flat ``[K * padded]``, the padding's entries
    inert. Rational runs' coefficients are ``[K, 10]`` per hidden layer, from each run's ``Rational``.
    """

    def __init__(self, specs: Sequence[RunSpec], d: int, device: torch.device) -> None:
        self.specs = specs
        self.K, self.device, self.widths = len(self.specs), device, self.specs[0].widths
        self.padded = [math.ceil(units / _SIMD_BLOCK) * _SIMD_BLOCK for units in self.widths]
        models = [initial_model(spec, d) for spec in self.specs]
        rationals = [[m for m in model if isinstance(m, Rational)] for model in models]
        linears = [[m for m in model if isinstance(m, nn.Linear)] for model in models]
        norms = [[m for m in model if isinstance(m, nn.BatchNorm1d)] for model in models]

        def stacked(tensors: Iterable[torch.Tensor]) -> torch.Tensor:
            return torch.stack([t.detach() for t in tensors]).to(device).contiguous()

        def flat(layer: int, name: str, fill: float) -> torch.Tensor:
            pad = self.padded[layer] - self.widths[layer]
            return torch.cat([F.pad(getattr(bn[layer], name).detach(), (0, pad), value=fill) for bn in norms]).to(device)

        layers, hidden = range(len(linears[0])), range(len(norms[0]))
        self.W = [stacked(lin[layer].weight.T for lin in linears).requires_grad_() for layer in layers]
        self.b = [stacked(lin[layer].bias for lin in linears).requires_grad_() for layer in layers]
        self.gamma = [flat(layer, "weight", 1.0).requires_grad_() for layer in hidden]
        self.beta = [flat(layer, "bias", 0.0).requires_grad_() for layer in hidden]
        self.running_mean = [flat(layer, "running_mean", 0.0) for layer in hidden]
        self.running_var = [flat(layer, "running_var", 1.0) for layer in hidden]
        # Each model's rational coefficients (zero, unused, for a model without), where some run is rational.
        self.coefficients = [
            stacked(r[layer].coefficients if r else torch.zeros(N_COEFFICIENTS) for r in rationals).requires_grad_()
            for layer in hidden
        ] if any(rationals) else []
        self.parameters = [*self.W, *self.b, *self.gamma, *self.beta, *self.coefficients]
        # Not fused=True: faster, but its kernel rounds some tensors' tails differently.
        self.optimizer = torch.optim.Adam(self.parameters, lr=self.specs[0].lr)
        # Contiguous slices (first, last) sharing an activation (``_stacks`` puts such runs next to each other), with
        # its module; a Rational module only marks its slice, which computes with its models' coefficients.
        self.groups = self._activation_groups()
        self.generators = [torch.Generator(device=device).manual_seed(spec.seed) for spec in self.specs]
        self._new_buffers()

    def _activation_groups(self) -> list[tuple[int, int, nn.Module]]:
        """(first, last, module) per run of models sharing an activation; a Rational module only marks its slice."""
        return [(first, last, activation_module(spec).to(self.device))
                for first, last, spec in activation_groups([spec.module_spec for spec in self.specs])]

    def _new_buffers(self) -> None:
        self._buffers: dict[int, list[tuple[torch.Tensor, torch.Tensor]]] = {}
        batch_size, d = self.specs[0].batch_size, self.W[0].shape[1]
        self._inputs = torch.empty(batch_size, self.K, d, device=self.device)  # reused, as the masks are
        self._targets = torch.empty(self.K, batch_size, device=self.device)

    def keep(self, positions: Sequence[int]) -> None:
        """Keep only the models at ``positions``, in order: stopped runs leave, the kept ones (parameters, Adam state,
        statistics, generator) train on unchanged."""
        if not positions:
            raise ValueError("a stack keeps at least one model; end the stack instead of keeping none.")
        index = torch.tensor(positions, dtype=torch.long, device=self.device)

        def kept(t: torch.Tensor) -> torch.Tensor:  # a [K, ...] tensor's rows, or a flat [K * padded] one's blocks
            rows = t.detach().view(self.K, -1)[index]
            return rows.view(-1) if t.dim() == 1 else rows.view(len(positions), *t.shape[1:])

        old_state = self.optimizer.state
        new = [kept(p).requires_grad_() for p in self.parameters]
        L, H = len(self.W), len(self.gamma)
        self.W, self.b = new[:L], new[L : 2 * L]
        self.gamma, self.beta = new[2 * L : 2 * L + H], new[2 * L + H : 2 * L + 2 * H]
        self.coefficients = new[2 * L + 2 * H :]
        self.running_mean = [kept(mean) for mean in self.running_mean]
        self.running_var = [kept(var) for var in self.running_var]
        self.optimizer = torch.optim.Adam(new, lr=self.specs[0].lr)
        for old, parameter in zip(self.parameters, new):
            self.optimizer.state[parameter] = {name: value.clone() if name == "step" else kept(value)
                                               for name, value in old_state[old].items()}
        self.parameters = new
        self.specs = [self.specs[position] for position in positions]
        self.generators = [self.generators[position] for position in positions]
        self.K = len(positions)
        self.groups = self._activation_groups()
        self._new_buffers()

    def _activate(self, h: torch.Tensor, layer: int) -> torch.Tensor:
        units = h.shape[1] // self.K

        def apply(first: int, last: int, act: nn.Module, block: torch.Tensor) -> torch.Tensor:
            if isinstance(act, Rational):  # each model's own coefficients, not the module's
                out = rational(block.view(block.shape[0], last - first, units), self.coefficients[layer][first:last])
                return out.view(block.shape)
            return act(block)

        if len(self.groups) == 1:
            return apply(*self.groups[0], h)
        # split, not slicing: its backward is one concatenation, not a zero-filled
        # full-size gradient per group. Blocks are made contiguous because some
        # kernels (GELU's) round differently on strided input.
        blocks = h.split([(last - first) * units for first, last, _ in self.groups], dim=1)
        return torch.cat([apply(*group, block.contiguous()) for group, block in zip(self.groups, blocks)], dim=1)

    def forward(self, x: torch.Tensor, masks: Sequence[torch.Tensor] | None) -> torch.Tensor:
        """Probabilities ``[K, batch]`` for inputs ``[batch, K * d]``; training mode when ``masks`` are given."""
        a = x
        for layer, padded in enumerate(self.padded):
            h = _StackedLinear.apply(a, self.W[layer], self.b[layer], padded)
            h = F.batch_norm(
                h, self.running_mean[layer], self.running_var[layer], self.gamma[layer], self.beta[layer],
                training=masks is not None, momentum=BN_MOMENTUM, eps=BN_EPS,
            )
            h = self._activate(h, layer)
            a = h * masks[layer] if masks is not None else h
        return _simd_aligned(torch.sigmoid, _StackedLinear.apply(a, self.W[-1], self.b[-1], 1).T)

    def train_batch(
        self, X: Sequence[torch.Tensor], y: Sequence[torch.Tensor], rows: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Forward training batch ``rows`` ``[K, n]`` of each model's ``X`` and ``y``: probabilities ``[K, n]`` and
        losses ``[K]``. Each model's rows are gathered from its seed's split straight into its slice of the input."""
        size = rows.shape[1]
        x, target = self._inputs[:size], self._targets[:, :size]
        for k in range(self.K):
            torch.index_select(X[k], 0, rows[k], out=x[:, k])
            torch.index_select(y[k], 0, rows[k], out=target[k])
        p = self.forward(x.view(size, -1), self.masks(size))
        # A NaN probability makes binary_cross_entropy raise; that model fails anyway.
        self._loss = F.binary_cross_entropy(p.nan_to_num(0.5), target, reduction="none").mean(1)
        return p, self._loss

    def step(self, alive: torch.Tensor) -> None:
        """Back-propagate the last ``train_batch`` (models not ``alive`` get no gradient) and take one Adam step."""
        self.optimizer.zero_grad()
        torch.where(alive, self._loss, 0.0).sum().backward()
        self.optimizer.step()

    def probabilities(self, X: Sequence[torch.Tensor]) -> torch.Tensor:
        """Eval-mode probabilities ``[K, n]`` for each model's rows ``X[k]`` ``[n, d]``."""
        with torch.no_grad():
            return self.forward(torch.stack(X, dim=1).view(X[0].shape[0], -1), None)  # [n, K, d] -> [n, K * d]

    def masks(self, batch: int) -> list[torch.Tensor]:
        """Each model's dropout multipliers for one batch, ``[batch, K * padded]`` per layer.

        Model k draws its words from its own generator, layer after layer, as ``SeededDropout`` does.
        The buffers are reused (fresh memory is slow to fault in): the graph that saved them is gone.
        """
        if batch not in self._buffers:
            self._buffers[batch] = [
                (
                    torch.empty((self.K, *dropout_words_shape(batch, units)), dtype=torch.int64, device=self.device),
                    torch.zeros(batch, self.K, padded, device=self.device),
                )
                for units, padded in zip(self.widths, self.padded)
            ]
        buffers = self._buffers[batch]
        for k, generator in enumerate(self.generators):
            for units, (words, _) in zip(self.widths, buffers):
                dropout_words(batch, units, generator, out=words[k])
        for units, (words, mask) in zip(self.widths, buffers):
            keep_scale(words, units, out=mask[:, :, :units].transpose(0, 1))
        return [mask.view(batch, -1) for _, mask in buffers]
