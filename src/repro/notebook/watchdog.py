"""A watchdog for a notebook run: ends it when its client stops making progress."""

from __future__ import annotations

import asyncio
import threading
import time


class Watchdog:
    """Ends a run whose client stopped making progress, from a thread of its own.

    nbclient enforces the per-cell limit inside its event loop; should that loop stop
    moving (an await that never returns), nothing would end the run. Every step the
    client takes (a cell starting or finishing, an output arriving) calls :meth:`touch`;
    when none came for *limit* seconds, the kernel process is killed (no kernel outlives
    the run) and the client's task is cancelled, so the run fails at its cell.
    """

    def __init__(self, limit: float | None, manager) -> None:
        self.limit = limit
        self.fired = False
        self._manager = manager
        self._last = time.monotonic()
        self._done = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None

    def touch(self) -> None:
        self._last = time.monotonic()

    def watch(self, loop: asyncio.AbstractEventLoop, task: asyncio.Task | None) -> None:
        """Start watching the client's *task*, running in *loop* (no limit: nothing to watch)."""
        self._loop, self._task = loop, task
        self.touch()
        if self.limit is not None and task is not None:
            threading.Thread(target=self._run, name="repro-watchdog", daemon=True).start()

    def stop(self) -> None:
        self._done.set()

    def _run(self) -> None:
        while not self._done.wait(min(1.0, self.limit)):
            if time.monotonic() - self._last > self.limit:
                self.fired = True
                kill_kernel(self._manager)
                try:
                    self._loop.call_soon_threadsafe(self._task.cancel)
                except RuntimeError:  # the loop has closed: the run is over
                    pass
                return


def kill_kernel(manager) -> None:
    """Kill the kernel process of *manager* at once, if it still runs."""
    process = getattr(getattr(manager, "provisioner", None), "process", None)
    try:
        if process is not None and process.poll() is None:
            process.kill()
    except OSError:
        pass
