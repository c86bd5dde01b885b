"""A real Jupyter Server with repro's extension, for the tests of this folder, and a client for it.

The server runs in a subprocess with ``repro.lab`` enabled, as an installed
``repro-nb`` enables it; its notebooks run in real kernels that the server starts.
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
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

TOKEN = "repro-test-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(root: Path, outside: Path) -> Iterator[dict]:
    """A Jupyter Server serving *root*, stopped with SIGTERM on exit, as a user's Ctrl-C does."""
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
    try:
        yield {"base": base, "root": root, "outside": outside, "pid": process.pid}
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("root"), tmp_path_factory.mktemp("outside")) as running:
        yield running


def post(server, route: str, body, token: str | None = TOKEN) -> tuple[int, dict]:
    """POST *body* (JSON, or bytes as they are) to ``repro/api/ROUTE``: (status, the JSON answer)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return call(server, "POST", route, data, token)


def call(server, method: str, route: str, data: bytes | None = None, token: str | None = TOKEN) -> tuple[int, dict]:
    """One request to ``repro/api/ROUTE``: (status, the JSON answer)."""
    request = urllib.request.Request(f"{server['base']}/repro/api/{route}", data=data, method=method,
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
