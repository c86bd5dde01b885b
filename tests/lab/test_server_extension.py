"""The server extension in a real Jupyter Server: auth, confined paths, verify and record.

The server runs in a subprocess with ``repro.lab`` enabled, as an installed
``repro-nb`` enables it; notebooks run in real kernels started by the server's
worker thread, through the same entry point as ``repro-nb verify``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.builders import run_cli, write_notebook

pytest.importorskip("jupyter_server")
pytestmark = pytest.mark.kernel

TOKEN = "repro-test-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("root")
    outside = tmp_path_factory.mktemp("outside")
    port = _free_port()
    log = (root.parent / "server.log").open("w")  # a file, not a pipe that could fill up and block the server
    env = {**os.environ, "PYTHONHASHSEED": "0", "JUPYTER_CONFIG_DIR": str(root / ".jupyter-config")}
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={TOKEN}",
         '--ServerApp.jpserver_extensions={"repro.lab": True}', "--ServerApp.open_browser=False", "--allow-root"],
        env=env, stdout=subprocess.DEVNULL, stderr=log, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=2).read()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"jupyter server did not start: {(root.parent / 'server.log').read_text()[-2000:]}")
            time.sleep(0.2)
    yield {"base": base, "root": root, "outside": outside}
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()


def _post(server, route: str, body, token: str | None = TOKEN) -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(f"{server['base']}/repro/api/{route}", data=data, method="POST",
                                     headers={"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", f"token {token}")
    try:
        with urllib.request.urlopen(request, timeout=240) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        text = error.read()
        try:
            return error.code, json.loads(text)
        except ValueError:
            return error.code, {"raw": text.decode(errors="replace")}


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
