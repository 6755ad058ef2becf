"""What every notebook does first: one plot style, and warnings as one readable line."""

from __future__ import annotations

import warnings

from nslib.core.plots import set_style


def _one_line(message: Warning | str, category: type[Warning], filename: str, lineno: int,
              file: object = None, line: str | None = None) -> None:
    """Show a warning as ``Note (Category): message``, without the source file and line of the code that raised it."""
    print(f"Note ({category.__name__}): {message}", flush=True)


def setup() -> None:
    """Set the compendium's plot style and show warnings as one readable line each.

    A saved notebook then reads ``Note (RowShortfallWarning): HIGGS: ...`` where
    Python would print the file and line of the library code that warned.
    """
    set_style()
    warnings.showwarning = _one_line
