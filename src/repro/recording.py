"""What ``repro-nb record`` stores: per-cell records and the run's metadata.

Cell metadata ``repro`` holds the cell's record (the version-1 payload of
:mod:`repro.record`, without its ``source`` key). Notebook metadata ``repro``::

    {"version": 1, "repro_version": "0.1.0", "hash_seed": "0", "kernel": "python3",
     "environment": {...}}     # repro.environment.capture_environment(), when repro ran in the kernel

``hash_seed`` is the PYTHONHASHSEED the notebook was recorded under; verify
starts its kernels with the same value.
"""

from __future__ import annotations

from repro import __version__
from repro.runs import NotebookRun

METADATA_VERSION = 1


def apply_records(run: NotebookRun):
    """The executed notebook of *run*, with its records and run metadata attached."""
    nb = run.notebook
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        cell.metadata.pop("repro", None)
        payload = run.records.get(index)
        if payload is not None:
            cell.metadata["repro"] = {k: v for k, v in payload.items() if k != "source"}
        if index in run.original_tags:  # execute_notebook tags its working copy: undo that
            original = run.original_tags[index]
            if original is None:
                cell.metadata.pop("tags", None)
            else:
                cell.metadata["tags"] = original
    nb.metadata["repro"] = {
        "version": METADATA_VERSION,
        "repro_version": __version__,
        "hash_seed": run.hash_seed,
        "kernel": run.kernel_name,
    }
    if run.environment is not None:
        nb.metadata["repro"]["environment"] = run.environment
    return nb
