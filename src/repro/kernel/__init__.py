"""The kernel side: everything that runs inside the user's IPython kernel.

:mod:`~repro.kernel.extension` ties the pieces together for one shell;
:mod:`~repro.kernel.recorder` re-seeds before each cell and reports after it;
:mod:`~repro.kernel.magics` holds ``%seed``, ``%%deterministic`` and ``%repro``;
:mod:`~repro.kernel.importhook` seeds a library the moment it is imported;
:mod:`~repro.kernel.backends` adapts each random library.

This side is light (importing it imports no numpy, torch, nbclient or nbformat)
and never imports :mod:`repro.notebook`. It reaches the notebook side only
through the execute-reply payload of :mod:`repro.payload` and through stderr
lines that start with :data:`~repro.payload.NOTICE_PREFIX`, written by
:func:`warn` and nowhere else.
"""

from __future__ import annotations

import sys

from repro.payload import NOTICE_PREFIX


def notice(message: str) -> None:
    """Tell the user something about the session: one line on stderr."""
    print(f"{NOTICE_PREFIX}{message}", file=sys.stderr)


def warn(message: str) -> None:
    """Say that something of repro's own went wrong, without failing the user's cell."""
    notice(f"warning: {message}")
