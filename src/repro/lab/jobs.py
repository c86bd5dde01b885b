"""Verify and record jobs of the server extension: each runs in a thread of its own.

A job calls the library entry point (:func:`repro.verify_notebook`,
:func:`repro.record_notebook`) with a progress callback and a cancellation token;
its state is read while it runs (``GET``) and cancelling it (``DELETE``) kills its
kernel at once (:meth:`repro.notebook.pool.KernelPool.cancelled_by`). Jobs live in
the server's memory only: the finished ones are kept up to :data:`KEEP_FINISHED`,
the oldest dropped first. When the server process exits, running jobs are cancelled
and their kernels ended first. No tornado or jupyter_server here: the handlers
(:mod:`repro.lab.handlers`) are the only door to HTTP.
"""

from __future__ import annotations

import atexit
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

#: Finished jobs kept for ``GET``; running ones are never dropped.
KEEP_FINISHED = 50

#: Jobs that may run at once; one more is refused (each runs kernels).
MAX_RUNNING = 4

#: Seconds a cancelled job is waited for, at exit, to end its kernel.
EXIT_WAIT = 10.0

ACTIONS = ("verify", "record")


class TooBusy(Exception):
    """As many jobs run as may: the message says so in one line."""


@dataclass
class Job:
    """One verify or record of one notebook, and what is known of it now."""

    action: str  # "verify" | "record"
    path: str  # as the request gave it, relative to the server's root
    runs: int = 1
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    state: str = "running"  # "running" | "done" | "failed" | "cancelled"
    progress: dict | None = None  # {"run": k, "cell": index, "cells": n}: the cell about to run
    result: Any = None
    message: str | None = None
    cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    finished: threading.Event = field(default_factory=threading.Event, repr=False)

    def to_json(self) -> dict:
        return {"id": self.id, "action": self.action, "path": self.path, "runs": self.runs, "state": self.state,
                "progress": None if self.progress is None else dict(self.progress),
                "result": self.result, "message": self.message}

    def on_progress(self, _path, run: int, cell: int, cells: int) -> None:
        """A :data:`repro.notebook.verify.Progress` callback."""
        self.progress = {"run": run, "cell": cell, "cells": cells}


class JobStore:
    """The jobs of one server, by id; safe to use from the event loop and the job threads."""

    def __init__(self, keep: int = KEEP_FINISHED, max_running: int = MAX_RUNNING) -> None:
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._keep = keep
        self._max_running = max_running
        atexit.register(self.cancel_all)

    def start(self, job: Job, work: Callable[[Job], Any]) -> Job:
        """Run ``work(job)`` in a new thread; its return value becomes the job's result.

        *work* raising :class:`repro.notebook.errors.InputError` (or anything else) fails
        the job with a one-line message. Raises :class:`TooBusy` when too many jobs run.
        """
        with self._lock:
            running = sum(j.state == "running" for j in self._jobs.values())
            if running >= self._max_running:
                raise TooBusy(f"{running} repro jobs are running already; wait for one to end or cancel one")
            self._jobs[job.id] = job
            self._drop_old()
        threading.Thread(target=self._run, args=(job, work), name=f"repro-job-{job.id[:8]}", daemon=True).start()
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def cancel(self, job: Job) -> None:
        """Stop *job* if it runs: its kernel is killed at once and it ends ``cancelled``."""
        with self._lock:
            if job.state != "running":
                return
            job.state, job.message = "cancelled", "cancelled"
        job.cancel.set()

    def cancel_all(self, wait: float = EXIT_WAIT) -> None:
        """Cancel every running job and wait up to *wait* seconds for their kernels to end."""
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            self.cancel(job)
        for job in jobs:
            job.finished.wait(wait)

    def _run(self, job: Job, work: Callable[[Job], Any]) -> None:
        try:
            result, state, message = work(job), "done", None
        except Exception as exc:  # InputError: the message repro-nb would print; anything else, one line
            from repro.notebook.errors import InputError

            text = str(exc) if isinstance(exc, InputError) else f"{type(exc).__name__}: {exc}"
            result, state, message = None, "failed", (text.splitlines() or [type(exc).__name__])[0]
        with self._lock:
            if job.state == "running":  # a cancelled job stays cancelled, without the interrupted run's result
                job.result, job.state, job.message = result, state, message
            self._drop_old()
        job.finished.set()

    def _drop_old(self) -> None:
        finished = [key for key, j in self._jobs.items() if j.state != "running"]
        for key in finished[:max(0, len(finished) - self._keep)]:
            del self._jobs[key]


def verify_job(path: Path, nb, options, runs: int) -> Callable[[Job], dict]:
    """The work of a verify job of *nb*, read from *path*: the notebook's object of
    ``repro-nb verify --format json``."""

    def work(job: Job) -> dict:
        import repro
        from repro.notebook.report import to_json_data

        result = repro.verify_notebook(nb, options, runs=runs, progress=job.on_progress, path=path,
                                       cancel=job.cancel)
        return to_json_data([result])["notebooks"][0]

    return work


def record_job(path: Path, options) -> Callable[[Job], dict]:
    """The work of a record job: ``{"written": bool, "message": str}``, as ``repro-nb record`` says it."""

    def work(job: Job) -> dict:
        import repro

        result = repro.record_notebook(path, options, progress=job.on_progress, cancel=job.cancel)
        return {"written": result.written, "message": result.message}

    return work
