"""One bounded pool for every kernel a command starts.

Notebooks run one per thread and, with ``--runs``, each notebook's runs run one
per thread too; every execution takes a slot of the pool before it starts its
kernel and gives it back once the kernel is gone. So the number of kernels
alive never exceeds the pool's size (``-j``), whatever ``--runs`` is.

Ctrl-C in the main thread kills every kernel in flight; the runs then end as
interrupted and no new kernel starts. So does a cancellation token set from another
thread (:meth:`KernelPool.cancelled_by`; the server extension's DELETE of a job).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Callable, Iterator, TypeVar

T = TypeVar("T")

# How often a thread waiting for a slot checks whether the pool is stopping.
_POLL_SECONDS = 0.05


class KernelPool:
    """At most *size* kernels alive at once."""

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._slots = threading.Semaphore(self.size)
        self._lock = threading.Lock()
        self._managers: set = set()
        self.stopping = threading.Event()

    @contextmanager
    def slot(self, manager) -> Iterator[None]:
        """Hold a slot for *manager*'s kernel; raises KeyboardInterrupt once the pool stops."""
        while not self._slots.acquire(timeout=_POLL_SECONDS):
            if self.stopping.is_set():
                raise KeyboardInterrupt
        try:
            with self._lock:
                self._managers.add(manager)
            if self.stopping.is_set():
                raise KeyboardInterrupt
            yield
        finally:
            with self._lock:
                self._managers.discard(manager)
            self._slots.release()

    def stop(self) -> None:
        """Kill the kernel of every run in flight and start no more: their runs end as interrupted."""
        self.stopping.set()
        with self._lock:
            managers = list(self._managers)
        for manager in managers:
            process = getattr(getattr(manager, "provisioner", None), "process", None)
            if process is not None and process.poll() is None:
                process.kill()

    @contextmanager
    def cancelled_by(self, cancel) -> Iterator[None]:
        """While the block runs, setting *cancel* (a :class:`threading.Event`, or anything with
        ``is_set()``) stops the pool within :data:`_POLL_SECONDS`: every kernel in flight is
        killed at once, also one that starts after the first kill, and none starts any more."""
        if cancel is None:
            yield
            return
        done = threading.Event()

        def watch() -> None:
            while True:
                if cancel.is_set():
                    self.stop()
                if done.wait(_POLL_SECONDS):
                    return

        watcher = threading.Thread(target=watch, name="repro-cancel", daemon=True)
        watcher.start()
        try:
            yield
        finally:
            done.set()
            watcher.join()

    def map(self, jobs: list[Callable[[], T]], threads: int) -> list[T]:
        """Run *jobs* on up to *threads* threads; their results, in order.

        With one thread they run here, one after another, and none starts once
        the pool is stopping (after a Ctrl-C). Ctrl-C in the main thread stops the
        pool, then waits for the jobs in flight to wind down.
        """
        if threads <= 1 or len(jobs) <= 1:
            done = []
            for job in jobs:
                if self.stopping.is_set():
                    break
                done.append(job())
            return done
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="repro-run") as executor:
            futures = [executor.submit(job) for job in jobs]
            try:
                return [future.result() for future in futures]
            except KeyboardInterrupt:
                self.stop()
                for future in futures:
                    future.cancel()
                return [future.result() for future in futures if not future.cancelled()]
