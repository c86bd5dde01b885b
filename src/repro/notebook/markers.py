"""Cell markers: tags and nbval comments that say how a cell is run and compared."""

from __future__ import annotations

from repro.notebook.compare.model import join_text as _join

#: What a marker can say: not executed, executed but not compared, expected to raise.
MARKERS = frozenset({"skip", "ignore-output", "raises-exception"})

_TAG_MARKERS = {
    "repro-skip": "skip",
    "repro-ignore-output": "ignore-output",
    "repro-raises-exception": "raises-exception",
    "raises-exception": "raises-exception",
    "nbval-skip": "skip",
    "nbval-ignore-output": "ignore-output",
    "nbval-raises-exception": "raises-exception",
}
_COMMENT_MARKERS = {
    "NBVAL_SKIP": "skip",
    "NBVAL_IGNORE_OUTPUT": "ignore-output",
    "PYTEST_VALIDATE_IGNORE_OUTPUT": "ignore-output",  # nbval's old spelling
    "NBVAL_RAISES_EXCEPTION": "raises-exception",
}
# nbval's "check output" markers (NBVAL_CHECK_OUTPUT, nbval-check-output) ask nbval's
# lax mode to compare a cell; repro compares every cell, so they change nothing.


def cell_markers(cell: dict) -> frozenset[str]:
    """The cell's markers, a subset of :data:`MARKERS`, from its tags and nbval comment markers.

    Tags: ``repro-skip``, ``repro-ignore-output``, ``raises-exception``, and nbval's
    ``nbval-skip``, ``nbval-ignore-output``, ``nbval-raises-exception``. Comments
    anywhere in the source, alone on their line: ``# NBVAL_SKIP``,
    ``# NBVAL_IGNORE_OUTPUT``, ``# NBVAL_RAISES_EXCEPTION`` (any case, any indentation).
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


def stored_error(cell: dict) -> bool:
    """Whether the cell's stored outputs hold an error: it is expected to raise it again."""
    return any(isinstance(o, dict) and o.get("output_type") == "error" for o in cell.get("outputs") or ())


def may_raise(cell: dict) -> bool:
    """Whether the notebook goes on when this cell raises."""
    return "raises-exception" in cell_markers(cell) or stored_error(cell)
