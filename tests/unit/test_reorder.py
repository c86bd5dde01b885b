"""The recorded order of a notebook's cells and the fewest moves to it (no kernel)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from repro.notebook.errors import InputError
from repro.notebook.reorder import (
    RecordedOrder,
    apply_moves,
    cell_counts,
    describe,
    judge_recorded_order,
    moves_for_counts,
    order_of_counts,
    planned_order,
    record_order,
    reorder_cells,
)
from repro.notebook.report import render_json, render_junit, render_text
from repro.notebook.results import CellResult, Failure, NotebookResult
from repro.notebook.options import CompareOptions, resolve_options
from tests.builders import KERNELSPEC, executed, record_payload, run_cli, stream

EXAMPLES = int(os.environ.get("REPRO_FUZZ_EXAMPLES", "200"))


def _nb(*cells):
    """Cells given as (source, count) for code, or a str for markdown."""
    built = []
    for cell in cells:
        if isinstance(cell, str):
            built.append(new_markdown_cell(cell))
        else:
            source, count = cell
            built.append(new_code_cell(source, execution_count=count))
    return new_notebook(cells=built, metadata={"kernelspec": dict(KERNELSPEC)})


# -- the order and the moves -----------------------------------------------------------


def test_a_cell_run_early_moves_before_the_cell_it_ran_before():
    moves = moves_for_counts([1, 3, 2])
    assert [(m.cell, m.execution_count, m.before) for m in moves] == [(2, 2, 1)]
    assert order_of_counts([1, 3, 2]) == [0, 2, 1]
    assert describe(RecordedOrder("reproduced", moves))[0].startswith(
        "reproduces when run in the order it was recorded: cell 3 (In [2]) ran before cell 2 (In [3])")


def test_the_fewest_moves_move_one_cell_not_three():
    # 2 3 4 1: moving the last cell to the front is one move, not three the other way.
    assert [(m.cell, m.before) for m in moves_for_counts([2, 3, 4, 1])] == [(3, 0)]
    # 4 1 2 3: the first cell ran last; it moves after the last cell.
    (move,) = moves_for_counts([4, 1, 2, 3])
    assert (move.cell, move.before, move.after) == (0, None, 3)
    assert describe(RecordedOrder("differs", [move], first_difference=2))[0] == (
        "does not reproduce in the recorded order either (cell 1 (In [4]) ran after cell 4 (In [3])): "
        "cell 3 differs")


def test_counts_in_order_with_gaps_need_no_move():
    assert moves_for_counts([1, 2, 5, None, 9]) == []
    assert moves_for_counts([None, None]) == []
    assert moves_for_counts([]) == []


def test_cells_without_a_count_travel_with_the_next_counted_cell():
    nb = _nb("# intro", ("a = 1", 2), "## uses a", ("print(a)", None), ("b = a", 1), "# the end", ("", None))
    assert cell_counts(nb) == [None, 2, None, None, 1, None, None]
    # The markdown cell and the uncounted code cell before `b = a` move with it; the tail stays.
    assert order_of_counts(cell_counts(nb)) == [2, 3, 4, 0, 1, 5, 6]
    moved = reorder_cells(nb, order_of_counts(cell_counts(nb)))
    assert [c.source for c in moved.cells] == ["## uses a", "print(a)", "b = a", "# intro", "a = 1", "# the end", ""]
    assert [c.source for c in nb.cells][0] == "# intro"  # the notebook itself is unchanged


def test_cells_marked_skip_and_blank_cells_do_not_place_anything():
    nb = _nb(("x = 1", 5), ("# repro-skip\nstale()", 1), ("   ", 0), ("y = 2", 6))
    nb.cells[1].metadata["tags"] = ["repro-skip"]
    assert cell_counts(nb) == [5, None, None, 6]
    assert moves_for_counts(cell_counts(nb)) == []


counts_lists = st.lists(st.one_of(st.none(), st.integers(min_value=0, max_value=30)), max_size=25)


def _lis_length(keys: list) -> int:
    """Longest strictly increasing subsequence, by the quadratic recurrence (an independent check)."""
    best = [1] * len(keys)
    for i in range(len(keys)):
        for j in range(i):
            if keys[j] < keys[i]:
                best[i] = max(best[i], best[j] + 1)
    return max(best, default=0)


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(counts_lists)
def test_applying_the_moves_gives_the_recorded_order(counts):
    moves = moves_for_counts(counts)
    order = apply_moves(counts, moves)
    assert order == order_of_counts(counts)
    assert sorted(order) == list(range(len(counts)))
    placed = [(counts[p], p) for p in order if counts[p] is not None]
    assert placed == sorted(placed)


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(counts_lists)
def test_the_number_of_moves_is_the_fewest(counts):
    keys = [(c, p) for p, c in enumerate(counts) if c is not None]
    assert len(moves_for_counts(counts)) == len(keys) - _lis_length(keys)
    # No move at all exactly when the counts already read in order.
    assert (moves_for_counts(counts) == []) == (keys == sorted(keys))


# -- when verify runs once more ------------------------------------------------------------


def _result(status: str, failure: Failure | None = None) -> NotebookResult:
    return NotebookResult(path=Path("nb.ipynb"), status=status, cells=[], failure=failure)


def test_the_extra_run_is_planned_only_when_it_can_tell_something():
    out_of_order = _nb(("a", 1), ("b", 3), ("c", 2))
    in_order = _nb(("a", 1), ("b", 2), ("c", 4))
    assert planned_order(out_of_order, _result("failed", Failure("error", "NameError"))) == [0, 2, 1]
    assert planned_order(out_of_order, _result("differs")) == [0, 2, 1]
    assert planned_order(out_of_order, _result("reproduced")) is None
    assert planned_order(out_of_order, _result("unverified")) is None
    assert planned_order(out_of_order, _result("reproduced"), "always") == [0, 2, 1]
    assert planned_order(out_of_order, _result("differs"), "off") is None
    assert planned_order(in_order, _result("differs"), "always") is None
    assert planned_order(out_of_order, _result("failed", Failure("kernel", "could not start"))) is None
    assert planned_order(out_of_order, _result("failed", Failure("interrupted", "Ctrl-C"))) is None


def _stored_out_of_order():
    nb = _nb("# title", ("a = 1\nprint(a)", 1), ("print(b)", 3), ("b = 2\nprint(b)", 2))
    nb.cells[1].outputs = [stream("1\n")]
    nb.cells[2].outputs = [stream("2\n")]
    nb.cells[3].outputs = [stream("2\n")]
    return nb


def test_a_run_in_the_recorded_order_is_judged_against_the_stored_outputs_cell_by_cell():
    nb = _stored_out_of_order()
    order = order_of_counts(cell_counts(nb))
    assert order == [0, 1, 3, 2]
    run = executed(reorder_cells(nb, order), outputs={1: [stream("1\n")], 2: [stream("2\n")], 3: [stream("2\n")]})
    finding = judge_recorded_order(nb, order, run, CompareOptions())
    assert finding.reproduces and finding.first_difference is None
    assert not finding.draws_depend_on_order  # no records: nothing says a cell drew
    # A difference is named by the cell's place in the notebook as stored.
    run = executed(reorder_cells(nb, order), outputs={1: [stream("1\n")], 2: [stream("3\n")], 3: [stream("2\n")]})
    finding = judge_recorded_order(nb, order, run, CompareOptions())
    assert finding.status == "differs" and finding.first_difference == 3


def test_draws_without_per_cell_seeds_depend_on_the_order():
    nb = _stored_out_of_order()
    order = [0, 1, 3, 2]
    outputs = {1: [stream("1\n")], 2: [stream("2\n")], 3: [stream("2\n")]}
    drew = {"random": ("aa", "bb")}
    global_seed = executed(reorder_cells(nb, order), outputs, records={2: record_payload(backends=drew)})
    assert judge_recorded_order(nb, order, global_seed, CompareOptions()).draws_depend_on_order
    per_cell = executed(reorder_cells(nb, order), outputs, records={2: record_payload(seed=7, backends=drew)})
    assert not judge_recorded_order(nb, order, per_cell, CompareOptions()).draws_depend_on_order


def test_record_order_says_what_moved_or_that_nothing_did():
    nb = _stored_out_of_order()
    moved, order, line = record_order(nb)
    assert order == [0, 1, 3, 2] and [c.source for c in moved.cells][2] == "b = 2\nprint(b)"
    assert line == "cells moved into the order they were recorded: cell 4 (In [2]) ran before cell 3 (In [3])"
    same, order, line = record_order(_nb(("a", 1), ("b", 2)))
    assert order is None and line == "cells already in the order they were recorded"


# -- the reports ---------------------------------------------------------------------------


def _reported(finding: RecordedOrder | None) -> NotebookResult:
    cells = [CellResult(index=2, status="failed", execution_count=3, reason="NameError: name 'b' is not defined")]
    result = _result("failed", Failure("error", "NameError: name 'b' is not defined", 2, "NameError"))
    result.cells = cells
    result.recorded_order = finding
    return result


def test_the_finding_is_in_the_text_json_and_junit_reports():
    finding = RecordedOrder("reproduced", moves_for_counts([None, 1, 3, 2]), draws_depend_on_order=True)
    result = _reported(finding)
    text = render_text([result])
    assert "reproduces when run in the order it was recorded: cell 4 (In [2]) ran before cell 3 (In [3])" in text
    assert "its random draws depend on the order the cells run in" in text
    data = json.loads(render_json([result]))["notebooks"][0]["recorded_order"]
    assert data == {"reproduces": True, "status": "reproduced", "first_difference": None, "failure": None,
                    "moves": [{"cell": 3, "execution_count": 2, "before": 2, "after": 1}],
                    "draws_depend_on_order": True}
    assert b"reproduces when run in the order it was recorded" in render_junit([result])
    assert json.loads(render_json([_reported(None)]))["notebooks"][0]["recorded_order"] is None
    assert "recorded" not in render_text([_reported(None)])


def test_a_failed_run_in_the_recorded_order_says_where():
    finding = RecordedOrder("failed", moves_for_counts([1, 3, 2]), first_difference=0, failure="ValueError: x")
    assert describe(finding) == ["does not reproduce in the recorded order either (cell 3 (In [2]) ran before "
                                 "cell 2 (In [3])): failed at cell 1: ValueError: x"]


# -- options -------------------------------------------------------------------------------


def test_recorded_order_option_from_table_and_keyword(tmp_path):
    assert resolve_options(tmp_path).recorded_order == "auto"
    (tmp_path / "pyproject.toml").write_text('[tool.repro]\nrecorded_order = "off"\n')
    assert resolve_options(tmp_path).recorded_order == "off"
    assert resolve_options(tmp_path, recorded_order="always").recorded_order == "always"
    with pytest.raises(InputError, match="recorded_order must be"):
        resolve_options(tmp_path, recorded_order="sometimes")
    (tmp_path / "pyproject.toml").write_text("[tool.repro]\nrecorded_order = true\n")
    with pytest.raises(InputError, match=r"\[tool.repro\] recorded_order must be"):
        resolve_options(tmp_path)


def test_a_bad_recorded_order_on_the_command_line_is_one_line_and_exit_2(capsys, tmp_path):
    code, out, err = run_cli(capsys, "verify", "--recorded-order", "sometimes", str(tmp_path / "nb.ipynb"))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--recorded-order" in err
