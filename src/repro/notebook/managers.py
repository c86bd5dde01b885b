"""The kernel managers and clients repro starts kernels with."""

from __future__ import annotations

import gc
import os
import shutil
import sys
import tempfile
import time
from queue import Empty
from typing import Any

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from traitlets import Type

from repro.notebook import reaper
from repro.notebook.kernels import choose_kernel
from repro.notebook.options import ExecuteOptions
from repro.notebook.results import Failure, NotebookRun


#: Longest path of a Unix socket that every Linux accepts (sun_path holds 108 bytes).
SOCKET_PATH_MAX = 100

#: Longest single wait on a kernel socket, in seconds.
POLL_SLICE = 0.5


class PolledChannel(AsyncZMQSocketChannel):
    """A kernel channel that never waits on its socket for long in one go.

    With several kernels' clients busy in one process, the asyncio poll of a zmq
    socket can miss the wake-up for a message that has arrived; it sees the message
    only when its timeout runs out (the poller looks once more then). One long wait
    turns such a miss into a stall until the cell's time limit, or forever without
    one; waits of at most :data:`POLL_SLICE` seconds bound it to that.
    """

    async def get_msg(self, timeout: float | None = None) -> dict[str, Any]:  # type: ignore[override]
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = POLL_SLICE if deadline is None else max(0.0, min(POLL_SLICE, deadline - time.monotonic()))
            try:
                return await super().get_msg(timeout=left)
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise


class CellIdKernelClient(AsyncKernelClient):
    """Sends the running cell's id in the execute request's metadata, as JupyterLab does,
    over channels that never wait long on their sockets (:class:`PolledChannel`)."""

    shell_channel_class = Type(PolledChannel)  # type: ignore[assignment]
    iopub_channel_class = Type(PolledChannel)  # type: ignore[assignment]
    control_channel_class = Type(PolledChannel)  # type: ignore[assignment]
    cell_id: str | None = None

    def _send_with_cell_id(self, msg: dict) -> None:
        if self.cell_id:
            msg["metadata"]["cellId"] = self.cell_id
        type(self.shell_channel).send(self.shell_channel, msg)

    def execute(self, code: str, *args: Any, **kwargs: Any) -> str:
        channel = self.shell_channel
        send = channel.send
        channel.send = self._send_with_cell_id
        try:
            return super().execute(code, *args, **kwargs)
        finally:
            channel.send = send


class ReproKernelManager(AsyncKernelManager):
    """Starts its kernel over sockets in a private folder where it can (:func:`use_private_ipc`)."""

    client_class = Type(CellIdKernelClient, klass=AsyncKernelClient).tag(config=True)  # type: ignore[assignment]
    client_factory = Type(CellIdKernelClient, klass=AsyncKernelClient)  # type: ignore[assignment]
    private_dir: str | None = None

    async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]
        use_private_ipc(self)
        await super().start_kernel(**kw)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if self.private_dir is not None and not restart:
            shutil.rmtree(self.private_dir, ignore_errors=True)  # with whatever cleanup left in it
            self.private_dir = None

    # jupyter_client binds the public name to its own function, and calls the private one itself.
    cleanup_resources = _async_cleanup_resources  # type: ignore[assignment]


def use_private_ipc(manager) -> None:
    """On Linux, have *manager* start its kernel over Unix sockets in a new folder of its own
    (the connection file, which holds the kernel's key, goes there too): two kernels started
    at once, in one process or two, can then never pick the same TCP port ("Address already in
    use"). Elsewhere, or where the temporary folder's path is too long for a socket: TCP."""
    if not sys.platform.startswith("linux") or getattr(manager, "private_dir", None) or manager.has_kernel:
        return
    folder = tempfile.mkdtemp(prefix="repro-")
    if len(os.path.join(folder, "kernel-ipc-65535")) > SOCKET_PATH_MAX:
        os.rmdir(folder)
        return
    manager.private_dir = folder
    manager.transport = "ipc"
    manager.connection_file = os.path.join(folder, "kernel.json")
    manager.ip = os.path.join(folder, "kernel-ipc")


def _current_python_manager() -> ReproKernelManager:
    from jupyter_client.kernelspec import KernelSpec

    manager = ReproKernelManager()
    manager._kernel_spec = KernelSpec(
        argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        display_name=f"Python {sys.version_info.major}.{sys.version_info.minor} (repro-nb)",
        language="python",
    )
    return manager


def kernel_manager(nb, options: ExecuteOptions, run: NotebookRun) -> ReproKernelManager | None:
    """The manager of the kernel to start, with ``run.kernel_name`` set; None (and
    ``run.failure`` set) when no kernel here can run the notebook."""
    if options.current_python:
        run.kernel_name = "(current python)"
        return _current_python_manager()
    if options.kernel_name:  # the user's choice, checked before anything ran
        run.kernel_name = options.kernel_name
        return ReproKernelManager(kernel_name=options.kernel_name)
    choice = choose_kernel(nb.metadata, _installed)
    run.kernel_name = choice.name
    if choice.missing is not None:
        run.failure = Failure("kernel", choice.missing)
        return None
    if choice.note is not None:
        run.notes.append(choice.note)
    return ReproKernelManager(kernel_name=choice.name)


def kernel_hash_seed(manager) -> str | None:
    """The PYTHONHASHSEED the kernel's spec fixes, if any: it wins over the one repro passes
    (jupyter_client applies a kernelspec's ``env`` last)."""
    try:
        env = manager.kernel_spec.env or {}
    except Exception:  # a kernelspec gone or broken: starting the kernel will say what is wrong
        return None
    value = str(env.get("PYTHONHASHSEED", "")).strip()
    return value if value.isascii() and value.isdigit() else None


def _installed(name: str) -> bool:
    """Whether a kernelspec of this name is installed, as the kernel manager will look it up."""
    from jupyter_client.kernelspec import NoSuchKernel

    try:
        ReproKernelManager(kernel_name=name).kernel_spec
    except NoSuchKernel:
        return False
    except Exception:  # a broken kernelspec: starting it will say what is wrong, in one line
        return True
    return True


def interrupt_kernel(manager: AsyncKernelManager) -> None:
    from jupyter_core.utils import run_sync

    try:
        run_sync(manager.interrupt_kernel)()
    except Exception:  # the kernel is killed next in any case
        return


def shutdown_kernel(client, manager: AsyncKernelManager, token: str | None = None) -> None:
    """Stop the kernel and its channels, whatever state they are in; then end what its cells left
    running (the processes that carry the run's *token*, or that were below the kernel)."""
    import atexit

    from jupyter_core.utils import run_sync

    kernel_pid = getattr(getattr(manager, "provisioner", None), "pid", None)
    below = reaper.descendants(kernel_pid) if kernel_pid and token and reaper.supported() else set()
    # nbclient registers a clean-up for the end of the process; it is done here, now,
    # and once the kernel is gone the registered one would fail with a traceback.
    atexit.unregister(client._cleanup_kernel)

    try:
        if client.kc is not None:
            client.kc.stop_channels()
        if manager.has_kernel:
            run_sync(manager.shutdown_kernel)(now=True)
    except Exception:
        # Last resort: the process must not outlive the run.
        provisioner = getattr(manager, "provisioner", None)
        process = getattr(provisioner, "process", None)
        if process is not None and process.poll() is None:
            process.kill()
    finally:
        try:
            run_sync(manager.cleanup_resources)()
        except OSError as exc:  # a connection file already gone, say
            manager.log.debug("kernel cleanup: %s", exc)
        if token and reaper.supported():
            ended = reaper.end_processes(below | reaper.carrying(token))
            if ended:
                print(reaper.summary(ended), file=sys.stderr)
        # nbclient may abandon tasks that hold an exception (a cell timed out); they are
        # finalised here, at a known point, not at some later allocation, where the
        # traceback their finaliser formats re-enters ast.parse (Python 3.11 fails a
        # parse in progress then: "AST constructor recursion depth mismatch").
        gc.collect()
