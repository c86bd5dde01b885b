"""False alarms repro knows about: IPython's volatile output, clock readings, missing
representations, kernelspecs that do not exist here. Pure functions, no kernel."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from repro.notebook.compare import CompareOptions, compare_outputs, options_for_cell
from repro.notebook.compare.ipython import TIMING, WRITEFILE, known_forms, normalize_known_forms
from repro.notebook.hints import clock_hint, clock_mask, representation_hint
from repro.notebook.kernels import choose_kernel, is_python_notebook
from repro.notebook.outcome import diff_result, judge_runs
from tests.builders import executed, notebook, result, stream, with_outputs

TIMED = frozenset({TIMING})

# --------------------------------------------------------------------------- which cells


@pytest.mark.parametrize("source", [
    "%timeit sum(range(10))",
    "%time x = f()",
    "   %timeit -n 10 f()",
    "import time\n%time f()\nprint(1)",
    "for i in range(3):\n    %time f(i)",
    "%%time\nx = f()",
    "  %%timeit -r 3\nf()",
    "result = %timeit -o f()",
    "%time",
])
def test_cells_with_a_timing_magic(source):
    assert TIMING in known_forms(source)


@pytest.mark.parametrize("source", [
    "print('Wall time: 1 ms')",
    "# %timeit f()",
    "x = 1\n%%time\nf()",  # %%time only counts on the first line
    "%timezone",
    "%timeitx f()",
    "s = '%timeit f()'",
    "%%timer\nf()",
])
def test_cells_without_one(source):
    assert TIMING not in known_forms(source)


def test_writefile_and_file_only_as_the_cell_magic():
    assert known_forms("%%writefile doc.cfg\n[a]") == {WRITEFILE}
    assert known_forms("%%file -a notes.txt\nmore") == {WRITEFILE}
    assert known_forms("print('x')\n%%writefile a.txt") == frozenset()
    assert known_forms(["%%writefile a.txt\n", "x"]) == {WRITEFILE}  # nbformat's list of lines


def test_options_for_cell_changes_nothing_for_an_ordinary_cell():
    options = CompareOptions(rtol=1e-3)
    assert options_for_cell(options, {"source": "print(1)"}) is options
    assert options_for_cell(options, {"source": "%timeit f()"}).known_forms == TIMED
    assert options_for_cell(options, {"source": "%timeit f()"}).rtol == 1e-3


# --------------------------------------------------------------------------- IPython's formats


@pytest.mark.parametrize("stored, new", [
    ("1.41 s \u00b1 160 ms per loop (mean \u00b1 std. dev. of 7 runs, 1 loop each)",
     "982 ms \u00b1 12.3 ms per loop (mean \u00b1 std. dev. of 7 runs, 1 loop each)"),
    ("3.2 \u00b5s \u00b1 41 ns per loop (mean \u00b1 std. dev. of 7 runs, 100,000 loops each)",
     "3.05 \u03bcs \u00b1 12.1 ns per loop (mean \u00b1 std. dev. of 7 runs, 10,000 loops each)"),
    ("3.2 us +- 41 ns per loop (mean +- std. dev. of 7 runs, 100000 loops each)",
     "1e+03 ns +- 0 ns per loop (mean +- std. dev. of 1 run, 1 loop each)"),
    ("1min 5s \u00b1 2.1 s per loop (mean \u00b1 std. dev. of 7 runs, 1 loop each)",
     "1h 2min 3s \u00b1 5s per loop (mean \u00b1 std. dev. of 7 runs, 1 loop each)"),
    ("<TimeitResult : 5.1 ms \u00b1 2 ms per loop (mean \u00b1 std. dev. of 7 runs, 100 loops each)>",
     "<TimeitResult : 4.9 ms \u00b1 1 ms per loop (mean \u00b1 std. dev. of 7 runs, 100 loops each)>"),
    ("1000 loops, best of 3: 1.2 ms per loop", "10000 loops, best of 3: 0.8 ms per loop"),  # IPython < 5
    ("CPU times: user 1.2 ms, sys: 0 ns, total: 1.2 ms\nWall time: 2.15 ms",
     "CPU times: user 3.62 s, sys: 412 \u00b5s, total: 3.62 s\nWall time: 1min 2s"),
    ("CPU times: total: 10 ms\nWall time: 11.3 ms", "CPU times: total: 5 ms\nWall time: 6 ms"),  # Windows
    ("Wall time: 1.37 s.", "Wall time: 0.52 s."),
    ("Wall time: 0 ns", "CPU times: user 3 \u00b5s, sys: 1 \u00b5s, total: 4 \u00b5s\nWall time: 6.2 \u00b5s"),  # other OS
    ("CPU times: total: 0 ns\nWall time: 0 ns", "CPU times: user 2 ms, sys: 0 ns, total: 2 ms\nWall time: 2 ms"),
])
def test_timing_outputs_compare_equal_in_a_timing_cell(stored, new):
    timed = CompareOptions(known_forms=TIMED)
    assert compare_outputs([stream(stored + "\n")], [stream(new + "\n")], timed) == []
    assert compare_outputs([result(stored)], [result(new)], timed) == []
    assert compare_outputs([stream(stored + "\n")], [stream(new + "\n")]), "without the magic it differs"


def test_lines_ipython_prints_only_sometimes_are_dropped():
    stored = ("The slowest run took 5.62 times longer than the fastest. This could mean that an "
              "intermediate result is being cached.\n3.2 \u00b5s \u00b1 41 ns per loop (mean \u00b1 std. dev. "
              "of 7 runs, 100,000 loops each)\nCompiler time: 0.12 s\n")
    new = "3.3 \u00b5s \u00b1 44 ns per loop (mean \u00b1 std. dev. of 7 runs, 100,000 loops each)\n"
    assert compare_outputs([stream(stored)], [stream(new)], CompareOptions(known_forms=TIMED)) == []
    timed = "CPU times: user 1 s, sys: 2 ms, total: 1 s\nWall time: 1 s\nCompiler : 112 ms\nParser   : 101 ms\n"
    assert normalize_known_forms(timed, TIMED) == "Wall time: <time>\n"


def test_a_timing_cell_still_compares_its_own_output():
    stored = [stream("answer 42\nWall time: 1 ms\n")]
    new = [stream("answer 43\nWall time: 2 ms\n")]
    (diff,) = compare_outputs(stored, new, CompareOptions(known_forms=TIMED))
    assert "-answer 42" in diff.diff and "+answer 43" in diff.diff
    assert "Wall time: <time>" in diff.expected


def test_the_number_of_runs_still_counts():
    a = "1 ms \u00b1 2 \u00b5s per loop (mean \u00b1 std. dev. of 7 runs, 1 loop each)"
    b = a.replace("7 runs", "not a timing line")
    assert compare_outputs([stream(a)], [stream(b)], CompareOptions(known_forms=TIMED))


def test_writefile_writing_and_overwriting_are_one_fact():
    forms = CompareOptions(known_forms=frozenset({WRITEFILE}))
    assert compare_outputs([stream("Writing doc_sanitize.cfg\n")], [stream("Overwriting doc_sanitize.cfg\n")],
                           forms) == []
    assert compare_outputs([stream("Writing a.cfg\n")], [stream("Overwriting b.cfg\n")], forms)
    assert compare_outputs([stream("Writing a.cfg\n")], [stream("Appending to a.cfg\n")], forms)
    assert compare_outputs([stream("Writing a.cfg\n")], [stream("Overwriting a.cfg\n")])


def test_verify_normalises_only_the_cells_that_use_the_magic():
    sources = ("%timeit f()", "print('1 ms \u00b1 2 \u00b5s per loop (mean \u00b1 std. dev. of 7 runs, 1 loop each)')",
               "%%writefile a.txt\nx", "print('Overwriting a.txt')")
    nb = notebook(*sources)
    line = "{} \u00b1 2 \u00b5s per loop (mean \u00b1 std. dev. of 7 runs, 1 loop each)\n"
    stored = {1: [stream(line.format("1 ms"))], 2: [stream(line.format("1 ms"))],
              3: [stream("Writing a.txt\n")], 4: [stream("Writing a.txt\n")]}
    new = {1: [stream(line.format("9 ms"))], 2: [stream(line.format("9 ms"))],
           3: [stream("Overwriting a.txt\n")], 4: [stream("Overwriting a.txt\n")]}
    res = judge_runs(Path("t.ipynb"), with_outputs(nb, stored), [executed(nb, new)], CompareOptions())
    assert {c.index: c.status for c in res.cells} == {1: "same", 2: "differs", 3: "same", 4: "differs"}
    diffed = diff_result(Path("t.ipynb"), with_outputs(nb, stored), with_outputs(nb, new), CompareOptions())
    assert {c.index: c.status for c in diffed.cells} == {1: "same", 2: "differs", 3: "same", 4: "differs"}


# --------------------------------------------------------------------------- clock readings


def _diffs(stored: str, new: str, options=CompareOptions()):
    return compare_outputs([stream(stored)], [stream(new)], options)


NOW = time.time()


@pytest.mark.parametrize("stored, new", [
    ("2026-11-22T11:18:11.279625Z\n", "2026-11-23T08:01:59.000001Z\n"),
    ("'Last executed: 2026-11-22, 11:18:58'\n", "'Last executed: 2026-11-23, 09:02:17'\n"),
    ("The time is: 11:18:38\n", "The time is: 11:19:02\n"),
    ("started 2026-11-22 11:18:11+01:00, rows: 3\n", "started 2026-11-22 11:19:13+01:00, rows: 3\n"),
    ("Sun Nov 22 11:18:11 2026\n", "Mon Nov 23 09:00:00 2026\n"),
    ("today is 22/11/2026\n", "today is 23/11/2026\n"),
    ("Nov 22, 2026\n", "Nov 23, 2026\n"),
    ("22 November 2026\n", "23 November 2026\n"),
    (f"t = {NOW - 86400:.3f}\n", f"t = {NOW:.3f}\n"),
])
def test_a_clock_reading_gets_a_mask_that_makes_it_pass(stored, new):
    diffs = _diffs(stored, new)
    assert diffs
    found = clock_mask(diffs, CompareOptions(), now=NOW)
    assert found is not None, (stored, new)
    regex, example = found
    # The mask as the user would paste it: with it, the cell is the same.
    assert _diffs(stored, new, CompareOptions(masks=((regex, "<masked>"),))) == []
    assert "'" not in regex  # pastes into '...' in a shell and in TOML


@pytest.mark.parametrize("stored, new", [
    ("2026-11-22T11:18:11Z accuracy 0.91\n", "2026-11-23T11:18:11Z accuracy 0.93\n"),  # more than the clock
    ("accuracy 0.91\n", "accuracy 0.93\n"),
    ("id 9999999998\n", "id 9999999999\n"),  # ten digits, but no clock of this century
    ("v1.2.3\n", "v1.2.4\n"),
])
def test_other_differences_get_no_clock_hint(stored, new):
    assert clock_mask(_diffs(stored, new), CompareOptions(), now=NOW) is None


def test_the_clock_hint_names_the_cell_the_reading_the_mask_and_the_tag():
    hint = clock_hint("cell 3", _diffs("The time is: 11:18:38\n", "The time is: 11:19:02\n"), CompareOptions())
    assert hint.startswith("cell 3 prints a clock reading ('11:19:02' now, '11:18:38' stored)")
    assert "--mask '\\d{1,2}:\\d{2}:\\d{2}(?:[.,]\\d+)?'" in hint
    assert "masks = ['\\d{1,2}:\\d{2}:\\d{2}(?:[.,]\\d+)?'] in [tool.repro]" in hint
    assert "repro-ignore-output" in hint


def test_a_clock_reading_stays_a_difference_with_a_hint_in_the_result():
    nb = notebook("import datetime\nprint(datetime.datetime.now())", "print(1)")
    stored = with_outputs(nb, {1: [stream("2026-11-22 11:18:11.279625\n")], 2: [stream("1\n")]})
    run = executed(nb, {1: [stream("2026-11-23 08:00:00.000001\n")], 2: [stream("1\n")]})
    res = judge_runs(Path("c.ipynb"), stored, [run], CompareOptions())
    cell = next(c for c in res.cells if c.index == 1)
    assert res.status == "differs" and cell.status == "differs"
    assert cell.hint and cell.hint.startswith("cell 2 prints a clock reading")
    assert next(c for c in res.cells if c.index == 2).hint is None


# --------------------------------------------------------------------------- representations

def rich(data: dict) -> dict:
    return {"output_type": "execute_result", "data": data, "metadata": {}, "execution_count": 1}


PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def test_a_missing_representation_is_a_difference_with_a_hint():
    stored = [rich({"text/plain": "x**2", "image/png": PNG})]
    new = [rich({"text/plain": "x**2"})]
    diffs = compare_outputs(stored, new)
    assert [(d.kind, d.key, d.actual) for d in diffs] == [("mime", "image/png", None)]
    hint = representation_hint(diffs)
    assert "image/png is missing from the new output" in hint and "renderer missing here" in hint
    assert "--mime-subset" in hint
    assert "new in the output" in representation_hint(compare_outputs(new, stored))


def test_mime_subset_compares_only_the_types_both_sides_have():
    subset = CompareOptions(mime_subset=True)
    stored = [rich({"text/plain": "x**2", "image/png": PNG, "text/latex": "$x^2$"})]
    assert compare_outputs(stored, [rich({"text/plain": "x**2"})], subset) == []
    assert compare_outputs([rich({"text/plain": "x**2"})], stored, subset) == []
    # What both have is still compared.
    assert compare_outputs(stored, [rich({"text/plain": "x**3"})], subset)
    # Nothing in common: nothing can vouch for the output, so it differs.
    assert compare_outputs([rich({"image/png": PNG})], [rich({"text/plain": "x"})], subset)
    # A whole output missing is still missing.
    assert compare_outputs(stored, [], subset)


# --------------------------------------------------------------------------- kernels

INSTALLED = {"python3", "ir"}.__contains__


def _meta(name=None, language=None, info=None):
    meta = {}
    if name is not None or language is not None:
        meta["kernelspec"] = {k: v for k, v in (("name", name), ("language", language)) if v is not None}
    if info is not None:
        meta["language_info"] = {"name": info}
    return meta


@pytest.mark.parametrize("meta", [
    _meta("conda-env-tqdm-py", "python"),
    _meta("Python [Root]"),
    _meta("python2", "Python"),
    _meta("myenv", info="python"),
    _meta("py3-venv", "PYTHON"),
])
def test_a_missing_python_kernel_falls_back_to_python3_with_a_note(meta):
    choice = choose_kernel(meta, INSTALLED)
    assert choice.name == "python3" and choice.missing is None
    assert choice.note.startswith(f"the notebook's kernel {meta['kernelspec']['name']!r} is not installed here")
    assert "\n" not in choice.note


def test_an_installed_kernel_or_none_named_needs_no_note():
    assert choose_kernel(_meta("ir", "R"), INSTALLED).note is None
    assert choose_kernel({}, INSTALLED).name == "python3"
    assert choose_kernel({"kernelspec": "not a dict"}, INSTALLED).name == "python3"


@pytest.mark.parametrize("meta", [_meta("julia-0.4", "julia"), _meta("ir2", info="R"), _meta("xeus-cling")])
def test_a_missing_kernel_of_another_language_fails_in_one_line(meta):
    choice = choose_kernel(meta, INSTALLED)
    assert choice.note is None and choice.missing and "\n" not in choice.missing
    assert f"kernel {meta['kernelspec']['name']!r}" in choice.missing and "--kernel" in choice.missing


def test_language_wins_over_the_kernel_name():
    assert not is_python_notebook(_meta("python-like-r", "R"), "python-like-r")
    assert is_python_notebook(_meta("x"), "x") is False


def test_a_huge_difference_is_not_searched_for_clocks():
    stored = "".join(f"row {i} at 11:18:{i % 60:02d}\n" for i in range(5000))
    new = "".join(f"row {i} at 11:19:{i % 60:02d}\n" for i in range(5000))
    assert clock_mask(_diffs(stored, new), CompareOptions(), now=NOW) is None
    short_stored, short_new = stored[:200], new[:200]
    assert clock_mask(_diffs(short_stored, short_new), CompareOptions(), now=NOW) is not None
