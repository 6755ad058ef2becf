"""nslib.formulas.activations turns a configuration's activation spec into a module, a label and a formula."""

import pytest
import torch
from torch import nn

from nslib.formulas.activations import (
    activation_label,
    activation_module,
    resolve_formula,
)
from nslib.formulas.symbolic import FormulaActivation, FormulaError


@pytest.mark.parametrize(
    ("spec", "kind", "label"),
    [("relu", nn.ReLU, "ReLU"), ("GELU", nn.GELU, "GELU"), (" SiLU ", nn.SiLU, "SiLU")],
)
def test_builtin_names_give_torch_activations_in_any_case(spec, kind, label):
    module = activation_module(spec)
    assert type(module) is kind
    assert activation_label(spec) == label
    assert resolve_formula(spec) == ""


def test_gelu_is_the_exact_one_not_the_tanh_approximation():
    assert activation_module("gelu").approximate == "none"


def test_builtins_give_a_fresh_module_each_time():
    assert activation_module("relu") is not activation_module("relu")


def test_a_formula_in_x_becomes_that_formula_elementwise():
    module = activation_module("mul(cos(x), x)")
    assert isinstance(module, FormulaActivation)
    values = torch.linspace(-3, 3, 13)
    torch.testing.assert_close(module(values), values * torch.cos(values))
    assert activation_label(" mul( cos(x), x) ") == resolve_formula("mul(cos(x),x)") == "mul(cos(x), x)"


def test_a_data_set_name_is_not_an_activation_so_naming_one_never_loads_data():
    with pytest.raises(ValueError, match=r"'HIGGS' is not known; .*nslib.experiments.paper_grid.formulas_for"):
        activation_module("HIGGS")


def test_a_formula_in_features_must_be_collapsed_or_written_in_x():
    with pytest.raises(FormulaError, match=r"collapse\(\) the formula first .* or write it in x"):
        activation_module("mul(cos(X3), X5)")


def test_a_malformed_formula_reports_where_it_breaks():
    with pytest.raises(FormulaError, match="column 4: '\\(' was never closed"):
        activation_module("add(x, 1")


@pytest.mark.parametrize("spec", ["tanh", "", "  ", "cos", "leaky_relu"])
def test_an_unknown_name_lists_the_options(spec):
    with pytest.raises(ValueError, match=r"is not known; use one of relu, gelu, silu, rational .*mul\(cos\(x\), x\)"):
        activation_module(spec)


def test_a_spec_must_be_a_string():
    with pytest.raises(TypeError, match="must be a string"):
        resolve_formula(nn.ReLU)
