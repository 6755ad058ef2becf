"""The learned rational activation (safe PAU): its values, gradients, start, size, training and plots."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch
from synthetic import synthetic_dataset
from torch import nn

from nslib.engine.models import LIGHT_WIDTHS, count_params, count_params_of, mlp
from nslib.engine.reference import trained_network
from nslib.experiments.paper_grid import with_roles
from nslib.formulas.activations import (
    activation_label,
    activation_module,
    resolve_formula,
)
from nslib.formulas.rational import (
    Rational,
    curve,
    initial_coefficients,
    learned_coefficients,
    plot_curves,
    rational,
)

# Two layers' worth of coefficients (a_0..a_5, b_1..b_4), with negative b's to exercise |b|.
COEFFICIENTS = np.array(
    [
        [0.1, 0.9, 0.3, -0.2, 0.05, 0.01, 0.4, -0.3, 0.2, -0.1],
        [-0.2, 0.5, 0.4, 0.1, -0.03, 0.002, -0.7, 0.1, 0.05, 0.02],
    ]
)


def reference_rational(coefficients: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The safe PAU written out by hand: numpy's polynomial over 1 + sum |b_k| |x|^k."""
    numerator = np.polynomial.polynomial.polyval(x, coefficients[:6])
    denominator = 1 + sum(abs(coefficients[5 + k]) * np.abs(x) ** k for k in range(1, 5))
    return numerator / denominator


def test_rational_computes_the_safe_pau_of_each_model_with_its_own_coefficients() -> None:
    x = np.random.default_rng(0).normal(scale=2.0, size=(7, 2, 5))
    out = rational(torch.tensor(x), torch.tensor(COEFFICIENTS)).numpy()
    for k in range(2):
        np.testing.assert_allclose(out[:, k], reference_rational(COEFFICIENTS[k], x[:, k]), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(curve(COEFFICIENTS[1], x[:, 1]), reference_rational(COEFFICIENTS[1], x[:, 1]), rtol=1e-12)


def test_the_hand_written_gradients_agree_with_finite_differences() -> None:
    x = torch.tensor(np.random.default_rng(1).normal(scale=1.5, size=(4, 2, 3)), requires_grad=True)
    coefficients = torch.tensor(COEFFICIENTS, requires_grad=True)
    assert torch.autograd.gradcheck(rational, (x, coefficients), eps=1e-6, atol=1e-8)


def test_a_zero_denominator_coefficient_still_gets_the_one_sided_gradient() -> None:
    # |b| has no derivative at 0; taking +1 there lets a coefficient fitted to
    # exactly 0 move. The reference is the derivative from the positive side.
    coefficients = COEFFICIENTS[0].copy()
    coefficients[6] = 0.0
    x = np.linspace(-2, 2, 32)
    module = Rational().double()
    with torch.no_grad():
        module.coefficients.copy_(torch.tensor(coefficients))
    module(torch.tensor(x).view(1, -1)).sum().backward()
    step = 1e-7
    nudged = coefficients.copy()
    nudged[6] = step
    expected = (reference_rational(nudged, x).sum() - reference_rational(coefficients, x).sum()) / step
    assert module.coefficients.grad[6].item() == pytest.approx(expected, rel=1e-5)
    assert expected < 0


def test_a_new_rational_approximates_gelu_on_minus_3_to_3() -> None:
    x = torch.linspace(-3, 3, 1200, dtype=torch.float64)
    gelu = nn.functional.gelu(x)
    fitted = torch.tensor(initial_coefficients()).view(1, -1)
    error = (rational(x.view(1, 1, -1), fitted).view(-1) - gelu).abs().max().item()
    assert error < 2e-3  # measured 1.8e-3
    module_error = (Rational()(x.float().view(3, -1)).view(-1) - gelu.float()).abs().max().item()
    assert module_error < 2e-3
    assert (initial_coefficients()[6:] >= 0).all()
    assert initial_coefficients() is not initial_coefficients()  # callers cannot change the cached fit


def test_rational_refuses_shapes_that_do_not_match_one_row_of_coefficients_per_model() -> None:
    with pytest.raises(ValueError, match=r"coefficients \[K, 10\]"):
        rational(torch.zeros(4, 3, 5), torch.zeros(2, 10))
    with pytest.raises(ValueError, match="one layer's 10"):
        curve(np.zeros(9), np.zeros(3))


def test_rational_is_a_named_activation_with_fresh_coefficients_per_layer() -> None:
    assert activation_label(" Rational ") == "Rational" and resolve_formula("rational") == ""
    first, second = activation_module("rational"), activation_module("rational")
    assert isinstance(first, Rational) and first.coefficients is not second.coefficients
    model = mlp(5, LIGHT_WIDTHS, "rational")
    layers = [m for m in model if isinstance(m, Rational)]
    assert len(layers) == 2 and layers[0].coefficients is not layers[1].coefficients
    runs = pd.DataFrame({"dataset": ["HIGGS"], "arch": ["light"], "activation": ["Rational"], "formula": [""]})
    assert with_roles(runs, {"HIGGS": "mul(cos(x), x)"})["config"].tolist() == ["Light Rational"]


@pytest.mark.parametrize(("d", "light_params"), [(28, 4_161), (57, 6_017)])
def test_a_light_rational_network_has_ten_more_parameters_per_hidden_layer(d: int, light_params: int) -> None:
    assert count_params(mlp(d, LIGHT_WIDTHS, "rational")) == light_params + 2 * 10
    assert count_params_of(d, (64, 32), "rational") == light_params + 20
    assert count_params_of(d, (64, 32), "mul(cos(x), x)") == light_params


def test_a_light_rational_network_learns_and_its_curves_move() -> None:
    data = synthetic_dataset(n=600)  # 480 training rows, batches of 64 (the last of 32)
    row, network = trained_network(data, "light", "rational", 42, epochs=10, batch_size=64)
    assert row["status"] == "ok" and row["auc"] > 0.9
    assert row["params"] == 4 * 64 + 64 + 128 + 64 * 32 + 32 + 64 + 33 + 20
    losses = [float(v) for v in row["train_loss"].split(";")]
    assert losses[-1] < losses[0]
    coefficients = learned_coefficients(network)
    assert coefficients.shape == (2, 10)
    assert np.abs(coefficients - initial_coefficients()).max() > 1e-3
    assert not network.training


def test_learned_coefficients_needs_a_rational_network() -> None:
    with pytest.raises(ValueError, match="activation='rational'"):
        learned_coefficients(mlp(4, LIGHT_WIDTHS, "relu"))


def test_plot_curves_draws_each_layer_beside_the_formulas_to_compare() -> None:
    ax = plot_curves(COEFFICIENTS, {"x cos(x)": "mul(cos(x), x)", "ReLU": lambda x: np.maximum(x, 0)})
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == [
        "rational, hidden layer 1", "rational, hidden layer 2", "x cos(x)", "ReLU",
    ]
    x = lines[0].get_xdata()
    assert x[0] == -4 and x[-1] == 4
    for layer in range(2):
        np.testing.assert_allclose(lines[layer].get_ydata(), reference_rational(COEFFICIENTS[layer], x), rtol=1e-12)
    np.testing.assert_allclose(lines[2].get_ydata(), x * np.cos(x), rtol=1e-12)
    np.testing.assert_array_equal(lines[3].get_ydata(), np.maximum(x, 0))
    plt.close(ax.figure)

