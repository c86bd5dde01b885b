"""IPython's own volatile output, known by the cell that prints it.

A timing magic prints different times on every run, and ``%%writefile`` says
``Writing FILE`` the first time and ``Overwriting FILE`` after: facts of IPython,
not differences. They are normalised only in cells whose source uses the magic
(:func:`known_forms`), so the same text printed by an ordinary ``print`` elsewhere
is still compared.

- ``timing`` (a line starting with ``%time`` or ``%timeit``, or a first line ``%%time``
  or ``%%timeit``): the times in ``Wall time: ...`` become ``<time>``, and the
  ``CPU times: ...`` line is dropped (IPython prints it where the OS tells the CPU time:
  ``user, sys, total`` on Unix, ``total`` on Windows, none elsewhere, so a ``Wall time``
  alone recorded on one machine is another's two lines); a ``%timeit`` result line (``1.41 s ± 160 ms per loop (mean ± std. dev. of
  7 runs, 1 loop each)``, also inside ``<TimeitResult : ...>``, and IPython 4's
  ``1000 loops, best of 3: 1.2 ms per loop``) becomes ``<timeit result>``; the lines
  IPython prints only sometimes (``The slowest run took ...``, ``Compiler time: ...``,
  ``Compiler : ...``, ``Parser   : ...``) are dropped.
- ``writefile`` (a first line ``%%writefile`` or ``%%file``): ``Overwriting FILE`` reads
  as ``Writing FILE``.
"""

from __future__ import annotations

import dataclasses
import re

from repro.notebook.compare.model import CompareOptions
from repro.notebook.compare.model import join_text as _join

TIMING = "timing"
WRITEFILE = "writefile"

_LINE_TIMING_RE = re.compile(r"^[ \t]*(?:[A-Za-z_]\w*[ \t]*=[ \t]*)?%(?:time|timeit)(?:[ \t]|$)", re.M)
_CELL_TIMING_RE = re.compile(r"[ \t]*%%(?:time|timeit)(?:[ \t]|$)")
_CELL_WRITEFILE_RE = re.compile(r"[ \t]*%%(?:writefile|file)(?:[ \t]|$)")

# One of IPython's _format_time results: "1.41 s", "160 ms", "5.2 µs" (micro sign or Greek mu,
# "us" without Unicode), "0 ns", "1e+03 ns"; a minute or more as "1min 5s", "2h 3min", "1d 2h".
_TIME = (r"(?:\d+(?:\.\d+)?(?:e[-+]?\d+)?[ \t]?(?:ns|us|\u00b5s|\u03bcs|ms|s)\b\.?"
         r"|\d+(?:d|h|min|s)(?:[ \t]\d+(?:h|min|s))*\b)")
_TIME_RE = re.compile(_TIME)
_PM = r"(?:\u00b1|\+-)"
_TIMEIT_RE = re.compile(
    rf"^(?:<TimeitResult : )?{_TIME} {_PM} {_TIME} per loop \(mean {_PM} std\. dev\. of [\d,]+ runs?, "
    rf"[\d,]+ loops? each\)>?$"
    rf"|^[\d,]+ loops?, best of \d+: {_TIME} per loop$"
)
_TIMED_LINE = "Wall time:"
# Lines printed on some machines or runs only.
_OCCASIONAL_LINES = ("The slowest run took ", "Compiler time:", "Compiler :", "Parser   :", "CPU times:")
_WRITEFILE_RE = re.compile(r"^Overwriting (?=\S)", re.M)


def known_forms(source) -> frozenset[str]:
    """Which of IPython's volatile forms the cell with this source may print."""
    text = _join(source)
    if "%" not in text:
        return frozenset()
    forms = set()
    first = text.split("\n", 1)[0]
    if _CELL_TIMING_RE.match(first) or _LINE_TIMING_RE.search(text):
        forms.add(TIMING)
    if _CELL_WRITEFILE_RE.match(first):
        forms.add(WRITEFILE)
    return frozenset(forms)


def options_for_cell(options: CompareOptions, cell) -> CompareOptions:
    """*options* with the forms that *cell*'s source may print (the same options when none)."""
    forms = known_forms((cell or {}).get("source", ""))
    if forms == options.known_forms:
        return options
    return dataclasses.replace(options, known_forms=forms)


def normalize_known_forms(text: str, forms: frozenset[str]) -> str:
    """*text* with the given forms normalised (see the module docstring)."""
    if WRITEFILE in forms and "Overwriting " in text:
        text = _WRITEFILE_RE.sub("Writing ", text)
    if TIMING in forms:
        text = "\n".join(_timing_lines(text.split("\n")))
    return text


def _timing_lines(lines: list[str]):
    for line in lines:
        bare = line.strip()
        if bare.startswith(_OCCASIONAL_LINES):
            continue
        if bare.startswith(_TIMED_LINE):
            yield _TIME_RE.sub("<time>", line)
        elif " per loop" in bare and _TIMEIT_RE.match(bare):
            yield line[: len(line) - len(line.lstrip())] + "<timeit result>"
        else:
            yield line
