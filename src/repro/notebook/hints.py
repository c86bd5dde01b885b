"""What a differing cell likely means, and the fix to paste: clock readings, missing renderers.

Pure functions over a cell's differences. A hint never hides a difference: the cell
still differs; the hint names what changed and how to stop comparing it, if the
user agrees that it should not be compared.

- **Clock readings**: when masking the clock-like pieces (ISO timestamps, dates in
  common forms, ``HH:MM:SS``, epoch seconds) makes every text difference of the cell
  go away, the hint gives a ready-to-paste mask (``--mask`` or ``[tool.repro] masks``)
  and the ``repro-ignore-output`` tag.
- **A representation missing**: a MIME type one side of an output has and the other
  lacks, while the output itself is there, usually means a renderer missing on one
  machine (LaTeX for SymPy's ``image/png``, say); ``--mime-subset`` compares only the
  types both sides have.
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


def _reads_a_clock(regex: str, text: str, now: float) -> bool:
    for match in re.finditer(regex, text):
        if regex != _EPOCH or _EPOCH_FLOOR <= float(match.group()) <= now + 86400:
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


def clock_mask(diffs: list[OutputDiff], options: CompareOptions, now: float | None = None) -> tuple[str, str] | None:
    """``(mask regex, example)`` when the mask, as the user would paste it, makes every one of
    *diffs* go away and what it masks reads a clock; else None."""
    regions = _regions(diffs)
    if regions is None:
        return None
    now = time.time() if now is None else now
    used = [regex for _, regex in CLOCK_PATTERNS
            if any(_reads_a_clock(regex, text, now) for _, e, a in regions for text in (e, a))]
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


def clock_hint(label: str, diffs: list[OutputDiff], options: CompareOptions) -> str | None:
    """The hint for a cell (named *label*) whose differences are clock readings, or None."""
    found = clock_mask(diffs, options)
    if found is None:
        return None
    regex, example = found
    return (f"{label} prints a clock reading ({example}): it changes on every run. To stop comparing it: "
            f"--mask '{regex}' (or masks = ['{regex}'] in [tool.repro]; masks apply to every cell), "
            "or tag the cell repro-ignore-output")


def representation_hint(diffs: list[OutputDiff]) -> str | None:
    """The hint for MIME types one side of an output has and the other lacks, or None."""
    stored_only = [d.key for d in diffs if d.kind == "mime" and d.actual is None]
    new_only = [d.key for d in diffs if d.kind == "mime" and d.expected is None]
    if not stored_only and not new_only:
        return None
    parts = []
    if stored_only:
        parts.append(f"{', '.join(stored_only)} is missing from the new output although the output is there: "
                     "likely a renderer missing here (LaTeX for SymPy's image/png, say)")
    if new_only:
        parts.append(f"{', '.join(new_only)} is new in the output: likely a renderer here that the "
                     "recording machine lacked")
    return "; ".join(parts) + ". --mime-subset compares only the MIME types both sides have"


def attach_hints(stored_nb, cells, options: CompareOptions) -> None:
    """Set ``hint`` on each differing cell of *cells* (CellResults) that one applies to."""
    for cell in cells:
        if cell.status != CellStatus.DIFFERS or not cell.diffs:
            continue
        label = f"cell {cell.index + 1}"
        stored = stored_nb.cells[cell.index] if cell.index < len(stored_nb.cells) else None
        hints = [clock_hint(label, cell.diffs, options_for_cell(options, stored)), representation_hint(cell.diffs)]
        cell.hint = " ".join(h for h in hints if h) or None
