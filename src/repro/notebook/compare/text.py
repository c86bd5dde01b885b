"""Text as compared: normalisation, numbers within tolerance, compact unified diffs."""

from __future__ import annotations

import re

from repro.notebook.compare.ipython import normalize_known_forms
from repro.notebook.compare.model import CompareOptions, OutputDiff
from repro.notebook.compare.progress import may_hold_progress, normalize_progress_lines

DIFF_MAX_LINES = 60  # lines of unified diff kept (headers included)
DIFF_WINDOW_LINES = 400  # lines of each side's differing region handed to difflib
DIFF_LINE_CHARS = 400  # a diff line longer than this is clipped


# --------------------------------------------------------------------------- normalisation

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ESC \), the 8-bit CSI, and other two-byte escapes.
_ANSI_RE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
    r"|\x9b[0-?]*[ -/]*[@-~]"
    r"|\x1b[@-Z\\-_]"
)
# 0x followed by 6 to 16 hex digits, as a whole word (17 digits are not an address).
_ADDRESS_RE = re.compile(r"\b0[xX][0-9a-fA-F]{6,16}\b")
# ipykernel's per-cell files: /tmp/ipykernel_123/456.py, /var/folders/.../T/ipykernel_1/2.py,
# C:\Users\me\AppData\Local\Temp\ipykernel_1\2.py (backslashes possibly doubled in reprs).
# The regex finds the file name; _mask_ipykernel walks back over the directory (no backtracking).
_IPYKERNEL_RE = re.compile(r"[/\\]ipykernel_\d+[/\\]+\d+\.py")
_PATH_STOP = frozenset(" \t\n\r\x0b\x0c'\"`<>|*?:,;()[]{}=")
_MODEL_ID_RE = re.compile(r"""(["']model_id["']\s*:\s*["'])[0-9a-fA-F]{32}(["'])""")


def render_terminal(text: str) -> str:
    """Apply carriage returns and backspaces as a terminal would.

    ``"\\r\\n"`` is a newline; within a line ``"\\r"`` returns to the start and later
    characters overwrite (``"abc\\rX"`` -> ``"Xbc"``); ``"\\b"`` moves one left.
    Linear in the length of the text.
    """
    if "\r" not in text and "\b" not in text:
        return text
    text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if "\b" in line:
            lines[i] = _render_line_slow(line)
        elif "\r" in line:
            # The character at column c comes from the last segment longer than c.
            pieces = []
            width = 0
            for segment in reversed(line.split("\r")):
                if len(segment) > width:
                    pieces.append(segment[width:])
                    width = len(segment)
            lines[i] = "".join(pieces)  # pieces cover increasing columns
    return "\n".join(lines)


def _render_line_slow(line: str) -> str:
    buf: list[str] = []
    pos = 0
    for ch in line:
        if ch == "\r":
            pos = 0
        elif ch == "\b":
            pos = max(0, pos - 1)
        else:
            if pos < len(buf):
                buf[pos] = ch
            else:
                buf.append(ch)
            pos += 1
    return "".join(buf)


def _mask_ipykernel(text: str) -> str:
    pieces = []
    last = 0
    for match in _IPYKERNEL_RE.finditer(text):
        start = match.start()
        while start > last and text[start - 1] not in _PATH_STOP:
            start -= 1
        # A Windows drive letter: "C:" right before the path.
        if (start - 2 >= last and text[start - 1] == ":" and text[start - 2].isalpha()
                and (start - 2 == last or not text[start - 3].isalnum())):
            start -= 2
        pieces.append(text[last:start])
        pieces.append("<ipykernel>.py")
        last = match.end()
    pieces.append(text[last:])
    return "".join(pieces)


def normalize_text(text: str, options: CompareOptions) -> str:
    """The text as compared: built-in normalisation (when ``options.normalize``), then the masks.

    Built-in: ANSI escapes removed; carriage returns and backspaces applied;
    ``0x`` + 6-16 hex digits -> ``0x<address>``; ipykernel's temporary cell files
    -> ``<ipykernel>.py``; widget ``"model_id"`` values -> ``<model_id>``; trailing
    whitespace of every line and trailing newlines of the text dropped; with
    ``options.progress``, the timing fields of progress bars' lines (tqdm, Keras) ->
    ``<elapsed>``, ``<remaining>``, ``<rate>``, ``<eta>``, ``<time>`` (see
    :mod:`repro.notebook.compare.progress`); then IPython's volatile forms that the
    cell may print (``options.known_forms``, see :mod:`repro.notebook.compare.ipython`).
    """
    if options.normalize:
        if "\x1b" in text or "\x9b" in text:
            text = _ANSI_RE.sub("", text)
        text = render_terminal(text)
        if "0x" in text or "0X" in text:
            text = _ADDRESS_RE.sub("0x<address>", text)
        if "ipykernel_" in text:
            text = _mask_ipykernel(text)
        if "model_id" in text:
            text = _MODEL_ID_RE.sub(r"\g<1><model_id>\g<2>", text)
        # (Not a regex: r"[ \t]+\n" backtracks quadratically on long runs of blanks.)
        lines = [line.rstrip() for line in text.split("\n")]
        if options.progress and may_hold_progress(text):
            lines = normalize_progress_lines(lines)
        text = "\n".join(lines).rstrip()
        if options.known_forms:
            text = normalize_known_forms(text, options.known_forms)
    for regex, replacement in options.masks:
        text = re.sub(regex, replacement, text)
    return text


# --------------------------------------------------------------------------- numbers

# A number: optional sign, digits with an optional fraction (or a bare fraction), optional
# exponent; not preceded by a letter, digit, underscore or '.', so "x1", "abc123" and the
# "7f" of "0x7f" are not numbers.
_NUMBER_RE = re.compile(r"((?<![\w.])[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)")


def _has_tolerance(options: CompareOptions) -> bool:
    return options.rtol > 0 or options.atol > 0


def _close_with_tolerance(expected: str, actual: str, options: CompareOptions) -> bool:
    """Same text around the numbers, and every number within ``atol + rtol*|expected|``.

    Numbers never span a newline and newlines must match, so the texts compare line
    by line, and only the lines between the common prefix and suffix need it.
    """
    start, end_a, end_b, _ = _differing_region(expected, actual)
    a_lines = expected[start:end_a].split("\n")
    b_lines = actual[start:end_b].split("\n")
    if len(a_lines) != len(b_lines):
        return False
    # The first line usually decides; the other differing lines go to the tokenizer in one piece
    # (one regex split of many lines is much faster than one per line).
    if not _line_close(a_lines[0], b_lines[0], options.rtol, options.atol):
        return False
    pairs = [(x, y) for x, y in zip(a_lines[1:], b_lines[1:]) if x != y]
    if not pairs:
        return True
    return _line_close("\n".join(x for x, _ in pairs), "\n".join(y for _, y in pairs),
                       options.rtol, options.atol)


def _line_close(expected: str, actual: str, rtol: float, atol: float) -> bool:
    a_parts = _NUMBER_RE.split(expected)
    b_parts = _NUMBER_RE.split(actual)
    if len(a_parts) != len(b_parts):
        return False
    # Text pieces are at even positions, numbers at odd ones.
    if a_parts[0::2] != b_parts[0::2]:
        return False
    for x, y in zip(a_parts[1::2], b_parts[1::2]):
        if x == y:
            continue
        try:
            fx, fy = float(x), float(y)
        except ValueError:
            return False
        if not abs(fy - fx) <= atol + rtol * abs(fx):
            return False
    return True


# --------------------------------------------------------------------------- unified diff

def _common_prefix_len(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i, block = 0, 512
    while i < n:
        j = min(i + block, n)
        if a[i:j] != b[i:j]:
            while a[i] == b[i]:
                i += 1
            return i
        i = j
        block = min(block * 2, 1 << 20)
    return n


def _common_suffix_len(a: str, b: str, limit: int) -> int:
    la, lb = len(a), len(b)
    i, block = 0, 512
    while i < limit:
        j = min(i + block, limit)
        if a[la - j:la - i] != b[lb - j:lb - i]:
            while a[la - 1 - i] == b[lb - 1 - i]:
                i += 1
            return i
        i = j
        block = min(block * 2, 1 << 20)
    return limit


def _differing_region(expected: str, actual: str) -> tuple[int, int, int, int]:
    """``(start, end_a, end_b, prefix)``: whole lines holding every difference; outside them the texts are equal.

    ``expected[:start] == actual[:start]`` and ``expected[end_a:] == actual[end_b:]``,
    ``start`` is a line start and ``end_a``/``end_b`` are line ends (a newline or the end);
    ``prefix`` is the length of the common prefix.
    """
    prefix = _common_prefix_len(expected, actual)
    start = expected.rfind("\n", 0, prefix) + 1
    suffix = _common_suffix_len(expected, actual, min(len(expected), len(actual)) - start)
    end_a = len(expected) - suffix
    end_b = len(actual) - suffix
    newline = expected.find("\n", end_a)
    if newline == -1:
        newline = len(expected)
    return start, newline, end_b + (newline - end_a), prefix


def differing_lines(expected: str, actual: str) -> tuple[str, str]:
    """The whole lines of each text that hold every difference between them; outside them
    the texts are equal."""
    start, end_a, end_b, _ = _differing_region(expected, actual)
    return expected[start:end_a], actual[start:end_b]


_HUNK_RE = re.compile(r"^@@ -(\d+)((?:,\d+)?) \+(\d+)((?:,\d+)?) @@$")


def _clip(line: str, column: int) -> str:
    if len(line) <= DIFF_LINE_CHARS:
        return line
    head = line[:1]  # the diff marker: ' ', '-' or '+'
    start = max(1, column + 1 - DIFF_LINE_CHARS // 4)
    end = min(len(line), start + DIFF_LINE_CHARS)
    clipped = head + ("..." if start > 1 else "") + line[start:end]
    if end < len(line):
        clipped += f" ... ({len(line) - end} more characters)"
    return clipped


def unified_diff(expected: str, actual: str) -> str:
    """A compact unified diff (``expected`` -> ``actual``), 2 lines of context.

    Only the region between the common prefix and the common suffix (plus
    context) goes to difflib, at most ``DIFF_WINDOW_LINES`` lines of it, so a diff
    of two 20 MB texts costs about as much as finding where they differ. Hunk
    line numbers refer to the whole texts. At most ``DIFF_MAX_LINES`` lines.
    """
    if expected == actual:
        return ""
    import difflib

    start, end_a, end_b, prefix = _differing_region(expected, actual)
    column = prefix - start  # of the first difference, in the first differing line
    # Two lines of context on each side.
    for _ in range(2):
        if start > 0:
            start = expected.rfind("\n", 0, start - 1) + 1
        if end_a < len(expected):
            newline = expected.find("\n", end_a + 1)
            if newline == -1:
                newline = len(expected)
            end_b += newline - end_a
            end_a = newline
    offset = expected.count("\n", 0, start)

    a_lines = expected[start:end_a].split("\n")
    b_lines = actual[start:end_b].split("\n")
    cut = len(a_lines) > DIFF_WINDOW_LINES or len(b_lines) > DIFF_WINDOW_LINES
    if cut:
        a_lines = a_lines[:DIFF_WINDOW_LINES]
        b_lines = b_lines[:DIFF_WINDOW_LINES]

    out = []
    for line in difflib.unified_diff(a_lines, b_lines, "expected", "actual", n=2, lineterm=""):
        match = _HUNK_RE.match(line) if line.startswith("@@") else None
        if match:
            line = (f"@@ -{int(match[1]) + offset}{match[2]} "
                    f"+{int(match[3]) + offset}{match[4]} @@")
        elif not line.startswith(("--- ", "+++ ")):
            line = _clip(line, column)
        out.append(line)
    if len(out) > DIFF_MAX_LINES:
        more = len(out) - DIFF_MAX_LINES
        out = out[:DIFF_MAX_LINES]
        out.append(f"... {more} more lines")
    if cut:
        out.append(f"... diff limited to {DIFF_WINDOW_LINES} lines from line {offset + 1}; "
                   "the texts may differ further")
    return "\n".join(out)


def compare_text(kind: str, key: str, expected_raw: str, actual_raw: str, options: CompareOptions,
                 index: int | None = None) -> OutputDiff | None:
    """The difference between two texts after normalisation and within tolerance, or None."""
    if expected_raw == actual_raw:
        return None
    expected = normalize_text(expected_raw, options)
    actual = normalize_text(actual_raw, options)
    if expected == actual:
        return None
    if _has_tolerance(options) and _close_with_tolerance(expected, actual, options):
        return None
    return OutputDiff(kind, key, expected, actual, unified_diff(expected, actual), index=index)
