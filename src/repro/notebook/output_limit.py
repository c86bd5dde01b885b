"""A per-cell limit on the output a run keeps, so that its memory does not grow with output.

nbclient appends every output message to the cell and joins the streams at the
cell's end; a cell printing a gigabyte would be held several times over. The
client counts each cell's output as it arrives (:meth:`OutputBudget.admit`); past
the limit, further output of that cell is dropped (one marker output says so), the
kernel is interrupted, and the notebook fails at that cell. (In repro-nb runs the kernel
sends little past the limit: :mod:`repro.kernel.pacing`.)
"""

from __future__ import annotations

import json


class OutputLimitExceeded(Exception):
    """A cell wrote more output than the limit; raised once the cell has finished."""

    def __init__(self, cell_index: int, written: int, limit: int) -> None:
        self.cell_index, self.written, self.limit = cell_index, written, limit
        super().__init__(f"output limit exceeded: the cell wrote more than {format_bytes(limit)}; the rest was dropped")


def format_bytes(count: int) -> str:
    """``1.0 GiB``, ``100 MiB``, ``512 bytes``: one decimal unless the number is whole."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= size:
            value = count / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{count} bytes"


def message_size(msg: dict) -> int:
    """The bytes of output an IOPub message carries (its text and data, UTF-8)."""
    content = msg.get("content") or {}
    kind = msg.get("msg_type")
    if kind == "stream":
        return _size(content.get("text", ""))
    if kind == "error":
        return sum(_size(line) for line in content.get("traceback") or ()) + _size(content.get("evalue", ""))
    data = content.get("data")
    if isinstance(data, dict):
        return sum(_size(value) for value in data.values())
    return 0


def _size(value) -> int:
    if isinstance(value, str):
        return len(value) if value.isascii() else len(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, list):
        return sum(_size(item) for item in value)
    return len(json.dumps(value, default=str))


class OutputBudget:
    """Counts each cell's output against *limit* bytes (0 or None: no limit)."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit or 0
        self.written: dict[int, int] = {}
        self._marked: set[int] = set()

    def admit(self, cell_index: int, msg: dict) -> bool:
        """Count *msg*'s output for the cell; whether it is still kept (False: drop it)."""
        if not self.limit:
            return True
        self.written[cell_index] = self.written.get(cell_index, 0) + message_size(msg)
        return self.written[cell_index] <= self.limit

    def marker(self, cell_index: int) -> dict | None:
        """The output to leave where the cell's dropped output begins; None once left."""
        if cell_index in self._marked:
            return None
        self._marked.add(cell_index)
        return {"output_type": "stream", "name": "stderr",
                "text": f"[repro: output past {format_bytes(self.limit)} dropped]\n"}

    def exceeded(self, cell_index: int) -> OutputLimitExceeded | None:
        """The error to fail the notebook with, if the cell went past the limit."""
        written = self.written.get(cell_index, 0)
        if self.limit and written > self.limit:
            return OutputLimitExceeded(cell_index, written, self.limit)
        return None
