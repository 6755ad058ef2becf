"""nslib.formulas.symbolic reads gplearn's formulas and computes them exactly as gplearn does.

The reference is gplearn itself: hundreds of random programs built by
gplearn's own ``_Program`` are printed, parsed and evaluated, and compared
with gplearn's ``execute``.
"""

import math
import pickle

import numpy as np
import pytest
import sympy
import torch
from gplearn._program import _Program
from gplearn.functions import _function_map, sig1

from nslib.formulas.parser import parse
from nslib.formulas.symbolic import (
    MAX_DEPTH,
    MAX_LENGTH,
    OPERATORS,
    Call,
    Constant,
    FormulaActivation,
    FormulaError,
)

# gplearn's map leaves out sig, which its classifier uses as a transformer.
GPLEARN_FUNCTIONS = [*_function_map.values(), sig1]
N_FEATURES = 5
AWKWARD = [0.0, 1e-12, -1e-12, 0.001, -0.001, 1e6, -1e6]
x = sympy.Symbol("x", real=True)


def random_programs(count: int, seed: int, functions: list = GPLEARN_FUNCTIONS) -> list[_Program]:
    """Random gplearn programs over ``functions``, constants rounded as gplearn prints them."""
    arities: dict[int, list] = {}
    for function in functions:
        arities.setdefault(function.arity, []).append(function)
    rng = np.random.RandomState(seed)
    programs = []
    for _ in range(count):
        program = _Program(
            function_set=functions, arities=arities, init_depth=(2, 6),
            init_method="half and half", n_features=N_FEATURES, const_range=(-1, 1),
            metric=None, p_point_replace=0.05, parsimony_coefficient=0.01,
            random_state=rng, transformer=None, feature_names=None, program=None,
        )
        # str() prints constants with '%.3f'; round them so the string is the whole program.
        program.program = [round(node, 3) if isinstance(node, float) else node for node in program.program]
        programs.append(program)
    return programs


@pytest.fixture(scope="module")
def programs() -> list[_Program]:
    return random_programs(300, seed=0)


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    """Features with the awkward values (0, the protection threshold, tiny, huge) in the first rows."""
    X = np.random.RandomState(1).uniform(-3, 3, size=(40, N_FEATURES))
    for row, value in enumerate(AWKWARD):
        X[row] = value
        X[row + len(AWKWARD), row % N_FEATURES] = value
    return X


# ---------------------------------------------------------------- against gplearn


def test_random_gplearn_programs_use_every_operator(programs):
    used = set().union(*(parse(str(program)).operators for program in programs))
    assert used == set(OPERATORS) == {function.name for function in GPLEARN_FUNCTIONS}


def test_gplearn_program_strings_parse_and_print_back_unchanged(programs):
    for program in programs:
        formula = parse(str(program))
        assert str(formula) == str(program)
        assert parse(str(formula)) == formula


def test_depth_and_size_are_gplearns_depth_and_length(programs):
    for program in programs:
        formula = parse(str(program))
        assert (formula.depth, formula.size) == (program._depth(), program._length())


def test_evaluate_agrees_exactly_with_gplearn_execute(programs, data):
    for program in programs:
        formula = parse(str(program))
        expected = program.execute(data)
        got = formula.evaluate(data)
        if not formula.variables:
            # A formula of constants only works elementwise; gplearn gives one value per row.
            assert got.shape == data.shape
            got = got[:, 0]
        # The same numpy functions on the same arrays: equal to the last bit, NaN where gplearn's is.
        np.testing.assert_array_equal(got, expected, err_msg=str(program))


def test_collapsed_torch_activation_agrees_with_gplearn_on_a_repeated_column(programs, data):
    values = data.ravel()
    # gplearn has no single-variable mode: every column equal to x is the collapsed program.
    repeated = np.repeat(values[:, None], N_FEATURES, axis=1)
    for program in programs:
        expected = program.execute(repeated)
        activation = parse(str(program)).collapse().to_torch()
        got = activation(torch.tensor(values, dtype=torch.float64)).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-6, equal_nan=True, err_msg=str(program))


@pytest.mark.parametrize("name", ["div", "log", "inv", "sqrt"])
def test_protected_operators_switch_exactly_where_gplearn_does(name):
    values = np.array([0.0, 0.001, -0.001, np.nextafter(0.001, 1), -np.nextafter(0.001, 1), 1e-12, 5.0, -5.0])
    gplearn_function = _function_map[name]
    formula = parse(f"{name}(0.7, x)" if gplearn_function.arity == 2 else f"{name}(x)")
    arguments = [np.full_like(values, 0.7), values] if gplearn_function.arity == 2 else [values]
    expected = gplearn_function(*arguments)
    np.testing.assert_array_equal(formula.evaluate(values), expected)
    np.testing.assert_allclose(formula.to_torch()(torch.tensor(values)).numpy(), expected, rtol=1e-12)


# ---------------------------------------------------------------- as an activation


def one_operator_formulas() -> list[str]:
    """Each operator applied to x, and each binary one to (x, x), (x, c) and (c, x)."""
    formulas = []
    for name, op in OPERATORS.items():
        if op.arity == 1:
            formulas.append(f"{name}(x)")
        else:
            formulas += [f"{name}(x, x)", f"{name}(x, 0.300)", f"{name}(0.300, x)"]
    return formulas


@pytest.mark.parametrize("text", one_operator_formulas())
def test_activation_values_and_gradients_are_finite_at_awkward_points(text):
    inputs = torch.tensor(AWKWARD, dtype=torch.float64, requires_grad=True)
    outputs = parse(text).to_torch()(inputs)
    outputs.sum().backward()
    assert torch.isfinite(outputs).all(), outputs
    assert torch.isfinite(inputs.grad).all(), inputs.grad


def test_sqrt_has_slope_zero_at_its_kink_and_the_exact_slope_elsewhere():
    inputs = torch.tensor([0.0, 0.25, -0.25], dtype=torch.float64, requires_grad=True)
    parse("sqrt(x)").to_torch()(inputs).sum().backward()
    assert inputs.grad.tolist() == [0.0, 1.0, -1.0]


def test_protected_region_is_flat_so_its_gradient_is_zero():
    inputs = torch.tensor([0.0, 0.0005, -0.001], dtype=torch.float64, requires_grad=True)
    for text in ("div(x, x)", "log(x)", "inv(x)"):
        inputs.grad = None
        parse(text).to_torch()(inputs).sum().backward()
        assert inputs.grad.tolist() == [0.0, 0.0, 0.0], text


@pytest.mark.parametrize("shape", [(7,), (3, 4, 5), ()])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_activation_keeps_shape_and_dtype(shape, dtype):
    inputs = torch.randn(shape, dtype=dtype)
    for text in ("mul(cos(x), x)", "div(x, 0.5)", "add(0.100, sin(0.200))"):
        outputs = parse(text).to_torch()(inputs)
        assert outputs.shape == inputs.shape and outputs.dtype == dtype, text
    torch.testing.assert_close(parse("mul(cos(x), x)").to_torch()(inputs), inputs * torch.cos(inputs))


def test_activation_repr_shows_its_formula():
    assert repr(parse("mul(cos(X3), X5)").collapse().to_torch()) == "FormulaActivation(mul(cos(x), x))"


def test_activation_survives_pickling_for_parallel_workers():
    activation = pickle.loads(pickle.dumps(parse("add(sig(x), -0.412)").to_torch()))
    assert isinstance(activation, FormulaActivation)
    torch.testing.assert_close(activation(torch.zeros(2)), torch.full((2,), 0.5 - 0.412))


def test_a_formula_in_feature_variables_must_be_collapsed_before_it_becomes_an_activation():
    with pytest.raises(FormulaError, match=r"collapse\(\) the formula first .* or write it in x"):
        parse("mul(cos(X3), X5)").to_torch()


def test_activation_rejects_integer_tensors():
    with pytest.raises(TypeError, match="floating-point"):
        parse("x").to_torch()(torch.arange(3))


# ---------------------------------------------------------------- the formula object


def test_collapse_replaces_every_feature_by_x():
    original = parse("mul(X35, sub(add(X13, -0.412), sin(X51)))")
    collapsed = original.collapse()
    assert str(collapsed) == "mul(x, sub(add(x, -0.412), sin(x)))"
    assert collapsed.variables == ("x",) and original.variables == ("X13", "X35", "X51")


def test_formulas_are_equal_and_hash_alike_by_structure():
    assert parse("mul(cos(x),x)") == parse("  mul( cos(x) ,\tx ) ") == parse("(mul((cos(x)), x,))")
    assert parse("mul(cos(X3), X5)").collapse() == parse("mul(cos(x), x)")
    assert len({parse("add(x, 1)"), parse("add(x, 1.000)"), parse("add(1, x)")}) == 2
    assert parse("mul(cos(x), x)") != parse("mul(x, cos(x))")


def test_properties_describe_the_tree():
    formula = parse("sub(cos(X25), cos(abs(cos(X25))))")
    assert formula.variables == ("X25",)
    assert (formula.depth, formula.size) == (4, 7)
    assert formula.operators == ("abs", "cos", "sub")
    assert parse("0.5").depth == 0 and parse("0.5").variables == ()


@pytest.mark.parametrize(
    ("text", "printed"),
    [
        ("add(x, -0.412)", "add(x, -0.412)"),
        ("mul(x, 0.5)", "mul(x, 0.500)"),
        ("mul(x, -.5)", "mul(x, -0.500)"),
        ("mul(x, 3.)", "mul(x, 3.000)"),
        ("mul(x, 2E3)", "mul(x, 2000.000)"),
        ("mul(x, 1e-05)", "mul(x, 1e-05)"),
        ("mul(x, 0.41234)", "mul(x, 0.41234)"),
        ("add(x, -0.000)", "add(x, -0.000)"),
    ],
)
def test_constants_print_in_gplearns_style_and_round_trip_exactly(text, printed):
    formula = parse(text)
    assert str(formula) == printed
    assert parse(printed) == formula


def test_evaluate_works_elementwise_on_any_shape_for_a_formula_in_x():
    values = np.linspace(-2, 2, 24).reshape(2, 3, 4)
    np.testing.assert_array_equal(parse("mul(cos(x), x)").evaluate(values), np.cos(values) * values)


def test_evaluate_needs_a_2d_array_for_a_formula_in_features():
    with pytest.raises(FormulaError, match=r"2-D array \[n_samples, n_features\]"):
        parse("mul(X0, X1)").evaluate(np.ones(4))


def test_evaluate_names_a_missing_feature_column():
    with pytest.raises(FormulaError, match="uses X7 but the array has only 5 columns"):
        parse("add(X0, X7)").evaluate(np.ones((3, 5)))


# ---------------------------------------------------------------- sympy


def test_to_sympy_of_the_papers_formula_is_x_cos_x():
    assert parse("mul(cos(x), x)").to_sympy() == x * sympy.cos(x)
    assert parse("mul(cos(x), x)").latex() == r"x \cos{\left(x \right)}"


def test_to_sympy_keeps_protected_operators_exact_as_piecewise():
    assert parse("div(1, x)").to_sympy() == sympy.Piecewise((1 / x, sympy.Abs(x) > 0.001), (1, True))
    assert parse("sqrt(x)").to_sympy() == sympy.sqrt(sympy.Abs(x))


def agree_at(formula, points: np.ndarray) -> None:
    expression = formula.to_sympy()
    got = [float(expression.subs(x, point)) for point in points]
    np.testing.assert_allclose(got, formula.evaluate(points), rtol=1e-9, atol=1e-12, err_msg=str(formula))


def test_to_sympy_agrees_with_evaluate_on_random_programs_without_guards():
    unguarded = [function for function in GPLEARN_FUNCTIONS if function.name not in ("div", "log", "inv")]
    points = np.array([-2.5, -0.3, 0.0, 0.001, 0.7, 2.0])
    for program in random_programs(40, seed=2, functions=unguarded):
        agree_at(parse(str(program)).collapse(), points)


@pytest.mark.parametrize(
    "text", ["div(sin(x), x)", "div(x, sub(x, 0.5))", "log(mul(x, x))", "inv(sub(x, 0.5))", "add(inv(x), log(x))"]
)
def test_to_sympy_agrees_with_evaluate_across_the_protection_threshold(text):
    agree_at(parse(text), np.array([-2.0, -0.001, 0.0, 0.0005, 0.001, 0.5, 0.5005, 0.502, 3.0]))


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("", "empty formula", 1),
        ("   ", "empty formula", 4),
        ("mul(cos(x), foo(x))", "unknown operator 'foo'; known operators: add, sub, mul", 13),
        ("add(x)", "add takes 2 arguments, got 1", 1),
        ("cos(x, x)", "cos takes 1 argument, got 2", 1),
        ("cos()", "cos takes 1 argument, got 0", 1),
        ("add(x, x", "'(' was never closed", 4),
        ("add(x, x))", "unmatched ')'", 10),
        ("add(x,, x)", "invalid syntax", 7),
        ("x x", "invalid syntax", 3),
        ("cos", "needs its arguments in parentheses", 1),
        ("y", "'y' is not an operator, number or variable", 1),
        ("add(x, X1)", "mixes feature variables", 8),
        ("-x", "negation is neg(...)", 1),
        ("1e999", "too large for a float", 1),
        ("x.__class__", "found 'x.__class__'", 1),
        ("__import__('os')", "unexpected character \"'\"", 12),
        ("__import__(os)", "unknown operator '__import__'", 1),
        ("__builtins__", "is not an operator, number or variable", 1),
        ("mul(x, 'a')", "unexpected character \"'\"", 8),
        ("lambda x: x", "unexpected character ':'", 9),
        ("lambda x", "invalid syntax", 9),
        ("cos(x) : 1", "unexpected character ':'", 8),
        ("x; cos(x)", "unexpected character ';'", 2),
        ("[x]", "unexpected character '['", 1),
        ("x # comment", "unexpected character '#'", 3),
        ("- 0.5", "negative numbers are written -0.5", 1),
        ("add(x, 0x1)", "found '0x1'", 8),
        ("True", "found 'True'", 1),
    ],
)
def test_bad_formulas_raise_an_error_pointing_at_the_problem(text, message, column):
    with pytest.raises(FormulaError) as caught:
        parse(text)
    error = caught.value
    assert message in str(error)
    assert error.position == column - 1
    assert str(error).startswith(f"column {column}: ")
    text_line, caret_line = str(error).splitlines()[-2:]
    assert caret_line.index("^") == column + 1 and text_line.strip() == text.strip()


def test_formula_error_is_a_value_error():
    assert issubclass(FormulaError, ValueError)


def test_formulas_longer_than_the_limit_are_refused():
    padded = "x" + " " * MAX_LENGTH
    with pytest.raises(FormulaError, match=f"more than MAX_LENGTH={MAX_LENGTH:,}"):
        parse(padded)
    assert parse(padded[:MAX_LENGTH]) == parse("x")


def test_formulas_nested_deeper_than_the_limit_are_refused():
    def nested(depth: int) -> str:
        return "sin(" * depth + "x" + ")" * depth

    assert parse(nested(MAX_DEPTH)).depth == MAX_DEPTH
    with pytest.raises(FormulaError, match=f"MAX_DEPTH={MAX_DEPTH}") as caught:
        parse(nested(MAX_DEPTH + 1))
    assert caught.value.position == 4 * MAX_DEPTH
    assert "..." in str(caught.value)


def test_formulas_too_deep_for_pythons_parser_are_refused():
    for text in ("-" * 5000 + "1", "add(x, " + "x+" * 3000 + "x)"):
        with pytest.raises(FormulaError, match="nested too deeply"):
            parse(text)


def test_parse_wants_a_string():
    with pytest.raises(TypeError, match="as a string"):
        parse(b"mul(x, x)")


# ---------------------------------------------------------------- the cheaper form


def literal(node, x: torch.Tensor) -> torch.Tensor:
    """The tree computed operator by operator, every subterm anew, constants as full arrays."""
    if isinstance(node, Call):
        return OPERATORS[node.operator].torch(*(literal(arg, x) for arg in node.args))
    return torch.full_like(x, node.value) if isinstance(node, Constant) else x


def awkward_grid(dtype: torch.dtype) -> torch.Tensor:
    """200,000 points: a wide logarithmic grid of both signs, the protection thresholds, 0, inf and NaN."""
    magnitudes = torch.logspace(-12, 12, 100_000, dtype=torch.float64)
    special = [0.0, -0.0, 0.001, -0.001, math.inf, -math.inf, math.nan, *AWKWARD]
    thresholds = [math.nextafter(0.001, 1), -math.nextafter(0.001, 1), math.nextafter(0.001, 0)]
    return torch.cat([magnitudes, -magnitudes, torch.tensor(special + thresholds, dtype=torch.float64)]).to(dtype)


SIGN_REWRITES = [
    ("cos(abs(x))", "cos(x)"), ("cos(neg(x))", "cos(x)"), ("abs(neg(abs(x)))", "abs(x)"),
    ("sqrt(neg(x))", "sqrt(x)"), ("log(abs(x))", "log(x)"), ("neg(neg(sin(x)))", "sin(x)"),
    ("sub(cos(x), cos(abs(cos(x))))", "sub(cos(x), cos(cos(x)))"),
    ("neg(abs(x))", "neg(abs(x))"), ("sin(abs(x))", "sin(abs(x))"), ("div(1.000, abs(x))", "div(1.000, abs(x))"),
]


@pytest.mark.parametrize(("text", "expected"), SIGN_REWRITES)
def test_cheaper_drops_only_the_sign_changes_that_cannot_matter(text, expected):
    cheaper = parse(text).cheaper()
    assert str(cheaper) == expected


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_the_activation_equals_the_literal_formula_to_the_last_bit(programs, dtype):
    grid = awkward_grid(dtype)
    texts = [text for text, _ in SIGN_REWRITES] + [str(parse(str(program)).collapse()) for program in programs[:120]]
    for text in texts:
        expected = literal(parse(text).root, grid)
        got = parse(text).to_torch()(grid)
        assert got.shape == grid.shape and got.dtype == dtype
        torch.testing.assert_close(got, expected, rtol=0, atol=0, equal_nan=True, msg=text)


def test_the_activations_gradient_equals_the_literal_formulas_up_to_summation_order(programs):
    # A shared subterm's gradient is summed once instead of in each copy's
    # backward step, which changes only the rounding of those sums.
    grid = torch.linspace(-10, 10, 20_001, dtype=torch.float64)
    texts = [text for text, _ in SIGN_REWRITES] + [str(parse(str(program)).collapse()) for program in programs[:120]]
    for text in (text for text in texts if parse(text).variables):
        gradients = []
        for compute in (lambda t: literal(parse(text).root, t), parse(text).to_torch()):
            inputs = grid.clone().requires_grad_()
            compute(inputs).sum().backward()
            gradients.append(inputs.grad)
        expected, got = gradients
        scale = expected.abs().nan_to_num(0, 0, 0).clamp(min=1)
        torch.testing.assert_close(got / scale, expected / scale, rtol=0, atol=1e-12, equal_nan=True, msg=text)
