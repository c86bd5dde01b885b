"""What reaches a terminal: escaping, colour, the progress line."""

from __future__ import annotations

import os
import re
import sys
from typing import IO

# What a terminal or an XML 1.0 file must never get raw: C0 and C1 controls (ESC resets
# or repaints a terminal, NUL ends strings), lone surrogates (unencodable), and the
# bidirectional overrides that make text display in another order than it reads.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069"
                     "\ud800-\udfff\ufffe\uffff]")


def printable(text: str) -> str:
    """*text* safe for a terminal and for XML: unsafe characters shown as ``\\x1b``, ``\\u202e``.

    Newlines and tabs stay. Applied to everything a report shows that comes from a
    notebook, a file name or a kernel.
    """
    return _UNSAFE.sub(_escape, str(text))


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def use_colour(stream: IO[str]) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set."""
    return "NO_COLOR" not in os.environ and hasattr(stream, "isatty") and stream.isatty()


class ProgressLine:
    """Progress on one terminal line: which cell each notebook (and each run) is at.

    A :data:`~repro.notebook.verify.Progress` callback, safe to call from the threads
    that run notebooks in parallel. It writes nothing unless *stream* is a terminal.
    """

    def __init__(self, stream: IO[str] | None = None) -> None:
        import threading

        self._stream = stream or sys.stderr
        self.enabled = hasattr(self._stream, "isatty") and self._stream.isatty()
        self._lock = threading.Lock()
        self._at: dict[tuple[str, int], tuple[int, int]] = {}

    def __call__(self, path, run: int, index: int, total: int) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._at[(str(path), run)] = (index, total)
            parts = []
            for (name, k), (i, n) in self._at.items():
                label = name if k == 0 and (name, 1) not in self._at else f"{name} [run {k + 1}]"
                parts.append(f"{label}: cell {i + 1} of {n}")
            width = _terminal_width(self._stream)
            line = " | ".join(parts)
            if len(line) > width - 1:
                line = line[: max(0, width - 4)] + "..."
            self._stream.write(f"\r\x1b[K{line}")
            self._stream.flush()

    def clear(self) -> None:
        if self.enabled:
            with self._lock:
                self._at.clear()
                self._stream.write("\r\x1b[K")
                self._stream.flush()


def _terminal_width(stream) -> int:
    import shutil

    return shutil.get_terminal_size((80, 24)).columns
