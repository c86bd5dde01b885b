"""What a single run of verify says without another: hash order, seeding changed, unseeded draws,
edits, the next command; and how diffs are shown. Synthetic runs, no kernel."""

from __future__ import annotations

from pathlib import Path

from repro.notebook import advice, hashorder
from repro.notebook.compare import CompareOptions
from repro.notebook.diagnose import stored_records
from repro.notebook.options import ExecuteOptions
from repro.notebook.outcome import diff_result, judge_runs
from repro.notebook.report import render_text, to_json_data
from repro.notebook.results import Cause
from tests.builders import executed, notebook, record_payload, result, stream, stored_record, with_outputs

PATH = Path("a.ipynb")
OPTIONS = CompareOptions()


def recorded(nb, outputs, payloads, hash_seed="0", **metadata):
    """*nb* as `record` leaves it: outputs, a record per cell, the run's metadata."""
    stored = with_outputs(nb, outputs)
    for index, payload in payloads.items():
        stored.cells[index].metadata["repro"] = stored_record(payload)
    stored.metadata["repro"] = {"version": 1, "hash_seed": hash_seed, **metadata}
    return stored


def verified(stored, runs, run_seed=None, check=None):
    """judge_runs, then what verify adds: the hash seeds, the run under the recorded one, the advice."""
    res = judge_runs(PATH, stored, runs, OPTIONS)
    seeds = hashorder.after_runs(hashorder.plan(stored, ExecuteOptions()), runs[0])
    res.hash_seeds = seeds
    other = hashorder.check_seed(seeds, res, len(runs))
    if check is not None and other is not None:
        res.hash_seeds = hashorder.HashSeeds(seeds.recorded, seeds.run, seeds.against_recorded, checked=other)
        hashorder.explain(res, stored, runs, check, OPTIONS)
    advice.attach(res, stored, stored_records(stored), run_seed)
    return res


# --------------------------------------------------------------------------- hash order

SETS = ("words = {'a', 'b', 'c'}", "print(list(words))", "print(len(words))")
STORED = {2: [stream("['b', 'a', 'c']\n")], 3: [stream("3\n")]}
OTHER_ORDER = {2: [stream("['c', 'b', 'a']\n")], 3: [stream("3\n")]}


def test_a_recorded_notebook_runs_under_another_hash_seed_and_a_kernel_that_fixes_it_under_its_own():
    stored = recorded(notebook(*SETS), STORED, {}, hash_seed="7")
    seeds = hashorder.plan(stored, ExecuteOptions())
    assert (seeds.recorded, seeds.run, seeds.against_recorded) == ("7", "8", True)
    assert hashorder.plan(stored, ExecuteOptions(hash_seed="3")).run == "3"  # given: used as it is
    assert hashorder.plan(notebook(*SETS), ExecuteOptions()).run == "0"  # nothing recorded
    run = executed(notebook(*SETS), STORED, hash_seed="0")
    run.kernel_hash_seed = "0"
    fixed = hashorder.after_runs(seeds, run)
    assert (fixed.run, fixed.kernel_fixes, fixed.against_recorded) == ("0", True, False)
    assert hashorder.other_hash_seed(str(2**32 - 1)) == "0"


def test_a_cell_that_reproduces_only_under_the_recorded_hash_seed_is_hash_order_in_one_run():
    nb = notebook(*SETS)
    stored = recorded(nb, STORED, {})
    res = verified(stored, [executed(nb, OTHER_ORDER, hash_seed="1")], check=executed(nb, STORED))
    assert res.status == "differs" and res.hash_seeds.checked == "0"
    assert {c.index: c.cause for c in res.differing} == {2: Cause.HASH_ORDER}
    text = render_text([res])
    assert ("hash order: cell 3 reproduces under the PYTHONHASHSEED the notebook was recorded under (0) "
            "and differs under another (1)") in text
    assert f"what to do: hash-order: {advice.WHAT_TO_DO[Cause.HASH_ORDER]}" in text
    assert "--runs 2" not in text  # the cause is known
    assert to_json_data([res])["notebooks"][0]["hash_seed"] == {"recorded": "0", "run": "1", "kernel_fixes": False,
                                                                "checked": "0"}


def test_a_cell_that_differs_under_the_recorded_hash_seed_too_is_not_hash_order():
    nb = notebook(*SETS)
    stored = recorded(nb, STORED, {})
    res = verified(stored, [executed(nb, OTHER_ORDER, hash_seed="1")], check=executed(nb, OTHER_ORDER))
    assert {c.index: c.cause for c in res.differing} == {2: None}
    assert any("--runs 2 a.ipynb" in line for line in res.advice)


def test_no_run_under_another_hash_seed_when_it_could_tell_nothing():
    nb = notebook(*SETS)
    stored = recorded(nb, STORED, {})
    seeds = hashorder.plan(stored, ExecuteOptions())
    passed = judge_runs(PATH, stored, [executed(nb, STORED)], OPTIONS)
    assert hashorder.check_seed(seeds, passed, 1) is None  # a pass costs one run
    differs = judge_runs(PATH, stored, [executed(nb, OTHER_ORDER)], OPTIONS)
    assert hashorder.check_seed(seeds, differs, 1) == "0"
    assert hashorder.check_seed(hashorder.HashSeeds("0", "0", False, kernel_fixes=True), differs, 1) is None
    unrecorded = hashorder.plan(nb, ExecuteOptions())
    assert hashorder.check_seed(unrecorded, differs, 1) is None  # one run, nothing recorded: as before


def test_the_hash_seed_verify_chose_is_not_listed_as_an_environment_change():
    seeds = hashorder.HashSeeds("0", "1", against_recorded=True)
    changes = [("env.PYTHONHASHSEED", "0", "1"), ("packages.numpy", "1", "2")]
    assert hashorder.without_hash_seed_change(changes, seeds) == [("packages.numpy", "1", "2")]
    given = hashorder.HashSeeds("0", "5", against_recorded=False)
    assert hashorder.without_hash_seed_change(changes, given) == changes


# --------------------------------------------------------------------------- seeding

DRAWS = ("%load_ext repro\n%seed 0", "import numpy as np\nprint(np.random.rand())")


def seeded_payloads(nb, seed_mode="per-cell"):
    return {1: record_payload(seed=0, seed_mode=seed_mode, source=nb.cells[1].source),
            2: record_payload(seed=1234, seed_mode=seed_mode, source=nb.cells[2].source,
                              backends={"numpy": ("aa", "bb")})}


def test_seeding_removed_since_recording_is_named_with_the_seed():
    nb = notebook(*DRAWS)
    stored = recorded(nb, {2: [stream("0.5\n")]}, seeded_payloads(nb))
    nb.cells[1].source = "%load_ext repro"
    stored.cells[1].source = "%load_ext repro"
    run_records = {1: record_payload(source="%load_ext repro"),
                   2: record_payload(source=nb.cells[2].source, backends={"numpy": ("cc", "dd")})}
    res = verified(stored, [executed(nb, {2: [stream("0.7\n")]}, records=run_records, hash_seed="1")])
    assert res.notes[0] == ("recorded with per-cell seeding (%seed 0 in cell 2); this run has none, "
                            "so its random draws are not the recorded ones")
    assert "cell 2 was edited since its outputs were recorded" in res.notes
    assert res.advice[0] == "put the seeding back, or record again without it"
    assert not any("--runs 2" in line for line in res.advice)  # the draws changed, and the notes say why


def test_verify_seed_on_a_notebook_recorded_without_one_says_record_seed():
    nb = notebook("import numpy as np\nprint(np.random.rand())")
    stored = recorded(nb, {1: [stream("0.5\n")]}, {1: record_payload(source=nb.cells[1].source,
                                                                        backends={"numpy": ("aa", "bb")})})
    from repro.seeding import derive_cell_seed

    run_records = {1: record_payload(seed=derive_cell_seed(3, nb.cells[1].source), source=nb.cells[1].source,
                                     backends={"numpy": ("cc", "dd")})}
    res = verified(stored, [executed(nb, {1: [stream("0.7\n")]}, records=run_records, hash_seed="1")], run_seed=3)
    assert res.notes[0] == ("this run has per-cell seeding (--seed 3); the recording had no seeding, "
                            "so the random draws differ")
    assert res.advice[0] == "record with `repro-nb record --seed 3` to compare like with like"


def test_a_notebook_recorded_with_record_seed_verified_without_says_verify_seed():
    nb = notebook("import numpy as np\nprint(np.random.rand())")
    from repro.seeding import derive_cell_seed

    payload = record_payload(seed=derive_cell_seed(3, nb.cells[1].source), source=nb.cells[1].source,
                             backends={"numpy": ("aa", "bb")})
    stored = recorded(nb, {1: [stream("0.5\n")]}, {1: payload}, seed=3)
    run_records = {1: record_payload(source=nb.cells[1].source, backends={"numpy": ("cc", "dd")})}
    res = verified(stored, [executed(nb, {1: [stream("0.7\n")]}, records=run_records, hash_seed="1")])
    assert res.notes[0].startswith("recorded with per-cell seeding (record --seed 3); this run has none")
    assert res.advice[0].startswith("`repro-nb verify --seed 3` seeds as the recording did")


def test_unseeded_draws_seen_in_the_records_are_named_with_the_fix():
    nb = notebook("import numpy as np\nprint(np.random.rand())")
    payload = record_payload(source=nb.cells[1].source, backends={"numpy": ("aa", "bb")})
    stored = recorded(nb, {1: [stream("0.5\n")]}, {1: payload})
    run_records = {1: record_payload(source=nb.cells[1].source, backends={"numpy": ("cc", "dd")})}
    res = verified(stored, [executed(nb, {1: [stream("0.7\n")]}, records=run_records, hash_seed="1")])
    assert res.notes[0] == "cell 2 drew from numpy with no seed in force: its numbers change on every run"
    assert res.advice[0] == advice.WHAT_TO_DO["unseeded"]
    assert "first RNG divergence: numpy after cell 2" in render_text([res])


def test_an_unexplained_difference_suggests_runs_2_and_a_pass_suggests_nothing():
    nb = notebook("print(1)")
    stored = recorded(nb, {1: [stream("1\n")]}, {})
    res = verified(stored, [executed(nb, {1: [stream("2\n")]}, hash_seed="1")])
    assert res.advice == ["`repro-nb verify --runs 2 a.ipynb` runs it twice and names the cause of each difference "
                          "(nondeterministic: the runs disagree; drift: they agree, not with the stored outputs)"]
    passed = verified(stored, [executed(nb, {1: [stream("1\n")]}, hash_seed="1")])
    assert passed.advice == [] and passed.notes == []
    assert render_text([passed]) == "ok a.ipynb: reproduced (1 code cells, 1.0 s)"


def test_an_edited_cell_that_prints_the_same_passes_with_a_note():
    nb = notebook("x = 2", "print(x)")
    stored = recorded(nb, {2: [stream("2\n")]}, {1: record_payload(source="x = 2"), 2: record_payload(source="print(x)")})
    stored.cells[1].source = "x = 1 + 1"
    res = verified(stored, [executed(stored, {2: [stream("2\n")]}, hash_seed="1")])
    assert res.status == "reproduced"
    assert res.notes == ["cell 2 was edited since its outputs were recorded, and still prints the same"]


def test_on_a_pass_a_diverged_state_is_information_not_an_alarm():
    nb = notebook("import numpy as np\na = np.random.rand(3)\nprint(a.shape)")
    source = nb.cells[1].source
    stored = recorded(nb, {1: [stream("(3,)\n")]},
                      {1: record_payload(source=source, backends={"numpy": ("aa", "bb")}, state={"a": "1" * 16})})
    run_records = {1: record_payload(source=source, backends={"numpy": ("cc", "dd")}, state={"a": "2" * 16})}
    res = verified(stored, [executed(nb, {1: [stream("(3,)\n")]}, records=run_records, hash_seed="1")])
    lines = render_text([res]).splitlines()
    assert lines[0].startswith("ok a.ipynb: reproduced")
    assert lines[1:] == ["  info: the outputs reproduced, but a after cell 2 (In [1]) differs from the recorded run, "
                         "in values no compared output shows (cell 2 drew from numpy with no seed in force): "
                         "nothing a reader sees depends on them"]


# --------------------------------------------------------------------------- how diffs are shown


def frame(value: int) -> dict:
    out = result(f"   x\n0  1\n1  {value}")
    out["data"]["text/html"] = f"<table><tr><td>1</td></tr><tr><td>{value}</td></tr></table>"
    return out


def test_a_dataframe_that_differs_is_shown_once_with_a_legend():
    nb = notebook("df")
    res = judge_runs(PATH, with_outputs(nb, {1: [frame(2)]}), [executed(nb, {1: [frame(5)]})], OPTIONS)
    assert [d.key for d in res.differing[0].diffs] == ["text/plain", "text/html"]  # JSON keeps both
    lines = render_text([res]).splitlines()
    assert lines[1] == "  (diff lines: - stored, + new)"
    assert "    text/html: differs as well (the same output as HTML)" in lines
    assert not any("<td>" in line for line in lines)
    assert "    -1  2" in lines and "    +1  5" in lines


def test_diff_names_its_sides_and_says_when_the_code_differs(tmp_path):
    import nbformat

    from repro.notebook.verify import diff_notebooks

    a = with_outputs(notebook("print(1)", "print(2)"), {1: [stream("1\n")], 2: [stream("2\n")]})
    b = with_outputs(notebook("print('one')", "print(2)"), {1: [stream("one\n")], 2: [stream("2\n")]})
    for cell in b.cells:
        cell.id = cell.id + "b"  # unrelated notebooks: other ids
    nbformat.write(a, tmp_path / "a.ipynb")
    nbformat.write(b, tmp_path / "b.ipynb")
    res = diff_notebooks(tmp_path / "a.ipynb", tmp_path / "b.ipynb")
    assert res.notes == ["cell 2 holds other code in the second notebook (cells paired by position): "
                         "its outputs need not match"]
    text = render_text([res])
    assert f"(diff lines: - {tmp_path / 'a.ipynb'}, + {tmp_path / 'b.ipynb'})" in text
    c = with_outputs(notebook("x = 5", "y = 6"), {})
    assert diff_result(PATH, a, c, OPTIONS).notes[0].startswith("the two notebooks share no code")
    assert diff_result(PATH, a, a, OPTIONS).notes == []



def test_causes_from_where_unseeded_draws_changed_get_the_seeding_advice_once():
    nb = notebook("import numpy as np\nprint(np.random.rand())", "print(1)")
    source = nb.cells[1].source
    stored = recorded(nb, {1: [stream("0.5\n")], 2: [stream("1\n")]},
                      {1: record_payload(source=source, backends={"numpy": ("aa", "bb")})})
    runs = [executed(nb, {1: [stream(f"0.{k}\n")], 2: [stream("1\n")]}, hash_seed="1",
                     records={1: record_payload(source=source, backends={"numpy": (f"c{k}", f"d{k}")})})
            for k in (6, 7)]
    res = verified(stored, runs)
    assert {c.index: c.cause for c in res.differing} == {1: Cause.NONDETERMINISTIC}
    assert res.advice == [WHAT_TO_DO_UNSEEDED]


WHAT_TO_DO_UNSEEDED = advice.WHAT_TO_DO["unseeded"]
