"""What reaches a terminal: escaping, colour, a difference as lines, writing stdout and stderr, the progress line."""

from __future__ import annotations

import io
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


# The same, and whatever ends or splits a line: newline, tab, and the Unicode line and
# paragraph separators (str.splitlines and some viewers break lines there).
_UNSAFE_IN_LINE = re.compile("[\t\n\u2028\u2029" + _UNSAFE.pattern[1:])


def printable_line(text: str) -> str:
    """:func:`printable`, with newlines and tabs escaped too (``\\x0a``): for a file name,
    or a message that must stay one line, so that no name can start a line of its own."""
    return _UNSAFE_IN_LINE.sub(_escape, str(text))


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


_COLOURS = {"green": "32", "red": "31", "yellow": "33", "bold": "1", "dim": "2", "cyan": "36"}


class Style:
    """Colours text with ANSI codes, or leaves it as it is when *colour* is off."""

    def __init__(self, colour: bool) -> None:
        self.colour = colour

    def __call__(self, text: str, *names: str) -> str:
        if not self.colour or not names:
            return text
        codes = ";".join(_COLOURS[n] for n in names)
        return f"\x1b[{codes}m{text}\x1b[0m"


def diff_lines(diff, style: Style) -> list[str]:
    """One output difference (a :class:`~repro.notebook.compare.OutputDiff`) as report lines."""
    key = printable(diff.key)
    if diff.kind == "image" and diff.image:
        info = diff.image
        ew, eh = info.get("expected_size", ("?", "?"))
        aw, ah = info.get("actual_size", ("?", "?"))
        if [ew, eh] != [aw, ah]:
            return [f"{key}: size {ew}x{eh} -> {aw}x{ah}"]
        return [f"{key}: {ew}x{eh}, {info.get('differing_fraction', 0) * 100:.2f}% of pixels differ"]
    if diff.kind == "image" and not diff.diff:  # not compared as pixels: say what each side is
        return [f"{key}: stored {printable(diff.expected or '-')}", f"{' ' * len(key)}  new    {printable(diff.actual or '-')}"]
    if diff.kind in ("missing", "extra", "mime") and not diff.diff:
        side = "only in the stored outputs" if diff.actual is None else "only in the new outputs"
        return [f"{key}: {side}"]
    out = [f"{key}:"]
    for line in printable(diff.diff).splitlines():
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("-"):
            out.append(style(line, "red"))
        elif line.startswith("+"):
            out.append(style(line, "green"))
        elif line.startswith("@@"):
            out.append(style(line, "cyan"))
        else:
            out.append(line)
    return out


class StdoutError(Exception):
    """stdout cannot take the report: its reader is gone (a closed pipe), or its disk is full."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error

    def settle(self, what: str) -> bool:
        """End with stdout: True if its reader is gone (a closed pipe, nothing to say), else
        False, with "*what*: the error" said on stderr. Either way stdout's descriptor then
        points at the null device (:func:`stdout_to_devnull`)."""
        stdout_to_devnull()
        if isinstance(self.error, BrokenPipeError):
            return True
        say(f"{what}: {self.error.strerror or self.error}")
        return False


def write_stdout(text: str) -> None:
    """*text* and a newline on stdout, flushed so that a failed write raises StdoutError here."""
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except OSError as exc:
        raise StdoutError(exc) from None


def flush_stdout() -> None:
    """Flush stdout (what argparse's help left buffered, say); StdoutError if it fails."""
    try:
        sys.stdout.flush()
    except OSError as exc:
        raise StdoutError(exc) from None


def say(line: str) -> None:
    """One line on stderr; nothing if stderr cannot take it either (there is nowhere else to say it)."""
    try:
        print(line, file=sys.stderr, flush=True)
    except OSError:
        pass


def stdout_to_devnull() -> None:
    """Point stdout's file descriptor at the null device after it failed, so that what is left
    in its buffer goes nowhere at exit instead of failing again ("Exception ignored ...
    BrokenPipeError"), as Python's documentation on SIGPIPE recommends."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, io.UnsupportedOperation):  # not a file: a test's capture
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


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
            self._at[(printable_line(path), run)] = (index, total)
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
