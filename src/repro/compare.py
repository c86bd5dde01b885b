"""Compare a code cell's new outputs with its stored ones.

Pure functions, data in and data out: :func:`compare_outputs` takes two lists of
nbformat v4 output dicts and returns a list of :class:`OutputDiff` (empty when
the outputs are the same). Formatting is :mod:`repro.report`'s business.

What counts as "the same":

* Streams: all ``stdout`` text of a cell is joined into one string, all
  ``stderr`` text into another, whatever outputs came between; carriage returns
  and backspaces are applied as a terminal would (progress bars).
* ``execute_result`` and ``display_data`` with equal data are equal; execution
  counts and output metadata are ignored. Rich outputs are paired by position.
* Per MIME type: images as decoded pixels (Pillow), SVG as canonical XML,
  JSON as parsed JSON, everything else as normalised text.
* Errors by ``ename`` and normalised ``evalue``; never the traceback.
* Text is normalised first (:func:`normalize_text`): ANSI escapes, memory
  addresses, ipykernel's temporary file names, widget model ids and trailing
  whitespace do not count; then the user's masks apply. With ``rtol``/``atol``,
  numbers inside text compare within tolerance while the text around them must
  match exactly.

Imports stay light: Pillow, XML, JSON, difflib and configparser are imported by
the functions that need them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "CompareOptions",
    "OutputDiff",
    "MARKERS",
    "normalize_text",
    "render_terminal",
    "compare_outputs",
    "unified_diff",
    "cell_markers",
    "read_sanitize_file",
]

MARKERS = frozenset({"skip", "ignore-output", "raises-exception", "check-output"})

DIFF_MAX_LINES = 60  # lines of unified diff kept (headers included)
DIFF_WINDOW_LINES = 400  # lines of each side's differing region handed to difflib
DIFF_LINE_CHARS = 400  # a diff line longer than this is clipped


@dataclass(frozen=True)
class CompareOptions:
    rtol: float = 0.0  # relative tolerance for numbers inside text
    atol: float = 0.0  # absolute tolerance
    masks: tuple[tuple[str, str], ...] = ()  # extra (regex, replacement) pairs, applied after the built-in ones
    image_tolerance: float = 0.0  # max per-channel difference (0-255) for a pixel to count as equal
    normalize: bool = True  # the safe built-in normalisation (off only for debugging)

    def __post_init__(self):
        for name in ("rtol", "atol", "image_tolerance"):
            value = getattr(self, name)
            try:
                ok = float(value) >= 0  # False for NaN
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise ValueError(f"{name} must be a number >= 0, not {value!r}")
        masks = tuple((str(regex), str(replacement)) for regex, replacement in self.masks)
        for regex, replacement in masks:
            try:
                re.compile(regex).sub(replacement, "")  # also checks the replacement's group references
            except re.error as exc:
                raise ValueError(f"invalid mask {regex!r} -> {replacement!r}: {exc}") from None
        object.__setattr__(self, "masks", masks)


@dataclass(frozen=True)
class OutputDiff:
    kind: str  # "text" | "image" | "missing" | "extra" | "error" | "mime"
    key: str  # what differs: "stdout", "stderr", a MIME type, "error", "display_data[1]"
    expected: str | None  # normalised expected text (or a short description for images)
    actual: str | None
    diff: str  # compact unified diff of the normalised texts ('' for images)
    image: dict | None = None  # {"expected_size": [w, h], "actual_size": [w, h], "differing_fraction": f, ...}
    index: int | None = None  # for rich outputs and errors: position among the cell's non-stream outputs


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
    whitespace of every line and trailing newlines of the text dropped.
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
        text = "\n".join([line.rstrip() for line in text.split("\n")]).rstrip()
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


# --------------------------------------------------------------------------- outputs

def _join(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return "".join(str(v) for v in value)
    return "" if value is None else str(value)


def _compare_text(kind: str, key: str, expected_raw: str, actual_raw: str, options: CompareOptions,
                  index: int | None = None) -> OutputDiff | None:
    if expected_raw == actual_raw:
        return None
    expected = normalize_text(expected_raw, options)
    actual = normalize_text(actual_raw, options)
    if expected == actual:
        return None
    if _has_tolerance(options) and _close_with_tolerance(expected, actual, options):
        return None
    return OutputDiff(kind, key, expected, actual, unified_diff(expected, actual), index=index)


def _split_outputs(outputs) -> tuple[dict[str, list[str]], list[tuple[int, dict]], list[tuple[int, dict]]]:
    """Streams by name (pieces in order), rich outputs and errors with their positions among non-streams."""
    streams: dict[str, list[str]] = {}
    rich: list[tuple[int, dict]] = []
    errors: list[tuple[int, dict]] = []
    position = 0
    for output in outputs or ():
        kind = output.get("output_type")
        if kind == "stream":
            streams.setdefault(output.get("name") or "stdout", []).append(_join(output.get("text", "")))
            continue
        (errors if kind == "error" else rich).append((position, output))
        position += 1
    return streams, rich, errors


def _without_repro_notices(text: str) -> str:
    """stderr without repro's own notices ("repro: ..." lines, e.g. the PYTHONHASHSEED
    advice a plain Jupyter kernel prints): they describe the session, not the results."""
    if "repro: " not in text:
        return text
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith("repro: "))


def compare_outputs(expected: list[dict], actual: list[dict],
                    options: CompareOptions = CompareOptions()) -> list[OutputDiff]:
    """What differs between a cell's stored outputs (*expected*) and its new ones; ``[]`` means the same."""
    diffs: list[OutputDiff] = []
    e_streams, e_rich, e_errors = _split_outputs(expected)
    a_streams, a_rich, a_errors = _split_outputs(actual)

    names = [n for n in ("stdout", "stderr") if n in e_streams or n in a_streams]
    names += sorted((set(e_streams) | set(a_streams)) - {"stdout", "stderr"})
    for name in names:
        e_text = "".join(e_streams.get(name, ()))
        a_text = "".join(a_streams.get(name, ()))
        if name == "stderr" and options.normalize:
            e_text, a_text = _without_repro_notices(e_text), _without_repro_notices(a_text)
        diff = _compare_text("text", name, e_text, a_text, options)
        if diff is not None:
            if name not in a_streams:
                diff = OutputDiff("missing", name, diff.expected, None, diff.diff)
            elif name not in e_streams:
                diff = OutputDiff("extra", name, None, diff.actual, diff.diff)
            diffs.append(diff)

    for i in range(max(len(e_rich), len(a_rich))):
        if i >= len(a_rich):
            position, output = e_rich[i]
            diffs.append(OutputDiff("missing", f"{output.get('output_type')}[{position}]",
                                    _describe_output(output, options), None, "", index=position))
        elif i >= len(e_rich):
            position, output = a_rich[i]
            diffs.append(OutputDiff("extra", f"{output.get('output_type')}[{position}]",
                                    None, _describe_output(output, options), "", index=position))
        else:
            diffs.extend(_compare_rich(e_rich[i], a_rich[i], options))

    for i in range(max(len(e_errors), len(a_errors))):
        e_pos, e_err = e_errors[i] if i < len(e_errors) else (None, None)
        a_pos, a_err = a_errors[i] if i < len(a_errors) else (None, None)
        key = "error" if i == 0 else f"error[{i}]"
        position = e_pos if e_pos is not None else a_pos
        e_text = _error_text(e_err, options) if e_err is not None else None
        a_text = _error_text(a_err, options) if a_err is not None else None
        if e_text is None or a_text is None:
            diffs.append(OutputDiff("error", key, e_text, a_text, unified_diff(e_text or "", a_text or ""),
                                    index=position))
            continue
        diff = _compare_text("error", key, e_text, a_text, options, index=position)
        if diff is not None:
            diffs.append(diff)
    return diffs


def _error_text(output: dict, options: CompareOptions) -> str:
    return f"{output.get('ename', '')}: {_join(output.get('evalue', ''))}"


def _describe_output(output: dict, options: CompareOptions) -> str:
    data = output.get("data")
    if not isinstance(data, dict):
        return str(output.get("output_type"))
    text = f"{output.get('output_type')}: {', '.join(data)}"
    if "text/plain" in data:
        text += "\n" + normalize_text(_join(data["text/plain"]), options)
    return text


_IGNORED_OUTPUT_KEYS = ("output_type", "metadata", "execution_count", "transient")


def _compare_rich(expected_item, actual_item, options: CompareOptions) -> list[OutputDiff]:
    position, expected = expected_item
    _, actual = actual_item
    e_type, a_type = expected.get("output_type"), actual.get("output_type")
    rich_types = ("execute_result", "display_data")
    if e_type not in rich_types or a_type not in rich_types:
        # An output type nbformat v4 does not define: compare everything but the ignored keys.
        if e_type != a_type:
            return [OutputDiff("mime", f"{e_type}[{position}]", str(e_type), str(a_type), "", index=position)]
        e = {k: v for k, v in expected.items() if k not in _IGNORED_OUTPUT_KEYS}
        a = {k: v for k, v in actual.items() if k not in _IGNORED_OUTPUT_KEYS}
        diff = _compare_json("text", f"{e_type}[{position}]", e, a, options, position)
        return [diff] if diff is not None else []

    e_data = expected.get("data") or {}
    a_data = actual.get("data") or {}
    diffs = []
    for mime in list(e_data) + [m for m in a_data if m not in e_data]:
        if mime not in a_data:
            diffs.append(OutputDiff("mime", mime, _describe_value(mime, e_data[mime], options), None, "",
                                    index=position))
        elif mime not in e_data:
            diffs.append(OutputDiff("mime", mime, None, _describe_value(mime, a_data[mime], options), "",
                                    index=position))
        else:
            diff = _compare_mime(mime, e_data[mime], a_data[mime], options, position)
            if diff is not None:
                diffs.append(diff)
    return diffs


def _is_json_mime(mime: str) -> bool:
    return mime == "application/json" or mime.endswith("+json")


def _is_raster_mime(mime: str) -> bool:
    return mime.startswith("image/") and mime != "image/svg+xml"


def _describe_value(mime: str, value, options: CompareOptions) -> str:
    if _is_raster_mime(mime):
        return f"{mime} ({len(_join(value))} base64 characters)"
    if isinstance(value, (str, list)) and not _is_json_mime(mime):
        return normalize_text(_join(value), options)
    return normalize_text(_json_text(value), options)


def _compare_mime(mime: str, expected, actual, options: CompareOptions, position: int) -> OutputDiff | None:
    if expected == actual:
        return None
    if _is_raster_mime(mime):
        return _compare_image(mime, expected, actual, options, position)
    if mime == "image/svg+xml":
        return _compare_svg(mime, _join(expected), _join(actual), options, position)
    if _is_json_mime(mime):
        return _compare_json("text", mime, expected, actual, options, position)
    if not isinstance(expected, (str, list)) or not isinstance(actual, (str, list)):
        return _compare_json("text", mime, expected, actual, options, position)
    return _compare_text("text", mime, _join(expected), _join(actual), options, index=position)


# --- JSON

def _parse_json(value):
    """nbformat stores JSON MIME data parsed; a string is parsed here when it is JSON."""
    if isinstance(value, str):
        import json

        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _json_text(value) -> str:
    import json

    return json.dumps(value, sort_keys=True, indent=1, ensure_ascii=False, default=str)


def _compare_json(kind: str, key: str, expected, actual, options: CompareOptions, position: int) -> OutputDiff | None:
    e, a = _parse_json(expected), _parse_json(actual)
    if key == "application/vnd.jupyter.widget-view+json":
        if isinstance(e, dict) and "model_id" in e:
            e = dict(e, model_id="<model_id>")
        if isinstance(a, dict) and "model_id" in a:
            a = dict(a, model_id="<model_id>")
    if e == a:
        return None
    # Not equal as data: compare the canonical texts, so that masks and tolerance apply.
    return _compare_text(kind, key, _json_text(e), _json_text(a), options, index=position)


# --- SVG

def _canonical_svg(text: str) -> str | None:
    """One line per element, attributes sorted, whitespace collapsed; None when it is not XML."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(text.strip().encode("utf-8"))
    except (ET.ParseError, ValueError):
        return None

    def squash(s: str | None) -> str:
        return " ".join(s.split()) if s else ""

    def quote(s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines: list[str] = []

    def walk(element, depth: int) -> None:
        indent = "  " * depth
        attrs = "".join(f" {name}={quote(squash(value))}" for name, value in sorted(element.attrib.items()))
        lines.append(f"{indent}<{element.tag}{attrs}>")
        text = squash(element.text)
        if text:
            lines.append(f"{indent}  {text}")
        for child in element:
            if not isinstance(child.tag, str):  # comments, processing instructions
                tail = squash(child.tail)
                if tail:
                    lines.append(f"{indent}  {tail}")
                continue
            walk(child, depth + 1)
            tail = squash(child.tail)
            if tail:
                lines.append(f"{indent}  {tail}")

    walk(root, 0)
    return "\n".join(lines)


def _compare_svg(mime: str, expected: str, actual: str, options: CompareOptions, position: int) -> OutputDiff | None:
    if expected == actual:
        return None
    e_canon = _canonical_svg(expected)
    a_canon = _canonical_svg(actual)
    if e_canon is None or a_canon is None:
        return _compare_text("text", mime, expected, actual, options, index=position)
    return _compare_text("text", mime, e_canon, a_canon, options, index=position)


# --- raster images

def _decode_base64(value) -> bytes:
    import base64

    text = "".join(_join(value).split())
    text += "=" * (-len(text) % 4)
    return base64.b64decode(text, validate=False)


def _compare_image(mime: str, expected, actual, options: CompareOptions, position: int) -> OutputDiff | None:
    e_b64 = "".join(_join(expected).split())
    a_b64 = "".join(_join(actual).split())
    if e_b64 == a_b64:
        return None
    try:
        import io

        from PIL import Image, ImageChops
    except ImportError:  # pragma: no cover - Pillow is a dependency
        return OutputDiff("image", mime, f"{mime} ({len(e_b64)} base64 characters)",
                          f"{mime} ({len(a_b64)} base64 characters)", "", index=position)

    images = []
    for payload in (e_b64, a_b64):
        try:
            with Image.open(io.BytesIO(_decode_base64(payload))) as img:
                images.append(img.convert("RGBA"))
        except Exception as exc:  # undecodable: not an image, truncated, unsupported
            images.append(exc)
    e_img, a_img = images
    if not isinstance(e_img, Image.Image) or not isinstance(a_img, Image.Image):
        def describe(img, b64):
            if isinstance(img, Image.Image):
                return f"{mime} {img.width}x{img.height}"
            return f"{mime} (cannot decode {len(b64)} base64 characters: {img})"

        return OutputDiff("image", mime, describe(e_img, e_b64), describe(a_img, a_b64), "", index=position)

    info = {"expected_size": [e_img.width, e_img.height], "actual_size": [a_img.width, a_img.height]}
    expected_text = f"{mime} {e_img.width}x{e_img.height}"
    actual_text = f"{mime} {a_img.width}x{a_img.height}"
    if e_img.size != a_img.size:
        info.update(differing_fraction=1.0, differing_pixels=None)
        return OutputDiff("image", mime, expected_text, actual_text, "", image=info, index=position)

    tolerance = options.image_tolerance
    over = [255 if v > tolerance else 0 for v in range(256)]
    mask = None
    for band in ImageChops.difference(e_img, a_img).split():
        band = band.point(over)
        mask = band if mask is None else ImageChops.lighter(mask, band)
    # Pixels fully transparent on both sides look the same whatever their colour.
    clear = ImageChops.lighter(e_img.getchannel("A"), a_img.getchannel("A")).point(
        [255 if v == 0 else 0 for v in range(256)])
    mask = ImageChops.subtract(mask, clear)
    count = mask.histogram()[255]
    if count == 0:
        return None
    total = e_img.width * e_img.height
    info.update(differing_fraction=count / total, differing_pixels=count)
    return OutputDiff("image", mime, expected_text, actual_text, "", image=info, index=position)


# --------------------------------------------------------------------------- markers

_TAG_MARKERS = {
    "repro-skip": "skip",
    "repro-ignore-output": "ignore-output",
    "repro-raises-exception": "raises-exception",
    "repro-check-output": "check-output",
    "raises-exception": "raises-exception",
    "nbval-skip": "skip",
    "nbval-ignore-output": "ignore-output",
    "nbval-raises-exception": "raises-exception",
    "nbval-check-output": "check-output",
}
_COMMENT_MARKERS = {
    "NBVAL_SKIP": "skip",
    "NBVAL_IGNORE_OUTPUT": "ignore-output",
    "PYTEST_VALIDATE_IGNORE_OUTPUT": "ignore-output",  # nbval's old spelling
    "NBVAL_RAISES_EXCEPTION": "raises-exception",
    "NBVAL_CHECK_OUTPUT": "check-output",
}


def cell_markers(cell: dict) -> frozenset[str]:
    """The cell's markers, a subset of :data:`MARKERS`, from its tags and nbval comment markers.

    Tags: ``repro-skip``, ``repro-ignore-output``, ``raises-exception``, and nbval's
    ``nbval-skip``, ``nbval-ignore-output``, ``nbval-raises-exception``,
    ``nbval-check-output``. Comments anywhere in the source, alone on their
    line: ``# NBVAL_SKIP``, ``# NBVAL_IGNORE_OUTPUT``, ``# NBVAL_RAISES_EXCEPTION``,
    ``# NBVAL_CHECK_OUTPUT`` (any case, any indentation).
    """
    found = set()
    metadata = cell.get("metadata") or {}
    tags = metadata.get("tags") or ()
    if isinstance(tags, str):
        tags = (tags,)
    for tag in tags:
        marker = _TAG_MARKERS.get(str(tag).strip().lower())
        if marker:
            found.add(marker)
    source = _join(cell.get("source", ""))
    if "#" in source:
        for line in source.splitlines():
            line = line.strip()
            if line.startswith("#"):
                marker = _COMMENT_MARKERS.get(line.lstrip("#").strip().upper())
                if marker:
                    found.add(marker)
    return frozenset(found)


# --------------------------------------------------------------------------- nbval sanitize files

def read_sanitize_file(path) -> tuple[tuple[str, str], ...]:
    """The ``(regex, replacement)`` masks of an nbval sanitize file, in file order.

    An INI file; every section has a ``regex`` key and an optional ``replace``
    (default ``""``). Raises ValueError (one line) for a malformed file, a section
    without ``regex`` or an invalid regex; OSError when the file cannot be read.
    """
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    with open(path, encoding="utf-8") as handle:
        try:
            parser.read_file(handle)
        except configparser.Error as exc:
            message = " ".join(str(exc).split())
            raise ValueError(f"not a valid sanitize file: {message}") from None
    masks = []
    for section in parser.sections():
        values = parser[section]
        if "regex" not in values:
            raise ValueError(f"section [{section}] has no 'regex' key")
        regex = values["regex"]
        replacement = values.get("replace", "")
        try:
            re.compile(regex).sub(replacement, "")
        except re.error as exc:
            raise ValueError(f"section [{section}]: invalid regex {regex!r} (replace {replacement!r}): {exc}") from None
        masks.append((regex, replacement))
    return tuple(masks)
