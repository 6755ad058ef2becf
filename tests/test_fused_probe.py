"""The fused-kernel probe measures a kernel that computes what the engine's torch calls compute."""

from __future__ import annotations

import shutil

import pytest
import script_module
import torch

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="the probe compiles its kernels with gcc")


@pytest.fixture(scope="module")
def probe():
    return script_module.load("fused_probe")


@pytest.mark.parametrize("name", ["ReLU", "HIGGS formula"])
def test_the_fused_kernel_agrees_with_torch_batch_norm_activation_and_dropout(probe, name, tmp_path):
    spec, value, derivative = probe.ACTIVATIONS[name]
    fused = probe.fused_step(probe.compiled(value, derivative, tmp_path))
    t = probe.inputs(96, seed=1)
    expected, got = probe.torch_step(spec)(t), fused(t)
    assert len(got) == 4 and all(a.shape == b.shape for a, b in zip(expected, got))
    assert probe.largest_difference(expected, got) < 1e-5


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
