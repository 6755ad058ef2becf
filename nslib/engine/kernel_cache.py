"""A folder of compiled kernels (shared libraries) that cannot hurt the process that loads them.

An entry is ``<key>.so`` and ``<key>.json``, which records the library's sha256 and what built it; the JSON is
written last, so it marks the entry complete. A library is loaded only after its bytes match the recorded
sha256: a truncated or damaged file is never handed to ``dlopen``, which maps a file without reading it and
dies of SIGBUS when it is shorter than its headers say. An entry that does not match, or that ``dlopen``
refuses, is deleted and built again, once; after that ``KernelUnavailable`` says why, and the caller trains
without compiled code. Entries are written as ccache and torch's extension cache write theirs: into a temporary
file, fsynced, renamed into place, the folder fsynced (``nslib.core.files.atomic_write``); builds hold the folder's
lock file, so whatever partial file a build finds there was left by one that was killed, and is removed.

The checksum guards against damage, not malice: whoever can write the folder can write a matching checksum.
So the folder must belong to this user and be writable by nobody else, as ssh asks of ``~/.ssh``; another is
refused, with the fix (``NSLIB_KERNEL_CACHE``). It is ``~/.cache/nslib/kernels`` unless ``NSLIB_KERNEL_CACHE``
names another (``~`` expanded), and is created private (mode 700).

Where the kernels cannot be had, the training engine falls back to torch's; ``report_fallback`` says so in
one line (an ``EngineFallbackWarning``), once per process and reason.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import shutil
import stat
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from nslib.core.files import atomic_write

CACHE_VARIABLE = "NSLIB_KERNEL_CACHE"
# A build takes about half a second; a lock held far longer belongs to a process that hangs.
LOCK_TIMEOUT_S = 600
_LEFTOVERS = (".build-*", ".*.part", "*.partial")  # a killed build's folder, atomic_write's and older code's files


class KernelUnavailable(RuntimeError):
    """Compiled kernels cannot be built or loaded here; ``reason`` says why, and what to do, in one line."""

    def __init__(self, reason: str, details: str = "") -> None:
        super().__init__(f"{reason}\n{details}" if details else reason)
        self.reason = reason


class EngineFallbackWarning(UserWarning):
    """The compiled engine cannot run here, so the torch engine trains instead."""


_reported: set[str] = set()
_reported_lock = threading.Lock()


def report_fallback(error: KernelUnavailable) -> None:
    """Say in one line, once per process and reason, that the torch engine trains because of ``error``."""
    with _reported_lock:
        if error.reason in _reported:
            return
        _reported.add(error.reason)
    warnings.warn(f"The compiled training engine cannot run here: {error.reason}. The torch engine trains instead "
                  "(its numbers agree with the compiled engine's to rounding, not to the bit; NSLIB_ENGINE=torch "
                  "chooses it without this note).", EngineFallbackWarning, stacklevel=3)


def cache_folder() -> Path:
    """Where compiled kernels are kept: ``NSLIB_KERNEL_CACHE`` (``~`` expanded), else ``~/.cache/nslib/kernels``."""
    named = os.environ.get(CACHE_VARIABLE)
    return Path(named).expanduser() if named else Path.home() / ".cache" / "nslib" / "kernels"


def _tilde(path: Path) -> str:
    """``path`` with the home folder written ``~``: what the reader types, without this machine's user name."""
    home = Path.home()
    return "~/" + path.relative_to(home).as_posix() if path.is_relative_to(home) else str(path)


def private_folder() -> Path:
    """``cache_folder()``, created if missing; ``KernelUnavailable`` unless it is this user's and only theirs to write."""
    folder = cache_folder()
    fix = f"point {CACHE_VARIABLE} at a folder that only you can write (e.g. {CACHE_VARIABLE}=~/.cache/nslib/kernels)"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        info = folder.stat()
    except OSError as error:
        raise KernelUnavailable(f"the kernel cache {_tilde(folder)} cannot be created ({error.strerror}); {fix}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise KernelUnavailable(f"the kernel cache {_tilde(folder)} is not a folder; {fix}")
    if os.name != "posix":  # no owner and mode bits to check (and no compiled engine: it needs glibc)
        return folder
    if info.st_uid != os.getuid():
        raise KernelUnavailable(f"the kernel cache {_tilde(folder)} belongs to another user, whose libraries would run "
                                f"in this process; {fix}")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise KernelUnavailable(f"the kernel cache {_tilde(folder)} can be written by other users, who could plant a "
                                f"library there; run chmod go-w {_tilde(folder)}, or {fix}")
    return folder


def _sha256(path: Path) -> str:
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def _intact(library: Path, record: Path) -> bool:
    """Whether ``library`` is complete: its bytes have the sha256 that ``record`` holds."""
    try:
        expected = json.loads(record.read_text())["sha256"]
        return isinstance(expected, str) and _sha256(library) == expected
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _remove(library: Path, record: Path) -> None:
    record.unlink(missing_ok=True)  # the record first: a library without one is never trusted
    library.unlink(missing_ok=True)


def _clean(folder: Path) -> None:
    """Remove what builds killed half way left behind; called under the lock, when no build is running."""
    for pattern in _LEFTOVERS:
        for path in folder.glob(pattern):
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    for library in folder.glob("*.so"):  # killed between its two renames, or written by older code: no record
        if not library.with_suffix(".json").exists():
            library.unlink(missing_ok=True)


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """The folder's build lock (between processes and threads), its leftovers cleaned once it is held."""
    try:
        with FileLock(folder / ".lock", timeout=LOCK_TIMEOUT_S):
            _clean(folder)
            yield
    except Timeout:
        raise KernelUnavailable(f"the kernel cache {_tilde(folder)} stayed locked by another process for "
                                f"{LOCK_TIMEOUT_S} s; remove {_tilde(folder / '.lock')} if no build is running") from None


def _store(folder: Path, library: Path, record: Path, build: Callable[[Path], str]) -> None:
    """``build(path)`` writes a library to ``path`` and says what built it; store it as ``library`` and ``record``."""
    scratch = Path(tempfile.mkdtemp(prefix=".build-", dir=folder))
    try:
        built = scratch / "kernel.so"
        builder = build(built)
        data = built.read_bytes()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    _remove(library, record)
    with atomic_write(library) as handle:
        handle.write(data)
    with atomic_write(record) as handle:
        handle.write(json.dumps({"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
                                 "built_by": builder}, indent=1).encode())


def load(key: str, build: Callable[[Path], str]) -> ctypes.CDLL:
    """The library stored under ``key``, built by ``build(path)`` (which returns what built it) when missing.

    A library is loaded only once its checksum matches; one that does not, or that fails to load, is built
    again once. ``KernelUnavailable`` when the folder is refused, the build fails or the rebuilt library does
    not load either. A cache hit runs nothing but a checksum and ``dlopen``.
    """
    folder = private_folder()
    library, record = folder / f"{key}.so", folder / f"{key}.json"
    failure = None
    for _ in range(2):
        if not _intact(library, record):
            with _locked(folder):
                if not _intact(library, record):  # another process may have built it meanwhile
                    _store(folder, library, record, build)
        try:
            return ctypes.CDLL(str(library))
        except OSError as error:
            failure = error
            with _locked(folder):
                _remove(library, record)
    raise KernelUnavailable(f"the compiled kernel could not be loaded, even rebuilt ({failure})")
