"""Cell markers: repro's and nbval's tags and comments."""

from __future__ import annotations

import pytest

from repro.notebook.markers import cell_markers, may_raise


def cell(source="", tags=None):
    c = {"cell_type": "code", "source": source, "metadata": {}, "outputs": []}
    if tags is not None:
        c["metadata"]["tags"] = tags
    return c


@pytest.mark.parametrize(
    "tags, markers",
    [
        (["repro-skip"], {"skip"}),
        (["repro-ignore-output"], {"ignore-output"}),
        (["raises-exception"], {"raises-exception"}),
        (["nbval-skip"], {"skip"}),
        (["nbval-ignore-output"], {"ignore-output"}),
        (["nbval-raises-exception"], {"raises-exception"}),
        (["nbval-check-output"], set()),  # repro compares every cell: nothing to say
        (["unrelated", "repro-skip", "nbval-ignore-output"], {"skip", "ignore-output"}),
        ([], set()),
    ],
)
def test_markers_from_tags(tags, markers):
    assert cell_markers(cell("x = 1", tags)) == frozenset(markers)


@pytest.mark.parametrize(
    "source, markers",
    [
        ("# NBVAL_SKIP\nx = 1", {"skip"}),
        ("# NBVAL_IGNORE_OUTPUT\nx", {"ignore-output"}),
        ("   #  nbval_raises_exception\n1/0", {"raises-exception"}),
        ("x = 1\n\n# NBVAL_CHECK_OUTPUT\n", set()),
        (["import os\n", "# Nbval_Skip\n"], {"skip"}),
        ("x = 1  # NBVAL_SKIP", set()),  # a trailing comment is not a marker (as in nbval)
        ("# NBVAL_SKIPPED", set()),
        ("print('# NBVAL_SKIP')", set()),
        ("x = 1  # a comment\nNBVAL_SKIP", set()),  # not a comment
    ],
)
def test_markers_from_nbval_comments(source, markers):
    assert cell_markers(cell(source)) == frozenset(markers)


def test_markers_of_a_cell_without_metadata():
    assert cell_markers({"cell_type": "code", "source": "# NBVAL_SKIP"}) == {"skip"}


def test_a_cell_whose_stored_outputs_hold_an_error_may_raise():
    assert may_raise(cell("1/0", ["raises-exception"]))
    stored = cell("1/0")
    stored["outputs"] = [{"output_type": "error", "ename": "ZeroDivisionError", "evalue": "", "traceback": []}]
    assert may_raise(stored)
    assert not may_raise(cell("1/0"))
