"""Rendering verification results: terminal text, JSON (versioned schema) and JUnit XML.

JSON schema, version 1::

    {
      "version": 1,
      "notebooks": [
        {
          "path": "analysis.ipynb",
          "status": "reproduced" | "differs" | "failed" | "unverified",   # unverified: no cell compared
          "duration": 3.2,                  # seconds, null for diff
          "code_cells": 19,                 # code cells in the notebook
          "compared": 12,                   # code cells whose outputs were compared
          "failure": null | {"kind": "error" | "timeout" | "dead-kernel" | "interrupted" | "kernel",
                             "message": "...", "cell": INDEX, "ename": ..., "evalue": ...},
          "first_difference": INDEX | null, # first cell that differs or failed
          "runs": 2,                        # executions compared (verify --runs)
          "rng_divergence": null | {"cell": INDEX, "backend": "numpy", "against": "stored" | "runs"},
          "state_divergence": null | {"cell": INDEX, "names": ["weights", "grads"],   # first cell after which
                                      "against": "stored" | "runs"},   # a variable's digest differs
          "notes": ["cell 5 was edited since its outputs were recorded", ...],   # how it ran, stale outputs
          "environment_changes": [{"key": "packages.numpy", "recorded": "1.26.4", "current": "2.4.6"}],
          "side_effects": null | {          # files the runs created or changed under the notebook's folder
            "created": ["out.csv", "data/cache.npz"],   # relative, "/"-separated, sorted
            "changed": ["doc_sanitize.cfg"],
            "isolated": false               # true: in a scratch copy (--isolate), the folder is untouched
          },                                # null: not tracked (diff, or over 10,000 entries)
          "recorded_order": null | {        # verify ran it once more in the order its stored counts record
            "reproduces": true, "status": "reproduced" | "differs" | "failed" | "unverified",
            "moves": [{"cell": INDEX, "execution_count": 4, "before": INDEX | null, "after": INDEX | null}],
            "first_difference": INDEX | null, "failure": null | "...", "draws_depend_on_order": false
          },
          "report": ["DIFFERS analysis.ipynb: 1 cell differs, 3.2 s", ...],   # the text report's lines
          "cells": [
            {
              "index": 4,                   # position in the notebook's cells, from 0, markdown included
              "status": "same" | "differs" | "skipped" | "failed",
              "execution_count": 3,         # stored In [n], or null
              "reason": null | "...",       # why skipped or failed
              "cause": null | "nondeterministic" | "hash-order" | "drift",   # with --runs
              "hint": null | "...",         # a differing cell: what it likely means and the fix to paste
                                            # (a clock reading and its mask, a renderer missing here)
              "downstream_of": null | INDEX,   # a differing cell that likely follows from an earlier one
              "diffs": [{"kind": ..., "key": ..., "expected": ..., "actual": ..., "diff": ..., "image": ...,
                         "index": POSITION | null}],  # among the cell's non-stream outputs
              "cell_id": "a1b2c3" | null,   # the cell's nbformat id (nbformat 4.5+)
              "report": ["cell 5 (In [3]): first difference", "  stdout:", "  @@ -1 +1 @@", "  -b", "  +B"]
                                            # the text report's lines on this cell, uncoloured, control
                                            # characters escaped; [] for a cell that is the same or skipped
            }
          ]
        }
      ]
    }

Only code cells are listed. In the terminal, cells are numbered from 1 as a
person counts them in the notebook, with the stored ``In [n]``. Keys added to
version 1 since it first shipped: ``hint``, ``downstream_of``, ``cell_id`` and
``report`` on cells; ``side_effects``, ``state_divergence``, ``code_cells``,
``compared``, ``recorded_order`` and ``report`` on notebooks; the ``unverified`` status.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Iterable

from repro.notebook import reorder
from repro.notebook.results import Against, Cause, CellResult, CellStatus, NotebookResult, NotebookStatus, SkipReason
from repro.notebook.terminal import Style, diff_lines, printable, printable_line

JSON_SCHEMA_VERSION = 1


def cell_label(cell: CellResult) -> str:
    count = "" if cell.execution_count is None else f" (In [{cell.execution_count}])"
    return f"cell {cell.index + 1}{count}"


#: How the report names why cells were not compared.
_NOT_COMPARED = {SkipReason.NEVER_EXECUTED: "without stored outputs", SkipReason.MARKED_SKIP: "marked skip",
                 SkipReason.OUTPUT_IGNORED: "output ignored", SkipReason.EMPTY: "empty"}


def _not_compared(result: NotebookResult) -> str:
    """Why the cells that were not compared were not: "7 without stored outputs, 2 marked skip"."""
    counts: dict[str, int] = {}
    for cell in result.cells:
        if cell.status == CellStatus.SKIPPED:
            why = _NOT_COMPARED.get(cell.reason or "", "not run")
            counts[why] = counts.get(why, 0) + 1
    return ", ".join(f"{n} {why}" for why, n in counts.items())


def _unverified(result: NotebookResult) -> str:
    total = len(result.cells)
    if total == 0:
        return "unverified: the notebook has no code cells, nothing was compared"
    if any(c.reason == SkipReason.NEVER_EXECUTED for c in result.cells):
        return (f"unverified: 0 of {total} code cells had stored outputs, nothing was compared "
                f"({_not_compared(result)}); run `repro-nb record` first")
    return f"unverified: 0 of {total} code cells compared ({_not_compared(result)})"


def summary(result: NotebookResult) -> str:
    """The notebook's verdict in one line, after its path."""
    code_cells = len(result.cells)
    timing = f", {result.duration:.1f} s" if result.duration is not None else ""
    if result.status == NotebookStatus.UNVERIFIED:
        return _unverified(result) + (f" ({result.duration:.1f} s)" if result.duration is not None else "")
    if result.status == NotebookStatus.REPRODUCED:
        compared = result.compared
        if compared < sum(c.reason != SkipReason.EMPTY for c in result.cells):
            return f"reproduced ({compared} of {code_cells} code cells compared: {_not_compared(result)}{timing})"
        return f"reproduced ({code_cells} code cells{timing})"
    if result.status == NotebookStatus.FAILED and result.failure is not None:
        where = ""
        if result.failure.cell_index is not None:
            where = " at " + cell_label(next((c for c in result.cells if c.index == result.failure.cell_index),
                                              CellResult(result.failure.cell_index, CellStatus.FAILED)))
        return f"failed{where}: {result.failure.message}"
    n = len(result.differing)
    text = f"{n} cell{'s' if n != 1 else ''} differ{'s' if n == 1 else ''}"
    by_cause: dict[Cause, list[int]] = {}
    for cell in result.differing:
        if cell.cause:
            by_cause.setdefault(cell.cause, []).append(cell.index + 1)
    if by_cause:
        parts = []
        for cause, numbers in by_cause.items():
            cells = ", ".join(map(str, numbers))
            parts.append(f"{len(numbers)} {cause} (cell{'s' if len(numbers) > 1 else ''} {cells})")
        text += ": " + ", ".join(parts)
    runs = f", {result.runs} runs" if result.runs > 1 else ""
    return f"{text}{runs}{timing}"


_MARKS = {NotebookStatus.REPRODUCED: ("ok", "green"), NotebookStatus.DIFFERS: ("DIFFERS", "red"),
          NotebookStatus.FAILED: ("FAILED", "red"), NotebookStatus.UNVERIFIED: ("UNVERIFIED", "yellow")}


def render_text(results: Iterable[NotebookResult], colour: bool = False) -> str:
    """The terminal report: one line per notebook, then each differing cell with its diff."""
    style = Style(colour)
    lines: list[str] = []
    for result in results:
        mark, tint = _MARKS[result.status]
        lines.append(f"{style(mark, tint, 'bold')} {printable_line(result.path)}: {printable(summary(result))}")
        for cell in result.cells:
            if cell.status == CellStatus.FAILED and result.failure is not None:
                continue  # already said on the notebook's line
            lines.extend("  " + line for line in cell_lines(result, cell, style))
        lines.extend("  " + printable(line) for line in explanation(result))
    return "\n".join(lines)


def cell_lines(result: NotebookResult, cell: CellResult, style: Style = Style(False)) -> list[str]:
    """What the report says about one cell, unindented: nothing for a cell that is the same or
    skipped; a differing or failed cell's label, cause and place, its diffs and its hint."""
    if cell.status not in (CellStatus.DIFFERS, CellStatus.FAILED):
        return []
    cause = f" [{cell.cause}]" if cell.cause else ""
    first = result.first_difference
    note = _position_note(result, cell, first)
    if note:
        note = ": " + style(note, "yellow" if cell.index == first else "dim")
    lines = [f"{style(cell_label(cell), 'bold')}{cause}{note}"]
    for diff in cell.diffs:
        lines.extend("  " + line for line in diff_lines(diff, style))
    if cell.hint:
        lines.append(f"  {style('hint:', 'cyan')} {printable(cell.hint)}")
    return lines


def _json_cell_lines(result: NotebookResult, cell: CellResult) -> list[str]:
    """:func:`cell_lines` uncoloured; for the cell the notebook failed at, the notebook's verdict."""
    if cell.status == CellStatus.FAILED and result.failure is not None:
        return [printable(summary(result))]
    return cell_lines(result, cell)


def _position_note(result: NotebookResult, cell: CellResult, first: int | None) -> str:
    """"first difference", "downstream of cell N" when there is a reason to think so, else nothing."""
    if cell.index == first:
        return "first difference"
    if cell.downstream_of is None:
        return ""
    after = [(d.cell, what) for d, what in ((result.rng_divergence, "random stream"),
                                             (result.state_divergence, "variables")) if d is not None]
    after = [(c, what) for c, what in after if c < cell.index]
    if result.records and after:
        where, what = min(after)
        return f"downstream of cell {cell.downstream_of + 1} (it ran after the {what} diverged at cell {where + 1})"
    return f"possibly downstream of cell {cell.downstream_of + 1}"  # no per-cell records to tell


def explanation(result: NotebookResult) -> list[str]:
    """What repro can say about why: RNG divergence, numerical drift, stale outputs, environment."""
    lines = []
    divergence = result.rng_divergence
    if divergence is not None:
        against = "the recorded run" if divergence.against == Against.STORED else "another run"
        lines.append(f"first RNG divergence: {divergence.backend} after cell {divergence.cell + 1} "
                     f"(its random state differs from {against} from there on)")
    if result.state_divergence is not None:
        lines.append(state_line(result))
    drift = [c for c in result.differing if c.cause == Cause.DRIFT]
    if drift and result.records:
        first_drift = drift[0].index
        if divergence is None or divergence.cell > first_drift:
            changed = "; see what changed below" if result.environment_changes else ""
            lines.append(f"drift at cell {first_drift + 1} with the same random draws: the stored output is not "
                         "what this code produces here (edited by hand, stale, or made in another environment: "
                         f"library versions, BLAS, threads, hardware{changed})")
        else:
            lines.append(f"drift: the random stream changed upstream, at cell {divergence.cell + 1}")
    lines.extend(f"note: {note}" for note in result.notes)
    lines.extend(reorder.describe(result.recorded_order, result.status))
    lines.extend(side_effect_lines(result))
    if result.environment_changes:
        lines.append("environment changed since recording:")
        for key, before, after in result.environment_changes[:20]:
            lines.append(f"  {key}: {before if before is not None else '-'} -> {after if after is not None else '-'}")
        if len(result.environment_changes) > 20:
            lines.append(f"  ... {len(result.environment_changes) - 20} more")
    return lines


def state_line(result: NotebookResult) -> str:
    """Where the variables first diverged, what the random draws say about why, and where
    the outputs first differ."""
    state, rng = result.state_divergence, result.rng_divergence
    cell = next((c for c in result.cells if c.index == state.cell), CellResult(state.cell, CellStatus.SAME))
    names = _names(list(state.names))
    line = f"first state divergence: {cell_label(cell)}: {names} differ{'s' if len(state.names) == 1 else ''}"
    line += " from the recorded run" if state.against == Against.STORED else " between runs"
    if rng is not None and rng.cell < state.cell:
        line += f"; the random stream diverged first, at cell {rng.cell + 1} ({rng.backend})"
    elif rng is not None and rng.cell == state.cell:
        line += f"; its random draws differ there too ({rng.backend})"
    elif result.records:
        line += ("; random draws identical up to there: something else in that cell differs "
                 "(numerics: ops, BLAS, threads, hardware; or what it read: the environment, the clock, files)")
    first = result.first_difference
    if first is not None:
        line += f"; outputs first differ at cell {first + 1}"
    return line


_MAX_NAMES = 10  # file names listed per kind in the text report (JSON has them all)


def _names(names: list[str]) -> str:
    shown = ", ".join(printable_line(name) for name in names[:_MAX_NAMES])
    return shown + (f" and {len(names) - _MAX_NAMES} more" if len(names) > _MAX_NAMES else "")


def side_effect_lines(result: NotebookResult) -> list[str]:
    """The files the runs created or changed in the notebook's folder, if any."""
    effects = result.side_effects
    if effects is None or not (effects.created or effects.changed):
        return []
    parts = [f"created {_names(effects.created)}"] if effects.created else []
    parts += [f"changed {_names(effects.changed)}"] if effects.changed else []
    where = "in its scratch copy of the folder" if effects.isolated else "in the notebook's folder"
    line = f"files written {where}: {'; '.join(parts)}"
    if result.status != NotebookStatus.REPRODUCED and not effects.isolated:
        line += " (a later run finds them there; --isolate runs each in a scratch copy)"
    return [line]


def to_json_data(results: Iterable[NotebookResult]) -> dict:
    notebooks = []
    for result in results:
        failure = None
        if result.failure is not None:
            f = result.failure
            failure = {"kind": f.kind, "message": f.message, "cell": f.cell_index, "ename": f.ename, "evalue": f.evalue}
        notebooks.append(
            {
                "path": str(result.path),
                "status": result.status,
                "duration": None if result.duration is None else round(result.duration, 3),
                "code_cells": len(result.cells),
                "compared": result.compared,
                "failure": failure,
                "first_difference": result.first_difference,
                "runs": result.runs,
                "rng_divergence": None if result.rng_divergence is None else {
                    "cell": result.rng_divergence.cell,
                    "backend": result.rng_divergence.backend,
                    "against": result.rng_divergence.against,
                },
                "state_divergence": None if result.state_divergence is None else {
                    "cell": result.state_divergence.cell,
                    "names": list(result.state_divergence.names),
                    "against": result.state_divergence.against,
                },
                "notes": result.notes,
                "environment_changes": [
                    {"key": key, "recorded": before, "current": after}
                    for key, before, after in result.environment_changes
                ],
                "side_effects": None if result.side_effects is None else asdict(result.side_effects),
                "recorded_order": reorder.to_json(result.recorded_order),
                "report": render_text([result]).splitlines(),
                "cells": [
                    {
                        "index": c.index,
                        "status": c.status,
                        "execution_count": c.execution_count,
                        "reason": c.reason,
                        "cause": c.cause,
                        "hint": c.hint,
                        "downstream_of": c.downstream_of,
                        "diffs": [asdict(d) for d in c.diffs],
                        "cell_id": c.cell_id,
                        "report": _json_cell_lines(result, c),
                    }
                    for c in result.cells
                ],
            }
        )
    return {"version": JSON_SCHEMA_VERSION, "notebooks": notebooks}


def render_json(results: Iterable[NotebookResult]) -> str:
    return json.dumps(to_json_data(results), indent=2)



def render_junit(results: list[NotebookResult], name: str = "repro-nb", allow_unverified: bool = False) -> bytes:
    """JUnit XML: one test case per notebook; a failure carries the plain-text report.

    An unverified notebook (nothing compared) is a failure, or skipped with *allow_unverified*.
    """
    import xml.etree.ElementTree as ET

    def tag_of(result: NotebookResult) -> str | None:
        if result.status == NotebookStatus.UNVERIFIED:
            return "skipped" if allow_unverified else "failure"
        return {NotebookStatus.REPRODUCED: None, NotebookStatus.DIFFERS: "failure"}.get(result.status, "error")

    tags = [tag_of(r) for r in results]
    suite = ET.Element(
        "testsuite",
        name=name,
        tests=str(len(results)),
        failures=str(tags.count("failure")),
        errors=str(tags.count("error")),
        skipped=str(tags.count("skipped")),
        time=f"{sum(r.duration or 0 for r in results):.3f}",
    )
    for result, tag in zip(results, tags):
        case = ET.SubElement(suite, "testcase", classname=name, name=printable_line(result.path),
                             time=f"{result.duration or 0:.3f}")
        if tag is not None:
            element = ET.SubElement(case, tag, message=printable(summary(result)))
            element.text = render_text([result], colour=False)
        elif result.notes or side_effect_lines(result) or result.compared < len(result.cells) \
                or result.recorded_order is not None:
            ET.SubElement(case, "system-out").text = render_text([result], colour=False)
    ET.indent(suite)
    return ET.tostring(suite, encoding="utf-8", xml_declaration=True) + b"\n"
