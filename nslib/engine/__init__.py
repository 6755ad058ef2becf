"""Training: run specs, the reference loop, the torch and compiled engines, the grid and the run store.

Imports only from ``nslib.core``, ``nslib.data``, ``nslib.formulas``, ``nslib.stats``.

- ``models``: the paper's Heavy and Light networks and their seeded dropout
- ``specs``: one run: its spec, split, initial network, metrics and ``runs.csv`` row
- ``reference``: the plain ``nn.Module`` loop every engine is tested against
- ``torch_stack``: the torch engine: K runs of one shape at once with ``torch.bmm``
- ``ccode``: C for an activation and its derivative, compiled by gcc into a kernel cache
- ``kernel_cache``: the compiled kernels' cache: checksummed, atomic, refused when others can write it
- ``compiled``: the compiled engine: the training step in C around ``torch.bmm``
- ``grid``: ``run_grid``: stacks of runs shared out to workers, resumable
- ``runstore``: ``runs.csv``, the append-only store of runs, and summaries over seeds
"""
