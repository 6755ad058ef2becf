"""The formula language and where formulas come from: parsing, computing, activations, genetic programming.

Imports only from ``nslib.core``, ``nslib.data``.

- ``symbolic``: the formula tree and its three backends (numpy, torch, sympy)
- ``parser``: gplearn's prefix text read against a whitelist into a ``Formula``
- ``activations``: activation functions by name: built-ins, the rational one, or a formula
- ``rational``: the learned rational activation (a safe Pade unit)
- ``discovery``: genetic programming (gplearn): one formula per data set, as the paper finds it
"""
