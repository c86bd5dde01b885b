"""The state field of the payload, and the first state divergence, on synthetic runs."""

from __future__ import annotations

from repro.notebook.compare import CompareOptions
from repro.notebook.diagnose import state_divergence as state_divergence_of
from repro.notebook.diagnose import stored_records
from repro.notebook.io import store_records
from repro.notebook.outcome import judge_runs
from repro.notebook.report import explanation, to_json_data
from repro.notebook.results import Divergence, StateDivergence
from repro.payload import CellRecord, make_payload
from tests.builders import executed, notebook, record_payload, stored_record, stream

SOURCES = ("import numpy as np", "a = np.random.rand(3)", "b = a * 2", "print(round(b.sum(), 3))")
NB = notebook(*SOURCES)  # a markdown cell first: code cells are 1..4
OUT = {4: [stream("1.5\n")]}


def payloads(states: dict[int, dict | None]) -> dict[int, dict]:
    return {i: record_payload(seed=1, source=SOURCES[i - 1], state=s) for i, s in states.items()}


SAME = {1: {}, 2: {"a": "1" * 16}, 3: {"b": "2" * 16}, 4: {}}
DIVERGED = {1: {}, 2: {"a": "9" * 16}, 3: {"b": "8" * 16}, 4: {}}


def stored(states, outputs=OUT):
    return store_records(executed(NB, outputs=outputs, records=payloads(states))) if states else \
        executed(NB, outputs=outputs).notebook


def run(states, outputs=OUT):
    return executed(NB, outputs=outputs, records=payloads(states))


def state_divergence(stored_nb, runs):
    """The state divergence of *runs* of *stored_nb*, from records parsed as verify parses them."""
    return state_divergence_of(stored_records(stored_nb), [r.cell_records for r in runs])


def test_the_payload_carries_state_only_when_given():
    common = dict(execution_count=1, cell_id=None, source_digest="d", seed=None, seed_mode="off", error=False,
                  before={}, after={})
    assert "state" not in make_payload(**common)
    payload = make_payload(**common, state={"a": "0123456789abcdef", "big": "<too-big>"})
    record = CellRecord.from_payload(payload)
    assert record.state == {"a": "0123456789abcdef", "big": "<too-big>"}
    assert CellRecord.from_payload(make_payload(**common)).state is None
    assert CellRecord.from_payload(stored_record(payload), stored=True).state == record.state


def test_a_malformed_state_never_spoils_the_record():
    payload = record_payload(state={"a": "0123456789abcdef"})
    payload["state"] = {"a": 3, "b": "ok", 4: "x"}
    assert CellRecord.from_payload(payload).state == {"b": "ok"}
    payload["state"] = ["a"]
    assert CellRecord.from_payload(payload).state is None


def test_record_stores_the_digests_in_the_cell_metadata():
    nb = stored(SAME)
    assert nb.cells[2].metadata["repro"]["state"] == {"a": "1" * 16}


def test_against_the_stored_digests():
    assert state_divergence(stored(SAME), [run(DIVERGED)]) == StateDivergence(2, ("a",), "stored")
    assert state_divergence(stored(SAME), [run(SAME)]) is None


def test_between_runs_when_nothing_was_stored():
    assert state_divergence(stored(None), [run(SAME), run(DIVERGED)]) == StateDivergence(2, ("a",), "runs")
    assert state_divergence(stored(None), [run(SAME), run(SAME)]) is None
    assert state_divergence(stored(None), [run(SAME)]) is None


def test_markers_and_names_only_one_side_has_are_not_compared():
    other = {1: {}, 2: {"a": "<too-big>", "c": "3" * 16}, 3: {"b": "8" * 16}, 4: {}}
    assert state_divergence(stored(SAME), [run(other)]) == StateDivergence(3, ("b",), "stored")


def test_every_differing_name_of_the_first_cell_is_named():
    a = {2: {"a": "1" * 16, "w": "2" * 16, "z": "3" * 16}}
    b = {2: {"a": "4" * 16, "w": "5" * 16, "z": "3" * 16}}
    assert state_divergence(stored(None), [run(a), run(b)]).names == ("a", "w")


def test_the_report_names_cell_variables_and_where_outputs_differ():
    result = judge_runs("n.ipynb", stored(SAME), [run(DIVERGED, {4: [stream("2.5\n")]})],
                        CompareOptions())
    assert result.state_divergence == StateDivergence(2, ("a",), "stored")
    assert to_json_data([result])["notebooks"][0]["state_divergence"] == {
        "cell": 2, "names": ["a"], "against": "stored"}
    line = next(line for line in explanation(result) if line.startswith("first state divergence"))
    assert line.startswith("first state divergence: cell 3 (In [2]): a differs from the recorded run")
    assert "random draws identical up to there: something else in that cell differs" in line
    assert line.endswith("outputs first differ at cell 5")


def test_the_report_says_when_the_random_stream_diverged_first():
    result = judge_runs("n.ipynb", stored(SAME), [run(DIVERGED, {4: [stream("2.5\n")]})], CompareOptions())
    result.rng_divergence = Divergence(1, "numpy", "stored")
    assert "the random stream diverged first, at cell 2 (numpy)" in explanation(result)[0] + explanation(result)[1]
    result.rng_divergence = Divergence(2, "numpy", "stored")
    assert any("its random draws differ there too (numpy)" in line for line in explanation(result))


def test_a_state_divergence_behind_identical_outputs_is_reported_and_the_notebook_reproduces():
    result = judge_runs("n.ipynb", stored(SAME), [run(DIVERGED)], CompareOptions())
    assert result.status == "reproduced" and result.state_divergence == StateDivergence(2, ("a",), "stored")
    assert "outputs first differ" not in explanation(result)[0]
    assert judge_runs("n.ipynb", stored(SAME), [run(SAME)], CompareOptions()).state_divergence is None


def test_the_preload_switches_tracing_on_unless_told_not_to():
    from repro.notebook.execute import preload_code
    from repro.notebook.options import ExecuteOptions

    code = preload_code(ExecuteOptions(seed=7))
    assert "preload(get_ipython(), seed=7, trace=True, max_bytes=None, max_output=104857600)" in code
    compile(code, "<preload>", "exec")
    assert "trace=False" in preload_code(ExecuteOptions(trace_state=False))
    assert "max_bytes=16" in preload_code(ExecuteOptions(trace_max_bytes=16))
    compile(preload_code(ExecuteOptions(trace_max_bytes=16)), "<preload>", "exec")


def test_behind_identical_outputs_the_random_draws_are_looked_at_too():
    """An unseeded cell whose output does not show its numbers: the state line says, as
    information, that the cell drew unseeded there, not that the difference is numerical."""
    def unseeded(before: str, states):
        records = payloads(states)
        records[2] = record_payload(seed=None, source=SOURCES[1], state=states[2],
                                    backends={"numpy": (before, before[::-1])})
        return records

    stored_nb = store_records(executed(NB, outputs=OUT, records=unseeded("a1b2c3d4", SAME)))
    result = judge_runs("n.ipynb", stored_nb, [executed(NB, outputs=OUT, records=unseeded("e5f6a7b8", DIVERGED))],
                        CompareOptions())
    assert result.status == "reproduced"
    assert result.rng_divergence == Divergence(cell=2, backend="numpy", against="stored")
    lines = explanation(result)
    assert not [line for line in lines if "RNG divergence" in line]  # a pass: information, no alarm
    line = next(line for line in lines if line.startswith("info: the outputs reproduced"))
    assert "(cell 3 drew from numpy with no seed in force)" in line and "something else" not in line
