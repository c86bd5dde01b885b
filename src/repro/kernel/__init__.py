"""The kernel side: everything that runs inside the user's IPython kernel.

:mod:`~repro.kernel.extension` ties the pieces together for one shell;
:mod:`~repro.kernel.session` holds the session's seed state and its one scoped re-seed;
:mod:`~repro.kernel.recorder` re-seeds before each cell and reports after it;
:mod:`~repro.kernel.magics` holds ``%seed``, ``%%deterministic``, ``%%repeat`` and ``%repro``;
:mod:`~repro.kernel.repeat` runs ``%%repeat``;
:mod:`~repro.kernel.workers` and :mod:`~repro.kernel.tasks` seed work handed to other processes;
:mod:`~repro.kernel.importhook` seeds a library the moment it is imported;
:mod:`~repro.kernel.backends` adapts each random library.

This side is light (importing it imports no numpy, torch, nbclient or nbformat)
and never imports :mod:`repro.notebook`. It reaches the notebook side only
through the execute-reply payload of :mod:`repro.payload`, through stderr
lines that start with :data:`~repro.payload.NOTICE_PREFIX`, written by
:func:`notice` (and :func:`warn`, for repro's own failures) and nowhere else, and
through the displays of :func:`advise`, marked with :data:`~repro.payload.NOTICE_METADATA`.
What a third party's code raises inside repro is held by :func:`guard`.
"""

from __future__ import annotations

import sys
from typing import Callable

from repro.payload import NOTICE_METADATA, NOTICE_PREFIX


def notice(message: str) -> None:
    """Tell the user something about the session: one line on stderr."""
    print(f"{NOTICE_PREFIX}{message}", file=sys.stderr)


def advise(message: str) -> None:
    """Give the user advice, not an error: one line of plain text under the cell (a display,
    which a notebook shows as ordinary output, not as stderr), marked as repro's so that
    comparisons leave it out."""
    from IPython.display import display

    display({"text/plain": f"{NOTICE_PREFIX}{message}"}, raw=True,
            metadata={key: dict(value) for key, value in NOTICE_METADATA.items()})


def warn(message: str) -> None:
    """Say that something of repro's own went wrong, without failing the user's cell."""
    notice(f"warning: {message}")


class guard:
    """``with guard(report):`` the block may raise anything, SystemExit too, except
    KeyboardInterrupt (Ctrl-C means stop): the exception stops there, goes to
    *report* (if given) and stays in :attr:`error`.

    For code of a third party's (a backend, a value's own methods) that must not
    end the user's cell nor print a traceback into it.
    """

    __slots__ = ("report", "error")

    def __init__(self, report: Callable[[BaseException], object] | None = None) -> None:
        self.report = report
        self.error: BaseException | None = None

    def __enter__(self) -> guard:
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        if error is None or isinstance(error, KeyboardInterrupt):
            return False
        self.error = error
        if self.report is not None:
            self.report(error)
        return True
