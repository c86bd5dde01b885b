"""Progress bars' timing fields, known by the bar's whole format, line by line.

A progress bar prints how long it took and how fast it went: different on every
run, even when everything it counts is the same. A line recognised as one of the
formats below keeps its description, percentage, bar, counts, unit and metrics,
and its timing fields become placeholders; any other line is left as it is.

tqdm's meter (``tqdm``, ``trange``, ``tqdm.auto`` outside a notebook, the text of
``tqdm.notebook``'s widgets):

- ``{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate}{postfix}]``
  -> ``... [<elapsed><<remaining>, <rate>{postfix}]``, with or without ``{desc}: ``;
  the bar (unicode blocks, ``ascii=True``'s ``#`` and digits, any one-character
  charset) must agree with the percentage, and the percentage with the counts; a
  unicode or ``ascii=True`` bar then becomes the bar tqdm draws at its default width
  (10) for the counts, since with a fixed line width (``ncols``) its length follows
  the width of the timing fields;
  a total of ``?`` comes without a percentage (``|{bar}| 3/? [...]``);
- ``{desc}: {n_fmt}{unit} [{elapsed}, {rate}{postfix}]`` (no total)
  -> ``... [<elapsed>, <rate>{postfix}]``, where the rate's unit is the count's.

Counts may carry SI prefixes (``unit_scale``: ``1.23k``, ``4.5M``); the rate is
``?it/s``, ``12.34it/s``, ``2.50s/it`` or ``12.3MB/s`` for any unit; elapsed and
remaining are ``MM:SS`` or ``H:MM:SS``, remaining ``?`` at the start.

Keras' ``Progbar`` (``model.fit``, ``predict``, ``evaluate``), after its ANSI styling
is removed:

- Keras 2: ``10/10 [==============================] - 0s 2ms/step - loss: 0.1234``
  -> ``10/10 [====...] - <elapsed> <time>/step - loss: 0.1234``; ``- ETA: 1s`` ->
  ``- ETA: <eta>``; ``10/Unknown - 0s 2ms/step``; ``verbose=2``'s
  ``10/10 - 0s - loss: 0.1234 - 145ms/epoch - 14ms/step``;
- Keras 3: ``10/10 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - accuracy: 0.9 - loss: 0.12``
  -> ``10/10 ━━━━... <elapsed> <time>/step - ...`` (``<eta>`` while it runs),
  ``10/Unknown 0s 2ms/step``, and ``verbose=2``'s ``10/10 - 0s - 2ms/step - ...``.

The count is padded to the width of the total, and a Keras 2 bar must be the one
the count draws. ``Epoch 1/5`` lines are not timing and stay as they are.
"""

from __future__ import annotations

import re

#: How a Keras line starts (its count, maybe padded); a tqdm line ends with "]".
_LINE_STARTS = frozenset(" 0123456789")

_NUM = r"\d+(?:\.\d+)?(?:e[-+]?\d+)?"
_SI = "kMGTPEZY"
_COUNT = rf"{_NUM}[{_SI}]?"
_CLOCK = r"-?(?:\d{1,9}:)?\d\d:\d\d"
_UNIT = r"[^\s\[\]<>,|/]{0,40}"
_RATE = rf" ?(?:\?|{_COUNT})(?:{_UNIT}/s|s/{_UNIT})(?=\]|, )"

# "| 6/6 [00:00<00:00, 945.91it/s": the right-hand side of a bar with a total.
_TQDM_TOTAL_RE = re.compile(rf"\| ({_COUNT})/({_COUNT}|\?) \[({_CLOCK})<({_CLOCK}|\?), ({_RATE})")
# " [00:00, 12.3it/s": after the count of a bar without a total.
_TQDM_NO_TOTAL_RE = re.compile(rf" \[({_CLOCK}), ({_RATE})")
_COUNT_UNIT_RE = re.compile(rf"({_NUM})([{_SI}]?)({_UNIT})")
_RATE_PARTS_RE = re.compile(rf" ?(?:\?|{_NUM})[{_SI}]?(.*)")
_PERCENT_RE = re.compile(r" {0,2}\d{1,3}")
# tqdm's bar characters, empty to full: unicode blocks, and ascii=True's.
_UNICODE_BAR = " " + "".join(map(chr, range(0x258F, 0x2587, -1)))
_ASCII_BAR = " 123456789#"
_BAR_WIDTH = 10  # tqdm's bar width when nothing sets the line's width

_K_INT = r"\d{1,18}"  # (int() refuses strings of more than 4300 digits)
_K_STEP = r"(\d+(?:ms|us|s))/(\w+)"
_K_ETA = r"\d+s|\d+:\d\d(?::\d\d)?"
# Keras 2, verbose=1: "10/10 [=====] - 0s 2ms/step", "3/10 [=>...] - ETA: 1s".
_KERAS2_RE = re.compile(rf"( *)({_K_INT})/({_K_INT}) \[([=>.]+)\] - (?:ETA: ({_K_ETA})|(\d+s)(?: {_K_STEP})?)")
_KERAS2_UNKNOWN_RE = re.compile(rf"( *)({_K_INT})/(Unknown) - (\d+s)(?: {_K_STEP})?")
# Keras 3, verbose=1: "10/10 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step".
_KERAS3_RE = re.compile(rf"( *)({_K_INT})/({_K_INT}) (\u2501+) ({_K_ETA}) {_K_STEP}")
_KERAS3_UNKNOWN_RE = re.compile(rf"( *)({_K_INT})/(Unknown) (\d+s) {_K_STEP}")
# verbose=2: "10/10 - 0s - 2ms/step - ..." (Keras 3), "10/10 - 0s - ... - 1s/epoch - 2ms/step" (Keras 2).
_KERAS_V2_RE = re.compile(rf"( *)({_K_INT})/({_K_INT}) - (\d+s)")
_KERAS3_V2_STEP_RE = re.compile(rf" - {_K_STEP}(?= - |\Z)")
_KERAS2_V2_TAIL_RE = re.compile(rf" - \d+(?:ms|us|s)/epoch - {_K_STEP}\Z")


def may_hold_progress(text: str) -> bool:
    """Whether *text* may hold a progress bar's line: a few substring tests, the first for
    a ``/``, which every such line has (a count, a rate or a time per step)."""
    if "/" not in text:
        return False
    if "ETA: " in text or "] - " in text or "/Unknown " in text:
        return True
    # A rate ("it/s", "s/it") or a time per step ("ms/step"), with what surrounds it.
    return ("/s" in text or "s/" in text) and (" [" in text or " - " in text or "\u2501" in text)


def normalize_progress_lines(lines: list[str]) -> list[str]:
    """:func:`normalize_progress_line` of each line; the lines that cannot be a bar's cost a test."""
    return [normalize_progress_line(line) if line[-1:] == "]" or line[:1] in _LINE_STARTS else line
            for line in lines]


def normalize_progress_line(line: str) -> str:
    """One line, normalised when it is a progress bar's (see the module docstring)."""
    if line.endswith("]"):
        line = _tqdm_line(line)
    if line.lstrip(" ")[:1].isdigit() and "/" in line:
        found = _keras_line(line)
        if found is not None:
            return found
    return line


# --------------------------------------------------------------------------- tqdm

def _tqdm_line(line: str) -> str:
    """*line* with the timing of every meter in it that checks out replaced.

    Each candidate is checked against the line as given, and none of the checks
    looks across another candidate's timing fields: the result is normalised already.
    """
    spans = []
    for match in _TQDM_TOTAL_RE.finditer(line):
        head = _tqdm_head(line, match.start(), match[1], match[2]) if _tail_ok(line, match.end()) else None
        if head is not None:
            spans.append((match.start(3), match.end(5), "<elapsed><<remaining>, <rate>"))
            if head[1] is not None:
                spans.append((head[0], match.start(), head[1]))
    for match in _TQDM_NO_TOTAL_RE.finditer(line):
        if _tail_ok(line, match.end()) and _count_and_rate_agree(line, match.start(), match[2]):
            spans.append((match.start(1), match.end(2), "<elapsed>, <rate>"))
    if not spans:
        return line
    pieces, last = [], 0
    for start, end, text in sorted(spans):
        pieces += [line[last:start], text]
        last = end
    pieces.append(line[last:])
    return "".join(pieces)


def _tail_ok(line: str, end: int) -> bool:
    """After the rate: ``]`` ending the line, or ``, {postfix}`` (the line ends with ``]``)."""
    return end == len(line) - 1 or line.startswith(", ", end)


def _desc_before(line: str, index: int) -> bool:
    """Whether ``line[:index]`` is nothing or a ``{desc}: ``."""
    return index == 0 or line.startswith(": ", index - 2)


def _tqdm_head(line: str, start: int, n_fmt: str, total_fmt: str) -> tuple[int, str | None] | None:
    """``{desc}: {percentage:3.0f}%|{bar}`` just before *start*, agreeing with ``n_fmt/total_fmt``:
    where the bar starts and the bar as tqdm draws it at its default width (None: leave it as
    printed); None when the head does not check out."""
    cut = line.rfind("|", 0, start)
    if cut < 0 or cut == start - 1:
        return None
    bar = line[cut + 1:start]
    if line[cut - 1:cut] != "%" or cut < 4:  # no total: no percentage, a blank or full bar
        return (cut + 1, None) if total_fmt == "?" and _desc_before(line, cut) else None
    percent = line[cut - 4:cut - 1]
    if total_fmt == "?" or not _PERCENT_RE.fullmatch(percent) or not _desc_before(line, cut - 4):
        return None
    value = int(percent)
    if not _bar_agrees(bar, value):
        return None
    n, total = _count_value(n_fmt), _count_value(total_fmt)
    if n is None or not total:
        return None
    expected = 100.0 * n / total
    if abs(expected - value) > 1 + 0.03 * expected:  # SI prefixes round to 3 digits
        return None
    return cut + 1, _redrawn(bar, n / total)


def _redrawn(bar: str, frac: float) -> str | None:
    """*bar* as tqdm draws it at its default width of 10 for *frac*, in its charset (unicode
    blocks or ``ascii=True``'s); None for another charset. A bar as wide as the terminal or
    ``ncols`` leaves (``ncols=80``: its length depends on the width of the timing fields) then
    compares by what it shows, the fraction done."""
    for charset in (_UNICODE_BAR, _ASCII_BAR):
        if all(c in charset for c in bar):
            return draw_bar(frac, charset)
    return None


def draw_bar(frac: float, charset: str = _UNICODE_BAR) -> str:
    """The bar tqdm draws for *frac* at its default width of 10, in *charset* (empty to full)."""
    frac = min(1.0, max(0.0, frac))
    steps = len(charset) - 1
    full, part = divmod(int(frac * _BAR_WIDTH * steps), steps)
    if full >= _BAR_WIDTH:
        return charset[-1] * _BAR_WIDTH
    return charset[-1] * full + charset[part] + charset[0] * (_BAR_WIDTH - full - 1)


def _count_value(text: str) -> float | None:
    try:
        if text[-1:] in _SI:
            return float(text[:-1]) * 1000.0 ** (_SI.index(text[-1]) + 1)
        return float(text)
    except ValueError:
        return None


def _bar_agrees(bar: str, percent: int) -> bool:
    """Whether tqdm draws *bar* at *percent*: full characters, at most one partial, then padding.

    The number of full characters is ``floor(frac * width)`` for a fraction that
    rounds to *percent*; a bar of one character is all padding or all full.
    """
    width = len(bar)
    low = int(max(0.0, percent - 0.5) * width / 100.0 + 1e-9)
    high = int(min(100.0, percent + 0.5) * width / 100.0 + 1e-9)
    first = bar[0]
    run = width - len(bar.lstrip(first))
    if run == width:  # all padding or all full
        return low == 0 or high == width
    rest = bar[run + 1:]
    if low <= run <= high and rest == rest[:1] * len(rest):
        return True  # run full characters, one partial, the padding
    tail = bar[1:]
    return run == 1 and low == 0 and tail == tail[0] * len(tail)  # a partial character, the padding


def _count_and_rate_agree(line: str, start: int, rate: str) -> bool:
    """``{desc}: {n_fmt}{unit}`` before *start*, and a rate in the same unit (``12.3kB``, ``4.5MB/s``)."""
    count_start = line.rfind(" ", 0, start) + 1  # a count and its unit have no blank
    if not _desc_before(line, count_start):
        return False
    count_match = _COUNT_UNIT_RE.fullmatch(line, count_start, start)
    rate_match = _RATE_PARTS_RE.fullmatch(rate)
    if count_match is None or rate_match is None:
        return False
    prefix, unit = count_match[2], count_match[3]
    units = {prefix + unit, unit} if prefix else {unit}
    rest = rate_match[1]
    return any(rest in (u + "/s", "s/" + u) for u in units)


# --------------------------------------------------------------------------- Keras

def _keras_line(line: str) -> str | None:
    for regex, fields in _KERAS_FORMS:
        match = regex.match(line)
        if match is None or not _keras_count_ok(match[1], match[2], match[3]):
            continue
        tail = line[match.end():]
        if tail and not tail.startswith(" - "):
            continue
        if regex is _KERAS2_RE and not _keras2_bar_ok(match[4], int(match[2]), int(match[3])):
            continue
        if regex is _KERAS_V2_RE:
            tail = _keras_v2_tail(tail)
        return f"{match[1]}{match[2]}/{match[3]}" + fields(match.groups()) + tail
    return None


def _keras_count_ok(padding: str, current: str, target: str) -> bool:
    """``%{d}d/%d``: the count padded to the width of the target (7 when it is ``Unknown``)."""
    width = 7 if target == "Unknown" else len(target)
    if target != "Unknown" and (int(target) <= 0 or target != str(int(target))):
        return False
    if current != str(int(current)):
        return False
    return len(padding) + len(current) == max(width, len(current))


def _keras2_bar_ok(bar: str, current: int, target: int) -> bool:
    width = len(bar)
    done = int(width * (float(current) / target))
    if done <= 0:
        return bar == "." * width
    expected = "=" * (done - 1) + (">" if current < target else "=") + "." * (width - done)
    return bar == expected


def _step(time: str | None, unit: str | None) -> str:
    return "" if time is None else f" <time>/{unit}"


def _keras_v2_tail(tail: str) -> str:
    """After ``verbose=2``'s elapsed time: Keras 3's time per step, then the metrics; Keras 2's
    metrics, then the epoch's time and the time per step."""
    match = _KERAS2_V2_TAIL_RE.search(tail)
    if match is not None:
        return tail[:match.start()] + f" - <time>/epoch - <time>/{match[2]}"
    match = _KERAS3_V2_STEP_RE.match(tail)
    if match is not None and match[2] != "epoch":
        return f" - <time>/{match[2]}" + tail[match.end():]
    return tail


# What follows the count ("10/10"), timing as placeholders, from each form's groups.
_KERAS_FORMS = (
    (_KERAS2_RE, lambda g: f" [{g[3]}] - " + ("ETA: <eta>" if g[4] is not None else "<elapsed>" + _step(g[6], g[7]))),
    (_KERAS3_RE, lambda g: f" {g[3]} " + ("<eta>" if int(g[1]) < int(g[2]) else "<elapsed>") + _step(g[5], g[6])),
    (_KERAS_V2_RE, lambda g: " - <elapsed>"),
    (_KERAS2_UNKNOWN_RE, lambda g: " - <elapsed>" + _step(g[4], g[5])),
    (_KERAS3_UNKNOWN_RE, lambda g: " <elapsed>" + _step(g[4], g[5])),
)
