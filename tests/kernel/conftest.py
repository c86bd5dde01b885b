"""Helpers for the real-kernel tests: start kernels, run cells, and always shut them down.

Tests get them from the ``kernels`` fixture (:class:`KernelTools`). Every
kernel started through it (``kernels.session()`` or ``kernels.run_notebook()``)
has its PID recorded in ``KERNEL_PIDS``, so that the session fixture at the
bottom can prove that none outlived the tests.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

import pytest
from jupyter_client import AsyncKernelManager, KernelManager
from jupyter_core.utils import run_sync
from nbclient import NotebookClient

from repro.notebook.managers import use_private_ipc

#: PIDs of every kernel started by these tests.
KERNEL_PIDS: list[int] = []

#: Seconds to wait for one cell's reply; generous, since a cold `import torch` is slow.
CELL_TIMEOUT = 120
STARTUP_TIMEOUT = 60


def pid_alive(pid: int) -> bool:
    """Whether a process with this PID exists (a zombie counts as gone)."""
    try:
        import psutil
    except ImportError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def kernel_env(ipython_dir: str) -> dict[str, str]:
    """The kernel's environment: ours, with an empty IPython profile dir.

    A clean IPYTHONDIR keeps a user's profile (which might load repro at
    start-up) out of the tests.
    """
    return {**os.environ, "IPYTHONDIR": ipython_dir}


@pytest.fixture(scope="session")
def ipython_dir(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("ipython"))


# -- outputs --------------------------------------------------------------------


def output_texts(outputs) -> dict[str, str]:
    """The user-visible text of a cell's outputs, in nbformat shape.

    Streams are joined per name (nbclient may or may not coalesce them), and
    execute results are reduced to their text/plain.
    """
    texts = {"stdout": "", "stderr": "", "execute_result": ""}
    for out in outputs:
        kind = out["output_type"]
        if kind == "stream":
            texts[out["name"]] += out["text"]
        elif kind == "execute_result":
            texts["execute_result"] += out["data"].get("text/plain", "")
    return texts


# -- a kernel driven message by message -------------------------------------------


@dataclass
class Execution:
    """One execute request: what came back on IOPub and the shell reply's content."""

    code: str
    cell_id: str | None
    outputs: list[dict[str, Any]]  # nbformat-shaped outputs
    reply: dict[str, Any]  # execute_reply content

    @property
    def texts(self) -> dict[str, str]:
        return output_texts(self.outputs)

    @property
    def stdout(self) -> str:
        return self.texts["stdout"]


@dataclass
class KernelSession:
    km: KernelManager
    kc: Any
    pid: int
    history: list[Execution] = field(default_factory=list)

    def execute(self, code: str, cell_id: str | None = None, timeout: float = CELL_TIMEOUT) -> Execution:
        """Send one execute_request and wait for its outputs and reply.

        With *cell_id*, the id goes in the request's metadata as ``cellId``,
        the way JupyterLab sends it (jupyter_client's ``execute()`` has no
        cell_id argument); without it the request is what ``kc.execute(code)``
        sends, as ``jupyter nbconvert --execute`` used to.
        """
        content = {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": False,
            # Every request waits for its reply before the next is sent; never
            # let an expected error abort a later request.
            "stop_on_error": False,
        }
        msg = self.kc.session.msg("execute_request", content)
        if cell_id is not None:
            msg["metadata"]["cellId"] = cell_id
        msg_id = msg["header"]["msg_id"]
        self.kc.shell_channel.send(msg)

        outputs: list[dict[str, Any]] = []
        while True:
            iopub = self.kc.get_iopub_msg(timeout=timeout)
            if iopub["parent_header"].get("msg_id") != msg_id:
                continue
            kind = iopub["msg_type"]
            if kind == "status" and iopub["content"]["execution_state"] == "idle":
                break
            if kind in ("stream", "execute_result", "display_data", "error"):
                outputs.append({"output_type": kind, **iopub["content"]})
        while True:
            reply = self.kc.get_shell_msg(timeout=timeout)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        execution = Execution(code=code, cell_id=cell_id, outputs=outputs, reply=reply["content"])
        self.history.append(execution)
        return execution


class _PrivateKernelManager(KernelManager):
    """Starts its kernel over sockets in a folder of its own, as repro-nb does: two test
    processes (``pytest -n 2``) never pick the same TCP port."""

    private_dir = None

    def start_kernel(self, **kw):
        use_private_ipc(self)
        return super().start_kernel(**kw)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if self.private_dir is not None and not restart:
            shutil.rmtree(self.private_dir, ignore_errors=True)
            self.private_dir = None

    cleanup_resources = run_sync(_async_cleanup_resources)


class _PrivateAsyncKernelManager(AsyncKernelManager):
    """:class:`_PrivateKernelManager` for nbclient."""

    private_dir = None

    async def start_kernel(self, **kw):
        use_private_ipc(self)
        return await super().start_kernel(**kw)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if self.private_dir is not None and not restart:
            shutil.rmtree(self.private_dir, ignore_errors=True)
            self.private_dir = None

    cleanup_resources = _async_cleanup_resources


@contextmanager
def _kernel_session(ipython_dir: str) -> Iterator[KernelSession]:
    """A fresh ``python3`` kernel with a client; shut down (now) and reaped on exit."""
    km = _PrivateKernelManager(kernel_name="python3")
    km.start_kernel(
        extra_arguments=["--HistoryManager.hist_file=:memory:"],
        env=kernel_env(ipython_dir),
    )
    kc = None
    pid = km.provisioner.pid
    KERNEL_PIDS.append(pid)
    try:
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=STARTUP_TIMEOUT)
        yield KernelSession(km=km, kc=kc, pid=pid)
    finally:
        if kc is not None:
            kc.stop_channels()
        km.shutdown_kernel(now=True)  # kills the process and waits for it


# -- a notebook run by nbclient -------------------------------------------------------


@dataclass
class ClientRun:
    nb: Any  # the executed notebook
    replies: dict[int, dict[str, Any]]  # cell index -> execute_reply content
    pid: int

    def texts(self, index: int) -> dict[str, str]:
        return output_texts(self.nb.cells[index].outputs)


def _run_notebook(nb, ipython_dir: str) -> ClientRun:
    """Execute *nb* in a fresh ``python3`` kernel with nbclient, as ``jupyter execute`` does.

    nbclient owns the kernel and shuts it down when the run ends, also when a
    cell fails; the kernel's PID is checked to be gone before this returns.
    """
    replies: dict[int, dict[str, Any]] = {}
    pids: list[int] = []
    client: NotebookClient

    def on_notebook_start(notebook) -> None:
        pid = client.km.provisioner.pid
        pids.append(pid)
        KERNEL_PIDS.append(pid)

    def on_cell_executed(cell, cell_index, execute_reply) -> None:
        replies[cell_index] = execute_reply["content"]

    client = NotebookClient(
        nb,
        kernel_name="python3",
        kernel_manager_class=_PrivateAsyncKernelManager,
        timeout=CELL_TIMEOUT,
        startup_timeout=STARTUP_TIMEOUT,
        shutdown_kernel="immediate",
        on_notebook_start=on_notebook_start,
        on_cell_executed=on_cell_executed,
    )
    client.execute(env=kernel_env(ipython_dir))
    assert len(pids) == 1, pids
    assert not pid_alive(pids[0]), f"nbclient left kernel {pids[0]} running"
    return ClientRun(nb=nb, replies=replies, pid=pids[0])


class KernelTools:
    """What the tests use, handed out by the ``kernels`` fixture."""

    pid_alive = staticmethod(pid_alive)
    output_texts = staticmethod(output_texts)

    def __init__(self, ipython_dir: str) -> None:
        self.ipython_dir = ipython_dir

    def session(self):
        """``with kernels.session() as s:`` a fresh kernel, shut down on exit."""
        return _kernel_session(self.ipython_dir)

    def run_notebook(self, nb) -> ClientRun:
        return _run_notebook(nb, self.ipython_dir)

    @staticmethod
    def python() -> str:
        """The interpreter the kernels must run: the one running the tests (the venv's)."""
        return sys.executable


@pytest.fixture(scope="session")
def kernels(ipython_dir) -> KernelTools:
    return KernelTools(ipython_dir)


@pytest.fixture(scope="session", autouse=True)
def no_kernel_left_behind():
    """After the last kernel test: every kernel these tests started is gone."""
    yield
    survivors = [pid for pid in KERNEL_PIDS if pid_alive(pid)]
    for pid in survivors:  # our own kernels only, by PID
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert not survivors, f"kernel processes outlived the tests: {survivors}"

