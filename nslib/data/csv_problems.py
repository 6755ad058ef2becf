"""Everything wrong with a CSV file, in one ``DataError``: each problem with its fix.

A user who runs ``make study`` should fix a file once, not once per problem, and
with the command they used: a fix names the ``make study`` option (``HEADER=no``)
and, for notebook users, the ``from_csv`` keyword (``header=False``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from nslib.data.catalog import DataError


def option(make: str, keyword: str) -> str:
    """A setting in both spellings: ``HEADER=no (header=False)``."""
    return f"{make} ({keyword})"


def lines_text(numbers: list[int], limit: int = 5) -> str:
    """Line numbers in words: "line 4", "lines 4, 9 and 12", "lines 4, 9, 12, 15, 20 and 3 more"."""
    shown = [f"{number:,}" for number in numbers[:limit]]
    if len(numbers) > limit:
        return f"lines {', '.join(shown)} and {len(numbers) - limit:,} more"
    if len(shown) == 1:
        return f"line {shown[0]}"
    return f"lines {', '.join(shown[:-1])} and {shown[-1]}"


@dataclass
class Problems:
    """The problems found in one file, collected so that one DataError can name them all."""

    name: str
    path: Path
    found: list[tuple[str, str]] = field(default_factory=list)  # (what is wrong, how to fix it)

    def add(self, what: str, fix: str) -> None:
        """Record one problem and its fix (both full sentences, or fragments ending without a full stop)."""
        self.found.append((what.rstrip("."), fix.rstrip(".")))

    def refuse(self, what: str, fix: str) -> NoReturn:
        """Record one problem and raise at once: what follows cannot be read without its fix."""
        self.add(what, fix)
        raise self.error()

    def raise_if_any(self) -> None:
        """Raise ``error()`` if any problem was recorded."""
        if self.found:
            raise self.error()

    def error(self) -> DataError:
        """One DataError that lists every problem recorded, each with its fix."""
        if len(self.found) == 1:
            what, fix = self.found[0]
            return DataError(f"{self.name}: {self.path}: {what}. Fix: {fix}.")
        listed = "\n".join(f"{number}. {what}. Fix: {fix}." for number, (what, fix) in enumerate(self.found, start=1))
        return DataError(f"{self.name}: {self.path} has {len(self.found)} problems:\n{listed}")
