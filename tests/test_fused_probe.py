"""The fused-kernel probe measures a kernel that computes what the engine's torch calls compute."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from nslib.activations import activation_module
from nslib.models import dropout_words, keep_scale
from nslib.training import make_spec

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "fused_probe.py"
pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="the probe compiles its kernels with gcc")


@pytest.fixture(scope="module")
def probe():
    spec = importlib.util.spec_from_file_location("fused_probe", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["ReLU", "HIGGS formula", "GELU", "SiLU", "FOREST_COVER formula", "SPAMBASE formula"])
def test_the_fused_kernel_agrees_with_torch_batch_norm_activation_and_dropout(probe, name, tmp_path):
    spec, value, derivative = probe.ACTIVATIONS[name]
    fused = probe.fused_step(probe.compiled(value, derivative, tmp_path))
    t = probe.inputs(96, seed=1)
    expected, got = probe.torch_step(spec)(t), fused(t)
    assert len(got) == 4 and all(a.shape == b.shape for a, b in zip(expected, got))
    # x sin(x^2)'s slope grows with x^2, and so does the effect of BatchNorm's rounding on it.
    assert probe.largest_difference(expected, got) < (1e-4 if name == "FOREST_COVER formula" else 1e-5)


def test_a_kernel_that_computes_something_else_is_caught(probe, tmp_path):
    _, value, derivative = probe.ACTIVATIONS["HIGGS formula"]
    fused = probe.fused_step(probe.compiled(value, derivative, tmp_path))
    t = probe.inputs(96, seed=1)
    assert probe.largest_difference(probe.torch_step("relu")(t), fused(t)) > 1e-2


def test_the_fused_layer_gives_autograd_the_gradients_torch_computes(probe, tmp_path):
    spec, value, derivative = probe.ACTIVATIONS["HIGGS formula"]
    library = probe.compiled(value, derivative, tmp_path)
    t = probe.inputs(64, seed=2)
    h, gamma, beta = (t[name].clone().requires_grad_() for name in ("h", "gamma", "beta"))
    running_mean, running_var = torch.zeros(64), torch.ones(64)
    probe.FusedLayer.apply(h, gamma, beta, t["mask"], running_mean, running_var, library).backward(t["grad"])
    expected = probe.torch_step(spec)(t)
    assert probe.largest_difference(expected[1:], (h.grad, gamma.grad, beta.grad)) < 1e-5
    assert torch.allclose(running_mean, 0.1 * t["h"].mean(0), rtol=1e-5, atol=1e-6)
    assert torch.allclose(running_var, 0.9 + 0.1 * t["h"].var(0), rtol=1e-5, atol=1e-6)


def _one_whole_step(probe, folder, kernels_for_formula: str):
    """One ``WholeStep`` step on a 3-model stack (two ReLU, one HIGGS formula) against autograd on the same models:
    the largest difference in losses, gradients and running statistics, relative to each one's largest value."""
    formula = probe.ACTIVATIONS["HIGGS formula"][0]
    specs = [make_spec("SPAMBASE", "light", activation, seed=seed)
             for activation, seed in (("relu", 1), ("relu", 2), (formula, 3))]
    libraries = {}
    for number, (spec_text, name) in enumerate((("relu", "ReLU"), (specs[2].module_spec, kernels_for_formula))):
        (folder / str(number)).mkdir()
        _, value, derivative = probe.ACTIVATIONS[name]
        libraries[spec_text] = probe.compiled(value, derivative, folder / str(number), probe.WHOLE_STEP_KERNELS)
    K, n, d = len(specs), 40, 5
    stack = probe.WholeStep(specs, d, libraries)
    generator = torch.Generator().manual_seed(0)
    x, y = torch.randn(K, n, d, generator=generator), (torch.rand(K, n, generator=generator) > 0.5).float()
    before = [[t.detach().clone().requires_grad_() for t in group]
              for group in (stack.W, stack.b, stack.gamma, stack.beta)]
    loss = stack.step(x, y)

    W, b, gamma, beta = before
    expected_loss, compared = [], []
    for k, spec in enumerate(specs):
        words = torch.Generator().manual_seed(spec.seed)
        masks = [keep_scale(dropout_words(n, units, words), units) for units in spec.widths]
        a = x[k]
        for layer, units in enumerate(spec.widths):
            running_mean, running_var = torch.zeros(units), torch.ones(units)
            z = F.batch_norm(a @ W[layer][k] + b[layer][k], running_mean, running_var, gamma[layer][k],
                             beta[layer][k], training=True, momentum=0.1, eps=1e-5)
            compared += [(stack.running_mean[layer][k], running_mean, running_mean.abs().max()),
                         (stack.running_var[layer][k], running_var, running_var.abs().max())]
            a = activation_module(spec.module_spec)(z) * masks[layer]
        p = torch.sigmoid(a @ W[-1][k] + b[-1][k]).squeeze(1)
        expected_loss.append(F.binary_cross_entropy(p, y[k]))
    torch.stack(expected_loss).sum().backward()
    expected = torch.stack(expected_loss).detach()
    compared.append((loss, expected, expected.abs().max()))
    gradients = [*stack.grad_W, *stack.grad_gamma, *stack.grad_beta, stack.grad_b[-1]]
    for got, t in zip(gradients, [*W, *gamma, *beta, b[-1]]):
        compared.append((got, t.grad, t.grad.abs().max()))
    # BatchNorm cancels a hidden layer's bias: its gradient is zero up to rounding in both, so compared to the weights'.
    for got, t, weights in zip(stack.grad_b[:-1], b[:-1], W[:-1]):
        compared.append((got, t.grad, weights.grad.abs().max()))
    return max(float((got.reshape(want.shape) - want).abs().max() / scale) for got, want, scale in compared)


def test_the_whole_step_computes_the_losses_and_gradients_autograd_does(probe, tmp_path):
    assert _one_whole_step(probe, tmp_path, "HIGGS formula") < 1e-5


def test_a_whole_step_with_the_wrong_activation_is_caught(probe, tmp_path):
    assert _one_whole_step(probe, tmp_path, "SiLU") > 1e-2
