"""Output sent in slices: a cell that prints a lot reaches the client a megabyte at a time.

ipykernel collects what a cell writes for 0.2 s and sends it as one message; a
cell printing a gigabyte in a loop makes messages of hundreds of megabytes, and
the client holds each one several times over while it decodes it, whatever it
keeps afterwards. In repro-nb's runs (:func:`repro.kernel.entry.preload`) the
kernel's stdout and stderr flush after every :data:`SLICE_BYTES` written, so no
message is larger, and the runner's per-cell output limit bounds its memory.
The text a cell writes, and so its stored outputs, are unchanged: clients join
consecutive stream messages.
"""

from __future__ import annotations

import sys

#: Characters written between two flushes, at most (one message each).
SLICE_BYTES = 1 << 20


def pace_output_streams(slice_bytes: int = SLICE_BYTES) -> list[str]:
    """Make ipykernel's stdout and stderr flush every *slice_bytes* characters; return the names paced."""
    paced = []
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name, None)
        if type(stream).__name__ != "OutStream" or "write" in vars(stream):
            continue  # not a kernel's stream, or already paced
        stream.write = _paced_write(stream, slice_bytes)
        paced.append(name)
    return paced


def _paced_write(stream, slice_bytes: int):
    write, flush = stream.write, stream.flush
    pending = 0

    def paced_write(string):
        nonlocal pending
        written = write(string)
        pending += len(string) if isinstance(string, str) else 0
        if pending >= slice_bytes:
            pending = 0
            flush()
        return written

    return paced_write
