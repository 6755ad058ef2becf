"""Looking inside a trained KAN: its strongest edges' learned functions, plotted and fitted by symbols."""

from __future__ import annotations

import copy
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import sympy
import torch
from kan import KAN
from kan.utils import SYMBOLIC_LIB

from nslib.core.checks import check_int
from nslib.engine.specs import one_thread
from nslib.experiments.kan import SYMBOLIC_LIBRARY


def _probed(model: KAN, X: np.ndarray | torch.Tensor, rows: int) -> KAN:
    """A copy of ``model`` that has seen the first ``rows`` rows of ``X`` and scored its edges (``attribute``)."""
    check_int("rows", rows, low=2, example="1000")
    X = torch.as_tensor(np.asarray(X, dtype=np.float32)[:rows], device=model.act_fun[0].grid.device)
    if X.ndim != 2 or X.shape[1] != model.width_in[0]:
        raise ValueError(f"X has shape {tuple(X.shape)}; the KAN takes rows of {model.width_in[0]} features.")
    probe = copy.deepcopy(model)
    probe.save_act = True
    with torch.no_grad():
        probe(X)
    probe.attribute(plot=False)
    return probe


def _top_edges(probe: KAN, top: int) -> list[tuple[int, int, int, float]]:
    """The ``top`` edges ``(layer, in, out, score)`` with the highest pykan attribution scores, highest first."""
    check_int("top", top, example="6")
    edges = [
        (layer, i, j, float(scores[j, i].detach()))
        for layer, scores in enumerate(probe.edge_scores)
        for j in range(scores.shape[0])
        for i in range(scores.shape[1])
    ]
    return sorted(edges, key=lambda edge: -edge[3])[:top]


def edge_functions(
    model: KAN, X: np.ndarray | torch.Tensor, *, top: int = 6, points: int = 101, rows: int = 2000,
    feature_names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The learned functions of ``model``'s ``top`` most important edges, sampled for plotting.

    Importance is pykan's edge attribution score (``attribute``) on the first
    ``rows`` rows of ``X`` (standardised inputs, e.g. a split of
    ``split_and_scale``). Each edge's function is evaluated by its own pykan
    layer at ``points`` values evenly spread over the range its input took on
    those rows. One row per point: ``layer``, ``in``, ``out``, ``edge`` (a
    label such as ``"m_bb -> h3"``: inputs are named by ``feature_names``, or
    ``x1``, ``x2``, ...; hidden units ``h1``, ...), ``score``, ``x``, ``y``.
    ``model`` itself is not changed.
    """
    check_int("points", points, low=2, example="101")
    probe = _probed(model, X, rows)
    if feature_names is not None and len(feature_names) != probe.width_in[0]:
        raise ValueError(f"{len(feature_names)} feature_names for a KAN of {probe.width_in[0]} inputs; "
                         "pass the Dataset's feature_names.")
    names = list(feature_names) if feature_names is not None else [f"x{i + 1}" for i in range(probe.width_in[0])]
    frames = []
    for layer, i, j, score in _top_edges(probe, top):
        inputs = probe.acts[layer]
        low, high = inputs.min(0).values, inputs.max(0).values
        x = low + (high - low) * torch.linspace(0, 1, points, device=inputs.device)[:, None]
        with torch.no_grad():
            postacts = probe.act_fun[layer](x)[2]  # [points, out, in]: every edge of the layer
        source = names[i] if layer == 0 else f"h{i + 1}"
        target = "output" if layer == probe.depth - 1 else f"h{j + 1}"
        frames.append(pd.DataFrame({"layer": layer, "in": i, "out": j, "edge": f"{source} -> {target}",
                                    "score": score, "x": x[:, i].cpu().numpy(),
                                    "y": postacts[:, j, i].cpu().numpy()}))
    return pd.concat(frames, ignore_index=True)


def plot_edges(points: pd.DataFrame) -> plt.Figure:
    """One small panel per edge of ``edge_functions``'s table, most important first, three to a row."""
    edges = list(points.groupby("edge", sort=False))
    columns = min(3, len(edges))
    lines = -(-len(edges) // columns)
    fig, axes = plt.subplots(lines, columns, figsize=(3.2 * columns, 2.6 * lines), squeeze=False,
                             constrained_layout=True)
    for ax, (label, edge) in zip(axes.flat, edges):
        ax.plot(edge["x"], edge["y"])
        ax.set_title(f"{label} (score {edge['score'].iloc[0]:.2g})", fontsize=9)
        ax.set_xlabel("input (standardised)" if edge["layer"].iloc[0] == 0 else "hidden value")
        ax.set_ylabel("edge output")
    for ax in axes.flat[len(edges):]:
        ax.set_visible(False)
    return fig


def symbolic_edges(
    model: KAN, X: np.ndarray | torch.Tensor, *, top: int = 6, library: Sequence[str] = SYMBOLIC_LIBRARY,
    rows: int = 256,
) -> pd.DataFrame:
    """pykan's symbolic fit of ``model``'s ``top`` most important edges: one row per edge.

    Edges are ranked as in ``edge_functions``. For each, pykan's
    ``suggest_symbolic`` fits ``c * f(a * x + b) + d`` for every ``f`` in
    ``library`` (names of pykan's ``SYMBOLIC_LIB``) to the edge's values on the
    first ``rows`` rows of ``X`` and picks one, trading r² against simplicity.
    Columns: ``layer``, ``in``, ``out``, ``score``, ``function`` (the name),
    ``formula`` (the fitted expression in ``x``, built with sympy, four
    significant digits) and ``r2``. The fitting runs on a copy: ``model`` is
    not changed. pykan sweeps a 101 x 101 grid of ``a`` and ``b`` three times
    per function, so the cost grows with ``rows``: about 0.1 s per edge and
    function at 256 rows, torch on one thread.
    """
    unknown = [name for name in library if name not in SYMBOLIC_LIB]
    if not library or unknown:
        raise ValueError(f"library={list(library)!r} holds names pykan does not know ({unknown}); "
                         f"use names from kan.utils.SYMBOLIC_LIB, e.g. {list(SYMBOLIC_LIBRARY)}.")
    probe = _probed(model, X, rows)
    x = sympy.Symbol("x")
    out = []
    with one_thread():
        for layer, i, j, score in _top_edges(probe, top):
            name, _, r2, _ = probe.suggest_symbolic(layer, i, j, lib=list(library), verbose=False)
            probe.fix_symbolic(layer, i, j, name, verbose=False, log_history=False)  # sets the chosen a, b, c, d
            a, b, c, d = (sympy.Float(float(v), 4) for v in probe.symbolic_fun[layer].affine[j, i])
            formula = c * SYMBOLIC_LIB[name][1](a * x + b) + d
            out.append({"layer": layer, "in": i, "out": j, "score": score, "function": name,
                        "formula": str(formula), "r2": float(r2)})
    return pd.DataFrame(out)
