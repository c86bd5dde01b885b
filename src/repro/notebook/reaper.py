"""Ending the processes a run's cells left running, once its kernel is gone.

Shutting a kernel down ends its process group; a cell may have started processes
outside it (``subprocess.Popen(..., start_new_session=True)``, a double fork and
``os.setsid()``, a daemon). Each run marks its kernel's environment with a token of
its own (:data:`RUN_VARIABLE`); every process the kernel starts inherits it, however
it detaches, so once the kernel is gone those processes are found in ``/proc`` by that
token (and, for one that replaced its environment, as a descendant of the kernel seen
just before shutdown), and ended: SIGTERM, a short grace, SIGKILL. With several
kernels at once (``-j``), each run ends only the processes that carry its own token.

Linux only (``/proc``). Elsewhere only the kernel's process group is ended, as
jupyter_client does. A process that both replaced its environment and left the
kernel's tree before shutdown is not found.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

#: The environment variable that marks the kernel of one run, and all it starts.
RUN_VARIABLE = "REPRO_RUN_TOKEN"

#: Seconds between SIGTERM and SIGKILL.
GRACE = 1.0

_PROC = Path("/proc")


def new_token() -> str:
    return uuid.uuid4().hex


def supported() -> bool:
    return _PROC.joinpath("self", "environ").exists()


def descendants(pid: int) -> set[int]:
    """The PIDs below *pid* in the process tree, now (empty where there is no /proc)."""
    children: dict[int, list[int]] = {}
    for entry, _ in _processes():
        parent = _parent(entry)
        if parent is not None:
            children.setdefault(parent, []).append(entry)
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def carrying(token: str) -> set[int]:
    """The PIDs of the live processes whose environment holds ``RUN_VARIABLE=token``."""
    mark = f"{RUN_VARIABLE}={token}".encode()
    found = set()
    for pid, path in _processes():
        try:
            environ = (path / "environ").read_bytes()
        except OSError:  # another user's process, or gone
            continue
        if mark in environ.split(b"\0"):
            found.add(pid)
    return found


def end_processes(pids: set[int]) -> list[str]:
    """End those of *pids* still alive: SIGTERM, up to :data:`GRACE` seconds, then SIGKILL;
    reap those that are our children.
    Returns ``"name (pid N)"`` for each process ended."""
    pids = {pid for pid in pids if pid != os.getpid() and _alive(pid)}
    ended = [f"{_name(pid)} (pid {pid})" for pid in sorted(pids)]
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + GRACE
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        _reap(pids)
        time.sleep(0.02)
    for pid in pids:
        if _alive(pid):
            _signal(pid, signal.SIGKILL)
    _reap(pids)
    return ended


def summary(ended: list[str]) -> str:
    """One line saying what was ended."""
    noun = "process" if len(ended) == 1 else "processes"
    return f"repro: ended {len(ended)} {noun} a cell left running: {', '.join(ended)}"


def _processes():
    try:
        entries = list(_PROC.iterdir())
    except OSError:
        return
    for entry in entries:
        if entry.name.isdigit():
            yield int(entry.name), entry


def _parent(pid: int) -> int | None:
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    fields = stat[stat.rfind(")") + 2:].split()
    return int(fields[1]) if len(fields) > 1 else None


def _name(pid: int) -> str:
    try:
        return (_PROC / str(pid) / "comm").read_text().strip() or "?"
    except OSError:
        return "?"


def _alive(pid: int) -> bool:
    """Whether *pid* runs (a zombie does not)."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return False
    fields = stat[stat.rfind(")") + 2:].split()
    return bool(fields) and fields[0] not in ("Z", "X")


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except OSError:  # gone already
        pass


def _reap(pids: set[int]) -> None:
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # not ours: its parent (or init) reaps it
            pass
