"""The guard: the kernel runs no queued cell past a failure or a stop (:mod:`repro.notebook.pipeline`).

Installed in the kernel before the first cell by one silent statement
(:func:`guard_statement`), it checks each cell before its code runs (an IPython input
transformer): once a cell failed with ``stop_on_error`` (as ipykernel's own abort counts
failures, which reaches only the requests the kernel had already received), or once the
client created the run's *stop* file, the cell fails with "not run" instead; and it writes the
cell's request id to the *started* file, so that the client knows which cell a kernel that
died was running, whatever messages died with it. :class:`Guard` holds the two files.
"""

from __future__ import annotations

import os
import shutil
import tempfile

# Run in a namespace of its own and sent silently, as the preload is: no name in the
# user's namespace, no history, no execution count. A cell's failure counts where
# ipykernel's own abort counts it: a top-level run that failed, its request not silent
# and sent with stop_on_error.
_GUARD_BODY = """\
import os
shell = get_ipython()
parent = shell.kernel.get_parent
failed = []
started = os.open({started!r}, os.O_WRONLY | os.O_CREAT, 0o600)
write = os.pwrite
yield_now = os.sched_yield

def after(result):
    content = (parent("shell") or {{}}).get("content") or {{}}
    if (not result.success and result.info.raw_cell == content.get("code")
            and content.get("stop_on_error", True) and not content.get("silent", False)):
        failed.append(True)

def guard(lines):
    if failed or os.path.exists({stop!r}):
        raise RuntimeError("not run: the run stopped before this cell")
    msg_id = ((parent("shell") or {{}}).get("header") or {{}}).get("msg_id") or ""
    write(started, msg_id.encode()[:{width}].ljust({width}), 0)
    yield_now()  # the kernel's threads that send the last cell's reply and outputs get their turn
    return lines

guard.has_side_effects = True
shell.events.register("post_run_cell", after)
shell.input_transformers_cleanup.insert(0, guard)
"""
_EXEC = 'exec(compile({body!r}, "<repro guard>", "exec"), {{"get_ipython": get_ipython, "__name__": "__repro_guard__"}})'

#: Bytes of the started file: the msg_id of the request whose cell the kernel started last.
_WIDTH = 256


def guard_statement(stop: str, started: str) -> str:
    """The statement that installs the guard: no cell runs once one failed, or once the file *stop*
    exists; each cell's request id is written to the file *started* as the cell starts, so that
    the client knows which cell a kernel that died was running, whatever messages died with it."""
    return _EXEC.format(body=_GUARD_BODY.format(stop=stop, started=started, width=_WIDTH))



class Guard:
    """The guard's files, in a folder of their own, removed by :meth:`close` once the kernel is gone."""

    def __init__(self) -> None:
        self._folder = tempfile.mkdtemp(prefix="repro-guard-")
        self.stop = os.path.join(self._folder, "stop")
        self.started = os.path.join(self._folder, "started")

    def statement(self) -> str:
        return guard_statement(self.stop, self.started)

    def halt(self) -> None:
        """Have the kernel start no cell it has not started yet."""
        try:
            open(self.stop, "x").close()
        except OSError:  # made already, or the folder is gone with the run
            pass

    def last_started(self) -> str | None:
        """The msg_id of the request whose cell the kernel started last (None: none, or unknown)."""
        try:
            with open(self.started, "rb") as file:
                return file.read().decode("ascii", "replace").strip() or None
        except OSError:
            return None

    def close(self) -> None:
        shutil.rmtree(self._folder, ignore_errors=True)
