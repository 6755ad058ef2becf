"""nslib: the helper library of nsa-compendium.

The notebooks in ``notebooks/`` tell the story; the logic lives here, one module
per job: ``paths`` (where things go), ``repro`` (seeds, devices, versions),
``data`` (the three data sets), ``symbolic`` (formulas), ``activations``,
``discovery`` (genetic programming), ``models``, ``training``, ``results``,
``baselines``, ``plots`` and ``parallel``.
"""

__version__ = "0.1.0"
