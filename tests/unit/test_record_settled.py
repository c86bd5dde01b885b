"""What ``record`` stores: outputs as a later run reproduces them, records without entropy."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from repro.notebook.diagnose import divergence_line, unseen_draws
from repro.notebook.io import settled_outputs, store_records
from repro.notebook.results import Divergence
from repro.payload import NOTICE_PREFIX, CellRecord, make_payload, parse_records
from tests.builders import executed, notebook, result, stream

NOTICE = f"{NOTICE_PREFIX}warning: cannot digest the value of 'dates' (DatetimeIndex), marked unreadable\n"


def test_pieces_of_one_stream_are_joined_and_repro_notices_left_out():
    outputs = [stream("a\n"), stream("b"), stream("c\n"), stream(NOTICE, "stderr"), stream("own warning\n", "stderr"),
               result("1"), stream("d\n"), stream(NOTICE, "stderr")]
    assert settled_outputs(outputs) == [stream("a\nbc\n"), stream("own warning\n", "stderr"), result("1"),
                                        stream("d\n")]


def test_a_notice_split_over_two_pieces_is_left_out_whole():
    assert settled_outputs([stream(NOTICE[:9], "stderr"), stream(NOTICE[9:] + "kept\n", "stderr")]) == \
        [stream("kept\n", "stderr")]


def test_a_user_line_that_only_mentions_repro_stays():
    line = f"note: {NOTICE_PREFIX}is a prefix\n"
    assert settled_outputs([stream(line, "stderr")]) == [stream(line, "stderr")]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["stdout", "stderr"]), st.text(alphabet="ab\n", max_size=6)), max_size=8))
def test_however_the_kernel_split_a_stream_the_stored_text_is_the_same(pieces):
    """The pieces, and the same text cut elsewhere, settle to the same outputs."""
    outputs = [stream(text, name) for name, text in pieces]
    joined: list[tuple[str, str]] = []
    for name, text in pieces:
        if joined and joined[-1][0] == name:
            joined[-1] = (name, joined[-1][1] + text)
        else:
            joined.append((name, text))
    recut = [stream(text[i:j], name) for name, text in joined for i, j in ((0, len(text) // 2), (len(text) // 2, None))]
    assert settled_outputs(outputs) == settled_outputs(recut)
    assert all(o["text"] for o in settled_outputs(outputs))


def test_store_records_drops_execution_timestamps_of_executed_cells():
    nb = notebook("print(1)", "print(2)")
    run = executed(nb, {1: [stream("1\n"), stream("x\n")], 2: [stream("2\n")]}, records={},
                   executed_cells={1})
    for cell in run.notebook.cells[1:]:
        cell.metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00Z"}
    stored = store_records(run)
    assert "execution" not in stored.cells[1].metadata and stored.cells[1].outputs == [stream("1\nx\n")]
    assert "execution" in stored.cells[2].metadata  # not run: left as it was


def test_a_generator_holding_entropy_keeps_only_whether_the_cell_drew():
    payload = make_payload(execution_count=1, cell_id=None, source_digest="d", seed=None, seed_mode="off", error=False,
                           before={"numpy": None, "random": None, "torch": "t0"},
                           after={"numpy": None, "random": None, "torch": "t1"},
                           consumed={"numpy": True, "random": False}, processes=4)
    assert payload["backends"]["numpy"] == {"before": None, "after": None, "consumed": True}
    assert payload["backends"]["torch"]["consumed"] is True and payload["processes"] == 4
    record = CellRecord.from_payload(payload)
    assert record.backends["numpy"].unseeded and record.backends["numpy"].consumed
    assert not record.backends["random"].unseeded and record.backends["random"].consumed is False
    assert record.processes == 4
    assert "processes" not in make_payload(execution_count=1, cell_id=None, source_digest="d", seed=None,
                                           seed_mode="off", error=False, before={}, after={})


def test_the_words_for_an_unseeded_draw_and_for_worker_processes():
    assert divergence_line(Divergence(3, "random", "stored", unseeded=True)) == (
        "first RNG divergence: random at cell 4: it drew from random's global generator while nothing had seeded "
        "it (fresh entropy in every run): seed it before (%seed N)")
    assert divergence_line(Divergence(3, "numpy", "runs")).startswith("first RNG divergence: numpy after cell 4")
    records = parse_records({1: make_payload(execution_count=1, cell_id=None, source_digest="d", seed=1,
                                             seed_mode="per-cell", error=False, before={}, after={}, processes=2),
                             2: make_payload(execution_count=2, cell_id=None, source_digest="e", seed=1,
                                             seed_mode="per-cell", error=False, before={}, after={})})
    assert unseen_draws(records, 1) == ("this cell ran 2 worker processes, whose draws the fingerprints do not see "
                                        "(num_workers, worker_init_fn, the work each worker got)")
    assert unseen_draws(records, 2) is None and unseen_draws(records, 5) is None
