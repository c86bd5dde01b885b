"""What the runner calls in the kernel, as declared in :mod:`repro.kernel_calls`."""

from __future__ import annotations

from repro.kernel import extension
from repro.kernel.pacing import OutputPacer


def preload(shell, seed: int | None = None, trace: bool = False, max_bytes: int | None = None,
            max_output: int | None = None) -> None:
    """Load repro on *shell* before a run's first cell.

    With *seed*, per-cell seeding is on as after ``%seed``; with *trace*, per-cell
    state digests, each value read up to *max_bytes* (None: the default limit).
    The kernel's output is sent in slices, and a cell's stream output past
    *max_output* bytes (the runner's limit; None or 0: none) is not sent
    (:mod:`repro.kernel.pacing`).
    """
    shell.events.register("pre_run_cell", OutputPacer(max_output).start_cell)
    repro = extension.load(shell, seed=seed, trace=trace)
    if trace and max_bytes:
        repro.trace_state(True, max_bytes=max_bytes)
