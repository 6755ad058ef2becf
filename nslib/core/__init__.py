"""What every layer uses: where files go, how they are written, argument checks, progress, parallel work, reproducibility and the figure style.

Imports only from the standard library and third-party packages.

- ``paths``: where the compendium reads and writes (scratch, reference, data, mirror)
- ``files``: atomic writes, so that no reader sees a half-written file
- ``checks``: argument checks with one wording for one mistake
- ``progress``: progress bars that read well live and in saved notebooks
- ``parallel``: where independent work runs: here, local cores or a Dask cluster
- ``repro``: devices, package versions, data fingerprints and the global generators
- ``plots``: one figure style, figures saved by name, panels per data set
- ``notebook``: what every notebook does first
"""
