"""nslib: the helper library of nsa-compendium, in seven layers.

The notebooks in ``notebooks/`` tell the story; the logic lives here, in sub-packages
that follow the layers. A module imports only from its own layer and the layers listed
before it here (import-linter checks the contract in CI):

- ``core``: what every layer uses: where files go, how they are written, argument checks, progress, parallel work, reproducibility and the figure style.
  ``paths``, ``files``, ``checks``, ``progress``, ``parallel``, ``repro``, ``plots``, ``notebook``.
- ``data``: the data layer: the catalog of built-in data sets, the bytes behind them, and the user's own CSV.
  ``catalog``, ``fetch``, ``user_csv`` (with ``csv_dialect``, ``csv_layout``, ``csv_header``,
  ``csv_columns``, ``csv_values``, ``csv_labels``, ``csv_problems``), ``datasets``.
- ``formulas``: the formula language and where formulas come from: parsing, computing, activations, genetic programming.
  ``symbolic``, ``parser``, ``activations``, ``rational``, ``discovery``.
- ``stats``: the fair trial's statistics and the claims register, plus the paper's own numbers to set results beside.
  ``comparisons``, ``significance``, ``register``, ``robustness``, ``register_plot``, ``curves``, ``paper``.
- ``engine``: training: run specs, the reference loop, the torch and compiled engines, the grid and the run store.
  ``models``, ``specs``, ``reference``, ``torch_stack``, ``ccode``, ``kernel_cache``, ``compiled``, ``grid``, ``runstore``.
- ``experiments``: the study's experiments, one or two modules per notebook: what is trained and how it is judged.
  ``profiles``, ``paper_grid``, ``tuning``, ``transfer``, ``draws``, ``shape_family``, ``efficiency``, ``efficiency_plots``, ``specialist_draws``, ``baselines``, ``kan``, ``kan_edges``, ``search``, ``beyond``.
- ``publish``: what leaves the study: the README's results, the reports, the book and the headless pipeline.
  ``markdown``, ``readme_results``, ``reproduction``, ``study_report``, ``book``, ``pipeline``, ``timings``.
"""

__version__ = "0.2.0"
