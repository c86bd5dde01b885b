"""Notebooks and command lines for tests, shared by every test folder.

``from tests.builders import write_notebook, run_cli`` in any test module.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def notebook(*sources: str, markdown_first: bool = True, **metadata) -> nbformat.NotebookNode:
    """A notebook of code cells with these sources, after a markdown cell unless *markdown_first* is False."""
    cells = [new_markdown_cell("# fixture")] if markdown_first else []
    cells += [new_code_cell(s) for s in sources]
    return new_notebook(cells=cells, metadata={"kernelspec": dict(KERNELSPEC), **metadata})


def write_notebook(path: Path, *sources: str, markdown_first: bool = True, **metadata) -> Path:
    """:func:`notebook`, written to *path*; returns *path*."""
    nbformat.write(notebook(*sources, markdown_first=markdown_first, **metadata), path)
    return path


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """``repro-nb ARGV`` in this process: (exit code, stdout, stderr)."""
    from repro.cli import main

    capsys.readouterr()
    code = main([*argv])
    out, err = capsys.readouterr()
    return code, out, err


def verify_json(capsys, *argv: str) -> tuple[int, dict]:
    """``repro-nb verify --format json ARGV``: (exit code, the parsed report)."""
    code, out, err = run_cli(capsys, "verify", "--format", "json", *argv)
    assert out, err
    return code, json.loads(out)


# --------------------------------------------------------------------------- synthetic runs, for unit tests
# Stand-ins for what a kernel produces, so that comparing, diagnosing and reporting
# can be tested without one.


def stream(text: str, name: str = "stdout") -> dict:
    """A stream output dict."""
    return {"output_type": "stream", "name": name, "text": text}


def result(text: str, count: int | None = 1) -> dict:
    """An execute_result output dict with a text/plain value."""
    return {"output_type": "execute_result", "data": {"text/plain": text}, "metadata": {}, "execution_count": count}


def with_outputs(nb, outputs: dict | None = None, counts: dict | None = None):
    """A deep copy of *nb* as Jupyter saves it after running: code cells with a
    non-blank source get execution counts 1, 2, ... in order, and the outputs in
    *outputs* (cell index -> list of output dicts; other code cells get none).

    *counts* (cell index -> count or None) overrides the counts of some cells; a cell
    with count None and no outputs is one the user never ran.
    """
    import copy

    nb = copy.deepcopy(nb)
    outputs = outputs or {}
    counts = counts or {}
    count = 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.source.strip():
            count += 1
            cell.execution_count = count
        else:
            cell.execution_count = None
        if index in counts:
            cell.execution_count = counts[index]
        cell.outputs = [nbformat.from_dict(o) for o in outputs.get(index, [])]
    return nb


def executed(nb, outputs: dict | None = None, records: dict | None = None, failure=None,
             executed_cells: set | None = None, environment: dict | None = None, hash_seed: str = "0",
             kernel_name: str = "python3", duration: float = 1.0):
    """A :class:`~repro.notebook.results.NotebookRun` of *nb* as the executor makes it.

    The executed copy has *outputs* (see :func:`with_outputs`); every code cell with a
    non-blank source counts as executed (nbclient runs no blank cell) except those
    marked skip and those after *failure*'s cell, unless *executed_cells* says which did. *records*: cell index -> payload (:func:`record_payload`).
    """
    from repro.notebook.markers import cell_markers
    from repro.notebook.results import NotebookRun

    work = with_outputs(nb, outputs)
    if executed_cells is None:
        stop = failure.cell_index if failure is not None else None
        executed_cells = {
            i for i, c in enumerate(work.cells)
            if c.cell_type == "code" and c.source.strip() and "skip" not in cell_markers(c)
            and (stop is None or i <= stop)
        }
    return NotebookRun(
        notebook=work,
        executed=set(executed_cells),
        records=dict(records or {}),
        failure=failure,
        kernel_name=kernel_name,
        hash_seed=hash_seed,
        duration=duration,
        records_available=records is not None,
        environment=environment,
    )


def record_payload(seed: int | None = None, backends: dict | None = None, source: str = "",
                   execution_count: int | None = None, cell_id: str | None = None,
                   seed_mode: str | None = None, error: bool = False, state: dict | None = None) -> dict:
    """A version-1 record payload as the kernel sends it, built with ``repro.payload.make_payload``.

    *backends*: name -> (digest before, digest after); *source*: the cell source it digests;
    *state*: variable -> digest, as a traced kernel sends it.
    """
    from repro.payload import make_payload
    from repro.seeding import source_digest

    backends = backends or {}
    return make_payload(
        execution_count=execution_count,
        cell_id=cell_id,
        source_digest=source_digest(source),
        seed=seed,
        seed_mode=seed_mode if seed_mode is not None else ("off" if seed is None else "per-cell"),
        error=error,
        before={name: states[0] for name, states in backends.items()},
        after={name: states[1] for name, states in backends.items()},
        state=state,
    )


def stored_record(payload: dict) -> dict:
    """*payload* as ``repro-nb record`` keeps it in cell metadata: without its ``source`` key."""
    return {k: v for k, v in payload.items() if k != "source"}
