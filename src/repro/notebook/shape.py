"""The shape of a notebook that the rest of the notebook side relies on, checked once.

nbformat's schema is not enforced when repro-nb reads a notebook (a notebook a
little off-schema is still verified and written back as it is), but every field
that comparison, diagnosis and reporting read must have the type they expect.
:func:`notebook_shape_problem` says, in one line, what does not.
"""

from __future__ import annotations

import re
from typing import Any

CELL_TYPES = ("code", "markdown", "raw")
OUTPUT_TYPES = ("stream", "display_data", "execute_result", "error")


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_str_or_lines(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, list) and all(isinstance(line, str) for line in value))


def notebook_shape_problem(nb: Any, joined: bool = True) -> str | None:
    """What is wrong with the shape of *nb* (an nbformat 4 notebook), or None.

    *joined*: texts are strings, as after nbformat's reading; else, as stored in the
    file, a text may also be a list of strings.
    """
    is_text = _is_str if joined else _is_str_or_lines
    minor = nb.get("nbformat_minor")
    if isinstance(minor, bool) or not isinstance(minor, int) or minor < 0:  # nbformat cannot write it back
        return "nbformat_minor must be a whole number"
    if "metadata" not in nb:  # nbformat cannot write it back
        return "metadata is missing"
    metadata = nb["metadata"]
    if not isinstance(metadata, dict):
        return "metadata must be an object"
    for key in ("kernelspec", "repro", "language_info"):
        if key in metadata and not isinstance(metadata[key], dict):
            return f"metadata.{key} must be an object"
    kernelspec = metadata.get("kernelspec", {})
    if "name" in kernelspec and not isinstance(kernelspec["name"], str):
        return "metadata.kernelspec.name must be a string"
    repro = metadata.get("repro", {})
    if "hash_seed" in repro and not _is_hash_seed(repro["hash_seed"]):
        return f"metadata.repro.hash_seed must be a whole number from 0 to 4294967295, not {repro['hash_seed']!r:.40}"
    if "environment" in repro and not isinstance(repro["environment"], dict):
        return "metadata.repro.environment must be an object"
    for index, cell in enumerate(nb.get("cells", [])):
        problem = _cell_problem(cell, is_text)
        if problem:
            return f"cell {index + 1}: {problem}"
    return None


def _is_hash_seed(value: Any) -> bool:
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    return text.isascii() and text.isdigit() and int(text) < 2**32


def _cell_problem(cell: Any, is_text) -> str | None:
    if not isinstance(cell, dict):
        return "must be an object"
    if cell.get("cell_type") not in CELL_TYPES:
        return f"cell_type must be one of {', '.join(CELL_TYPES)}"
    if not is_text(cell.get("source")):
        return "source must be text"
    if "metadata" not in cell:
        return "metadata is missing"
    metadata = cell["metadata"]
    if not isinstance(metadata, dict):
        return "metadata must be an object"
    tags = metadata.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        return "metadata.tags must be a list of strings"
    if "repro" in metadata and not isinstance(metadata["repro"], dict):
        return "metadata.repro must be an object"
    if "id" in cell and not isinstance(cell["id"], str):
        return "id must be a string"
    attachments = cell.get("attachments", {})
    if not isinstance(attachments, dict) or not all(isinstance(a, dict) for a in attachments.values()):
        return "attachments must be an object of objects"
    if cell["cell_type"] != "code":
        return None
    count = cell.get("execution_count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
        return "execution_count must be a whole number or null"
    if "outputs" not in cell:  # an empty list where there are none: nbformat cannot write it back
        return "outputs is missing"
    outputs = cell["outputs"]
    if not isinstance(outputs, list):
        return "outputs must be a list"
    for position, output in enumerate(outputs):
        problem = _output_problem(output, is_text)
        if problem:
            return f"output {position + 1}: {problem}"
    return None


def _output_problem(output: Any, is_text) -> str | None:
    if not isinstance(output, dict):
        return "must be an object"
    kind = output.get("output_type")
    if kind not in OUTPUT_TYPES:  # anything else is no output nbformat 4 knows, and would
        # be reported as missing from the new outputs although it is stored
        return f"output_type must be one of {', '.join(OUTPUT_TYPES)}, not {_quoted(kind)}"
    if kind == "stream":
        if "text" not in output:  # nbformat cannot write it back
            return "text is missing"
        if not is_text(output["text"]):
            return "text must be text"
        if not isinstance(output.get("name", "stdout"), str):
            return "name must be a string"
    elif kind == "error":
        if not isinstance(output.get("ename", ""), str) or not is_text(output.get("evalue", "")):
            return "ename and evalue must be text"
        traceback = output.get("traceback", [])
        if not isinstance(traceback, list) or not all(isinstance(line, str) for line in traceback):
            return "traceback must be a list of strings"
    else:
        if not isinstance(output.get("data", {}), dict):
            return "data must be an object"
        if not isinstance(output.get("metadata", {}), dict):
            return "metadata must be an object"
    return None


def _quoted(value: Any) -> str:
    return f"{value!r:.40}" if isinstance(value, str) else f"a {type(value).__name__}"


_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate_problem(nb: Any) -> str | None:
    """Where *nb* holds a lone surrogate, in one line, or None.

    JSON can carry half of a UTF-16 pair (``"\\ud800"``), but no kernel message and no
    UTF-8 file can: a cell's source would fail at sending, as if the kernel had stopped
    answering, and an output or metadata value would fail writing the notebook back.
    Every string and key is looked at (a valid pair is one character once parsed).
    """
    stack: list[tuple[tuple, Any]] = [((), nb)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str):
            found = None if value.isascii() else _SURROGATE.search(value)
            if found:
                return f"{_place(where)} holds a lone surrogate {_escaped(found)}, which no kernel or file can carry"
        elif isinstance(value, dict):
            for key in value:
                found = None if not isinstance(key, str) or key.isascii() else _SURROGATE.search(key)
                if found:
                    return (f"a key in {_place(where) or 'the notebook'} holds a lone surrogate "
                            f"{_escaped(found)}, which no file can carry")
            stack.extend(((*where, key), item) for key, item in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend(((*where, i), item) for i, item in reversed(list(enumerate(value))))
    return None


def _escaped(found: re.Match) -> str:
    return f"\\u{ord(found.group()):04x} (half of a UTF-16 pair)"


def _place(where: tuple) -> str:
    """("cells", 2, "outputs", 0, "data", "text/plain", 3) as "cell 3: output 1: data.text/plain"."""
    parts, fields = [], []
    rest = list(where)
    while rest:
        key = rest.pop(0)
        if key in ("cells", "outputs") and not fields and rest and isinstance(rest[0], int):
            parts.append(f"{key[:-1]} {rest.pop(0) + 1}")  # "cell 3", "output 1": counted from 1
        elif isinstance(key, str):
            fields.append(key)
    return ": ".join([*parts, ".".join(fields)] if fields else parts)
