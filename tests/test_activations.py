"""nslib.activations turns a configuration's activation spec into a module, a label and a formula."""

import sys
import types

import pytest
import torch
from torch import nn

from nslib.activations import activation_label, activation_module, resolve_formula
from nslib.symbolic import FormulaActivation, FormulaError


@pytest.fixture
def discovered(monkeypatch) -> list[str]:
    """Stand in for nslib.discovery: each data set 'discovered' a known formula; records the calls."""
    formulas = {
        "HIGGS": "sub(cos(x), cos(abs(cos(x))))",
        "FOREST_COVER": "mul(x, sin(x))",
        "SPAMBASE": "mul(X1, X2)",
    }
    calls: list[str] = []

    def discovered_formula(name: str) -> str:
        calls.append(name)
        return formulas[name]

    fake = types.ModuleType("nslib.discovery")
    fake.discovered_formula = discovered_formula
    monkeypatch.setitem(sys.modules, "nslib.discovery", fake)
    return calls


@pytest.mark.parametrize(
    ("spec", "kind", "label"),
    [("relu", nn.ReLU, "ReLU"), ("GELU", nn.GELU, "GELU"), (" SiLU ", nn.SiLU, "SiLU")],
)
def test_builtin_names_give_torch_activations_in_any_case(spec, kind, label):
    module = activation_module(spec)
    assert type(module) is kind
    assert activation_label(spec) == label
    assert resolve_formula(spec) is None


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


def test_a_data_set_name_stands_for_its_discovered_formula(discovered):
    module = activation_module("higgs")
    assert str(module.formula) == "sub(cos(x), cos(abs(cos(x))))"
    assert resolve_formula("HIGGS") == activation_label("Higgs") == "sub(cos(x), cos(abs(cos(x))))"
    assert discovered == ["HIGGS", "HIGGS", "HIGGS"]


def test_builtins_and_formulas_never_ask_discovery(discovered):
    activation_module("relu")
    resolve_formula("mul(x, x)")
    assert discovered == []


def test_a_discovered_formula_still_in_features_is_refused(discovered):
    with pytest.raises(FormulaError, match=r"discovered on SPAMBASE uses the feature variables X1, X2.*collapse\(\)"):
        activation_module("SPAMBASE")


def test_a_formula_in_features_must_be_collapsed_or_written_in_x():
    with pytest.raises(FormulaError, match=r"collapse\(\) the formula first .* or write it in x"):
        activation_module("mul(cos(X3), X5)")


def test_a_malformed_formula_reports_where_it_breaks():
    with pytest.raises(FormulaError, match="column 4: unbalanced parentheses"):
        activation_module("add(x, 1")


@pytest.mark.parametrize("spec", ["tanh", "", "  ", "cos", "leaky_relu"])
def test_an_unknown_name_lists_the_options(spec):
    with pytest.raises(ValueError, match=r"is not known; use one of relu, gelu, silu .*HIGGS, FOREST_COVER, SPAMBASE.*mul\(cos\(x\), x\)"):
        activation_module(spec)


def test_a_spec_must_be_a_string():
    with pytest.raises(TypeError, match="must be a string"):
        resolve_formula(nn.ReLU)
