"""``%%repeat``: runs under many seeds, the summary, the stored results, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from IPython.core.error import UsageError

from repro.kernel.repeat import (
    MAX_RUNS, RepeatSummary, column_stats, parse_seeds, summarize, t_quantile_975, value_columns,
)

BODY = "import numpy as np\nx = np.random.rand(4)\n{'mean': float(x.mean()), 'max': float(x.max())}"


def _stats_by_hand(values, seeds):
    v = np.array(values)
    n = len(v)
    half = {5: 2.7764451051977987, 3: 4.302652729911275}[n] * v.std(ddof=1) / math.sqrt(n)
    return {
        "n": n, "mean": v.mean(), "std": v.std(ddof=1), "median": float(np.median(v)), "min": v.min(),
        "max": v.max(), "ci": (v.mean() - half, v.mean() + half),
        "seed_of_min": seeds[int(np.argmin(v))], "seed_of_max": seeds[int(np.argmax(v))],
    }


def _summary(shell):
    table = shell.ip.user_ns["_repeat"]
    return table, summarize(table, len(table["seed"]))


def test_summary_numbers_match_numpy(shell):
    shell.out("%seed 3")
    out = shell.out("%%repeat 5\n" + BODY)
    table, summary = _summary(shell)
    assert list(table) == ["seed", "mean", "max"] and len(table["seed"]) == 5
    for column in summary.columns:
        expected = _stats_by_hand(table[column.name], table["seed"])
        assert column.n == expected["n"]
        for key in ("mean", "std", "median", "min", "max"):
            assert getattr(column, key) == pytest.approx(expected[key], rel=1e-12)
        assert (column.ci_low, column.ci_high) == pytest.approx(expected["ci"], rel=1e-9)
        assert (column.seed_of_min, column.seed_of_max) == (expected["seed_of_min"], expected["seed_of_max"])
    assert "%%repeat: 5 runs" in out and "Student t" in out
    assert f"{summary.columns[0].mean:.6g}" in out


def test_each_run_is_the_body_seeded_as_a_cell_of_its_own(shell):
    """The seed of the best or worst run re-runs it alone: `%seed SEED`, then the body as a cell."""
    shell.out("%seed 3")
    shell.out("%%repeat 3\n" + BODY)
    table, summary = _summary(shell)
    best = summary.columns[0].seed_of_min
    shell.out(f"%seed {best}")
    shell.ip.run_cell(BODY, store_history=True)
    assert shell.ip.user_ns["_"]["mean"] == min(table["mean"])


def test_the_same_cell_twice_gives_the_same_summary_and_seeds_follow_the_session_seed(shell):
    shell.out("%seed 3")
    first = shell.out("%%repeat 5\n" + BODY)
    seeds = shell.ip.user_ns["_repeat"]["seed"]
    assert shell.out("%%repeat 5\n" + BODY) == first
    assert shell.out("%%repeat 3\n" + BODY) and shell.ip.user_ns["_repeat"]["seed"] == seeds[:3]
    shell.out("%seed 4")
    assert shell.out("%%repeat 5\n" + BODY) != first
    assert shell.repro.state.base == 4


def test_columns_of_numbers_dicts_tuples_and_named_tuples():
    from collections import namedtuple

    Point = namedtuple("Point", "loss acc")
    assert value_columns(1) == {"value": 1.0}
    assert value_columns(np.float32(0.5)) == {"value": 0.5}
    assert value_columns(np.array(2.0)) == {"value": 2.0}
    assert value_columns((1, 2.5)) == {"0": 1.0, "1": 2.5}
    assert value_columns(Point(0.1, 0.9)) == {"loss": 0.1, "acc": 0.9}
    assert value_columns({"a": 1, "b": np.int64(2)}) == {"a": 1.0, "b": 2.0}
    for bad in ("x", None, True, [1, 2], float("nan"), (), {}, {1: 2}, {"seed": 1}, (1, "x")):
        with pytest.raises(ValueError):
            value_columns(bad)


def test_named_tuple_columns_in_the_shell(shell):
    shell.out("from collections import namedtuple\nScore = namedtuple('Score', 'loss acc')")
    out = shell.out("%%repeat --seeds 0:4 --name scores\nimport random\nScore(random.random(), 1 - random.random())")
    assert list(shell.ip.user_ns["scores"]) == ["seed", "loss", "acc"]
    assert shell.ip.user_ns["scores"]["seed"] == [0, 1, 2, 3]
    assert "loss" in out and "acc" in out


def test_a_bad_value_is_a_one_line_error_after_the_first_run(shell):
    shell.out("runs = []")
    result, _, _ = shell.run("%%repeat 30\nruns.append(1)\n'not a number'")
    assert isinstance(result.error_in_exec, UsageError)
    assert "run 1" in str(result.error_in_exec) and "\n" not in str(result.error_in_exec)
    assert shell.ip.user_ns["runs"] == [1]


def _final_displays(shell, monkeypatch, source: str):
    """What a notebook shows of the cell's displays once it ends: each display id's last content."""
    from IPython.utils.capture import capture_output

    monkeypatch.setattr(shell.ip, "kernel", object(), raising=False)  # progress as in a kernel
    with capture_output() as captured:
        result = shell.ip.run_cell(source, store_history=True)
    final: dict[object, dict] = {}
    for n, output in enumerate(captured.outputs):
        key = (output.transient or {}).get("display_id", n)
        if output.update or key not in final:
            final[key] = output.data
    return result, list(final.values())


@pytest.mark.parametrize("body, run", [("'not a number'", 1), ("i = next(count)\n{'a': 1.0} if i == 0 else {'b': 2.0}", 2)])
def test_a_bad_value_leaves_a_line_saying_which_run_not_an_empty_display(shell, monkeypatch, body, run):
    shell.out("count = iter(range(10))")
    result, shown = _final_displays(shell, monkeypatch, f"%%repeat 5\n{body}")
    assert isinstance(result.error_in_exec, UsageError)
    assert shown and all(data.get("text/plain", "").strip() for data in shown)
    assert shown[-1]["text/plain"].startswith(f"%%repeat: run {run} of 5 (seed ")
    assert shown[-1]["text/plain"].endswith(") failed")


def test_changed_columns_are_an_error_at_that_run(shell):
    shell.out("count = iter(range(10))")
    result, _, _ = shell.run("%%repeat 5\ni = next(count)\n{'a': 1.0} if i == 0 else {'b': 2.0}")
    assert isinstance(result.error_in_exec, UsageError) and "run 2" in str(result.error_in_exec)


@pytest.mark.parametrize("line, message", [
    ("%%repeat 0", "1 <= N"),
    ("%%repeat abc", "whole number"),
    ("%%repeat", "number of runs"),
    ("%%repeat 3 --seeds 1,2", "disagree"),
    ("%%repeat 3 --parallel 2", "unrecognized arguments: --parallel 2"),
    ("%%repeat 3 --name 1x", "variable name"),
    ("%%repeat 3 --seeds '1", "cannot read"),
])
def test_bad_arguments_are_one_line_usage_errors_before_any_run(shell, line, message):
    shell.out("ran = 0")
    result, _, _ = shell.run(f"{line}\nran += 1\nran")
    assert isinstance(result.error_in_exec, UsageError), result.error_in_exec
    assert message in str(result.error_in_exec) and "\n" not in str(result.error_in_exec)
    assert shell.ip.user_ns["ran"] == 0


def test_a_body_without_a_final_expression_is_a_usage_error(shell):
    result, _, _ = shell.run("%%repeat 3\nx = 1")
    assert isinstance(result.error_in_exec, UsageError) and "ends with an expression" in str(result.error_in_exec)


def test_listed_seeds_and_ranges(shell):
    shell.out("%%repeat --seeds 1,5,9\nimport random\nrandom.random()")
    assert shell.ip.user_ns["_repeat"]["seed"] == [1, 5, 9]
    shell.out("%%repeat 3 --seeds 10:13 --quiet\nimport random\nrandom.random()")
    assert shell.ip.user_ns["_repeat"]["seed"] == [10, 11, 12]


def test_an_exception_in_a_run_propagates_after_restoring_the_seeding_state(shell):
    shell.out("%seed 7")
    state = shell.repro.state
    shell.out("n = 0")
    before = (state.base, state.mode)
    result, out, _ = shell.run("%%repeat 5\nn += 1\nif n == 3:\n    raise RuntimeError('boom')\nn")
    assert isinstance(result.error_in_exec, RuntimeError)
    assert "run 3 of 5" in out
    assert (state.base, state.mode) == before
    # The next cell is seeded as always: the same numbers as in a fresh run of it.
    first = shell.out("import random\nprint(random.random())")
    assert shell.out("import random\nprint(random.random())") == first


def test_the_results_convert_to_a_dataframe(shell):
    pd = pytest.importorskip("pandas")
    shell.out("%%repeat 4\nimport random\n{'a': random.random(), 'b': random.random()}")
    frame = pd.DataFrame(shell.ip.user_ns["_repeat"])
    assert list(frame.columns) == ["seed", "a", "b"] and len(frame) == 4


def test_the_rich_display_is_escaped_html_and_aligned_text():
    table = {"seed": [1, 2, 3], "<b>x</b>": [1.0, 2.0, 4.0], "y": [0.5, 0.25, 0.125]}
    summary = summarize(table, 3)
    page = summary._repr_html_()
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page and "<table>" in page
    lines = repr(summary).splitlines()
    assert lines[0] == "%%repeat: 3 runs"
    header, row = lines[1], lines[2]
    assert header.index("mean") + len("mean") == row.index("2.33333") + len("2.33333")  # right-aligned
    partial = RepeatSummary(summary.columns, 3, 10)
    assert "partial, 3 of 10 runs" in repr(partial)


def test_one_run_has_no_spread():
    stats = column_stats("v", [2.0], [5])
    assert (stats.std, stats.ci_low, stats.ci_high, stats.median) == (None, None, None, 2.0)
    assert "-" in repr(summarize({"seed": [5], "v": [2.0]}, 1))


def test_t_quantiles():
    assert t_quantile_975(1) == pytest.approx(12.706204736)
    assert t_quantile_975(4) == pytest.approx(2.7764451051977987, rel=1e-9)
    for df, t in ((31, 2.0395134464), (40, 2.0210753903), (60, 2.0002978220), (120, 1.9799304051),
                  (10_000, 1.9602012399)):
        assert t_quantile_975(df) == pytest.approx(t, abs=1e-7)
    scipy_stats = pytest.importorskip("scipy.stats")
    for df in range(1, 400):
        assert t_quantile_975(df) == pytest.approx(float(scipy_stats.t.ppf(0.975, df)), abs=1e-7)


def test_the_progress_is_one_display_that_becomes_the_summary(shell, monkeypatch):
    """In a kernel the progress line is a display updated in place; at the end it is the summary."""
    import IPython.display

    shown = []

    class Handle:
        def update(self, obj, **kwargs):
            shown.append(("update", obj))

    def display(obj, display_id=False, **kwargs):
        shown.append(("display", obj))
        return Handle() if display_id else None

    monkeypatch.setattr(IPython.display, "display", display)
    monkeypatch.setattr(shell.ip, "kernel", object(), raising=False)
    shell.out("%%repeat 3\n1.0")
    assert [kind for kind, _ in shown] == ["display", "update", "update", "update"]
    assert [repr(obj) for _, obj in shown[:3]] == [f"%%repeat: run {i} of 3 (seed {s})" for i, s in
                                                    enumerate(shell.ip.user_ns["_repeat"]["seed"], 1)]
    assert isinstance(shown[-1][1], RepeatSummary)
    shown.clear()
    shell.out("%%repeat 3 --quiet\n1.0")
    assert [kind for kind, _ in shown] == ["display"] and isinstance(shown[0][1], RepeatSummary)


def test_ctrl_c_shows_the_partial_summary_and_stops(shell):
    shell.out("n = 0")
    result, out, _ = shell.run("%%repeat 5\nn += 1\nif n == 3:\n    raise KeyboardInterrupt\nfloat(n)")
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    assert "partial, 2 of 5 runs" in out
    assert shell.ip.user_ns["_repeat"]["value"] == [1.0, 2.0]


_SEED_TEXT = st.one_of(
    st.text(alphabet="0123456789,: -x", max_size=30),
    st.builds(lambda a, b: f"{a}:{b}", st.integers(-5, 2**33), st.integers(-5, 2**33)),
    st.lists(st.integers(0, 2**33), max_size=6).map(lambda xs: ",".join(map(str, xs))),
    st.text(max_size=20),
)


@settings(max_examples=300, deadline=None)
@given(_SEED_TEXT)
def test_seeds_parse_to_a_valid_list_or_a_one_line_usage_error(text):
    try:
        seeds = parse_seeds(text)
    except UsageError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert 1 <= len(seeds) <= MAX_RUNS
    assert all(type(s) is int and 0 <= s < 2**32 for s in seeds)
    assert len(set(seeds)) == len(seeds)


def test_in_a_terminal_the_progress_is_a_carriage_return_line_on_stderr_erased_at_the_end(shell, monkeypatch):
    import io
    import sys

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    out = shell.out("%%repeat --seeds 1,2\n1.0")
    written = terminal.getvalue()
    assert written.startswith("\r%%repeat: run 1 of 2 (seed 1)") and "run 2 of 2 (seed 2)" in written
    assert written.endswith("\r") and written.rsplit("\r", 2)[-2].strip() == ""
    assert "%%repeat: 2 runs" in out and "run 1 of 2" not in out
    terminal.truncate(0)
    shell.out("%%repeat --seeds 1,2 --quiet\n1.0")
    assert terminal.getvalue() == ""


def test_task_seeds_start_afresh_in_each_run_as_in_a_cell_of_its_own(shell):
    shell.out("%seed 5")
    body = "from repro.kernel.extension import active\nactive().tasks.next_seed()"
    shell.out("%%repeat 2 --quiet\n" + body)
    table = shell.ip.user_ns["_repeat"]
    assert table["value"][0] != table["value"][1]
    shell.out(f"%seed {table['seed'][1]}")
    shell.ip.run_cell(body, store_history=True)
    assert shell.ip.user_ns["_"] == table["value"][1]


@pytest.mark.parametrize("outer", ["%seed 7", "%seed 7 --once", "%seed --off"])
def test_a_seed_in_the_body_lasts_as_long_as_the_repeat(shell, outer):
    import random

    original = random.Random
    shell.out(outer)
    before = shell.out("%seed")
    cell = "import random\nprint(random.random(), random.Random().random())"
    shell.out("%%repeat 2 --quiet\n%seed 99\nimport random\nrandom.random()")
    assert shell.out("%seed") == before
    assert (random.Random is original) == (outer != "%seed 7")  # the patches as the mode wants them
    if outer == "%seed 7":  # the next cell is seeded as in a session without the repeat
        first = shell.out(cell)
        shell.out("%seed 7")
        assert shell.out(cell) == first
