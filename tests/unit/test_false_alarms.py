"""False alarms repro knows about: IPython's volatile output, clock readings, missing
representations, kernelspecs that do not exist here. Pure functions, no kernel."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from repro.notebook.compare import CompareOptions, compare_outputs, options_for_cell
from repro.notebook.compare.ipython import TIMING, WRITEFILE, known_forms, normalize_known_forms
from repro.notebook.hints import clock_hint, clock_mask, generated_id_hint, generated_id_mask, representation_hint
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
# Readings as a run makes them: the stored one weeks ago, the new one now (or today, or in the last hours).
_THEN, _NEW = time.gmtime(NOW - 21 * 86400), time.gmtime(NOW - 60)


def _at(fmt: str) -> tuple[str, str]:
    return time.strftime(fmt, _THEN), time.strftime(fmt, _NEW)


def _pair(fmt: str, line: str = "{}\n") -> tuple[str, str]:
    then, new = _at(fmt)
    return line.format(then), line.format(new)


@pytest.mark.parametrize("stored, new", [
    _pair("%Y-%m-%dT%H:%M:%S.279625Z"),
    _pair("%Y-%m-%d, %H:%M:%S", "'Last executed: {}'\n"),
    ("The time is: 01:02:03\n", time.strftime("The time is: %H:%M:%S\n", _NEW)),
    _pair("%Y-%m-%d %H:%M:%S+01:00", "started {}, rows: 3\n"),
    _pair("%a %b %d %H:%M:%S %Y"),
    _pair("%d/%m/%Y", "today is {}\n"),
    _pair("%m/%d/%Y", "today is {}\n"),
    _pair("%b %d, %Y"),
    _pair("%d %B %Y"),
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


@pytest.mark.parametrize("stored, new", [
    # pandas printing fixed data at another timestamp resolution: the same instants, not now.
    ("0   2020-01-01 00:00:00\n1   2020-01-02 00:00:00\n", "0   2020-01-01 00:00:00.000\n1   2020-01-02 00:00:00.000\n"),
    ("DatetimeIndex(['2016-03-01', '2016-03-02'])\n", "DatetimeIndex(['2016-03-01 00:00:00', '2016-03-02 00:00:00'])\n"),
    ("measured 2019-05-04\n", "measured 2019-05-05\n"),  # a date of the data, not of the run
    ("epoch 1262304000\n", "epoch 1262390400\n"),  # 2010: seconds since 2000, but not now
])
def test_dates_that_do_not_read_now_get_no_clock_hint(stored, new):
    assert clock_mask(_diffs(stored, new), CompareOptions(), now=NOW) is None
    # Two stored notebooks (repro-nb diff) ran at times not known: any clock reading counts there.
    assert clock_mask(_diffs(stored, new), CompareOptions(), now=NOW, ran_now=False) is not None


def test_the_clock_hint_names_the_cell_the_reading_the_mask_and_the_tag():
    now = time.strftime("%H:%M:%S", time.localtime())
    hint = clock_hint("cell 3", _diffs("The time is: 01:18:38\n", f"The time is: {now}\n"), CompareOptions())
    assert hint.startswith(f"cell 3 prints a clock reading ('{now}' now, '01:18:38' stored)")
    assert "--mask '\\d{1,2}:\\d{2}:\\d{2}(?:[.,]\\d+)?'" in hint
    assert "masks = ['\\d{1,2}:\\d{2}:\\d{2}(?:[.,]\\d+)?'] in [tool.repro]" in hint
    assert "repro-ignore-output" in hint


def test_a_clock_reading_stays_a_difference_with_a_hint_in_the_result():
    nb = notebook("import datetime\nprint(datetime.datetime.now())", "print(1)")
    stored = with_outputs(nb, {1: [stream("2026-11-22 11:18:11.279625\n")], 2: [stream("1\n")]})
    run = executed(nb, {1: [stream(time.strftime("%Y-%m-%d %H:%M:%S.000001\n"))], 2: [stream("1\n")]})
    res = judge_runs(Path("c.ipynb"), stored, [run], CompareOptions())
    cell = next(c for c in res.cells if c.index == 1)
    assert res.status == "differs" and cell.status == "differs"
    assert cell.hint and cell.hint.startswith("cell 2 prints a clock reading")
    assert next(c for c in res.cells if c.index == 2).hint is None


# --------------------------------------------------------------------------- generated ids


def _animation(frames: str) -> dict:
    """HTML as matplotlib's to_jshtml() writes it: element ids from uuid4().hex, frames as data URIs."""
    import uuid

    uid = uuid.uuid4().hex
    body = "\n".join(f'  frames[{i}] = "data:image/png;base64,{frames * 200}";' for i in range(40))
    html = (f'<div class="animation">\n<img id="_anim_img{uid}">\n<input id="_anim_slider{uid}" type="range">\n'
            f"</div>\n<script>\n  var frames = new Array(40);\n{body}\n"
            f'  anim{uid} = new Animation(frames, "_anim_img{uid}", "_anim_slider{uid}");\n</script>\n')
    return rich({"text/html": html, "text/plain": "<IPython.core.display.HTML object>"})


def _nbagg_figure() -> dict:
    import uuid

    uid = str(uuid.uuid4())
    return rich({"text/html": f"<div id='{uid}'></div>\n<script>var fig = new mpl.figure('{uid}', ws, "
                              "ondownload, element);</script>"})


@pytest.mark.parametrize("make", [lambda: _animation("iVBORw0KGgo"), _nbagg_figure])
def test_generated_element_ids_get_a_mask_that_makes_them_pass(make):
    stored, new = [make()], [make()]
    diffs = compare_outputs(stored, new)
    assert diffs  # still a difference
    assert clock_mask(diffs, CompareOptions(), now=NOW) is None
    regex, example = generated_id_mask(diffs, CompareOptions())
    assert " now, " in example and "'" not in regex
    assert compare_outputs(stored, new, CompareOptions(masks=((regex, "<masked>"),))) == []
    hint = generated_id_hint("cell 4", diffs, CompareOptions())
    assert hint.startswith("cell 4 shows generated ids (") and f"--mask '{regex}'" in hint


def test_other_frames_with_new_ids_are_no_generated_id_difference():
    diffs = compare_outputs([_animation("iVBORw0KGgo")], [_animation("AAAAAAAAAAA")])
    assert generated_id_mask(diffs, CompareOptions()) is None
    # Hex that does not change between the runs (a digest of the data) is no generated id.
    digest = "3f2a9c0b1d4e5f6071829a0b1c2d3e4f"
    assert generated_id_mask(_diffs(f"{digest} 1\n", f"{digest} 2\n"), CompareOptions()) is None


def test_a_verify_result_carries_the_generated_id_hint():
    nb = notebook("anim", "print(1)")
    stored = with_outputs(nb, {1: [_animation("iVBORw0KGgo")], 2: [stream("1\n")]})
    run = executed(nb, {1: [_animation("iVBORw0KGgo")], 2: [stream("1\n")]})
    res = judge_runs(Path("a.ipynb"), stored, [run], CompareOptions())
    cell = next(c for c in res.cells if c.index == 1)
    assert cell.status == "differs" and cell.hint.startswith("cell 2 shows generated ids")


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
    assert hint.startswith("image/png only in the stored output (the output itself is there)")
    assert "--mime-subset" in hint
    assert "renderer" not in hint and "LaTeX" not in hint  # what is known, not a guess at why
    assert representation_hint(compare_outputs(new, stored)).startswith("image/png only in the new output")


def test_a_colab_only_type_is_named_as_colab_s_own():
    colab = "application/vnd.google.colaboratory.intrinsic+json"
    hint = representation_hint(compare_outputs([rich({"text/plain": "df", colab: {"type": "dataframe"}})],
                                               [rich({"text/plain": "df"})]))
    assert hint.startswith(f"{colab} only in the stored output") and "made only when run in Colab" in hint
    assert "SymPy" not in hint and "renderer" not in hint


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
    hour = time.strftime("%H", time.localtime(NOW))
    stored = "".join(f"row {i} at 01:18:{i % 60:02d}\n" for i in range(5000))
    new = "".join(f"row {i} at {hour}:00:{i % 60:02d}\n" for i in range(5000))
    assert clock_mask(_diffs(stored, new), CompareOptions(), now=NOW) is None
    short_stored, short_new = stored[:200], new[:200]
    assert clock_mask(_diffs(short_stored, short_new), CompareOptions(), now=NOW) is not None
