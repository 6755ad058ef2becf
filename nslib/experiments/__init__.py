"""The study's experiments, one or two modules per notebook: what is trained and how it is judged.

Imports only from ``nslib.core``, ``nslib.data``, ``nslib.formulas``, ``nslib.stats``, ``nslib.engine``.

- ``profiles``: the notebooks' parameter profiles (full, quick)
- ``paper_grid``: the paper's grid (notebook 03) and the role each run plays in it
- ``tuning``: the tuned budget: learning rate and epochs chosen on validation data
- ``transfer``: notebook 04: transfer matrix, GP seeds and the random-formula control
- ``draws``: notebook 04: the transfer claims judged over the method's draws (GP seed x HIGGS sample)
- ``shape_family``: notebook 04: what the transfer gain is made of: cos(w x) and sin(w x) against Light ReLU
- ``efficiency``: notebook 05: Table 2, the efficiency gain's parts and claims
- ``efficiency_plots``: notebook 05's figures
- ``specialist_draws``: notebook 05: the Specialist claims judged over the method's draws on each data set
- ``baselines``: gradient boosting and logistic regression on the same splits
- ``kan``: Kolmogorov-Arnold networks at the Light budget (notebook 06)
- ``kan_edges``: looking inside a trained KAN: its strongest edges
- ``search``: an activation searched by training with it (notebook 06)
- ``beyond``: notebook 06's closing table: every model side by side
"""
