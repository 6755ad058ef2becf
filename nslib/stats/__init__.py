"""The fair trial's statistics and the claims register, plus the paper's own numbers to set results beside.

Imports only from ``nslib.core``, ``nslib.data``, ``nslib.formulas``.

- ``comparisons``: per-seed pairing and the efficiency arithmetic
- ``significance``: the corrected resampled t-test, Holm, TOST, the margin and the verdict rule
- ``register``: claims, their families and the claims register (``claims.csv``)
- ``robustness``: each claim's verdict under every budget, metric and margin (``robustness.csv``)
- ``register_plot``: the register's forest plot
- ``curves``: learning curves: the power-law fit of accuracy against rows
- ``paper``: what the paper and its code report; nothing computed here
"""
