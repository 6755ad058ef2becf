"""How much memory does loading many HIGGS rows take? (issue: HIGGS beyond 100,000 rows)

Writes a HIGGS-like gzip (29 random columns, label first) of the largest size
asked for, serves it from a local HTTP server on 127.0.0.1, and loads
``rows=N`` through ``nslib.data.datasets.load("HIGGS")`` in a fresh process per size,
reporting the peak resident memory against the size of the arrays returned.
The loader never holds the decompressed text: what grows is the float32 table.

    .venv/bin/python scripts/higgs_memory.py 250000 1000000 2000000
"""

from __future__ import annotations

import gzip
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
from functools import partial
from pathlib import Path

import numpy as np

CHUNK = 100_000


def write_higgs_like(path: Path, rows: int) -> None:
    """A gzip of ``rows`` HIGGS-shaped lines, written chunk by chunk (bounded memory)."""
    rng = np.random.default_rng(0)
    with gzip.open(path, "wt", compresslevel=1) as out:
        for first in range(0, rows, CHUNK):
            n = min(CHUNK, rows - first)
            block = np.column_stack([rng.integers(0, 2, n), rng.normal(size=(n, 28))])
            np.savetxt(out, block, fmt=["%d"] + ["%.9e"] * 28, delimiter=",")


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files without logging each request."""

    def log_message(self, *args: object) -> None:
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    """The loader hangs up once it has its rows: that reset is expected, not an error."""

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


def measure_in_child(rows: int) -> dict:
    """Run in a fresh process: load ``rows`` HIGGS rows and report peak memory (MB)."""
    import resource
    import warnings

    from nslib.data.datasets import load

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = load("HIGGS", rows=rows)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    arrays = (data.X.nbytes + data.y.nbytes) / 2**20
    return {"rows": data.n_rows, "arrays_mb": arrays, "baseline_mb": before, "peak_mb": peak,
            "growth_mb": peak - before, "bytes_fetched": data.provenance.bytes_fetched}


def main(sizes: list[int]) -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(measure_in_child(int(sys.argv[2]))))
        return
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        source = folder / "HIGGS.csv.gz"
        print(f"writing a HIGGS-like gzip of {max(sizes):,} rows...", flush=True)
        write_higgs_like(source, max(sizes))
        print(f"  {source.stat().st_size / 2**20:.0f} MB compressed")
        server = QuietServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(folder)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_port}/HIGGS.csv.gz"
        print(f"{'rows':>10} {'arrays MB':>10} {'peak growth MB':>15} {'growth / arrays':>16}")
        for rows in sizes:
            env = {**os.environ, "NSLIB_HIGGS_URL": url, "NSLIB_DATA_HOME": str(folder / f"cache{rows}")}
            env.pop("NSLIB_DATA_MIRROR", None)
            out = subprocess.run([sys.executable, __file__, "--child", str(rows)], env=env,
                                 capture_output=True, text=True, check=True)
            result = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{result['rows']:>10,} {result['arrays_mb']:>10.0f} {result['growth_mb']:>15.0f} "
                  f"{result['growth_mb'] / result['arrays_mb']:>16.2f}")
        server.shutdown()


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:] if arg.isdigit()] or [250_000, 1_000_000, 2_000_000])
