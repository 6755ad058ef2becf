"""The kernel cache: a damaged, planted or half-written entry is rebuilt, refused or removed, never loaded.

Loading a damaged library can kill the interpreter (SIGBUS), so those checks load in a child process.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nslib.engine import ccode, kernel_cache

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="the kernels are compiled with gcc")

Z = [-1.5, -0.5, 0.5, 2.0]
RELU = [0.0, 0.0, 0.5, 2.0]  # by hand
# In a fresh interpreter: ReLU's small kernel (ccode.kernel_source) from each cache folder given, applied to Z.
APPLY_RELU = f"""
import ctypes, json, os, sys
import numpy as np
from nslib.engine import ccode, kernel_cache

values = {{}}
for folder in sys.argv[1:]:
    os.environ["NSLIB_KERNEL_CACHE"] = folder
    library = ccode.compiled(ccode.kernel_source("relu"))
    z = np.array({Z}, np.float32)
    value, slope = np.empty_like(z), np.empty_like(z)
    library.apply(ctypes.c_long(z.size), *(a.ctypes.data_as(ctypes.c_void_p) for a in (z, value, slope)))
    values[folder] = value.tolist()
print(json.dumps(values))
"""


def _in_a_child(code: str, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *arguments], capture_output=True, text=True, timeout=300)


def _entry(folder: Path, monkeypatch: pytest.MonkeyPatch, spec: str = "relu") -> Path:
    """Build ``spec``'s small kernel into ``folder`` (its only entry) and return its library."""
    folder.mkdir(mode=0o700)
    monkeypatch.setenv("NSLIB_KERNEL_CACHE", str(folder))
    ccode.compiled(ccode.kernel_source(spec))
    (library,) = folder.glob("*.so")
    return library


def _copy(library: Path, folder: Path, stem: str | None = None) -> Path:
    """A copy of ``library``'s entry (its files: library and record) in ``folder``, named ``stem`` if given."""
    folder.mkdir(mode=0o700, exist_ok=True)
    stem = stem or library.stem
    for path in library.parent.glob(f"{library.stem}.*"):
        shutil.copy(path, folder / f"{stem}{path.suffix}")
    return folder / f"{stem}{library.suffix}"


def test_a_damaged_kernel_is_never_loaded_but_built_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Today's code loaded what it found: the truncated library killed Python with SIGBUS (exit -7, no message),
    the empty one raised ``OSError: file too short``, and GELU's library in ReLU's place computed GELU."""
    relu, gelu = _entry(tmp_path / "relu", monkeypatch), _entry(tmp_path / "gelu", monkeypatch, "gelu").read_bytes()
    damages = {"truncated": lambda data: data[:1000], "empty": lambda data: b"", "another kernel": lambda data: gelu}
    libraries = {}
    for name, damage in damages.items():
        library = _copy(relu, tmp_path / name)
        library.write_bytes(damage(library.read_bytes()))
        libraries[name] = library
    done = _in_a_child(APPLY_RELU, *(str(library.parent) for library in libraries.values()))
    assert done.returncode == 0, done.stderr[-2000:]
    values = json.loads(done.stdout)
    for name, library in libraries.items():
        assert values[str(library.parent)] == RELU, name
        record = json.loads(library.with_suffix(".json").read_text())
        assert record["sha256"] == hashlib.sha256(library.read_bytes()).hexdigest() and record["bytes"] > 1000


def test_a_cached_kernel_loads_without_starting_a_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Today's code ran gcc twice in every process (its version, and what ``-march=native`` means) to find a
    kernel's key, even when the kernel was cached."""
    _entry(tmp_path / "cache", monkeypatch)
    ccode._compiler_identity.cache_clear()  # as in a fresh process

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a process was started: {args}")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    library = ccode.compiled(ccode.kernel_source("relu"))
    z, value, slope = (np.array(Z, np.float32) for _ in range(3))
    library.apply(ctypes.c_long(z.size), *(a.ctypes.data_as(ctypes.c_void_p) for a in (z, value, slope)))
    assert value.tolist() == RELU


def test_a_cache_folder_others_can_write_is_refused_before_anything_in_it_is_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Today's code loaded the library planted there: GELU's kernel under ReLU's name, with a matching checksum."""
    relu, gelu = _entry(tmp_path / "relu", monkeypatch), _entry(tmp_path / "gelu", monkeypatch, "gelu")
    shared = tmp_path / "shared"
    _copy(gelu, shared, stem=relu.stem).parent.chmod(0o777)
    monkeypatch.setenv("NSLIB_KERNEL_CACHE", str(shared))
    with pytest.raises(RuntimeError, match=f"{re.escape(str(shared))} can be written by other users.*NSLIB_KERNEL_CACHE="):
        ccode.compiled(ccode.kernel_source("relu"))


def test_what_killed_builds_left_is_removed_by_the_next_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Today's code left the ``*.so.partial`` of a build killed with SIGKILL behind for ever."""
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o700)
    left = [folder / "tmpa1b2c3.so.partial",  # today's code, killed while gcc ran
            folder / ".build-x1y2" / "kernel.so",  # this code, killed while gcc ran
            folder / ".0123abcd.so.k9j8.part",  # killed while nslib.core.files.atomic_write wrote the library
            folder / "0123abcd.so"]  # killed between the library's rename and its record's
    for path in left:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"\x7fELF half")
    monkeypatch.setenv("NSLIB_KERNEL_CACHE", str(folder))
    ccode.compiled(ccode.kernel_source("relu"))
    lock, record, library = sorted(path.name for path in folder.iterdir())  # the lock's name sorts first
    assert lock == ".lock" and record.endswith(".json") and library == record.replace(".json", ".so")


def test_a_cache_folder_with_a_tilde_is_under_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Today's code made a folder literally called ``~`` in the working directory."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NSLIB_KERNEL_CACHE", "~/kernels")
    ccode.compiled(ccode.kernel_source("relu"))
    assert len(list((tmp_path / "home" / "kernels").glob("*.so"))) == 1 and not (tmp_path / "~").exists()


def test_a_gcc_that_fails_is_reported_not_trusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Today's code ignored gcc's exit code: a gcc whose ``--version`` fails gave an IndexError."""
    (tmp_path / "bin").mkdir()
    gcc = tmp_path / "bin" / "gcc"
    gcc.write_text("#!/bin/sh\necho 'gcc: fatal error: no licence' >&2\nexit 4\n")
    gcc.chmod(0o755)
    monkeypatch.setenv("PATH", str(gcc.parent))
    monkeypatch.setenv("NSLIB_KERNEL_CACHE", str(tmp_path / "cache"))
    with pytest.raises(RuntimeError, match=r"gcc --version failed \(exit 4\): gcc: fatal error: no licence"):
        ccode.compiled(ccode.kernel_source("relu"))


def test_a_library_that_does_not_load_is_built_once_more_then_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A library whose checksum matches but that ``dlopen`` refuses is deleted and built again, once."""
    monkeypatch.setenv("NSLIB_KERNEL_CACHE", str(tmp_path / "cache"))
    builds = []

    def build(path: Path) -> str:
        builds.append(path)
        path.write_bytes(b"not a shared library")
        return "a builder of text files"

    with pytest.raises(kernel_cache.KernelUnavailable, match="could not be loaded, even rebuilt"):
        kernel_cache.load("0" * 64, build)
    assert len(builds) == 2 and not list((tmp_path / "cache").glob("*.so"))


@pytest.mark.parametrize(("where", "said"), [("darwin", "this is Darwin"), ("musl", "a Linux without glibc")])
def test_a_machine_without_glibc_is_told_so_before_gcc_runs(
    where: str, said: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Today's code ran gcc there, which stopped at ``ld: cannot find -lmvec``."""
    monkeypatch.setenv("NSLIB_KERNEL_CACHE", str(tmp_path))
    if where == "darwin":
        monkeypatch.setattr(sys, "platform", "darwin")
        monkeypatch.setattr(platform, "system", lambda: "Darwin")
    else:
        monkeypatch.setattr(platform, "libc_ver", lambda: ("", ""))
    monkeypatch.setattr(subprocess, "Popen", lambda *args, **kwargs: pytest.fail("gcc was run"))
    with pytest.raises(kernel_cache.KernelUnavailable, match=f"need Linux with glibc.*{said}"):
        ccode.compiled(ccode.kernel_source("relu"))
