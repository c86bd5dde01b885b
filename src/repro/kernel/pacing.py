"""Output sent in slices, and no more of it than the runner keeps.

ipykernel collects what a cell writes for 0.2 s and sends it as one message; a
cell printing a gigabyte in a loop makes messages of hundreds of megabytes, and
the client holds each one several times over while it decodes it, and more in
its sockets' queues when the kernel writes faster than the client reads. In
repro-nb's runs (:func:`repro.kernel.entry.preload`) the kernel's stdout and
stderr flush after every :data:`SLICE_BYTES` written, so no message is larger,
and once a cell has written more than the runner keeps (its per-cell output
limit) the rest of that cell's stream output is not sent at all: the runner
fails the notebook at that cell in any case. Below the limit the text a cell
writes, and so its stored outputs, are unchanged: clients join consecutive
stream messages.
"""

from __future__ import annotations

import sys

#: Characters written between two flushes, at most (one message each).
SLICE_BYTES = 1 << 20


class OutputPacer:
    """Wraps the kernel's output streams at the start of each cell (:meth:`start_cell`, a
    ``pre_run_cell`` callback): IPython puts back the streams' ``write`` after every cell."""

    def __init__(self, limit: int | None, slice_bytes: int = SLICE_BYTES) -> None:
        # Past the limit one more slice is sent, so that the runner sees the limit passed.
        self.cap = limit + slice_bytes if limit else None
        self.slice_bytes = slice_bytes
        self.written = 0

    def start_cell(self, *args) -> None:
        self.written = 0
        self.pace()

    def pace(self) -> list[str]:
        """Pace ipykernel's stdout and stderr; return the names of the streams paced."""
        paced = []
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name, None)
            if type(stream).__name__ != "OutStream" or getattr(stream.write, "repro_paced", False):
                continue  # not a kernel's stream, or already paced
            # Wraps what write is there: IPython wraps it for the cell (to keep a copy in its
            # history) and puts the one before back afterwards.
            stream.write = self._paced_write(stream)
            stream.write.repro_paced = True
            paced.append(name)
        return paced

    def _paced_write(self, stream):
        write, flush = stream.write, stream.flush
        pending = 0

        def paced_write(string):
            nonlocal pending
            size = len(string) if isinstance(string, str) else 0
            if self.cap is not None and self.written + size > self.cap:
                self.written += size
                return size  # past what the runner keeps: not sent
            written = write(string)
            self.written += size
            pending += size
            if pending >= self.slice_bytes:
                pending = 0
                flush()
            return written

        return paced_write
