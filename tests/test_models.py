"""The paper's networks: their layers, their parameter counts, and their dropout masks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nslib.engine.models import (
    DROPOUT,
    SeededDropout,
    count_params,
    count_params_of,
    dropout_words,
    keep_scale,
    mlp,
    widths_of,
)


@pytest.mark.parametrize(
    ("d", "heavy_params", "light_params"),
    [(28, 26_601, 4_161), (54, 31_801, 5_825), (57, 32_401, 6_017)],
)
def test_parameter_counts_are_the_papers(d: int, heavy_params: int, light_params: int) -> None:
    assert count_params(mlp(d, (200, 100), "relu")) == heavy_params
    assert count_params(mlp(d, (64, 32), "gelu")) == light_params
    assert count_params_of(d, (200, 100)) == heavy_params
    assert count_params_of(d, (64, 32)) == light_params


def test_an_mlp_is_linear_batchnorm_activation_dropout_per_width_then_linear_sigmoid() -> None:
    model = mlp(5, (8, 4), "silu")
    kinds = [type(layer) for layer in model]
    block = [nn.Linear, nn.BatchNorm1d, nn.SiLU, nn.Dropout]
    assert kinds == block + block + [nn.Linear, nn.Sigmoid]
    assert [layer.out_features for layer in model if isinstance(layer, nn.Linear)] == [8, 4, 1]
    assert all(layer.p == DROPOUT for layer in model if isinstance(layer, nn.Dropout))


def test_a_formula_becomes_the_activation_of_every_hidden_layer() -> None:
    model = mlp(3, (4, 2), "mul(cos(x), x)")
    x = torch.linspace(-2, 2, 9)
    activations = [layer for layer in model if not isinstance(layer, (nn.Linear, nn.BatchNorm1d, nn.Dropout, nn.Sigmoid))]
    assert len(activations) == 2
    for activation in activations:
        torch.testing.assert_close(activation(x), torch.cos(x) * x)


def test_unknown_architectures_and_bad_widths_are_refused_with_the_fix() -> None:
    assert widths_of("heavy") == (200, 100) and widths_of("light") == (64, 32)
    with pytest.raises(ValueError, match="'heavy'.*'light'"):
        widths_of("medium")
    with pytest.raises(ValueError, match="positive integers"):
        mlp(3, (4, 0), "relu")
    with pytest.raises(ValueError, match="number of input features"):
        mlp(0, (4,), "relu")


def test_dropout_drops_thirty_percent_and_scales_the_kept_units() -> None:
    generator = torch.Generator().manual_seed(0)
    mask = keep_scale(dropout_words(2000, 100, generator), 100)
    assert mask.shape == (2000, 100)
    assert mask.unique().tolist() == [0.0, pytest.approx(1 / 0.7)]
    assert (mask == 0).float().mean().item() == pytest.approx(DROPOUT, abs=0.005)


def test_words_drawn_into_a_buffer_slice_are_the_words_a_lone_draw_gives() -> None:
    buffer = torch.empty(3, 16, 2, dtype=torch.int64)
    for k in range(3):
        dropout_words(16, 8, torch.Generator().manual_seed(k), out=buffer[k])
    for k in range(3):
        assert torch.equal(buffer[k], dropout_words(16, 8, torch.Generator().manual_seed(k)))
    with pytest.raises(ValueError, match="contiguous int64"):
        dropout_words(16, 8, torch.Generator(), out=buffer[:, :, 0])


def test_seeded_dropout_repeats_with_its_seed_and_passes_through_in_eval_mode() -> None:
    x = torch.ones(64, 12)
    first = SeededDropout(torch.Generator().manual_seed(7))(x)
    again = SeededDropout(torch.Generator().manual_seed(7))(x)
    assert torch.equal(first, again) and (first == 0).any()
    dropout = SeededDropout(torch.Generator())
    dropout.train(False)
    assert torch.equal(dropout(x), x)
