"""Settings from ``[tool.repro]`` in the nearest ``pyproject.toml``.

Recognised keys (all optional)::

    [tool.repro]
    rtol = 1e-6
    atol = 0.0
    image_tolerance = 0        # 0-255 per channel
    masks = ['\\d{4}-\\d{2}-\\d{2}', ['took \\d+ ms', 'took N ms']]   # regex, or [regex, replacement]
    sanitize = ["nbval.cfg"]   # nbval sanitize files, relative to pyproject.toml
    timeout = 600              # per cell, seconds
    kernel = "python3"
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

KEYS = {"rtol", "atol", "image_tolerance", "masks", "sanitize", "timeout", "kernel"}


class ConfigError(Exception):
    """A setting that cannot be used; the message is one line."""


def find_pyproject(start: Path) -> Path | None:
    for directory in (start.resolve(), *start.resolve().parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_config(start: Path) -> tuple[dict[str, Any], Path | None]:
    """The ``[tool.repro]`` table of the nearest pyproject.toml (and its path), or ({}, None)."""
    path = find_pyproject(start)
    if path is None:
        return {}, None
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read [tool.repro]: {exc}") from None
    table = data.get("tool", {}).get("repro", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.repro] must be a table")
    unknown = sorted(set(table) - KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) in [tool.repro]: {', '.join(unknown)}")
    return table, path


def masks_from_config(value: Any, source: Path | None) -> list[tuple[str, str]]:
    masks = []
    for item in value or []:
        if isinstance(item, str):
            masks.append((item, "<masked>"))
        elif isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item):
            masks.append((item[0], item[1]))
        else:
            raise ConfigError(f"{source}: [tool.repro] masks must be regexes or [regex, replacement] pairs")
    return masks
