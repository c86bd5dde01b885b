"""What the runner calls in the kernel, as declared in :mod:`repro.kernel_calls`."""

from __future__ import annotations

from repro.kernel import extension
from repro.kernel.pacing import pace_output_streams


def preload(shell, seed: int | None = None, trace: bool = False, max_bytes: int | None = None) -> None:
    """Load repro on *shell* before a run's first cell.

    With *seed*, per-cell seeding is on as after ``%seed``; with *trace*, per-cell
    state digests, each value read up to *max_bytes* (None: the default limit).
    The kernel's output is sent in slices (:mod:`repro.kernel.pacing`).
    """
    pace_output_streams()
    repro = extension.load(shell, seed=seed, trace=trace)
    if trace and max_bytes:
        repro.trace_state(True, max_bytes=max_bytes)
