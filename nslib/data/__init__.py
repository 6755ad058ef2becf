"""The data layer: the catalog of built-in data sets, the bytes behind them, and the user's own CSV.

Imports only from ``nslib.core``.

- ``catalog``: the built-in data sets (``catalog.toml``) and the records every loader returns
- ``fetch``: a catalog data set's rows from the offline mirror, the download cache or its URL
- ``user_csv``: a user's CSV as a ``Dataset``, refused with every problem named when it cannot be read right
- ``datasets``: ``load``, ``split_and_scale`` and the provenance table: what the notebooks call
"""
