"""The kernel managers and clients repro starts kernels with."""

from __future__ import annotations

import sys
import time
from queue import Empty
from typing import Any

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from traitlets import Type

from repro.notebook.kernels import choose_kernel
from repro.notebook.options import ExecuteOptions
from repro.notebook.results import Failure, NotebookRun


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
    client_class = Type(CellIdKernelClient, klass=AsyncKernelClient).tag(config=True)  # type: ignore[assignment]
    client_factory = Type(CellIdKernelClient, klass=AsyncKernelClient)  # type: ignore[assignment]


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
