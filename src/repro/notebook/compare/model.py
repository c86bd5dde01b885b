"""What output comparison takes and gives: its options (from :mod:`repro.notebook.options`) and one difference."""

from __future__ import annotations

from dataclasses import dataclass

from repro.notebook.options import CompareOptions

__all__ = ["CompareOptions", "OutputDiff", "join_text"]  # CompareOptions lives with the other options


@dataclass(frozen=True)
class OutputDiff:
    kind: str  # "text" | "image" | "missing" | "extra" | "error" | "mime"
    key: str  # what differs: "stdout", "stderr", a MIME type, "error", "display_data[1]"
    expected: str | None  # normalised expected text (or a short description for images)
    actual: str | None
    diff: str  # compact unified diff of the normalised texts ('' for images)
    image: dict | None = None  # {"expected_size": [w, h], "actual_size": [w, h], "differing_fraction": f, ...}
    index: int | None = None  # for rich outputs and errors: position among the cell's non-stream outputs


def join_text(value) -> str:
    """nbformat text, stored as a string or a list of lines, as one string."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return "".join(str(v) for v in value)
    return "" if value is None else str(value)
