"""The server extension in a real Jupyter Server: auth, confined paths, verify and record.

The server runs in a subprocess with ``repro.lab`` enabled, as an installed
``repro-nb`` enables it; notebooks run in real kernels started by the server's
worker thread, through the same entry point as ``repro-nb verify``.
"""

from __future__ import annotations

import json

import pytest

from tests.builders import run_cli, write_notebook
from tests.lab.conftest import post as _post

pytest.importorskip("jupyter_server")
pytestmark = pytest.mark.kernel


def test_a_request_without_the_token_is_refused(server):
    write_notebook(server["root"] / "plain.ipynb", "print(1)")
    status, _ = _post(server, "verify", {"path": "plain.ipynb"}, token=None)
    assert status == 403
    status, _ = _post(server, "verify", {"path": "plain.ipynb"}, token="wrong")
    assert status == 403


@pytest.mark.parametrize("path", ["../outside.ipynb", "sub/../../outside.ipynb", "/etc/passwd", "", None, 7])
def test_paths_outside_the_root_are_refused(server, path):
    status, answer = _post(server, "verify", {"path": path})
    assert status == 400, answer


def test_a_link_leading_outside_the_root_is_refused(server):
    target = write_notebook(server["outside"] / "secret.ipynb", "print('secret')")
    link = server["root"] / "link.ipynb"
    link.symlink_to(target)
    status, answer = _post(server, "verify", {"path": "link.ipynb"})
    assert status == 400, answer
    assert "inside the server's root" in answer["message"]


def test_bad_bodies_get_a_one_line_message(server):
    assert _post(server, "verify", b"{not json")[0] == 400
    assert _post(server, "verify", [1, 2])[0] == 400
    assert _post(server, "verify", {"path": "x.ipynb", "runs": 0})[0] == 400
    status, answer = _post(server, "verify", {"path": "missing.ipynb"})
    assert status == 400 and "\n" not in answer["message"]


def test_record_then_verify_from_the_server_matches_the_cli(server, capsys):
    folder = server["root"] / "sub"
    folder.mkdir()
    path = write_notebook(folder / "seeded.ipynb", "%load_ext repro\n%seed 3", "import random\nprint(random.random())")
    status, answer = _post(server, "record", {"path": "sub/seeded.ipynb"})
    assert status == 200 and answer["written"] is True, answer
    stored = json.loads(path.read_text())
    assert stored["cells"][2]["outputs"], "record wrote the outputs"

    status, report = _post(server, "verify", {"path": "sub/seeded.ipynb"})
    assert status == 200, report
    code, out, _ = run_cli(capsys, "verify", "--format", "json", str(path))
    cli = json.loads(out)
    assert code == 0
    assert [n["status"] for n in report["notebooks"]] == [n["status"] for n in cli["notebooks"]] == ["reproduced"]
    assert len(report["notebooks"][0]["cells"]) == len(cli["notebooks"][0]["cells"])


def test_verify_reports_an_edited_output_as_differing(server):
    path = write_notebook(server["root"] / "edited.ipynb", "%load_ext repro\n%seed 5", "import random\nprint(random.random())")
    assert _post(server, "record", {"path": "edited.ipynb"})[1]["written"] is True
    nb = json.loads(path.read_text())
    nb["cells"][2]["outputs"][0]["text"] = "0.5\n"
    path.write_text(json.dumps(nb))
    status, report = _post(server, "verify", {"path": "edited.ipynb"})
    assert status == 200
    notebook = report["notebooks"][0]
    assert notebook["status"] == "differs"
    assert [c["index"] for c in notebook["cells"] if c["status"] == "differs"] == [2]
