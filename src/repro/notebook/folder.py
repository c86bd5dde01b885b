"""The notebook's folder: what a run created or changed there, and scratch copies (``--isolate``).

Verify runs a notebook in its folder, so a notebook that writes files finds them on
the next run (``%%writefile`` then says ``Overwriting``, a cache is already there).
A cheap snapshot (names, sizes and modification times, never contents) before and
after the runs says which files they created or changed. Walks are bounded: at most
:data:`MAX_ENTRIES` files and folders, skipping ``.git``, ``.ipynb_checkpoints``,
``__pycache__`` and every hidden folder; symbolic links are listed, never followed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from repro.notebook.errors import InputError
from repro.notebook.results import SideEffects

#: Files and folders a walk looks at, at most; a larger folder is not tracked (or copied).
MAX_ENTRIES = 10_000
#: Bytes ``--isolate`` copies for each run, at most.
MAX_COPY_BYTES = 1 << 30

_SKIPPED = frozenset({".git", ".ipynb_checkpoints", "__pycache__"})

class TooManyEntries(Exception):
    """A walk went past its limit."""


def _walk(folder: Path, limit: int | None = None) -> Iterator[tuple[str, os.DirEntry]]:
    """``(relative path, entry)`` for every file, link and folder under *folder*, folders first.

    Raises TooManyEntries past *limit* entries (default: MAX_ENTRIES). Unreadable folders
    are passed over.
    """
    limit = MAX_ENTRIES if limit is None else limit
    count = 0
    pending = [("", folder)]
    while pending:
        prefix, directory = pending.pop()
        try:
            with os.scandir(directory) as entries:
                found = sorted(entries, key=lambda e: e.name)
        except OSError:
            continue
        for entry in found:
            count += 1
            if count > limit:
                raise TooManyEntries
            relative = prefix + entry.name
            is_dir = entry.is_dir(follow_symlinks=False)
            if is_dir and (entry.name in _SKIPPED or entry.name.startswith(".")):
                continue
            yield relative, entry
            if is_dir:
                pending.append((relative + "/", Path(entry.path)))


def snapshot(folder: Path, limit: int | None = None) -> dict[str, tuple[int, int]] | None:
    """The size and modification time of every file under *folder*; None past *limit* entries."""
    state = {}
    try:
        for relative, entry in _walk(folder, limit):
            if entry.is_dir(follow_symlinks=False):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:  # gone meanwhile
                continue
            state[relative] = (info.st_size, info.st_mtime_ns)
    except TooManyEntries:
        return None
    return state


def side_effects(before: dict | None, after: dict | None, isolated: bool = False) -> SideEffects | None:
    """What changed from *before* to *after* (snapshots); None when either was not taken."""
    if before is None or after is None:
        return None
    created = sorted(set(after) - set(before))
    changed = sorted(name for name in after if name in before and after[name] != before[name])
    return SideEffects(created=created, changed=changed, isolated=isolated)


def merge_side_effects(effects: list[SideEffects | None]) -> SideEffects | None:
    """The union of several runs' side effects; None when none was tracked."""
    tracked = [e for e in effects if e is not None]
    if not tracked:
        return None
    return SideEffects(created=sorted({n for e in tracked for n in e.created}),
                       changed=sorted({n for e in tracked for n in e.changed}),
                       isolated=all(e.isolated for e in tracked))


def check_isolatable(folder: Path) -> None:
    """Raise InputError (one line) when *folder* is too large to copy for each run."""
    total = 0
    try:
        for _, entry in _walk(folder):
            if entry.is_file(follow_symlinks=False):
                total += entry.stat(follow_symlinks=False).st_size
                if total > MAX_COPY_BYTES:
                    raise InputError(f"--isolate: {folder} holds more than {MAX_COPY_BYTES / 2**30:g} GiB to copy "
                                     "for each run; verify it without --isolate")
    except TooManyEntries:
        raise InputError(f"--isolate: {folder} holds more than {MAX_ENTRIES:,} files and folders to copy "
                         "for each run; verify it without --isolate") from None


@contextmanager
def scratch_copy(folder: Path) -> Iterator[Path]:
    """A copy of *folder* (as walked: hidden folders, ``.git`` and caches left out) in a new
    temporary folder, under the same name; the copy is removed on exit, whatever happens
    (read-only files and folders a notebook left there included)."""
    with tempfile.TemporaryDirectory(prefix="repro-isolate-", ignore_cleanup_errors=True) as scratch:
        target = Path(scratch) / (folder.resolve().name or "notebook")
        target.mkdir()
        _copy_tree(folder.resolve(), target)
        yield target


def _copy_tree(source: Path, target: Path) -> None:
    try:
        for relative, entry in _walk(source):
            destination = target / relative
            if entry.is_symlink():
                os.symlink(_link_target(source, Path(entry.path)), destination)
            elif entry.is_dir(follow_symlinks=False):
                destination.mkdir()
            elif entry.is_file(follow_symlinks=False):
                shutil.copy2(entry.path, destination)
    except TooManyEntries:
        raise InputError(f"--isolate: {source} holds more than {MAX_ENTRIES:,} files and folders") from None


def _link_target(folder: Path, link: Path) -> str:
    """Where the copy of *link* points: the same relative target when it stays inside *folder*."""
    target = os.readlink(link)
    if not os.path.isabs(target):
        resolved = (link.parent / target).resolve()
        if resolved == folder or folder in resolved.parents:
            return target
        return str(resolved)
    return target
