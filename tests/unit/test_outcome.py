"""From runs to results, without a kernel: synthetic runs judged against stored outputs."""

from __future__ import annotations

import copy
import random
from collections import Counter
from pathlib import Path


from repro.notebook import diagnose, hashorder, outcome
from repro.notebook.compare import CompareOptions
from repro.notebook.outcome import diff_result, judge_runs
from repro.notebook.results import Failure
from repro.payload import parse_records
from tests.builders import (
    executed,
    notebook,
    record_payload,
    result,
    stream,
    with_outputs,
)

PATH = Path("a.ipynb")
OPTIONS = CompareOptions()

# Cell 0 is the builder's markdown cell; code cells are 1, 2, 3.
SOURCES = ("print('a')", "print('b')", "print('c')")
STORED = {1: [stream("a\n")], 2: [stream("b\n")], 3: [stream("c\n")]}


def outputs(**changed):
    """STORED, with cell N's stdout replaced by ``cN="text"``."""
    out = dict(STORED)
    for key, text in changed.items():
        out[int(key[1:])] = [stream(text)]
    return out


def judge(runs, stored=None, nb=None):
    nb = nb if nb is not None else notebook(*SOURCES)
    stored = stored if stored is not None else with_outputs(nb, STORED)
    return judge_runs(PATH, stored, runs, OPTIONS)


# A notebook without a recorded hash seed: runs under 0, another hash seed only with --runs.
UNRECORDED = hashorder.HashSeeds(None, "0", against_recorded=False)


def needs_hash_run(res) -> bool:
    return hashorder.check_seed(UNRECORDED, res, res.runs) is not None


def explain_hash_order(res, runs, hash_run, options):
    res.hash_seeds = hashorder.HashSeeds(None, "0", against_recorded=False, checked=hash_run.hash_seed)
    hashorder.explain(res, with_outputs(notebook(*SOURCES), STORED), runs, hash_run, options)


def statuses(res):
    return {c.index: c.status for c in res.cells}


def causes(res):
    return {c.index: c.cause for c in res.cells if c.status == "differs"}


# --------------------------------------------------------------------------- one run


def test_a_run_with_the_stored_outputs_reproduces():
    nb = notebook(*SOURCES)
    res = judge([executed(nb, STORED)], nb=nb)
    assert res.status == "reproduced"
    assert statuses(res) == {1: "same", 2: "same", 3: "same"}
    assert [c.execution_count for c in res.cells] == [1, 2, 3]
    assert res.first_difference is None and res.runs == 1
    assert res.rng_divergence is None and res.notes == [] and res.environment_changes == []


def test_only_code_cells_are_judged():
    nb = notebook(*SOURCES)
    res = judge([executed(nb, STORED)], nb=nb)
    assert [c.index for c in res.cells] == [1, 2, 3]


def test_an_edited_output_differs_with_a_diff():
    nb = notebook(*SOURCES)
    res = judge([executed(nb, outputs(c2="B\n"))], nb=nb)
    assert res.status == "differs"
    assert statuses(res) == {1: "same", 2: "differs", 3: "same"}
    assert res.first_difference == 2
    (cell,) = res.differing
    assert [(d.kind, d.key, d.expected, d.actual) for d in cell.diffs] == [("text", "stdout", "b", "B")]
    assert "-b" in cell.diffs[0].diff.splitlines() and "+B" in cell.diffs[0].diff.splitlines()
    assert cell.cause is None  # one run says nothing about why


def test_a_changed_execute_result_differs():
    nb = notebook("1 + 1")
    stored = with_outputs(nb, {1: [result("2")]})
    res = judge_runs(PATH, stored, [executed(nb, {1: [result("3")]})], OPTIONS)
    assert res.status == "differs"
    assert [(d.key, d.expected, d.actual) for d in res.cells[0].diffs] == [("text/plain", "2", "3")]


def test_a_run_is_judged_with_the_compare_options():
    nb = notebook("print(0.1)")
    stored = with_outputs(nb, {1: [stream("0.1\n")]})
    run = executed(nb, {1: [stream("0.1000001\n")]})
    assert judge_runs(PATH, stored, [run], OPTIONS).status == "differs"
    assert judge_runs(PATH, stored, [run], CompareOptions(atol=1e-3)).status == "reproduced"


def test_judging_leaves_the_stored_notebook_and_the_runs_alone():
    nb = notebook(*SOURCES)
    stored = with_outputs(nb, STORED)
    runs = [executed(nb, outputs(c2="x\n")), executed(nb, outputs(c2="y\n"))]
    before = copy.deepcopy((stored, [r.notebook for r in runs]))
    judge_runs(PATH, stored, runs, OPTIONS)
    assert (stored, [r.notebook for r in runs]) == before


# --------------------------------------------------------------------------- causes from several runs


def test_runs_that_agree_with_the_stored_outputs_reproduce():
    nb = notebook(*SOURCES)
    res = judge([executed(nb, STORED), executed(nb, STORED), executed(nb, STORED)], nb=nb)
    assert res.status == "reproduced" and res.runs == 3
    assert not needs_hash_run(res)


def test_a_second_run_that_differs_makes_the_cell_nondeterministic():
    nb = notebook(*SOURCES)
    res = judge([executed(nb, STORED), executed(nb, outputs(c2="other\n"))], nb=nb)
    assert res.status == "differs" and res.runs == 2
    assert causes(res) == {2: "nondeterministic"}
    # The diff shown is the differing run's.
    assert [(d.expected, d.actual) for d in res.differing[0].diffs] == [("b", "other")]
    assert not needs_hash_run(res)


def test_a_first_run_that_differs_while_another_matches_is_nondeterministic():
    nb = notebook(*SOURCES)
    res = judge([executed(nb, outputs(c3="other\n")), executed(nb, STORED)], nb=nb)
    assert causes(res) == {3: "nondeterministic"}


def test_runs_that_all_differ_from_stored_and_from_each_other_are_nondeterministic():
    nb = notebook(*SOURCES)
    res = judge([executed(nb, outputs(c2="x\n")), executed(nb, outputs(c2="y\n"))], nb=nb)
    assert causes(res) == {2: "nondeterministic"}
    assert not needs_hash_run(res)


def test_runs_that_agree_with_each_other_but_not_with_stored_are_drift():
    nb = notebook(*SOURCES)
    res = judge([executed(nb, outputs(c2="x\n")), executed(nb, outputs(c2="x\n"))], nb=nb)
    assert causes(res) == {2: "drift"}
    assert needs_hash_run(res)


def test_causes_are_per_cell():
    nb = notebook(*SOURCES)
    runs = [executed(nb, outputs(c2="x\n", c3="y\n")), executed(nb, outputs(c2="x\n", c3="z\n"))]
    res = judge(runs, nb=nb)
    assert statuses(res) == {1: "same", 2: "differs", 3: "differs"}
    assert causes(res) == {2: "drift", 3: "nondeterministic"}
    assert needs_hash_run(res)


def test_one_differing_run_has_no_cause_and_needs_no_hash_run():
    nb = notebook(*SOURCES)
    res = judge([executed(nb, outputs(c2="x\n"))], nb=nb)
    assert causes(res) == {2: None}
    assert not needs_hash_run(res)


def test_a_failed_notebook_needs_no_hash_run():
    nb = notebook(*SOURCES)
    failure = Failure("error", "ValueError: boom", 3, "ValueError", "boom")
    runs = [executed(nb, outputs(c2="x\n"), failure=failure), executed(nb, outputs(c2="x\n"))]
    res = judge(runs, nb=nb)
    assert res.status == "failed"
    assert not needs_hash_run(res)


def test_each_run_is_compared_with_the_stored_outputs_at_most_once_per_cell(monkeypatch):
    nb = notebook(*SOURCES)
    stored = with_outputs(nb, STORED)
    runs = [executed(nb, outputs(c2="x\n", c3="y\n")), executed(nb, outputs(c2="x\n")), executed(nb, STORED)]
    stored_ids = {id(c.outputs) for c in stored.cells if c.cell_type == "code"}
    pairs = Counter()
    real = outcome.compare_outputs

    def counting(expected, actual, options=None, **kw):
        pairs[(id(expected), id(actual))] += 1
        return real(expected, actual, options, **kw)

    monkeypatch.setattr(outcome, "compare_outputs", counting)
    res = judge_runs(PATH, stored, runs, OPTIONS)
    assert res.status == "differs"
    assert all(expected in stored_ids for expected, _ in pairs)
    assert max(pairs.values()) == 1
    assert len(pairs) == len(runs) * 3  # every run, every comparable cell, once


# --------------------------------------------------------------------------- hash order


def drift_result(nb):
    runs = [executed(nb, outputs(c2="x\n", c3="y\n")), executed(nb, outputs(c2="x\n", c3="z\n"))]
    res = judge(runs, nb=nb)
    assert causes(res) == {2: "drift", 3: "nondeterministic"}
    return res, runs


def test_drift_that_changes_under_another_hash_seed_is_hash_order():
    nb = notebook(*SOURCES)
    res, runs = drift_result(nb)
    explain_hash_order(res, runs, executed(nb, outputs(c2="other order\n"), hash_seed="1"), OPTIONS)
    assert causes(res) == {2: "hash-order", 3: "nondeterministic"}
    assert not needs_hash_run(res)


def test_drift_that_the_hash_run_repeats_stays_drift():
    nb = notebook(*SOURCES)
    res, runs = drift_result(nb)
    explain_hash_order(res, runs, executed(nb, outputs(c2="x\n", c3="anything\n"), hash_seed="1"), OPTIONS)
    assert causes(res) == {2: "drift", 3: "nondeterministic"}


def test_a_failed_hash_run_explains_nothing():
    nb = notebook(*SOURCES)
    res, runs = drift_result(nb)
    failure = Failure("error", "KeyError: 'k'", 1, "KeyError", "'k'")
    explain_hash_order(res, runs, executed(nb, {}, failure=failure, hash_seed="1"), OPTIONS)
    assert causes(res) == {2: "drift", 3: "nondeterministic"}


def test_explain_hash_order_looks_only_at_drift_cells(monkeypatch):
    nb = notebook(*SOURCES)
    res, runs = drift_result(nb)
    hash_run = executed(nb, outputs(c2="other\n", c3="other\n"), hash_seed="1")
    seen = []
    real = diagnose.compare_outputs

    def counting(expected, actual, options=None, **kw):
        seen.append((id(expected), id(actual)))
        return real(expected, actual, options, **kw)

    monkeypatch.setattr(diagnose, "compare_outputs", counting)
    explain_hash_order(res, runs, hash_run, OPTIONS)
    # Only cell 2 (drift), and only one run against the hash run.
    assert seen == [(id(runs[0].notebook.cells[2].outputs), id(hash_run.notebook.cells[2].outputs))]
    assert causes(res) == {2: "hash-order", 3: "nondeterministic"}


# --------------------------------------------------------------------------- failures


def test_a_failed_run_marks_its_cell_failed_and_later_cells_not_run():
    nb = notebook(*SOURCES)
    failure = Failure("error", "ValueError: boom", 2, "ValueError", "boom")
    res = judge([executed(nb, {1: [stream("a\n")]}, failure=failure)], nb=nb)
    assert res.status == "failed" and res.failure is failure
    assert statuses(res) == {1: "same", 2: "failed", 3: "skipped"}
    cells = {c.index: c for c in res.cells}
    assert cells[2].reason == "ValueError: boom"
    assert cells[3].reason.startswith("not run: the notebook stopped at cell")
    assert res.first_difference == 2


def test_the_not_run_reason_numbers_the_failed_cell_as_the_report_does():
    nb = notebook(*SOURCES)
    failure = Failure("error", "ValueError: boom", 2, "ValueError", "boom")
    res = judge([executed(nb, {1: [stream("a\n")]}, failure=failure)], nb=nb)
    # The text report says "failed at cell 3 (In [2])" for this failure.
    assert res.cells[2].reason == "not run: the notebook stopped at cell 3"


def test_a_failed_run_among_several_is_the_one_reported():
    nb = notebook(*SOURCES)
    failure = Failure("timeout", "cell timed out after 5 s", 3)
    res = judge([executed(nb, STORED), executed(nb, outputs(c3=""), failure=failure)], nb=nb)
    assert res.status == "failed" and res.failure is failure
    assert statuses(res)[3] == "failed"
    assert res.runs == 2


def test_a_kernel_that_never_started_fails_the_notebook_and_runs_no_cell():
    nb = notebook(*SOURCES)
    failure = Failure("kernel", "RuntimeError: no kernel", None)
    res = judge([executed(nb, {}, failure=failure, executed_cells=set())], nb=nb)
    assert res.status == "failed"
    assert statuses(res) == {1: "skipped", 2: "skipped", 3: "skipped"}
    assert {c.reason for c in res.cells} == {"not executed"}


def test_the_duration_is_the_longest_run():
    nb = notebook(*SOURCES)
    res = judge([executed(nb, STORED, duration=2.0), executed(nb, STORED, duration=5.0)], nb=nb)
    assert res.duration == 5.0


# --------------------------------------------------------------------------- skipped cells


def test_markers_empty_and_never_executed_cells_are_skipped_with_reasons():
    nb = notebook("print('a')", "print('skipped')", "# NBVAL_IGNORE_OUTPUT\nprint(id(1))", "   \n", "print('new')")
    nb.cells[2].metadata["tags"] = ["repro-skip"]
    stored = with_outputs(nb, {1: [stream("a\n")], 2: [stream("old\n")], 3: [stream("123\n")]}, counts={5: None})
    run = executed(nb, {1: [stream("a\n")], 3: [stream("456\n")], 5: [stream("new\n")]})
    assert 2 not in run.executed and 4 not in run.executed
    res = judge_runs(PATH, stored, [run], OPTIONS)
    assert res.status == "reproduced"
    assert statuses(res) == {1: "same", 2: "skipped", 3: "skipped", 4: "skipped", 5: "skipped"}
    assert {c.index: c.reason for c in res.cells if c.status == "skipped"} == {
        2: "marked skip",
        3: "output ignored",
        4: "empty",
        5: "never executed",
    }


def test_an_ignored_output_cell_does_not_make_the_notebook_differ_but_others_still_do():
    nb = notebook("# NBVAL_IGNORE_OUTPUT\nprint(id(1))", "print('b')")
    stored = with_outputs(nb, {1: [stream("1\n")], 2: [stream("b\n")]})
    res = judge_runs(PATH, stored, [executed(nb, {1: [stream("2\n")], 2: [stream("B\n")]})], OPTIONS)
    assert statuses(res) == {1: "skipped", 2: "differs"}


def test_a_cell_the_run_did_not_execute_is_skipped():
    nb = notebook(*SOURCES)
    res = judge([executed(nb, STORED, executed_cells={1, 3})], nb=nb)
    assert statuses(res) == {1: "same", 2: "skipped", 3: "same"}
    assert res.cells[1].reason == "not executed"


# --------------------------------------------------------------------------- what else is attached


def stored_with_environment(nb, outputs_=None, **extra):
    stored = with_outputs(nb, outputs_ or STORED)
    stored.metadata["repro"] = {"version": 1, "hash_seed": "0", "kernel": "python3",
                                "environment": {"python": "3.11.4", "packages": {"numpy": "1.26.4"}}, **extra}
    return stored


NEW_ENV = {"python": "3.11.4", "packages": {"numpy": "2.1.0", "scipy": "1.14.0"}}


def test_environment_changes_are_listed_when_the_notebook_differs():
    nb = notebook(*SOURCES)
    stored = stored_with_environment(nb)
    res = judge_runs(PATH, stored, [executed(nb, outputs(c1="x\n"), environment=NEW_ENV)], OPTIONS)
    assert res.environment_changes == [("packages.numpy", "1.26.4", "2.1.0"), ("packages.scipy", None, "1.14.0")]


def test_environment_changes_are_not_listed_when_the_notebook_reproduces():
    nb = notebook(*SOURCES)
    stored = stored_with_environment(nb)
    res = judge_runs(PATH, stored, [executed(nb, STORED, environment=NEW_ENV)], OPTIONS)
    assert res.status == "reproduced" and res.environment_changes == []


def test_no_environment_changes_without_a_recorded_or_a_current_environment():
    nb = notebook(*SOURCES)
    res = judge_runs(PATH, with_outputs(nb, STORED), [executed(nb, outputs(c1="x\n"), environment=NEW_ENV)], OPTIONS)
    assert res.environment_changes == []
    res = judge_runs(PATH, stored_with_environment(nb), [executed(nb, outputs(c1="x\n"))], OPTIONS)
    assert res.environment_changes == []


def test_notes_and_rng_divergence_come_only_with_a_difference():
    nb = notebook(*SOURCES)
    stored = with_outputs(nb, STORED, counts={1: 3, 2: 1, 3: 2})  # run out of order
    stored.cells[1].metadata["repro"] = {k: v for k, v in record_payload(backends={"numpy": ("s0", "s1")},
                                                                         source=SOURCES[0]).items() if k != "source"}
    records = {1: record_payload(backends={"numpy": ("t0", "t1")}, source=SOURCES[0])}
    same = judge_runs(PATH, stored, [executed(nb, STORED, records=records)], OPTIONS)
    assert same.status == "reproduced" and same.notes == [] and same.rng_divergence is None
    differs = judge_runs(PATH, stored, [executed(nb, outputs(c3="x\n"), records=records)], OPTIONS)
    assert differs.notes and "out of order" in differs.notes[0]
    assert (differs.rng_divergence.cell, differs.rng_divergence.against) == (1, "stored")
    assert differs.records == parse_records(records)  # the judged run's, parsed


# --------------------------------------------------------------------------- diff


def test_diff_of_a_notebook_with_itself_reproduces():
    nb = with_outputs(notebook(*SOURCES), STORED)
    res = diff_result(PATH, nb, copy.deepcopy(nb), OPTIONS)
    assert res.status == "reproduced" and statuses(res) == {1: "same", 2: "same", 3: "same"}
    assert res.duration is None


def test_diff_pairs_cells_by_id_when_the_ids_are_shuffled():
    a = with_outputs(notebook(*SOURCES), STORED)
    b = copy.deepcopy(a)
    b.cells[2].outputs = [stream("B\n")]
    b.cells = [b.cells[0], b.cells[3], b.cells[1], b.cells[2]]
    res = diff_result(PATH, a, b, OPTIONS)
    assert statuses(res) == {1: "same", 2: "differs", 3: "same"}
    assert [(d.expected, d.actual) for d in res.differing[0].diffs] == [("b", "B")]
    assert [c.get("id") for c in b.cells] == [a.cells[i].id for i in (0, 3, 1, 2)]  # b itself left as it was


def test_diff_pairs_cells_by_id_whatever_the_order():
    a = with_outputs(notebook(*(f"print({i})" for i in range(8))), {i + 1: [stream(f"{i}\n")] for i in range(8)})
    b = copy.deepcopy(a)
    random.Random(4).shuffle(b.cells)
    assert [c.id for c in b.cells] != [c.id for c in a.cells]
    assert diff_result(PATH, a, b, OPTIONS).status == "reproduced"


def test_diff_pairs_by_position_when_the_ids_differ():
    a = with_outputs(notebook(*SOURCES), STORED)
    b = with_outputs(notebook(*SOURCES), outputs(c3="C\n"))  # new ids
    assert {c.id for c in a.cells}.isdisjoint(c.id for c in b.cells)
    assert statuses(diff_result(PATH, a, b, OPTIONS)) == {1: "same", 2: "same", 3: "differs"}


def test_diff_reports_code_cells_only_in_the_second_notebook():
    a = with_outputs(notebook(*SOURCES[:2]), STORED)
    b = with_outputs(notebook(*SOURCES), STORED)
    res = diff_result(PATH, a, b, OPTIONS)
    assert res.status == "differs"
    assert statuses(res) == {1: "same", 2: "same", 3: "differs"}
    extra = res.cells[-1]
    assert extra.reason == "only in the second notebook"
    assert [(d.kind, d.key) for d in extra.diffs] == [("extra", "cell")]


def test_diff_reports_code_cells_missing_from_the_second_notebook():
    a = with_outputs(notebook(*SOURCES), STORED)
    b = with_outputs(notebook(*SOURCES[:2]), STORED)
    res = diff_result(PATH, a, b, OPTIONS)
    assert statuses(res) == {1: "same", 2: "same", 3: "differs"}
    assert res.cells[-1].reason == "no matching code cell"
    assert [(d.kind, d.key) for d in res.cells[-1].diffs] == [("missing", "cell")]


def test_a_run_keeps_its_records_as_received_and_parses_them_once():
    nb = notebook("x = 1", "print(x)")
    future = record_payload(source="print(x)") | {"version": 99}
    run = executed(nb, {2: [stream("1\n")]}, records={1: record_payload(source="x = 1"), 2: future})
    assert run.records[2] is future  # kept as it came, for record to store
    assert set(run.cell_records) == {1} and run.cell_records is run.cell_records  # what does not parse is left out
    result = judge_runs(PATH, with_outputs(nb, {2: [stream("1\n")]}), [run], OPTIONS)
    assert result.records is run.cell_records
