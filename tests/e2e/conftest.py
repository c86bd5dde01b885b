"""End-to-end fixtures: a real JupyterLab server and a headless Chromium driven by Playwright.

Nothing here is needed by the default test run: when Chromium, JupyterLab or
Playwright is missing, every test that asks for these fixtures is skipped with
the reason. To run them on a Debian machine::

    apt-get install -y chromium
    .venv/bin/pip install jupyterlab==4.6.6 playwright==1.65.2   # no `playwright install`: Debian's chromium

The server runs on the Python running the tests (the venv's), so the notebook's
``python3`` kernelspec starts that same Python, with repro installed. It gets
fresh Jupyter/IPython config, data and runtime dirs, so nothing of the user's
setup (profiles, kernelspecs, workspaces, lab settings) leaks in, and it is
always stopped, with every kernel it started, when the test ends.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

#: Debian's chromium (``apt-get install chromium``); REPRO_E2E_CHROMIUM overrides it.
CHROMIUM = os.environ.get("REPRO_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_TIMEOUT = 60  # seconds until the server answers its HTTP API


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "e2e: end-to-end through a real JupyterLab in headless Chromium "
        "(skipped unless chromium, jupyterlab and playwright are installed)",
    )


def missing_e2e_tools() -> str | None:
    """Why the end-to-end tests cannot run here, or None when they can."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    for module, package in (("jupyterlab", "jupyterlab"), ("playwright.sync_api", "playwright")):
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            return f"{package} is not installed in this Python (pip install {package})"
    return None


@pytest.fixture
def e2e_tools() -> None:
    reason = missing_e2e_tools()
    if reason:
        pytest.skip(reason)


# -- the JupyterLab server ----------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Lab:
    """A running JupyterLab: where it listens, its token, and the folder it serves."""

    process: subprocess.Popen
    port: int
    token: str
    root_dir: Path
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def api(self, path: str, timeout: float = 5.0):
        """GET one of the server's REST endpoints, as JSON."""
        request = urllib.request.Request(
            self.url(f"api/{path.lstrip('/')}"), headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.load(response)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


class LabExited(RuntimeError):
    """The server exited before answering (e.g. its port was taken meanwhile)."""


def _process_tree(pid: int) -> list[int]:
    """PIDs of *pid*'s descendants (its kernels), when psutil can tell."""
    try:
        import psutil

        return [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except Exception:
        return []


def _stop(lab: Lab) -> None:
    """Stop the server (it shuts its kernels down on SIGTERM), then make sure of it, by PID."""
    process = lab.process
    descendants = _process_tree(process.pid)
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    for pid in descendants:  # only processes this server started
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _start_lab(home: Path, root_dir: Path, env: dict[str, str]) -> Lab:
    token = secrets.token_hex(16)
    port = _free_port()
    log_path = home / f"jupyterlab-{port}.log"
    command = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        "--allow-root",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",  # the port we chose, or fail: never another one
        f"--ServerApp.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, cwd=root_dir, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    lab = Lab(process=process, port=port, token=token, root_dir=root_dir, log_path=log_path)
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    try:
        while True:
            if process.poll() is not None:
                raise LabExited(f"jupyter lab exited with {process.returncode}:\n{lab.log_tail()}")
            try:
                lab.api("status", timeout=2)
                return lab
            except (urllib.error.URLError, ConnectionError, OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"jupyter lab did not answer within {SERVER_START_TIMEOUT} s:\n{lab.log_tail()}")
            time.sleep(0.2)
    except BaseException:
        _stop(lab)
        raise


def _lab_env(home: Path, hash_seed: str | None) -> dict[str, str]:
    """The server's (and so its kernels') environment: ours, with fresh Jupyter and IPython dirs."""
    dirs = {
        "JUPYTER_CONFIG_DIR": home / "jupyter-config",
        "JUPYTER_DATA_DIR": home / "jupyter-data",
        "JUPYTER_RUNTIME_DIR": home / "jupyter-runtime",
        "IPYTHONDIR": home / "ipython",
    }
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    # No notification toasts (news, update checks) over the notebook.
    settings = dirs["JUPYTER_CONFIG_DIR"] / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True})
    )
    # Every cell in the DOM, whether scrolled into view or not.
    notebook = settings.parent / "notebook-extension"
    notebook.mkdir(parents=True, exist_ok=True)
    (notebook / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    _write_server_config(home, dirs["JUPYTER_CONFIG_DIR"])
    env = {**os.environ, **{name: str(path) for name, path in dirs.items()}}
    for name in ("JUPYTER_PATH", "JUPYTER_PREFER_ENV_PATH", "JUPYTERLAB_DIR", "JUPYTERLAB_SETTINGS_DIR",
                 "JUPYTERLAB_WORKSPACES_DIR", "JUPYTER_TOKEN", "JUPYTER_PORT"):
        env.pop(name, None)
    # What the README tells users to do, and what `repro-nb verify` does. Without
    # it, `%seed` shows its PYTHONHASHSEED advice under the cell in JupyterLab (a
    # plain-text display that verify leaves out of the comparison). A test overrides this with
    # @pytest.mark.parametrize("lab_hash_seed", [None]).
    if hash_seed is None:
        env.pop("PYTHONHASHSEED", None)
    else:
        env["PYTHONHASHSEED"] = hash_seed
    return env


def built_labextension() -> Path | None:
    """repro's Lab extension as built in the source tree under test (``src/repro/labextension``),
    or None when the tree has none (an installed wheel: its copy is in ``share/jupyter/labextensions``)."""
    import repro

    built = Path(repro.__file__).resolve().parent / "labextension"
    return built if (built / "package.json").is_file() else None


def _write_server_config(home: Path, config_dir: Path) -> None:
    """Enable repro's server extension, and make JupyterLab load the Lab extension the tree
    under test built (it takes precedence over an installed copy), so the browser tests run
    what CI just rebuilt."""
    config: dict = {"ServerApp": {"jpserver_extensions": {"repro.lab": True}}}
    built = built_labextension()
    if built is not None:
        extensions = home / "labextensions"
        extensions.mkdir(exist_ok=True)
        (extensions / "repro-nb").symlink_to(built, target_is_directory=True)
        config["LabApp"] = {"extra_labextensions_path": [str(extensions)]}
    (config_dir / "jupyter_server_config.json").write_text(json.dumps(config))


@pytest.fixture
def lab_hash_seed() -> str | None:
    """PYTHONHASHSEED for the server and its kernels; None leaves it unset."""
    return "0"


@pytest.fixture
def lab(e2e_tools, tmp_path, lab_hash_seed) -> Iterator[Lab]:
    """A JupyterLab server on 127.0.0.1 serving an empty folder; stopped after the test."""
    home = tmp_path / "home"
    root_dir = tmp_path / "root"
    home.mkdir()
    root_dir.mkdir()
    env = _lab_env(home, lab_hash_seed)
    last_error: Exception | None = None
    for _ in range(3):  # a free port can be taken between our probe and the server's bind
        try:
            server = _start_lab(home, root_dir, env)
            break
        except LabExited as exc:
            last_error = exc
    else:
        raise last_error  # type: ignore[misc]
    try:
        yield server
    finally:
        _stop(server)


# -- the browser --------------------------------------------------------------------


@pytest.fixture
def page(e2e_tools, tmp_path, request):
    """A page in headless Chromium (Debian's), with a fresh profile; closed after the test.

    When the test fails, a screenshot is left at ``<tmp_path>/failure.png``.
    """
    from playwright.sync_api import sync_playwright

    profile = tmp_path / "chromium-profile"
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            yield page
            report = getattr(request.node, "rep_call", None)
            if report is not None and report.failed:
                try:
                    page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
                except Exception:
                    pass
        finally:
            context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Make each phase's report available to fixtures as ``item.rep_<phase>``."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
