"""The data layer: the catalog of built-in data sets, the bytes behind them, and the user's own CSV.

Imports only from ``nslib.core``.

- ``catalog``: the built-in data sets (``catalog.toml``) and the records every loader returns
- ``fetch``: a catalog data set's rows from the offline mirror, the download cache or its URL
- ``user_csv``: a user's CSV as a ``Dataset``, refused with every problem named when it cannot be read right;
  behind it, one job each:
- ``csv_dialect``: the encoding, the separator and decimal mark, and what marks a missing value
- ``csv_layout``: which lines hold rows: comments, blank lines, fields per row, rows that span lines
- ``csv_header``: whether line 1 names the columns, weighed against the rows below
- ``csv_columns``: the columns' names, the ones that are no columns (row indexes), the label's
- ``csv_values``: the feature columns as float32, or every problem with them
- ``csv_labels``: the label column as 0/1, with the mapping in words
- ``csv_problems``: every problem with a file in one ``DataError``, each with its fix
- ``datasets``: ``load``, ``split_and_scale`` and the provenance table: what the notebooks call
"""
