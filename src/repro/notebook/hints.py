"""What a differing cell likely means, and the fix to paste: clock readings, generated ids,
representations one side lacks.

Pure functions over a cell's differences. A hint never hides a difference: the cell
still differs; the hint names what changed and how to stop comparing it, if the
user agrees that it should not be compared.

- **Clock readings**: when masking the clock-like pieces (ISO timestamps, dates in
  common forms, ``HH:MM:SS``, epoch seconds) makes every text difference of the cell
  go away, and (verify) the new output's reading is of now (a date within days of
  today, a time of day of the last hours), the hint gives a ready-to-paste mask
  (``--mask`` or ``[tool.repro] masks``) and the ``repro-ignore-output`` tag. A date
  on fixed data printed in another format is not a clock reading.
- **Generated ids**: the same for ids made afresh on every run (uuid4, as HTML outputs
  name their elements: a matplotlib animation, a ``%matplotlib notebook`` figure).
- **A representation missing**: a MIME type one side of an output has and the other
  lacks, while the output itself is there: the hint says which side has it (and, for
  Google Colab's own types, that only Colab makes them), not why;
  ``--mime-subset`` compares only the types both sides have.
"""

from __future__ import annotations

import re
import time

from repro.notebook.compare import CompareOptions, OutputDiff
from repro.notebook.compare.ipython import options_for_cell
from repro.notebook.compare.text import compare_text, differing_lines
from repro.notebook.results import CellStatus

_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?"
_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,?"

#: Clock readings, most specific first; each regex is what the hint suggests as a mask.
CLOCK_PATTERNS: tuple[tuple[str, str], ...] = (
    ("timestamp", r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}[\d:.,]*(?:Z|[+-]\d{2}:?\d{2})?"),
    ("timestamp", rf"{_DAY} {_MONTH} [ \d]\d \d{{2}}:\d{{2}}:\d{{2}} \d{{4}}"),
    ("date", r"\d{4}-\d{2}-\d{2}"),
    ("date", r"\d{4}/\d{2}/\d{2}"),
    ("date", r"\d{1,2}[/.]\d{1,2}[/.]\d{2,4}"),
    ("date", rf"{_MONTH} \d{{1,2}}(?:st|nd|rd|th)?,? \d{{4}}"),
    ("date", rf"\d{{1,2}} {_MONTH},? \d{{4}}"),
    ("time", r"\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?"),
    ("epoch", r"\b1\d{9}(?:\.\d+)?\b"),
)

_EPOCH = CLOCK_PATTERNS[-1][1]
_EPOCH_FLOOR = 946684800  # 2000-01-01: epoch seconds count as a clock reading from then to now
_REGION_LIMIT = 20_000  # characters of differing lines looked at; a clock reading is short
_MASKED = "<masked>"  # what --mask and [tool.repro] masks replace a match with


_NOW_DAYS = 2  # a date read from the run's clock is within this many days of today (time zones)
_RUN_SECONDS = 3 * 3600  # a time of day read from the run's clock: at most this long before now
_MONTHS = {name: n for n, name in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                             "nov", "dec"), 1)}
_NUMBERS_RE = re.compile(r"\d+")


def _reads_a_clock(kind: str, regex: str, text: str, now: float, ran_now: bool) -> bool:
    """Whether *text* holds a match of *regex* that reads a clock: with *ran_now*, the clock of a
    run that has just happened (a date within days of today, a time of day within the last
    hours, epoch seconds of now); else any epoch seconds since 2000 or any date or time."""
    for match in re.finditer(regex, text):
        value = match.group()
        if kind == "epoch":
            seconds = float(value)
            low = now - _NOW_DAYS * 86400 if ran_now else _EPOCH_FLOOR
            if low <= seconds <= now + 86400:
                return True
        elif not ran_now or (_time_is_now(value, now) if kind == "time" else _date_is_now(value, now)):
            return True
    return False


def _date_is_now(text: str, now: float) -> bool:
    """Whether the date in *text* (any of the date forms of :data:`CLOCK_PATTERNS`) is within
    :data:`_NOW_DAYS` of today, read day-first or month-first where the form does not say."""
    import datetime

    month_name = re.search(r"[A-Za-z]{3}", re.sub(rf"^{_DAY}\s*", "", text))
    numbers = [int(n) for n in _NUMBERS_RE.findall(text)]
    candidates = []
    if month_name is not None and month_name.group().lower() in _MONTHS:
        years = [n for n in numbers if n >= 1000]
        days = [n for n in numbers if n <= 31]
        if years and days:
            candidates.append((years[0], _MONTHS[month_name.group().lower()], days[0]))
    elif len(numbers) >= 3:
        a, b, c = numbers[:3]
        if a >= 1000:
            candidates.append((a, b, c))
        else:
            year = c + 2000 if c < 100 else c
            candidates += [(year, b, a), (year, a, b)]
    today = datetime.datetime.fromtimestamp(now, datetime.timezone.utc).date()
    for year, month, day in candidates:
        try:
            if abs((datetime.date(year, month, day) - today).days) <= _NOW_DAYS:
                return True
        except ValueError:  # not a date
            continue
    return False


def _time_is_now(text: str, now: float) -> bool:
    """Whether the time of day in *text* (``HH:MM:SS``) is of the last hours, in local time or UTC."""
    hours, minutes, seconds = (int(n) for n in _NUMBERS_RE.findall(text)[:3])
    of_day = hours * 3600 + minutes * 60 + seconds
    for clock in (time.localtime(now), time.gmtime(now)):
        ago = (clock.tm_hour * 3600 + clock.tm_min * 60 + clock.tm_sec - of_day) % 86400
        if ago <= _RUN_SECONDS or ago >= 86400 - 300:
            return True
    return False


def _regions(diffs: list[OutputDiff]) -> list[tuple[OutputDiff, str, str]] | None:
    """Each difference with the lines of each side that differ; None unless every difference is
    one between two texts, short enough to look at."""
    regions = []
    for diff in diffs:
        if diff.kind not in ("text", "error") or diff.expected is None or diff.actual is None:
            return None
        expected, actual = differing_lines(diff.expected, diff.actual)
        if len(expected) > _REGION_LIMIT or len(actual) > _REGION_LIMIT:
            return None
        regions.append((diff, expected, actual))
    return regions or None


def clock_mask(diffs: list[OutputDiff], options: CompareOptions, now: float | None = None,
               ran_now: bool = True) -> tuple[str, str] | None:
    """``(mask regex, example)`` when the mask, as the user would paste it, makes every one of
    *diffs* go away and what it masks reads a clock; else None. With *ran_now* (verify: the
    new outputs come from a run just made), the new side must read now (*now*, default the
    current time): a date on fixed data printed in a new format is no clock reading."""
    regions = _regions(diffs)
    if regions is None:
        return None
    now = time.time() if now is None else now
    used = [regex for kind, regex in CLOCK_PATTERNS
            if any(_reads_a_clock(kind, regex, text, now, ran_now)
                   for _, e, a in regions for text in ((a,) if ran_now else (e, a)))]
    # The smallest mask that does it: one pattern if one suffices, else all that matched.
    candidates = used + (["(?:" + "|".join(used) + ")"] if len(used) > 1 else [])
    for regex in candidates:
        if all(compare_text(d.kind, d.key, re.sub(regex, _MASKED, e), re.sub(regex, _MASKED, a), options) is None
               for d, e, a in regions):
            return regex, _example(regions[0][1], regions[0][2], regex)
    return None


def _example(expected: str, actual: str, regex: str) -> str:
    before = [m.group() for m in re.finditer(regex, expected)]
    after = [m.group() for m in re.finditer(regex, actual)]
    for old, new in zip(before, after):
        if old != new:
            return f"{new!r} now, {old!r} stored"
    return repr(after[0]) if after else repr(before[0]) if before else ""


def clock_hint(label: str, diffs: list[OutputDiff], options: CompareOptions, ran_now: bool = True) -> str | None:
    """The hint for a cell (named *label*) whose differences are clock readings, or None."""
    found = clock_mask(diffs, options, ran_now=ran_now)
    if found is None:
        return None
    regex, example = found
    return (f"{label} prints a clock reading ({example}): it changes on every run. To stop comparing it: "
            f"--mask '{regex}' (or masks = ['{regex}'] in [tool.repro]; masks apply to every cell), "
            "or tag the cell repro-ignore-output")


#: Ids made afresh on every run (uuid4), as HTML outputs name their elements: a matplotlib
#: animation's ``_anim_img<hex>``, a ``%matplotlib notebook`` figure's ``<div id='<uuid>'>``.
GENERATED_ID_PATTERNS: tuple[str, ...] = (
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
    r"(?<![0-9a-fA-F])[0-9a-fA-F]{32}(?![0-9a-fA-F])",
)
_ID_TEXT_LIMIT = 50 * 2**20  # characters of a difference searched for ids (an animation's HTML is big)


def generated_id_mask(diffs: list[OutputDiff], options: CompareOptions) -> tuple[str, str] | None:
    """``(mask regex, example)`` when masking generated ids (:data:`GENERATED_ID_PATTERNS`)
    makes every one of *diffs* go away and the ids differ; else None."""
    if not diffs or any(d.kind not in ("text", "error") or d.expected is None or d.actual is None
                        or len(d.expected) + len(d.actual) > _ID_TEXT_LIMIT for d in diffs):
        return None
    for regex in (*GENERATED_ID_PATTERNS, "(?:" + "|".join(GENERATED_ID_PATTERNS) + ")"):
        if not any(_new_ids(regex, d.expected, d.actual) for d in diffs):
            continue
        if all(compare_text(d.kind, d.key, re.sub(regex, _MASKED, d.expected), re.sub(regex, _MASKED, d.actual),
                            options) is None for d in diffs):
            example = next(e for d in diffs for e in [_new_ids(regex, d.expected, d.actual)] if e)
            return regex, example
    return None


def _new_ids(regex: str, expected: str, actual: str) -> str:
    """The first id of *actual* that *expected* does not hold, as ``'new' now, 'old' stored``; ''."""
    before = [m.group() for m in re.finditer(regex, expected)]
    after = [m.group() for m in re.finditer(regex, actual)]
    for old, new in zip(before, after):
        if old != new and any(c.isdigit() for c in new) and any(c.isalpha() for c in new):
            return f"{new!r} now, {old!r} stored"
    return ""


def generated_id_hint(label: str, diffs: list[OutputDiff], options: CompareOptions) -> str | None:
    """The hint for a cell whose differences are generated element ids, or None."""
    found = generated_id_mask(diffs, options)
    if found is None:
        return None
    regex, example = found
    return (f"{label} shows generated ids ({example}): new ones on every run, as HTML outputs name their "
            f"elements (an animation's frames, a %matplotlib notebook figure). To stop comparing them: "
            f"--mask '{regex}' (or masks = ['{regex}'] in [tool.repro]; masks apply to every cell), "
            "or tag the cell repro-ignore-output")


def representation_hint(diffs: list[OutputDiff]) -> str | None:
    """The hint for MIME types one side of an output has and the other lacks, or None: what
    is known (which side has which type), not a guess at why."""
    stored_only = [d.key for d in diffs if d.kind == "mime" and d.actual is None]
    new_only = [d.key for d in diffs if d.kind == "mime" and d.expected is None]
    if not stored_only and not new_only:
        return None
    parts = []
    if stored_only:
        parts.append(f"{', '.join(stored_only)} only in the stored output (the output itself is there): the "
                     "recording run produced this representation and this run does not"
                     + _known_source(stored_only))
    if new_only:
        parts.append(f"{', '.join(new_only)} only in the new output (the output itself is there): this run "
                     "produces a representation the recording run did not" + _known_source(new_only))
    return "; ".join(parts) + ". --mime-subset compares only the MIME types both sides have"


def _known_source(mimes: list[str]) -> str:
    """What is known of where such MIME types come from: only Colab's own types are certain."""
    colab = [m for m in mimes if m.startswith("application/vnd.google.colaboratory.")]
    return f" ({', '.join(colab)}: Google Colab's own, made only when run in Colab)" if colab else ""


def attach_hints(stored_nb, cells, options: CompareOptions, ran_now: bool = True) -> None:
    """Set ``hint`` on each differing cell of *cells* (CellResults) that one applies to.

    *ran_now*: the new outputs come from a run just made (verify), so a clock reading in them
    must read now; ``diff`` compares two stored notebooks, run at times not known."""
    for cell in cells:
        if cell.status != CellStatus.DIFFERS or not cell.diffs:
            continue
        label = f"cell {cell.index + 1}"
        stored = stored_nb.cells[cell.index] if cell.index < len(stored_nb.cells) else None
        cell_options = options_for_cell(options, stored)
        hints = [clock_hint(label, cell.diffs, cell_options, ran_now) or generated_id_hint(label, cell.diffs,
                                                                                          cell_options),
                 representation_hint(cell.diffs)]
        cell.hint = " ".join(h for h in hints if h) or None
