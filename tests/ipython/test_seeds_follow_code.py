"""A cell's random numbers follow its code: comments, blank lines and observing magics leave them as they are."""

from __future__ import annotations

import json


def _last_record(shell):
    return json.loads(shell.out("%repro log --json"))[-1]  # the cell before the log cell


def test_a_comment_and_time_keep_the_numbers_and_a_code_change_does_not(shell):
    shell.out("%seed 42")
    plain = shell.out("print(np.random.rand())")
    digest = _last_record(shell)["source_digest"]
    assert shell.out("# note\nprint(np.random.rand())") == plain
    assert shell.out("print( np.random.rand() )   # spaced\n\n") == plain
    timed = shell.out("%%time\nprint(np.random.rand())")
    assert timed.splitlines()[0] == plain.strip()  # %%time prints its timings after the cell's output
    assert _last_record(shell)["source_digest"] == digest
    changed = shell.out("print(np.random.rand(2))")
    assert changed.strip().strip("[]").split()[0] != plain.strip()
    assert _last_record(shell)["source_digest"] != digest


def test_capture_keeps_the_numbers(shell):
    shell.out("%seed 7")
    plain = shell.out("print(random.random(), np.random.rand())")
    shell.out("%%capture captured\nprint(random.random(), np.random.rand())")
    assert shell.out("print(captured.stdout, end='')") == plain


def test_timeit_and_other_cell_magics_get_their_own_seed(shell):
    shell.out("%seed 7")
    shell.out("x = np.random.rand()")
    plain = _last_record(shell)["seed"]
    shell.out("%%timeit -n 1 -r 1\nx = np.random.rand()")
    assert _last_record(shell)["seed"] != plain


def test_a_line_magic_counts_by_its_text(shell):
    shell.out("%seed 7")
    first = shell.out("%time x = 1\nprint(np.random.rand())").splitlines()[-1]
    assert shell.out("%time x = 1  \n# note\nprint(np.random.rand())").splitlines()[-1] == first
    assert shell.out("%time x = 2\nprint(np.random.rand())").splitlines()[-1] != first
