"""Undoing what repro switched on: completely, whatever a third party raises.

Every change repro makes to a library (a backend's patch or deterministic
setting, a limit on the thread pools) comes with a
:data:`~repro.kernel.backends.Restore`, undone here with the others, each one
even when an earlier one failed.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Iterable

from repro.kernel import warn
from repro.kernel.backends import Restore


def undo_all(restores: Iterable[tuple[str, Restore]]) -> None:
    """Call every ``(what, restore)``, also after one raised.

    A failing restore costs one warning naming *what* it undoes. A
    KeyboardInterrupt is raised again once every restore has run: Ctrl-C
    stops, but never half-way through putting things back.
    """
    interrupt: KeyboardInterrupt | None = None
    for what, restore in restores:
        try:
            restore()
        except KeyboardInterrupt as exc:
            interrupt = interrupt or exc
        except BaseException as exc:  # SystemExit from a plugin too: never a traceback in the cell
            warn(f"undoing {what} failed: {exc!r}")
    if interrupt is not None:
        raise interrupt


def limit_thread_pools(threads: int) -> Restore:
    """Limit the BLAS and OpenMP thread pools to *threads*; return what restores them.

    All or nothing: when a pool cannot be limited, those already limited are
    put back before the error is raised.
    """
    from threadpoolctl import ThreadpoolController

    controller = ThreadpoolController()
    original = controller.info()

    def restore() -> None:
        controller.limit(limits=original)

    try:
        controller.limit(limits=threads)
    except BaseException:
        with suppress(Exception):  # what is raised is the first failure, not a later one
            restore()
        raise
    return restore
