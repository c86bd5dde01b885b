"""How a differing cell's differences are shown in the terminal report.

- One legend per notebook says which side of a diff is which: ``-`` the stored output and
  ``+`` this run's (verify), or ``-`` the first notebook and ``+`` the second (diff).
- An output that differs both as ``text/plain`` and as ``text/html`` (a pandas DataFrame
  shows as both) is shown once, as text, with one line saying its HTML differs too. JSON
  keeps both differences.
"""

from __future__ import annotations

from typing import Callable

from repro.notebook.results import CellResult, CellStatus, NotebookResult
from repro.notebook.terminal import printable

Style = Callable[..., str]  # style(text, *colour names) -> text (report._Style)

_TEXT_SIDE = "text/plain"  # shown when an output also differs as HTML


def _shows_lines(result: NotebookResult) -> bool:
    return any(d.diff and d.kind != "image" for c in result.cells if c.status == CellStatus.DIFFERS for d in c.diffs)


def legend(result: NotebookResult) -> list[str]:
    """The line that says which side of the diffs below is which, when there are line diffs."""
    if not _shows_lines(result):
        return []
    old, new = result.sides
    return [f"(diff lines: - {old}, + {new})"]


def _twins(cell: CellResult) -> set[int]:
    """The output positions whose text/plain and text/html both differ."""
    by_key: dict[str, set] = {}
    for diff in cell.diffs:
        if diff.kind == "text" and diff.index is not None:
            by_key.setdefault(diff.key, set()).add(diff.index)
    return by_key.get(_TEXT_SIDE, set()) & by_key.get("text/html", set())


def cell_diff_lines(cell: CellResult, style: Style, sides: tuple[str, str] = ("stored", "new")) -> list[str]:
    """The differences of one cell, each once."""
    twins = _twins(cell)
    lines = []
    for diff in cell.diffs:
        if diff.key == "text/html" and diff.index in twins:
            lines.append("text/html: differs as well (the same output as HTML)")
            continue
        lines.extend(render_diff(diff, style, sides))
    return lines


def render_diff(diff, style: Style, sides: tuple[str, str] = ("stored", "new")) -> list[str]:
    key = printable(diff.key)
    old, new = sides
    if diff.kind == "image" and diff.image:
        info = diff.image
        ew, eh = info.get("expected_size", ("?", "?"))
        aw, ah = info.get("actual_size", ("?", "?"))
        if [ew, eh] != [aw, ah]:
            return [f"{key}: size {ew}x{eh} -> {aw}x{ah}"]
        return [f"{key}: {ew}x{eh}, {info.get('differing_fraction', 0) * 100:.2f}% of pixels differ"]
    if diff.kind == "image" and not diff.diff:  # not compared as pixels: say what each side is
        width = max(len(old), len(new))
        return [f"{key}: {old:<{width}} {printable(diff.expected or '-')}",
                f"{' ' * len(key)}  {new:<{width}} {printable(diff.actual or '-')}"]
    if diff.kind in ("missing", "extra", "mime") and not diff.diff:
        side = f"only in the {old} outputs" if diff.actual is None else f"only in the {new} outputs"
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
