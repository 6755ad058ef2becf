"""Progress bars that read well live and in saved notebooks.

Interactive (a terminal, or a notebook open in Jupyter), ``progress`` is tqdm's
own bar. In a headless run (``NSLIB_PROGRESS=summary``, which ``nslib.publish.pipeline``
sets for papermill) a live bar would be saved in its first state, "0%", so
each long step prints one line when it finishes instead:
``training 45 runs: 675 epoch in 12.3 s``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from typing import Any

from tqdm.auto import tqdm


class SummaryBar:
    """Stands in for a tqdm bar: counts steps silently, prints one summary line when it closes."""

    def __init__(
        self, iterable: Iterable | None = None, *, total: float | None = None, desc: str = "",
        unit: str = "it", disable: bool = False, leave: bool = True, **_: Any,
    ) -> None:
        # A bar that would not stay on screen (leave=False) leaves no line either.
        self.iterable, self.total, self.desc, self.unit = iterable, total, desc, unit
        self.disable = disable or not leave
        self.n = 0
        self._started = time.perf_counter()
        self._closed = False

    def update(self, n: float = 1) -> None:
        """Count ``n`` more steps done."""
        self.n += n

    def __iter__(self) -> Iterator:
        for item in self.iterable:
            yield item
            self.n += 1
        self.close()

    def __enter__(self) -> SummaryBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Print ``desc: count unit in seconds`` once (nothing when disabled)."""
        if self._closed or self.disable:
            self._closed = True
            return
        self._closed = True
        label = f"{self.desc}: " if self.desc else ""
        count = int(self.n) if float(self.n).is_integer() else self.n
        unit = {"it": "steps"}.get(self.unit, self.unit if count == 1 or self.unit.endswith("s") else f"{self.unit}s")
        print(f"{label}{count} {unit.strip()} in {time.perf_counter() - self._started:.1f} s", flush=True)


def progress(*args: Any, **kwargs: Any) -> tqdm | SummaryBar:
    """A progress bar with tqdm's arguments: a live bar, or one summary line in headless runs."""
    if os.environ.get("NSLIB_PROGRESS") == "summary":
        return SummaryBar(*args, **kwargs)
    return tqdm(*args, **kwargs)
