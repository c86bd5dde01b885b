"""What output comparison takes and gives: its options and one difference."""

from __future__ import annotations

import re
from dataclasses import dataclass


def check_mask(regex: str, replacement: str) -> None:
    """Raise ValueError (one line) unless *regex* compiles and *replacement* fits it."""
    try:
        re.compile(regex).sub(replacement, "")  # also checks the replacement's group references
    except re.error as exc:
        raise ValueError(f"invalid mask {regex!r} -> {replacement!r}: {exc}") from None


@dataclass(frozen=True)
class CompareOptions:
    rtol: float = 0.0  # relative tolerance for numbers inside text
    atol: float = 0.0  # absolute tolerance
    masks: tuple[tuple[str, str], ...] = ()  # extra (regex, replacement) pairs, applied after the built-in ones
    image_tolerance: float = 0.0  # max per-channel difference (0-255) for a pixel to count as equal
    normalize: bool = True  # the safe built-in normalisation (off only for debugging)
    mime_subset: bool = False  # compare only the MIME types both sides of an output have
    progress: bool = True  # progress bars' timing as placeholders, tqdm widgets by final text (compare.progress)
    known_forms: frozenset = frozenset()  # IPython's volatile forms the cell may print (compare.ipython)

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
            check_mask(regex, replacement)
        object.__setattr__(self, "masks", masks)
        object.__setattr__(self, "known_forms", frozenset(self.known_forms))


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
