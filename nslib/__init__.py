"""nslib: the helper library of nsa-compendium.

The notebooks in ``notebooks/`` tell the story; the logic lives here, one module
per job: ``paths`` (where things go), ``repro`` (seeds, devices, versions),
``profiles`` (notebook parameters), ``data`` (the three data sets; with
``registry``, ``fetch`` and ``user_csv`` behind it),
``symbolic`` (formulas), ``activations``, ``discovery`` (genetic programming),
``models``, ``training``, ``results`` (runs.csv), ``parallel`` (cores, Dask),
``grids`` (the paper's grid), ``tuning`` (the fair budget), ``comparisons``
(per-seed pairing), ``verdicts`` (tests, verdicts and the claims register),
``transfer`` (notebook 04), ``efficiency`` (notebook 05), ``baselines``,
``rational``, ``kan`` and ``search`` (notebook 06), ``paper`` (the paper's
numbers), ``report`` (the README's results) and ``plots``.
"""

__version__ = "0.2.0"
