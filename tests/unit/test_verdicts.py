"""Verdicts without kernels: unverified, how many cells were compared, downstream with a
reason, order notes that leave skipped cells out, the default time limit."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from repro.notebook.compare import CompareOptions
from repro.notebook.diagnose import stale_notes
from repro.notebook.errors import InputError
from repro.notebook.io import store_records
from repro.notebook.options import DEFAULT_TIMEOUT, resolve_options
from repro.notebook.outcome import judge_runs
from repro.notebook.report import render_json, render_junit, render_text, summary
from repro.notebook.settings import parse_timeout
from tests.builders import executed, notebook, record_payload, stream, with_outputs

SOURCES = ("print('a')", "print('b')", "print('c')")


def judge(stored_outputs: dict, run_outputs: dict | None = None, counts: dict | None = None,
          records: dict | None = None, stored_records: dict | None = None, tags: dict | None = None):
    nb = notebook(*SOURCES)
    for index, names in (tags or {}).items():
        nb.cells[index].metadata["tags"] = names
    stored = with_outputs(nb, stored_outputs, counts)
    for index, payload in (stored_records or {}).items():
        stored.cells[index].metadata["repro"] = payload
    run = executed(nb, run_outputs if run_outputs is not None else stored_outputs, records=records)
    return judge_runs(Path("a.ipynb"), stored, [run], CompareOptions())


NEVER_RUN = {1: None, 2: None, 3: None}
ALL = {1: [stream("a\n")], 2: [stream("b\n")], 3: [stream("c\n")]}


# --------------------------------------------------------------------------- unverified


def test_nothing_compared_is_unverified_and_not_a_pass():
    result = judge({}, ALL, counts=NEVER_RUN)
    assert result.status == "unverified" and result.compared == 0
    assert not result.passed() and result.passed(allow_unverified=True)
    assert summary(result) == ("unverified: 0 of 3 code cells had stored outputs, nothing was compared "
                               "(3 without stored outputs); run `repro-nb record` first (1.0 s)")
    assert render_text([result]).startswith("UNVERIFIED a.ipynb: unverified: 0 of 3")


def test_outputs_stripped_with_the_counts_kept_are_unverified_not_a_difference():
    """nbstripout --keep-count, say: every count stored, no output anywhere, while the cells print."""
    result = judge({}, ALL)
    assert result.status == "unverified" and result.compared == 0
    assert [c.reason for c in result.cells] == ["outputs stripped"] * 3
    assert summary(result) == ("unverified: 0 of 3 code cells had stored outputs, nothing was compared "
                               "(3 with outputs stripped (counts kept)); run `repro-nb record` first (1.0 s)")
    # Cells that print nothing, stored with nothing: that is what was stored, and it reproduced.
    assert judge({}, {}).status == "reproduced"
    # One stored output is enough to compare with: the cells without one then printed what was not stored.
    assert judge({1: [stream("a\n")]}, ALL).status == "differs"


def test_every_cell_skipped_is_unverified_too():
    result = judge(ALL, tags={1: ["repro-skip"], 2: ["repro-skip"], 3: ["repro-ignore-output"]})
    assert result.status == "unverified"
    assert summary(result) == "unverified: 0 of 3 code cells compared (2 marked skip, 1 output ignored) (1.0 s)"


def test_a_partly_executed_notebook_counts_what_was_compared():
    result = judge({1: [stream("a\n")]}, ALL, counts={2: None, 3: None})
    assert result.status == "reproduced" and result.compared == 1
    assert summary(result) == "reproduced (1 of 3 code cells compared: 2 without stored outputs, 1.0 s)"
    assert summary(judge(ALL)) == "reproduced (3 code cells, 1.0 s)"


def test_json_and_junit_agree_on_unverified():
    result = judge({}, ALL, counts=NEVER_RUN)
    data = json.loads(render_json([result]))["notebooks"][0]
    assert (data["status"], data["code_cells"], data["compared"]) == ("unverified", 3, 0)
    strict = ET.fromstring(render_junit([result]))
    assert strict.get("failures") == "1" and strict.find("testcase/failure") is not None
    allowed = ET.fromstring(render_junit([result], allow_unverified=True))
    assert (allowed.get("failures"), allowed.get("skipped")) == ("0", "1")
    assert "unverified" in allowed.find("testcase/skipped").get("message")


def test_a_notebook_without_code_cells_is_unverified():
    nb = notebook()
    result = judge_runs(Path("a.ipynb"), nb, [executed(nb)], CompareOptions())
    assert result.status == "unverified" and "no code cells" in summary(result)


# --------------------------------------------------------------------------- downstream


def test_without_records_later_cells_are_possibly_downstream_of_a_real_difference():
    result = judge(ALL, {1: [stream("A\n")], 2: [stream("b\n")], 3: [stream("C\n")]})
    assert [c.downstream_of for c in result.differing] == [None, 1]
    assert "  cell 4 (In [3]): possibly downstream of cell 2" in render_text([result]).splitlines()


@pytest.mark.parametrize(("stored_first", "new_first"), [
    # stderr only: a warning, a progress bar
    ([stream("a\n"), stream("took 1 s\n", "stderr")], [stream("a\n"), stream("took 2 s\n", "stderr")]),
    # a clock reading (the cell gets a hint)
    ([stream("a at 2026-11-29T10:00:01\n")], [stream(time.strftime("a at %Y-%m-%dT%H:%M:%S\n"))]),
])
def test_a_noise_difference_makes_nothing_downstream(stored_first, new_first):
    result = judge({**ALL, 1: stored_first}, {**ALL, 1: new_first, 3: [stream("C\n")]})
    assert len(result.differing) == 2 and [c.downstream_of for c in result.differing] == [None, None]
    lines = render_text([result]).splitlines()
    assert "  cell 4 (In [3])" in lines and not any("downstream" in line for line in lines)


def _payloads(after_b: str):
    digests = {1: ("s0", "s1"), 2: ("s1", after_b), 3: (after_b, after_b + "x")}
    return {i: record_payload(seed=None, backends={"random": d}, source=SOURCES[i - 1]) for i, d in digests.items()}


def test_with_records_downstream_needs_a_divergence_before_the_cell():
    stored = {i: {k: v for k, v in p.items() if k != "source"} for i, p in _payloads("s2").items()}
    outputs = {1: [stream("A\n")], 2: [stream("b\n")], 3: [stream("C\n")]}
    same_draws = judge(ALL, outputs, records=_payloads("s2"), stored_records=stored)
    assert [c.downstream_of for c in same_draws.differing] == [None, None]  # identical streams: no reason
    diverged = judge(ALL, outputs, records=_payloads("s9"), stored_records=stored)
    assert diverged.rng_divergence is not None and diverged.rng_divergence.cell == 2
    assert [c.downstream_of for c in diverged.differing] == [None, 1]
    assert ("  cell 4 (In [3]): downstream of cell 2 (it ran after the random stream diverged at cell 3)"
            in render_text([diverged]).splitlines())


# --------------------------------------------------------------------------- order notes and record


def test_skipped_cells_do_not_count_in_the_order_check():
    nb = notebook(*SOURCES)
    nb.cells[2].metadata["tags"] = ["nbval-skip"]
    stored = with_outputs(nb, ALL, counts={1: 1, 2: 9, 3: 2})
    assert stale_notes(stored) == []
    nb.cells[2].metadata["tags"] = []
    assert any("out of order" in note for note in stale_notes(with_outputs(nb, ALL, counts={1: 1, 2: 9, 3: 2})))


def test_record_clears_the_count_of_a_skipped_cell_and_keeps_its_outputs():
    nb = notebook(*SOURCES)
    nb.cells[2].metadata["tags"] = ["repro-skip"]
    run = executed(nb, ALL)
    run.notebook.cells[2].execution_count = 9  # nbclient leaves a skipped cell as it was
    run.notebook.cells[3].execution_count = 2  # the kernel's count: the skipped cell did not run
    written = store_records(run)
    assert [c.execution_count for c in written.cells[1:]] == [1, None, 2]
    assert written.cells[2].outputs[0]["text"] == "b\n"
    assert stale_notes(written) == []


# --------------------------------------------------------------------------- time limits


def test_the_default_time_limit_and_how_to_lift_it(tmp_path):
    assert resolve_options(tmp_path).execute.timeout == DEFAULT_TIMEOUT == 300
    assert resolve_options(tmp_path, timeout=0).execute.timeout is None
    assert resolve_options(tmp_path, timeout=2.5).execute.timeout == 2.5
    (tmp_path / "pyproject.toml").write_text('[tool.repro]\ntimeout = "none"\nallow_unverified = true\n')
    options = resolve_options(tmp_path)
    assert options.execute.timeout is None and options.allow_unverified
    (tmp_path / "pyproject.toml").write_text("[tool.repro]\ntimeout = 0\n")
    assert resolve_options(tmp_path).execute.timeout is None


@pytest.mark.parametrize(("text", "value"), [("0", 0.0), ("none", 0.0), ("None", 0.0), ("1.5", 1.5), ("600", 600.0)])
def test_parse_timeout(text, value):
    assert parse_timeout(text) == value


@pytest.mark.parametrize("text", ["-1", "inf", "nan", "soon", ""])
def test_parse_timeout_refuses_in_one_line(text):
    with pytest.raises(InputError, match="must be a number of seconds > 0, or 0 or none for no limit"):
        parse_timeout(text)
