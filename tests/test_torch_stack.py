"""The torch engine's stack: the models it keeps train on exactly as in the whole stack."""

from __future__ import annotations

import torch

from nslib.engine.specs import make_spec
from nslib.engine.torch_stack import TorchStack

FORMULA = "sub(cos(x), cos(abs(cos(x))))"
ACTIVATIONS = ("rational", "relu", "rational", FORMULA)  # rational: coefficients per model, in Adam's state too
N, D = 40, 5


def _stack() -> tuple[TorchStack, list, list]:
    specs = [make_spec("SPAMBASE", "light", activation, seed=seed) for seed, activation in enumerate(ACTIVATIONS, 1)]
    generator = torch.Generator().manual_seed(0)
    X = [torch.randn(N, D, generator=generator) for _ in specs]
    y = [(torch.rand(N, generator=generator) > 0.5).float() for _ in specs]
    return TorchStack(specs, D, torch.device("cpu")), X, y


def _models(t: torch.Tensor, positions: list[int], K: int) -> torch.Tensor:
    """Models ``positions`` of a ``[K, ...]`` or flat ``[K * padded]`` tensor, flattened."""
    return t.detach().view(K, -1)[positions].reshape(-1)


def test_the_models_a_torch_stack_keeps_train_on_exactly_as_in_the_whole_stack() -> None:
    (whole, X, y), (kept, _, _) = _stack(), _stack()
    rows = torch.arange(N).repeat(len(ACTIVATIONS), 1)
    for stack in (whole, kept):  # one step with all four, so that Adam's moments and the statistics move
        stack.train_batch(X, y, rows)
        stack.step(torch.ones(len(ACTIVATIONS), dtype=torch.bool))
    positions = [0, 2, 3]
    kept.keep(positions)
    assert kept.K == 3 and [(first, last) for first, last, _ in kept.groups] == [(0, 2), (2, 3)]
    for stack, models in ((whole, [0, 1, 2, 3]), (kept, positions)):
        for _ in range(3):
            stack.train_batch([X[k] for k in models], [y[k] for k in models], rows[: len(models)])
            stack.step(torch.ones(len(models), dtype=torch.bool))
    K = len(ACTIVATIONS)
    for before, after in zip(whole.parameters, kept.parameters):
        assert torch.equal(_models(before, positions, K), after.detach().reshape(-1))
        state, kept_state = whole.optimizer.state[before], kept.optimizer.state[after]
        assert set(state) == set(kept_state)
        for name, value in state.items():
            expected = value if name == "step" else _models(value, positions, K)
            assert torch.equal(expected, kept_state[name] if name == "step" else kept_state[name].reshape(-1)), name
    for before, after in zip(whole.running_mean + whole.running_var, kept.running_mean + kept.running_var):
        assert torch.equal(_models(before, positions, K), after.reshape(-1))
    assert torch.equal(whole.probabilities(X)[positions], kept.probabilities([X[k] for k in positions]))
