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
from typing import Callable

from repro.notebook.compare import CompareOptions, OutputDiff
from repro.notebook.compare.ipython import options_for_cell
from repro.notebook.compare.text import compare_text

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

_EPOCH_FLOOR = 946684800  # 2000-01-01: a reading of a clock, not any ten-digit number
_MASKED = "<clock>"


def _masker(regex: str, now: float) -> Callable[[str], str]:
    compiled = re.compile(regex)
    if regex != CLOCK_PATTERNS[-1][1]:
        return lambda text: compiled.sub(_MASKED, text)

    def near_now(match: re.Match) -> str:
        return _MASKED if _EPOCH_FLOOR <= float(match.group()) <= now + 86400 else match.group()

    return lambda text: compiled.sub(near_now, text)


def _text_pairs(diffs: list[OutputDiff]) -> list[OutputDiff] | None:
    """The text differences, or None when some difference is not one between two texts."""
    pairs = [d for d in diffs if d.kind in ("text", "error") and d.expected is not None and d.actual is not None]
    return pairs if len(pairs) == len(diffs) and pairs else None


def clock_mask(diffs: list[OutputDiff], options: CompareOptions, now: float | None = None) -> tuple[str, str] | None:
    """``(mask regex, example)`` when masking clock readings makes every one of *diffs* go away."""
    pairs = _text_pairs(diffs)
    if pairs is None:
        return None
    now = time.time() if now is None else now
    used: list[str] = []
    for _, regex in CLOCK_PATTERNS:
        mask = _masker(regex, now)
        if any(mask(d.expected) != d.expected or mask(d.actual) != d.actual for d in pairs):
            used.append(regex)
    if not used:
        return None
    # The smallest mask that does it: one pattern if one suffices, else all that matched.
    candidates = [*([regex] for regex in used), used]
    for regexes in candidates:
        combined = regexes[0] if len(regexes) == 1 else "(?:" + "|".join(regexes) + ")"
        mask = _masker(combined, now) if len(regexes) == 1 else _combined_masker(regexes, now)
        if all(compare_text(d.kind, d.key, mask(d.expected), mask(d.actual), options) is None for d in pairs):
            return combined, _example(pairs[0], combined)
    return None


def _combined_masker(regexes: list[str], now: float) -> Callable[[str], str]:
    maskers = [_masker(regex, now) for regex in regexes]

    def mask(text: str) -> str:
        for one in maskers:
            text = one(text)
        return text

    return mask


def _example(diff: OutputDiff, regex: str) -> str:
    before = [m.group() for m in re.finditer(regex, diff.expected or "")]
    after = [m.group() for m in re.finditer(regex, diff.actual or "")]
    for old, new in zip(before, after):
        if old != new:
            return f"{new!r} now, {old!r} stored"
    return repr(after[0]) if after else repr(before[0]) if before else ""


def clock_hint(label: str, diffs: list[OutputDiff], options: CompareOptions) -> str | None:
    found = clock_mask(diffs, options)
    if found is None:
        return None
    regex, example = found
    return (f"{label} prints a clock reading ({example}): it changes on every run. To stop comparing it: "
            f"--mask '{regex}' (or masks = ['{regex}'] in [tool.repro]; masks apply to every cell), "
            "or tag the cell repro-ignore-output")


def representation_hint(diffs: list[OutputDiff]) -> str | None:
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
        if cell.status != "differs" or not cell.diffs:
            continue
        label = f"cell {cell.index + 1}"
        stored = stored_nb.cells[cell.index] if cell.index < len(stored_nb.cells) else None
        hints = [clock_hint(label, cell.diffs, options_for_cell(options, stored)), representation_hint(cell.diffs)]
        cell.hint = " ".join(h for h in hints if h) or None
