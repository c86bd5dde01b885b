"""Rendering results: terminal text, JSON, JUnit XML, progress; no kernel."""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from repro.notebook.compare import CompareOptions
from repro.notebook.outcome import judge_runs
from repro.notebook.report import explanation, render_json, render_junit, render_text, to_json_data
from repro.notebook.terminal import ProgressLine, use_colour
from repro.notebook.results import CellResult, Divergence, Failure, NotebookResult, StateDivergence
from repro.payload import CellRecord
from tests.builders import executed, notebook, record_payload, stream, with_outputs

ANSI = re.compile(r"\x1b\[[0-9;]*m")
RECORDS = {4: CellRecord.from_payload(record_payload(seed=1, source="print(x)"))}  # the run had per-cell records
SOURCES = ("print('a')", "print('b')", "print('c')")
STORED = {1: [stream("a\n")], 2: [stream("b\n")], 3: [stream("c\n")]}


def judged(path="a.ipynb", runs_outputs=(STORED,), failure=None, duration=1.5):
    """A result made the way verify makes it: synthetic runs judged against STORED."""
    nb = notebook(*SOURCES)
    runs = [executed(nb, out, failure=failure if k == 0 else None, duration=duration)
            for k, out in enumerate(runs_outputs)]
    return judge_runs(Path(path), with_outputs(nb, STORED), runs, CompareOptions())


def changed(**cells):
    out = dict(STORED)
    for key, text in cells.items():
        out[int(key[1:])] = [stream(text)]
    return out


BOOM = Failure("error", "ValueError: boom", 2, "ValueError", "boom")


# --------------------------------------------------------------------------- text


def test_a_reproduced_notebook_is_one_ok_line():
    assert render_text([judged()]) == "ok a.ipynb: reproduced (3 code cells, 1.5 s)"


def test_a_differing_cell_shows_its_diff():
    lines = render_text([judged(runs_outputs=(changed(c2="B\n"),))]).splitlines()
    assert lines == [
        "DIFFERS a.ipynb: 1 cell differs, 1.5 s",
        "  cell 3 (In [2]): first difference",
        "    stdout:",
        "    @@ -1 +1 @@",
        "    -b",
        "    +B",
    ]


def test_later_differences_are_possibly_downstream_of_the_first():
    text = render_text([judged(runs_outputs=(changed(c1="A\n", c3="C\n"),))])
    assert text.splitlines()[0] == "DIFFERS a.ipynb: 2 cells differ, 1.5 s"
    assert "  cell 2 (In [1]): first difference" in text.splitlines()
    assert "  cell 4 (In [3]): possibly downstream of cell 2" in text.splitlines()
    assert text.index("first difference") < text.index("possibly downstream")


def test_a_failed_notebook_says_where_and_why_once():
    text = render_text([judged(runs_outputs=({1: [stream("a\n")]},), failure=BOOM)])
    assert text.splitlines()[0] == "FAILED a.ipynb: failed at cell 3 (In [2]): ValueError: boom"
    assert text.count("ValueError: boom") == 1


def test_a_failure_outside_any_cell():
    res = NotebookResult(Path("a.ipynb"), "failed", [], failure=Failure("kernel", "no such kernel: py99"),
                         duration=0.1)
    assert render_text([res]) == "FAILED a.ipynb: failed: no such kernel: py99"


def test_causes_are_summarised_on_the_notebook_line_and_named_per_cell():
    runs = (changed(c1="x\n", c3="z\n"), changed(c1="x\n", c3="zz\n"))
    lines = render_text([judged(runs_outputs=runs)]).splitlines()
    assert lines[0] == "DIFFERS a.ipynb: 2 cells differ: 1 drift (cell 2), 1 nondeterministic (cell 4), 2 runs, 1.5 s"
    assert "  cell 2 (In [1]) [drift]: first difference" in lines
    assert "  cell 4 (In [3]) [nondeterministic]: possibly downstream of cell 2" in lines


def test_one_line_per_notebook_in_order():
    text = render_text([judged("a.ipynb"), judged("b.ipynb", runs_outputs=(changed(c1="x\n"),)), judged("c.ipynb")])
    heads = [line for line in text.splitlines() if not line.startswith(" ")]
    assert heads == ["ok a.ipynb: reproduced (3 code cells, 1.5 s)", "DIFFERS b.ipynb: 1 cell differs, 1.5 s",
                     "ok c.ipynb: reproduced (3 code cells, 1.5 s)"]


def cells_result(*cells, **kw):
    kw.setdefault("status", "differs")
    return NotebookResult(path=Path("n.ipynb"), cells=list(cells), duration=None, **kw)


def test_rng_divergence_is_explained():
    res = cells_result(CellResult(3, "differs", 2), rng_divergence=Divergence(2, "numpy", "stored"))
    assert "  first RNG divergence: numpy after cell 3 (its random state differs from the recorded run from there on)" \
        in render_text([res]).splitlines()
    res.rng_divergence = Divergence(2, "torch", "runs")
    assert explanation(res) == [
        "first RNG divergence: torch after cell 3 (its random state differs from another run from there on)"]


def test_drift_with_the_same_random_draws_says_the_stored_output_is_not_what_the_code_gives():
    res = cells_result(CellResult(4, "differs", 3, cause="drift"), records=RECORDS)
    assert explanation(res) == [("drift at cell 5 with the same random draws: the stored output is not what this "
                                 "code produces here (edited by hand, stale, or made in another environment: "
                                 "library versions, BLAS, threads, hardware)")]
    res.environment_changes = [("packages.numpy", "1.26.4", "2.4.6")]
    assert explanation(res)[0].endswith("hardware; see what changed below)")
    res.environment_changes = []
    res.rng_divergence = Divergence(6, "numpy", "stored")  # after the drift: still numerical
    assert explanation(res)[1].startswith("drift at cell 5 with the same random draws")


def test_drift_after_the_random_stream_changed_points_upstream():
    res = cells_result(CellResult(4, "differs", 3, cause="drift"), records=RECORDS,
                       rng_divergence=Divergence(2, "numpy", "stored"))
    assert explanation(res)[1] == "drift: the random stream changed upstream, at cell 3"


def test_drift_without_records_is_not_explained():
    assert explanation(cells_result(CellResult(4, "differs", 3, cause="drift"))) == []


def test_notes_are_listed():
    res = cells_result(CellResult(1, "differs", 1), notes=["cell 2 was edited since its outputs were recorded"])
    assert render_text([res]).splitlines()[-1] == "  note: cell 2 was edited since its outputs were recorded"


def test_environment_changes_are_listed_and_cut_after_20():
    changes = [(f"packages.p{i:02}", f"1.{i}", f"2.{i}") for i in range(25)]
    changes[0] = ("env.OMP_NUM_THREADS", None, "4")
    res = cells_result(CellResult(1, "differs", 1), environment_changes=changes)
    lines = render_text([res]).splitlines()
    start = lines.index("  environment changed since recording:")
    listed = lines[start + 1:]
    assert listed[0] == "    env.OMP_NUM_THREADS: - -> 4"
    assert listed[1] == "    packages.p01: 1.1 -> 2.1"
    assert listed[19] == "    packages.p19: 1.19 -> 2.19"
    assert listed[20:] == ["    ... 5 more"]


def test_exactly_20_environment_changes_are_all_listed():
    changes = [(f"k{i:02}", "a", None) for i in range(20)]
    lines = explanation(cells_result(CellResult(1, "differs", 1), environment_changes=changes))
    assert len(lines) == 21 and lines[-1] == "  k19: a -> -"


def test_no_ansi_codes_unless_colour():
    results = [judged(), judged("b.ipynb", runs_outputs=(changed(c1="x\n"),))]
    plain = render_text(results)
    assert "\x1b" not in plain
    coloured = render_text(results, colour=True)
    assert ANSI.search(coloured)
    assert ANSI.sub("", coloured) == plain
    assert "\x1b[32;1mok\x1b[0m" in coloured and "\x1b[31;1mDIFFERS\x1b[0m" in coloured


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_colour_only_on_a_terminal_without_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_colour(FakeTTY())
    assert not use_colour(io.StringIO())
    assert not use_colour(object())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_colour(FakeTTY())
    monkeypatch.setenv("NO_COLOR", "")  # set, even empty
    assert not use_colour(FakeTTY())


# --------------------------------------------------------------------------- JSON

NOTEBOOK_KEYS = {"path", "status", "duration", "failure", "first_difference", "runs", "rng_divergence",
                 "state_divergence", "notes", "environment_changes", "side_effects", "cells", "code_cells", "compared",
                 "recorded_order", "report"}
CELL_KEYS = {"index", "status", "execution_count", "reason", "cause", "hint", "downstream_of", "diffs", "cell_id",
             "report"}
DIFF_KEYS = {"kind", "key", "expected", "actual", "diff", "image", "index"}


def full_results():
    differs = judged("d.ipynb", runs_outputs=(changed(c2="x\n"), changed(c2="x\n")))
    differs.rng_divergence = Divergence(1, "numpy", "stored")
    differs.state_divergence = StateDivergence(1, ("weights", "x"), "stored")
    differs.notes = ["cell 2 was edited since its outputs were recorded"]
    differs.environment_changes = [("packages.numpy", "1.26.4", "2.1.0")]
    failed = judged("f.ipynb", runs_outputs=({1: [stream("a\n")]},), failure=BOOM)
    return [judged("r.ipynb"), differs, failed]


def test_json_schema_version_1():
    data = json.loads(render_json(full_results()))
    assert set(data) == {"version", "notebooks"} and data["version"] == 1
    reproduced, differs, failed = data["notebooks"]
    for notebook_ in data["notebooks"]:
        assert set(notebook_) == NOTEBOOK_KEYS
        for cell in notebook_["cells"]:
            assert set(cell) == CELL_KEYS
            assert isinstance(cell.pop("cell_id"), str)  # new_code_cell gives each cell an id
    assert reproduced.pop("report") == ["ok r.ipynb: reproduced (3 code cells, 1.5 s)"]
    assert [cell.pop("report") for cell in reproduced["cells"]] == [[], [], []]
    assert reproduced == {
        "path": "r.ipynb", "status": "reproduced", "duration": 1.5, "code_cells": 3, "compared": 3,
        "failure": None, "first_difference": None,
        "runs": 1, "rng_divergence": None, "state_divergence": None, "notes": [], "environment_changes": [], "side_effects": None,
        "recorded_order": None,
        "cells": [{"index": i, "status": "same", "execution_count": i, "reason": None, "cause": None, "hint": None,
                   "downstream_of": None, "diffs": []} for i in (1, 2, 3)],
    }
    assert differs["status"] == "differs" and differs["runs"] == 2 and differs["first_difference"] == 2
    assert differs["rng_divergence"] == {"cell": 1, "backend": "numpy", "against": "stored"}
    assert differs["state_divergence"] == {"cell": 1, "names": ["weights", "x"], "against": "stored"}
    assert differs["notes"] == ["cell 2 was edited since its outputs were recorded"]
    assert differs["environment_changes"] == [{"key": "packages.numpy", "recorded": "1.26.4", "current": "2.1.0"}]
    cell = differs["cells"][1]
    assert (cell["index"], cell["status"], cell["cause"]) == (2, "differs", "drift")
    assert cell["diffs"][0]["kind"] == "text" and cell["diffs"][0]["key"] == "stdout"
    assert (cell["diffs"][0]["expected"], cell["diffs"][0]["actual"]) == ("b", "x")
    assert failed["failure"] == {"kind": "error", "message": "ValueError: boom", "cell": 2, "ename": "ValueError",
                                 "evalue": "boom"}
    assert failed["status"] == "failed" and failed["first_difference"] == 2
    assert [c["status"] for c in failed["cells"]] == ["same", "failed", "skipped"]


def test_json_cells_carry_the_notebook_cell_ids_and_null_without():
    nb = notebook(*SOURCES)
    for number, cell in enumerate(nb.cells):
        cell["id"] = f"id-{number}"
    res = judge_runs(Path("a.ipynb"), with_outputs(nb, STORED), [executed(nb, changed(c2="x\n"))], CompareOptions())
    cells = to_json_data([res])["notebooks"][0]["cells"]
    assert [(c["index"], c["cell_id"]) for c in cells] == [(1, "id-1"), (2, "id-2"), (3, "id-3")]
    for cell in nb.cells:  # an nbformat 4.4 notebook: no ids
        del cell["id"]
    res = judge_runs(Path("a.ipynb"), with_outputs(nb, STORED), [executed(nb, changed(c2="x\n"))], CompareOptions())
    assert [c["cell_id"] for c in to_json_data([res])["notebooks"][0]["cells"]] == [None, None, None]


def test_json_cell_report_is_what_the_text_report_says_of_that_cell():
    res = judged(runs_outputs=(changed(c1="A\n", c3="C\n"),))
    res.cells[0].hint = "print the time \x1b[31m elsewhere"
    data = to_json_data([res])["notebooks"][0]
    text = render_text([res], colour=True)
    assert data["report"] == render_text([res]).splitlines()
    assert "\x1b" not in "".join(data["report"]) and "\\x1b[31m" in "\n".join(data["report"])
    first, same, later = (cell["report"] for cell in data["cells"])
    assert same == []
    assert first == ["cell 2 (In [1]): first difference", "  stdout:", "  @@ -1 +1 @@", "  -a", "  +A",
                     "  hint: print the time \\x1b[31m elsewhere"]
    assert later[0] == "cell 4 (In [3]): possibly downstream of cell 2"
    # the same lines as the terminal's, indented there under the notebook's line
    assert ["  " + line for line in first + later] == ANSI.sub("", text).splitlines()[1:1 + len(first + later)]


def test_json_report_of_the_cell_a_notebook_failed_at_is_the_verdict():
    failed = judged(runs_outputs=({1: [stream("a\n")]},), failure=BOOM)
    cells = to_json_data([failed])["notebooks"][0]["cells"]
    assert [c["report"] for c in cells] == [[], ["failed at cell 3 (In [2]): ValueError: boom"], []]


def test_a_status_cause_or_side_outside_the_schema_is_refused():
    for make in (lambda: CellResult(1, "diferent"), lambda: CellResult(1, "differs", cause="drfit"),
                 lambda: NotebookResult(Path("a.ipynb"), "reproducd", []), lambda: Divergence(1, "numpy", "stord"),
                 lambda: StateDivergence(1, ("x",), "run")):
        with pytest.raises(ValueError):
            make()


def test_statuses_read_as_the_plain_words_of_the_schema():
    res = judged(runs_outputs=(changed(c2="x\n"), changed(c2="y\n")))
    cell = res.cells[1]
    assert (str(res.status), f"{cell.status} {cell.cause}") == ("differs", "differs nondeterministic")
    assert json.dumps(to_json_data([res])["notebooks"][0]["cells"][1]["cause"]) == '"nondeterministic"'


def test_json_diff_keys_are_the_documented_ones():
    data = to_json_data([judged(runs_outputs=(changed(c2="x\n"),))])
    assert set(data["notebooks"][0]["cells"][1]["diffs"][0]) == DIFF_KEYS


def test_json_duration_is_rounded_and_null_for_diff():
    res = judged(duration=1.23456789)
    assert to_json_data([res])["notebooks"][0]["duration"] == 1.235
    res.duration = None
    assert to_json_data([res])["notebooks"][0]["duration"] is None


def test_json_of_no_notebooks():
    assert json.loads(render_json([])) == {"version": 1, "notebooks": []}


# --------------------------------------------------------------------------- JUnit


def test_junit_is_well_formed_and_counts_failures_and_errors():
    results = [*full_results(), judged("e.ipynb", runs_outputs=(changed(c1="x\n"),))]
    suite = ET.fromstring(render_junit(results, name="nbs"))
    assert suite.tag == "testsuite"
    # Differing notebooks are failures, failed ones errors.
    assert (suite.get("name"), suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("nbs", "4", "2", "1")
    assert float(suite.get("time")) == pytest.approx(6.0)
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["r.ipynb", "d.ipynb", "f.ipynb", "e.ipynb"]
    assert [child.tag for c in cases for child in c] == ["failure", "error", "failure"]
    assert {c.get("classname") for c in cases} == {"nbs"}
    assert list(cases[0]) == []
    (failure,) = list(cases[1])
    assert failure.tag == "failure"
    assert failure.get("message").startswith("1 cell differs: 1 drift (cell 3), 2 runs")
    assert failure.text.startswith("DIFFERS d.ipynb:") and "+x" in failure.text
    (error,) = list(cases[2])
    assert error.tag == "error"
    assert error.get("message") == "failed at cell 3 (In [2]): ValueError: boom"


def test_junit_of_no_notebooks():
    suite = ET.fromstring(render_junit([]))
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("0", "0", "0")


def test_junit_escapes_markup_from_outputs():
    res = judged(runs_outputs=(changed(c2="<b>&amp;</b> ]]> \"q\"\n"),))
    res.path = Path("x&<y>.ipynb")
    suite = ET.fromstring(render_junit([res]))
    case = suite.find("testcase")
    assert case.get("name") == "x&<y>.ipynb"
    assert "+<b>&amp;</b> ]]> \"q\"" in case.find("failure").text


# Characters XML 1.0 forbids, and C1 controls a terminal acts on.
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.mark.parametrize("text", [
    "\x1b[31mred\x1b[0m",  # complete SGR sequences are normalised away before the diff
    "\x1b[31mred\x1b(B\x1b[m",  # tput sgr0: ESC ( B survives normalisation
    "lone escape \x1b",
    "nul \x00 byte",
    "bell \x07",
    "unit\x1fseparator",
    "c1 \x9b control",
])
def test_junit_stays_well_formed_with_control_characters_in_outputs(text):
    res = judged(runs_outputs=(changed(c2=text + "\n"),))
    suite = ET.fromstring(render_junit([res]))
    report = suite.find("testcase/failure").text
    assert "cell 3 (In [2]): first difference" in report
    assert not RAW_CONTROL.search(report)
    visible = text.split()[0].replace("\x1b[31m", "")[:3]
    assert visible in report  # the rest of the line is still shown


def test_junit_stays_well_formed_with_control_characters_in_an_error_message():
    failure = Failure("error", "ValueError: \x1b[31mbad\x1b[0m\x00", 2, "ValueError", "\x1b[31mbad\x1b[0m\x00")
    res = judged(runs_outputs=({1: [stream("a\n")]},), failure=failure)
    suite = ET.fromstring(render_junit([res]))
    message = suite.find("testcase/error").get("message")
    assert "bad" in message and not RAW_CONTROL.search(message)


def test_the_terminal_report_shows_control_characters_from_outputs_harmlessly():
    res = judged(runs_outputs=(changed(c2="bell \x07 esc \x1b(B\n"),))
    text = render_text([res])
    assert "bell" in text and not RAW_CONTROL.search(text)
    coloured = render_text([res], colour=True)
    assert not RAW_CONTROL.search(ANSI.sub("", coloured))  # only the report's own colour codes


# --------------------------------------------------------------------------- progress


def test_progress_writes_nothing_to_a_non_terminal():
    stream_ = io.StringIO()
    progress = ProgressLine(stream_)
    assert not progress.enabled
    progress(Path("a.ipynb"), 0, 1, 3)
    progress.clear()
    assert stream_.getvalue() == ""


def test_progress_writes_one_line_naming_each_notebook(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    tty = FakeTTY()
    progress = ProgressLine(tty)
    progress(Path("a.ipynb"), 0, 1, 4)
    assert tty.getvalue() == "\r\x1b[Ka.ipynb: cell 2 of 4"
    progress(Path("b.ipynb"), 0, 2, 3)
    writes = tty.getvalue().split("\r")[1:]
    assert writes[-1] == "\x1b[Ka.ipynb: cell 2 of 4 | b.ipynb: cell 3 of 3"
    assert "\n" not in tty.getvalue()
    progress.clear()
    assert tty.getvalue().endswith("\r\x1b[K")


def test_progress_names_each_run(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    tty = FakeTTY()
    progress = ProgressLine(tty)
    progress(Path("a.ipynb"), 0, 1, 4)
    progress(Path("a.ipynb"), 1, 3, 4)
    last = tty.getvalue().split("\r")[-1]
    assert last == "\x1b[Ka.ipynb [run 1]: cell 2 of 4 | a.ipynb [run 2]: cell 4 of 4"


def test_progress_fits_the_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "30")
    tty = FakeTTY()
    ProgressLine(tty)(Path("a-long-notebook-name.ipynb"), 0, 10, 120)
    line = tty.getvalue().removeprefix("\r\x1b[K")
    assert len(line) <= 29 and line.endswith("...")


# --------------------------------------------------------------------------- hints, side effects, kernel notes


def test_a_hint_is_shown_under_its_cell_and_carried_in_json():
    res = judged(runs_outputs=(changed(c2="B\n"),))
    res.cells[1].hint = "cell 3 prints a clock reading (\x1b[31m): mask it"
    lines = render_text([res]).splitlines()
    assert lines[-1] == "    hint: cell 3 prints a clock reading (\\x1b[31m): mask it"  # escaped, like outputs
    data = to_json_data([res])["notebooks"][0]
    assert [c["hint"] for c in data["cells"]] == [None, "cell 3 prints a clock reading (\x1b[31m): mask it", None]


def test_side_effects_are_listed_in_text_and_json():
    from repro.notebook.results import SideEffects

    res = judged()
    res.side_effects = SideEffects(created=["out.csv", "data/a.npz"], changed=["doc.cfg"])
    assert render_text([res]).splitlines()[1] == (
        "  files written in the notebook's folder: created out.csv, data/a.npz; changed doc.cfg")
    assert to_json_data([res])["notebooks"][0]["side_effects"] == {
        "created": ["out.csv", "data/a.npz"], "changed": ["doc.cfg"], "isolated": False}
    differs = judged(runs_outputs=(changed(c2="B\n"),))
    differs.side_effects = SideEffects(created=[f"f{i}" for i in range(12)])
    line = render_text([differs]).splitlines()[-1]
    assert "created f0, f1" in line and "f9 and 2 more" in line and "--isolate runs each in a scratch copy" in line
    differs.side_effects = SideEffects(changed=["x"], isolated=True)
    assert render_text([differs]).splitlines()[-1] == "  files written in its scratch copy of the folder: changed x"
    differs.side_effects = SideEffects()
    assert "files written" not in render_text([differs])


def test_a_reproduced_notebook_with_a_note_carries_it_in_junit():
    res = judged()
    res.notes = ["the notebook's kernel 'conda-env-x-py' is not installed here: ran on python3"]
    assert render_text([res]).splitlines()[1] == (
        "  note: the notebook's kernel 'conda-env-x-py' is not installed here: ran on python3")
    case = ET.fromstring(render_junit([res])).find("testcase")
    assert case.find("failure") is None
    assert "conda-env-x-py" in case.find("system-out").text
    assert ET.fromstring(render_junit([judged()])).find("testcase/system-out") is None
