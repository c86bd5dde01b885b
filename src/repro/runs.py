"""What one execution of a notebook produced: data shared by execution, comparison and reports.

Kept apart from :mod:`repro.execute` so that comparing and reporting never import nbclient.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: PYTHONHASHSEED used when the notebook's metadata records none.
DEFAULT_HASH_SEED = "0"


@dataclass
class Failure:
    """Why a notebook did not run to the end, and where."""

    kind: str  # "error" | "timeout" | "dead-kernel" | "interrupted" | "kernel"
    message: str
    cell_index: int | None = None
    ename: str | None = None
    evalue: str | None = None


@dataclass
class NotebookRun:
    """The outcome of executing one notebook."""

    notebook: Any  # the executed copy (nbformat NotebookNode)
    executed: set[int] = field(default_factory=set)  # indices of the code cells that ran
    records: dict[int, dict] = field(default_factory=dict)  # cell index -> repro payload
    failure: Failure | None = None
    kernel_name: str = ""
    hash_seed: str = DEFAULT_HASH_SEED
    duration: float = 0.0
    records_available: bool = False  # repro was importable in the kernel
    original_tags: dict[int, list | None] = field(default_factory=dict)  # tags before repro added its own
    environment: dict | None = None  # captured in the kernel after the last cell (repro.environment)
