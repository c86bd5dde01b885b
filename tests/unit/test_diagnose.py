"""Diagnosis without a kernel: RNG divergence from records, stale stored outputs, causes."""

from __future__ import annotations

import pytest

from repro.notebook.compare import CompareOptions
from repro.notebook.diagnose import (
    classify,
    first_divergence,
    is_hash_order,
    stale_notes,
    stored_records,
)
from repro.notebook.diagnose import rng_divergence as rng_divergence_of
from repro.notebook.results import Divergence
from repro.payload import parse_records
from repro.seeding import source_digest
from tests.builders import (
    executed,
    notebook,
    record_payload,
    stored_record,
    stream,
    with_outputs,
)

SOURCES = ("import numpy as np", "x = np.random.rand()", "print(x)")


def records(states: dict[int, dict]) -> dict[int, dict]:
    """Cell index -> payload, from cell index -> {backend: (before, after)}."""
    return {i: record_payload(seed=1, backends=b, source=SOURCES[i - 1]) for i, b in states.items()}


def parsed(states):
    return parse_records(records(states))


def stored_notebook(states, nb=None):
    """A recorded notebook: outputs, and each cell's record in its metadata, without "source"."""
    nb = with_outputs(nb if nb is not None else notebook(*SOURCES), {3: [stream("0.5\n")]})
    for index, payload in records(states).items():
        nb.cells[index].metadata["repro"] = stored_record(payload)
    return nb


RECORDED = {1: {"numpy": ("n0", "n0")}, 2: {"numpy": ("n0", "n1")}, 3: {"numpy": ("n1", "n1")}}


def rng_divergence(stored_nb, runs):
    """The RNG divergence of *runs* of *stored_nb*, from records parsed as verify parses them."""
    return rng_divergence_of(stored_records(stored_nb), [run.cell_records for run in runs])


# --------------------------------------------------------------------------- first_divergence


def test_identical_records_do_not_diverge():
    assert first_divergence(parsed(RECORDED), parsed(RECORDED), "runs") is None


def test_the_first_cell_whose_state_differs_after_it_is_the_divergence():
    other = {1: {"numpy": ("n0", "n0")}, 2: {"numpy": ("n0", "m1")}, 3: {"numpy": ("m1", "m1")}}
    assert first_divergence(parsed(RECORDED), parsed(other), "stored") == Divergence(2, "numpy", "stored")


def test_a_state_that_differs_before_a_cell_that_draws_is_a_divergence_there():
    reference = {2: {"numpy": ("a", "b")}, 3: {"numpy": ("b", "c")}}
    other = {2: {"numpy": ("z", "y")}, 3: {"numpy": ("y", "x")}}
    assert first_divergence(parsed(reference), parsed(other), "runs") == Divergence(2, "numpy", "runs")


def test_a_cell_that_seeds_is_not_where_the_stream_diverged():
    # np.random.seed(12345) after an unseeded import: the state before differs, after it is
    # the same; the cell that then draws differently is named.
    reference = {1: {"numpy": ("a", "s")}, 2: {"numpy": ("s", "t")}, 3: {"numpy": ("t", "u")}}
    other = {1: {"numpy": ("z", "s")}, 2: {"numpy": ("s", "t")}, 3: {"numpy": ("t", "v")}}
    assert first_divergence(parsed(reference), parsed(other), "stored") == Divergence(3, "numpy", "stored")
    assert first_divergence(parsed(reference), parsed({**other, 3: reference[3]}), "stored") is None


def test_a_draw_from_a_generator_nothing_seeded_is_named():
    # Digests of a generator holding fresh entropy are null; "consumed" says whether the cell drew.
    payloads = records({1: {"numpy": ("s", "s")}, 2: {"numpy": ("s", "t")}})
    for cell, drew in ((1, False), (2, True)):
        payloads[cell]["backends"]["numpy"] = {"before": None, "after": None, "consumed": drew}
    unseeded = parse_records(payloads)
    assert unseeded[2].backends["numpy"].unseeded and not unseeded[1].backends["numpy"].unseeded
    assert first_divergence(unseeded, unseeded, "runs") == Divergence(2, "numpy", "runs", unseeded=True)
    seeded = parsed({1: {"numpy": ("s", "s")}, 2: {"numpy": ("s", "t")}})
    assert first_divergence(seeded, unseeded, "stored") == Divergence(2, "numpy", "stored", unseeded=True)


def test_a_generator_nobody_draws_from_is_ignored():
    # Unseeded at kernel start, so its state differs, but no cell uses it.
    reference = {1: {"random": ("r0", "r0"), "numpy": ("n0", "n1")}, 2: {"random": ("r0", "r0"), "numpy": ("n1", "n2")}}
    other = {1: {"random": ("q0", "q0"), "numpy": ("n0", "n1")}, 2: {"random": ("q0", "q0"), "numpy": ("n1", "n2")}}
    assert first_divergence(parsed(reference), parsed(other), "runs") is None


def test_a_generator_one_run_draws_from_counts():
    reference = {1: {"random": ("r0", "r0")}, 2: {"random": ("r0", "r0")}}
    other = {1: {"random": ("r0", "r0")}, 2: {"random": ("r0", "r9")}}
    assert first_divergence(parsed(reference), parsed(other), "runs") == Divergence(2, "random", "runs")


def test_a_generator_imported_during_a_cell_counts_from_the_first_cell_that_draws():
    # "before" is null: imported during the cell with no seed in force; cell 2 draws nothing.
    reference = {1: {"numpy": (None, "n0")}, 2: {"numpy": ("n0", "n0")}, 3: {"numpy": ("n0", "n1")}}
    same = {1: {"numpy": (None, "n0")}, 2: {"numpy": ("n0", "n0")}, 3: {"numpy": ("n0", "n1")}}
    other = {1: {"numpy": (None, "m0")}, 2: {"numpy": ("m0", "m0")}, 3: {"numpy": ("m0", "m1")}}
    assert first_divergence(parsed(reference), parsed(same), "runs") is None
    assert first_divergence(parsed(reference), parsed(other), "runs") == Divergence(3, "numpy", "runs")
    no_draw = {k: v for k, v in other.items() if k < 3}
    assert first_divergence(parsed(reference), parsed(no_draw), "runs") is None  # nothing drew: nothing to name


def test_divergence_is_found_in_notebook_order_and_by_backend_name():
    reference = {3: {"torch": ("t0", "t1"), "numpy": ("n0", "n1")}, 2: {"numpy": ("a", "a")}}
    other = {3: {"torch": ("t0", "x1"), "numpy": ("n0", "x1")}, 2: {"numpy": ("a", "a")}}
    assert first_divergence(parsed(reference), parsed(other), "runs") == Divergence(3, "numpy", "runs")


def test_backends_or_cells_only_one_side_has_are_ignored():
    reference = {1: {"numpy": ("n0", "n1")}, 2: {"torch": ("t0", "t1")}}
    other = {1: {"numpy": ("n0", "n1"), "torch": ("x", "y")}, 3: {"torch": ("x", "y")}}
    assert first_divergence(parsed(reference), parsed(other), "runs") is None


# --------------------------------------------------------------------------- rng_divergence


def run_with(states, outputs=None):
    return executed(notebook(*SOURCES), outputs or {3: [stream("0.5\n")]}, records=records(states))


DIVERGED = {1: {"numpy": ("n0", "n0")}, 2: {"numpy": ("n0", "m1")}, 3: {"numpy": ("m1", "m1")}}


def test_rng_divergence_against_the_stored_records_which_lack_the_source_key():
    stored = stored_notebook(RECORDED)
    assert "source" not in stored.cells[2].metadata["repro"]
    assert rng_divergence(stored, [run_with(DIVERGED)]) == Divergence(2, "numpy", "stored")


def test_no_rng_divergence_when_the_run_draws_what_was_recorded():
    assert rng_divergence(stored_notebook(RECORDED), [run_with(RECORDED), run_with(RECORDED)]) is None


def test_rng_divergence_between_runs_when_nothing_was_recorded():
    stored = with_outputs(notebook(*SOURCES), {3: [stream("0.5\n")]})
    assert rng_divergence(stored, [run_with(RECORDED), run_with(DIVERGED)]) == Divergence(2, "numpy", "runs")
    assert rng_divergence(stored, [run_with(RECORDED), run_with(RECORDED)]) is None
    assert rng_divergence(stored, [run_with(DIVERGED)]) is None  # one run, nothing to compare with


def test_rng_divergence_between_runs_when_the_first_matches_the_stored_records():
    stored = stored_notebook(RECORDED)
    assert rng_divergence(stored, [run_with(RECORDED), run_with(DIVERGED)]) == Divergence(2, "numpy", "runs")


def test_stored_records_of_another_version_are_ignored():
    stored = stored_notebook(RECORDED)
    for cell in stored.cells[1:]:
        cell.metadata["repro"]["version"] = 99
    assert rng_divergence(stored, [run_with(DIVERGED)]) is None


def test_runs_without_records_have_no_rng_divergence():
    stored = stored_notebook(RECORDED)
    nb = notebook(*SOURCES)
    assert rng_divergence(stored, [executed(nb, {}), executed(nb, {})]) is None


# --------------------------------------------------------------------------- classify, is_hash_order


def test_classify_from_what_the_runs_already_compared():
    nb = notebook(*SOURCES)
    same = [executed(nb, {3: [stream("x\n")]}), executed(nb, {3: [stream("x\n")]})]
    other = [executed(nb, {3: [stream("x\n")]}), executed(nb, {3: [stream("y\n")]})]
    options = CompareOptions()
    assert classify(3, [True, False], same, options) == "nondeterministic"
    assert classify(3, [True, True], same, options) == "drift"
    assert classify(3, [True, True], other, options) == "nondeterministic"


def test_is_hash_order_compares_with_the_hash_run():
    nb = notebook(*SOURCES)
    runs = [executed(nb, {3: [stream("{'b', 'a'}\n")]})] * 2
    options = CompareOptions()
    assert is_hash_order(3, runs, executed(nb, {3: [stream("{'a', 'b'}\n")]}, hash_seed="1"), options)
    assert not is_hash_order(3, runs, executed(nb, {3: [stream("{'b', 'a'}\n")]}, hash_seed="1"), options)


# --------------------------------------------------------------------------- stale_notes


def counted(*counts, sources=None):
    """A stored notebook whose code cells (indices 1, 2, ...) have these execution counts."""
    sources = sources or [f"print({i})" for i in range(len(counts))]
    return with_outputs(notebook(*sources), counts={i + 1: n for i, n in enumerate(counts)})


def test_a_notebook_run_top_to_bottom_has_no_notes():
    assert stale_notes(counted(1, 2, 3)) == []


def test_out_of_order_counts():
    assert stale_notes(counted(1, 3, 2)) == [
        "stored outputs were run out of order: cell 4 has In [2] after In [3] in cell 3"
    ]


def test_a_repeated_count_is_out_of_order():
    notes = stale_notes(counted(1, 1))
    assert len(notes) == 1 and "run out of order" in notes[0]


def test_one_skipped_cell():
    assert stale_notes(counted(1, None, 3)) == [
        "stored outputs skip cell 3: they were not run before later cells"
    ]


def test_several_skipped_cells_and_no_uneven_counts_note_with_them():
    assert stale_notes(counted(1, None, None, 4)) == [
        "stored outputs skip cells 3, 4: they were not run before later cells"
    ]


def test_cells_not_run_at_the_end_are_not_skipped_ones():
    assert stale_notes(counted(1, 2, None, None)) == []


def test_a_notebook_never_run_has_no_notes():
    assert stale_notes(counted(None, None)) == []


@pytest.mark.parametrize("counts", [(2, 3, 4), (1, 2, 5), (1, 3, 4)])
def test_uneven_counts(counts):
    assert stale_notes(counted(*counts)) == [
        (f"stored execution counts run {counts[0]}..{counts[-1]} over 3 cells: "
         "some cells were run more than once or in another session")
    ]


def test_empty_cells_are_not_counted():
    nb = counted(1, None, 2, sources=["print(0)", "", "print(2)"])
    assert stale_notes(nb) == []


def test_an_empty_cell_that_was_run_counts_with_the_others():
    """Jupyter gives an empty cell it runs a count: 1..4 over 4 code cells, one empty, in order."""
    nb = counted(1, 2, 3, 4, sources=["print(0)", "", "print(2)", "print(3)"])
    assert stale_notes(nb) == []
    assert stale_notes(counted(1, 3, 4, sources=["print(0)", "", "print(2)"])) != []  # an In [2] is missing


def test_a_cell_edited_since_recorded():
    nb = counted(1, 2, sources=["x = 1", "print(x)"])
    nb.cells[1].metadata["repro"] = stored_record(record_payload(source="x = 1"))
    nb.cells[2].metadata["repro"] = stored_record(record_payload(source="print(y)"))
    assert nb.cells[2].metadata["repro"]["source_digest"] == source_digest("print(y)")
    assert stale_notes(nb) == ["cell 3 was edited since its outputs were recorded"]


def test_whitespace_at_line_ends_is_not_an_edit():
    nb = counted(1, sources=["x = 1\nprint(x)"])
    nb.cells[1].metadata["repro"] = stored_record(record_payload(source="x = 1   \r\nprint(x)\n\n"))
    assert stale_notes(nb) == []


def test_a_record_without_a_digest_says_nothing_about_edits():
    nb = counted(1, sources=["x = 1"])
    nb.cells[1].metadata["repro"] = {"version": 1}
    assert stale_notes(nb) == []


def test_notes_accumulate():
    nb = counted(2, 1, sources=["x = 1", "print(x)"])
    nb.cells[1].metadata["repro"] = stored_record(record_payload(source="x = 2"))
    assert stale_notes(nb) == [
        "stored outputs were run out of order: cell 3 has In [1] after In [2] in cell 2",
        "cell 2 was edited since its outputs were recorded",
    ]


def test_an_import_cell_that_draws_nothing_is_not_named_the_first_cell_that_draws_is():
    from repro.notebook.diagnose import first_divergence
    from repro.payload import parse_records
    from tests.builders import record_payload

    def records(entropy: str) -> dict:
        return parse_records({
            1: record_payload(backends={"numpy": (None, entropy)}),  # import pandas: numpy.random imported, no seed
            2: record_payload(backends={"numpy": (entropy, entropy)}),  # draws nothing
            3: record_payload(backends={"numpy": (entropy, entropy[::-1])}),  # draws
        })

    found = first_divergence(records("aaaa1111"), records("bbbb2222"), "runs")
    assert found is not None and found.cell == 3


def test_digests_made_another_way_are_not_compared():
    """Records of an older repro (no "digests" key) hold torch digests of another kind: a
    stored notebook of that time shows no RNG divergence for them, only unseeded draws."""
    other = {1: {"numpy": ("n0", "n0")}, 2: {"numpy": ("n0", "m1")}, 3: {"numpy": ("m1", "m1")}}
    old = records(RECORDED)
    for payload in old.values():
        del payload["digests"]
    assert first_divergence(parse_records(old), parsed(other), "stored") is None
    unseeded = records({2: {"numpy": (None, None)}})
    unseeded[2]["backends"]["numpy"]["consumed"] = True
    found = first_divergence(parse_records(old), parse_records(unseeded), "stored")
    assert found == Divergence(2, "numpy", "stored", unseeded=True)
