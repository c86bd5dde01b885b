"""What a JupyterLab frontend reads from each execute reply: the cell id it sent, the
session's ``%seed`` and the cell magics of repro that ran the cell, from a real kernel."""

from __future__ import annotations

import pytest

from repro.payload import CellRecord, find_payload
from repro.seeding import derive_cell_seed

pytestmark = pytest.mark.kernel

pytest.importorskip("numpy")

DRAW = "import numpy as np\nprint(np.random.rand())"
DETERMINISTIC = "%%deterministic --seed 3\nprint(np.random.rand())"
DETERMINISTIC_SESSION = "%%deterministic\nprint(np.random.rand())"
REPEAT = "%%repeat 2 --quiet\nnp.random.rand()"


def payload(execution) -> dict:
    found = find_payload(execution.reply.get("payload"))
    assert found is not None, execution.reply
    return found


@pytest.fixture(scope="module")
def lab_session(kernels):
    """One kernel driven as JupyterLab drives it: every request carries its cell's id."""
    with kernels.session() as session:
        runs = {
            "load": session.execute("%load_ext repro", cell_id="load"),
            "unseeded": session.execute(DRAW, cell_id="unseeded"),
            "seed": session.execute("%seed 42", cell_id="seed"),
            "draw": session.execute(DRAW, cell_id="draw"),
            "det": session.execute(DETERMINISTIC, cell_id="det"),
            "det_session": session.execute(DETERMINISTIC_SESSION, cell_id="det-session"),
            "det_quiet": session.execute("%%deterministic --seed 3\nx = 1", cell_id="det-quiet"),
            "repeat": session.execute(REPEAT, cell_id="repeat"),
            "bad_repeat": session.execute("%%repeat 2 --quiet\nx = 1", cell_id="bad-repeat"),
            "after": session.execute(DRAW, cell_id="after"),
            "off": session.execute("%seed --off", cell_id="off"),
            "no_id": session.execute(DRAW),
        }
        # the same %%deterministic --seed 3 cell alone, in a session without %seed
        runs["det_unseeded"] = session.execute(DETERMINISTIC, cell_id="det-unseeded")
        return runs


def test_the_reply_echoes_the_cell_id_of_the_request(lab_session):
    for name, execution in lab_session.items():
        if execution.cell_id is not None:
            assert payload(execution)["cell_id"] == execution.cell_id, name
    assert payload(lab_session["no_id"])["cell_id"] is None


def test_session_seed_is_the_seed_magic_in_force(lab_session):
    assert payload(lab_session["load"])["session_seed"] is None
    assert payload(lab_session["unseeded"])["session_seed"] is None
    for name in ("seed", "draw", "det", "det_session", "repeat", "after"):
        assert payload(lab_session[name])["session_seed"] == 42, name
    assert payload(lab_session["off"])["session_seed"] is None
    assert payload(lab_session["det_unseeded"])["session_seed"] is None
    record = CellRecord.from_payload(payload(lab_session["draw"]))
    assert record.session_seed == 42
    assert record.seed == derive_cell_seed(42, DRAW)


def test_a_deterministic_cell_records_its_own_seed_and_the_magic(lab_session):
    det = payload(lab_session["det"])
    assert det["seed"] == 3 and det["magics"] == ["deterministic"]
    assert det["backends"]["numpy"]["consumed"] is True
    assert payload(lab_session["det_unseeded"])["seed"] == 3
    # without --seed, the cell's derived seed, as a plain cell would have
    det_session = payload(lab_session["det_session"])
    assert det_session["seed"] == derive_cell_seed(42, DETERMINISTIC_SESSION)
    assert det_session["magics"] == ["deterministic"]
    assert CellRecord.from_payload(det).magics == ("deterministic",)
    # seeded with 3 and drawing nothing: no generator is said to have been drawn from
    quiet = payload(lab_session["det_quiet"])
    assert quiet["seed"] == 3 and {name: b["consumed"] for name, b in quiet["backends"].items()} == {
        name: False for name in quiet["backends"]}


def test_the_stored_seed_replays_the_deterministic_draw(lab_session):
    # seed 3 is what the cell printed: the same number as numpy seeded with 3
    import numpy as np

    np.random.seed(3)
    assert lab_session["det"].stdout == f"{np.random.rand()}\n"


def test_repeat_is_named_and_plain_cells_name_no_magic(lab_session):
    assert payload(lab_session["repeat"])["magics"] == ["repeat"]
    assert "magics" not in payload(lab_session["bad_repeat"])  # refused before it ran
    assert lab_session["bad_repeat"].reply["status"] == "error"
    for name in ("load", "unseeded", "seed", "draw", "after", "off"):
        assert "magics" not in payload(lab_session[name]), name
