"""Pipelined execution: execute requests sent ahead of their turn, as JupyterLab's Run All does.

nbclient sends a cell's execute request only once the cell before it has replied and gone
idle: each cell pays a round trip between the client and the kernel. Here up to
:data:`WINDOW` requests wait in the kernel's queue, and the client reads the replies and
outputs of the cells as they come, each message attributed to its cell by its parent's
``msg_id``. What the client does with them is what it does one cell at a time, in the same
order, through nbclient's own handlers (``process_message``, ``output``,
``handle_comm_msg``) and hooks, so that results, records and failure reports are the same:

- a cell becomes the client's current cell (``on_cell_start``, progress, ``executed``) once
  the cell before it has finished, as it would one at a time; messages of a cell that
  arrive earlier (its reply may lag behind the next cell's first outputs: two sockets)
  are kept and handled then;
- a cell's time limit counts from its start in the kernel (its ``busy`` status), not from
  the moment its request was sent;
- a request is sent with ``stop_on_error`` unless its cell may raise, so the kernel aborts
  the requests queued behind an error. The kernel aborts only those it has already
  received when the error happens; the guard (:mod:`repro.notebook.guard`), installed in the
  kernel before the first cell, makes every later request fail before running its code:
  once a cell failed with ``stop_on_error``, and once the client stopped the run (a timeout,
  the output limit, Ctrl-C: :meth:`PipelinedClient.halt`);
- a kernel that dies is reported at the cell it was running, which the guard notes as each
  cell starts (the last messages of the cell before it may die with the kernel);
- a kernel without the guard (not IPython) runs one cell at a time.
"""

from __future__ import annotations

import asyncio
import collections
import time
from dataclasses import dataclass, field
from typing import Any

import zmq
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbclient.client import timestamp
from nbclient.exceptions import CellExecutionComplete, CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async, run_hook

from repro.notebook.guard import Guard

#: Execute requests waiting in the kernel's queue behind the cell that runs, at most.
WINDOW = 16

#: Seconds between two checks that the kernel lives (nbclient checks every second too).
ALIVE_EVERY = 1.0

#: Longest wait on the sockets in one go, in seconds: a wake-up the event loop misses (see
#: :class:`repro.notebook.managers.PolledChannel`) costs no more.
SLICE = 0.1

@dataclass
class _Sent:
    """A cell whose execute request was sent."""

    index: int
    cell: Any
    msg_id: str
    count: int  # the execution count nbclient gives the cell
    started: float | None = None  # when its busy status arrived
    reply: dict | None = None
    replied: float = 0.0
    idle: bool = False  # its idle status handled: its output is complete
    held_idle: bool = False  # its idle status among the held messages
    held: list = field(default_factory=list)  # its messages that came before it was the current cell


class Pipeline:
    """Runs the code cells of *client*'s notebook with requests sent ahead; :meth:`run`."""

    def __init__(self, client, window: int = WINDOW) -> None:
        self.client = client
        self.window = max(1, window)
        cells = client.nb.cells
        self._cells = cells
        self._runnable = [i for i, cell in enumerate(cells) if client.runnable(cell, i)]
        self._next_send = 0  # position in _runnable
        self._cursor = 0  # the next cell to pass over, in notebook order
        self._sent: collections.deque[_Sent] = collections.deque()
        self._by_id: dict[str, _Sent] = {}
        self._by_index: dict[int, _Sent] = {}
        self.current: _Sent | None = None
        self._checked = time.monotonic()
        self._dying = False  # the kernel is dead: its last messages are being read
        self._sockets: dict = {}
        self.guard = Guard()

    async def run(self) -> None:
        """Run every cell, or raise what nbclient raises one cell at a time (after :meth:`halt`)."""
        kc = self.client.kc
        channels = {"shell": kc.shell_channel, "iopub": kc.iopub_channel}
        # The event loop only says when a socket has messages; they are read here, in their order,
        # without a task or a future each.
        self._sockets = {name: (channel.session, zmq.Socket.shadow(channel.socket.underlying))
                         for name, channel in channels.items()}
        polls: dict[str, asyncio.Future] = {}
        try:
            self._fill()
            await self._advance()
            while self.current is not None:
                for name, channel in channels.items():
                    if name not in polls:
                        polls[name] = asyncio.ensure_future(channel.socket.poll(int(SLICE * 1000), zmq.POLLIN))
                await asyncio.wait(polls.values(), timeout=min(self._wait(), SLICE),
                                   return_when=asyncio.FIRST_COMPLETED)
                for name in [name for name, poll in polls.items() if poll.done()]:
                    _retrieve(polls.pop(name))  # a closed socket says so when read
                await self._drain()
                await self._settle()
        except BaseException:
            self.client.halt()
            raise
        finally:
            for poll in polls.values():
                poll.cancel()

    async def _drain(self, wait: float = 0) -> None:
        """Handle the messages waiting on the sockets (and those that come within *wait* seconds)."""
        for name, (session, socket) in self._sockets.items():
            while socket.poll(wait * 1000) if wait else True:
                frames = await self._received(lambda: socket.recv_multipart(zmq.NOBLOCK))
                if frames is None:
                    break
                self._dispatch(name, session.deserialize(session.feed_identities(frames)[1]))

    async def _received(self, receive):
        """What *receive* returns (None: nothing waiting); when the channels closed under it
        (Ctrl-C, the kernel gone), nbclient's DeadKernelError."""
        try:
            return receive()
        except zmq.Again:
            return None
        except Exception:
            await self._check_alive(force=True)
            raise

    def _fill(self) -> None:
        client = self.client
        while self._next_send < len(self._runnable) and len(self._sent) < self.window:
            index = self._runnable[self._next_send]
            self._next_send += 1
            cell = self._cells[index]
            client.kc.cell_id = cell.get("id")
            msg_id = client.kc.execute(cell.source, store_history=True,
                                       stop_on_error=not client.cell_allows_errors(cell, index))
            entry = _Sent(index, cell, msg_id, client.code_cells_executed + 1)
            client.code_cells_executed += 1
            self._sent.append(entry)
            self._by_id[msg_id] = self._by_index[index] = entry

    async def _advance(self) -> None:
        """Pass over the cells up to the next code cell to run, and make it the current cell."""
        client = self.client
        self.current = None
        while self._cursor < len(self._cells):
            index = self._cursor
            self._cursor += 1
            cell = self._cells[index]
            await run_hook(client.on_cell_start, cell=cell, cell_index=index)
            entry = self._by_index.get(index)
            if entry is None:
                continue
            if client.record_timing:
                cell["metadata"]["execution"] = {}
            await run_hook(client.on_cell_execute, cell=cell, cell_index=index)
            await run_hook(client.on_cell_complete, cell=cell, cell_index=index)
            cell.outputs = []
            client.clear_before_next_output = False
            self.current = entry
            for msg in entry.held:
                self._process(entry, msg)
            entry.held = []
            return

    def _dispatch(self, channel: str, msg: dict) -> None:
        self.client.watchdog.touch()
        entry = self._by_id.get(msg.get("parent_header", {}).get("msg_id"))
        if entry is None:  # a finished cell's, or no cell's
            return
        if channel == "shell":
            if entry.reply is None:
                entry.reply, entry.replied = msg, time.monotonic()
                entry.started = entry.started or entry.replied
            return
        if msg["msg_type"] == "status" and msg["content"].get("execution_state") == "busy" and entry.started is None:
            entry.started = time.monotonic()
        if entry is self.current:
            self._process(entry, msg)
        elif not entry.held_idle:
            entry.held.append(msg)
            entry.held_idle = _is_idle(msg)

    def _process(self, entry: _Sent, msg: dict) -> None:
        if entry.idle:  # nbclient stops reading a cell's output at its idle
            return
        try:
            self.client.process_message(msg, entry.cell, entry.index)
        except CellExecutionComplete:
            entry.idle = True

    async def _settle(self, alive: bool = True) -> None:
        """Finish the current cell while it is done, moving on to the next; raise on its failure.
        *alive*: check that the kernel lives while the current cell is not done."""
        while self.current is not None:
            if alive and (self.client.kc is None or self.client.interrupted):  # Ctrl-C: nothing more
                raise DeadKernelError("Kernel died")
            entry = self.current
            if entry.reply is None or not (entry.idle or self._iopub_late(entry)):
                if alive:
                    self._check_timeout(entry)
                    await self._check_alive()
                return
            self._sent.popleft()
            del self._by_id[entry.msg_id], self._by_index[entry.index]
            await self._finish(entry)
            if alive:
                self._fill()
            await self._advance()

    def _iopub_late(self, entry: _Sent) -> bool:
        if time.monotonic() - entry.replied < self.client.iopub_timeout:
            return False
        if self.client.raise_on_iopub_timeout:
            raise CellTimeoutError.error_from_timeout_and_cell("Timeout waiting for IOPub output",
                                                               self.client.iopub_timeout, entry.cell)
        self.client.log.warning("Timeout waiting for IOPub output")
        return True

    async def _finish(self, entry: _Sent) -> None:
        """What nbclient does once a cell replied and went idle."""
        client, cell, reply = self.client, entry.cell, entry.reply
        if client.record_timing:
            cell["metadata"]["execution"]["shell.execute_reply"] = timestamp(reply)
        cell["execution_count"] = entry.count
        if reply["content"].get("status") == "aborted":  # not asked for: only after a failure the client saw
            raise RuntimeError("the kernel aborted the cell")
        await run_hook(client.on_cell_executed, cell=cell, cell_index=entry.index, execute_reply=reply)
        await client._check_raise_for_error(cell, entry.index, reply)
        client.nb["cells"][entry.index] = cell

    def _check_timeout(self, entry: _Sent) -> None:
        """Raise nbclient's timeout once the running cell has run past its limit."""
        if entry.started is None or entry.reply is not None or self._next_started():
            return  # not started yet; or finished in the kernel, its reply on its way
        limit = self.client._get_timeout(entry.cell)
        if limit is not None and time.monotonic() - entry.started > limit:
            raise CellTimeoutError.error_from_timeout_and_cell("Cell execution timed out", limit, entry.cell)

    def _next_started(self) -> bool:
        """Whether the cell after the current one has started (the current one is over in the kernel)."""
        return len(self._sent) > 1 and self._sent[1].started is not None

    async def _check_alive(self, force: bool = False) -> None:
        client = self.client
        if client.kc is None or client.interrupted or self._dying:
            raise DeadKernelError("Kernel died")
        now = time.monotonic()
        if force or now - self._checked >= ALIVE_EVERY:
            self._checked = now
            if not await ensure_async(client.kc.is_alive()):
                # What the kernel sent before it died says which cell it died in (one at a time,
                # the client would have finished the cells before it first).
                self._dying = True
                await self._drain(wait=0.1)
                await self._settle(alive=False)
                await self._skip_to_last_started()
                raise DeadKernelError("Kernel died")

    async def _skip_to_last_started(self) -> None:
        """After the kernel died: the cells before the one it started last finished there, and
        their last messages died with it; they are finished with what came."""
        last = self._by_id.get(self.guard.last_started() or "")
        if last is None or self.current is None or last.index < self.current.index:
            return
        while self.current is not last:
            entry = self._sent.popleft()
            del self._by_id[entry.msg_id], self._by_index[entry.index]
            entry.cell["execution_count"] = entry.count
            await self._advance()

    def _wait(self) -> float:
        """Seconds to wait for the next message: until the next check is due."""
        wait = max(0.0, ALIVE_EVERY - (time.monotonic() - self._checked))
        entry = self.current
        if entry is not None and entry.started is not None and entry.reply is None:
            limit = self.client._get_timeout(entry.cell)
            if limit is not None:
                wait = min(wait, max(0.0, entry.started + limit - time.monotonic()) + 0.01)
        elif entry is not None and entry.reply is not None:
            wait = min(wait, max(0.0, entry.replied + self.client.iopub_timeout - time.monotonic()) + 0.01)
        return wait


class PipelinedClient(NotebookClient):
    """nbclient's client, whose notebook runs through a :class:`Pipeline` where it can
    (``pipelined``, and the kernel took the guard); one cell at a time otherwise."""

    pipelined = True
    pipeline: Pipeline | None = None

    def runnable(self, cell, cell_index: int) -> bool:
        """Whether the cell is sent to the kernel (nbclient's test)."""
        return (cell.cell_type == "code" and bool(cell.source.strip())
                and self.skip_cells_with_tag not in cell.metadata.get("tags", []))

    def cell_allows_errors(self, cell, cell_index: int) -> bool:
        """Whether the notebook goes on when the cell raises (its request is sent without stop_on_error)."""
        return not self.force_raise_errors and (self.allow_errors or "raises-exception" in cell.metadata.get("tags", []))

    def halt(self) -> None:
        """Have the kernel start no cell that it has not started yet."""
        if self.pipeline is not None:
            self.pipeline.guard.halt()

    def release(self) -> None:
        """Remove the stop flag's folder, once the kernel is gone."""
        if self.pipeline is not None:
            self.pipeline.guard.close()

    async def async_execute(self, reset_kc: bool = False, **kwargs: Any):
        """nbclient's, with the cells run through a :class:`Pipeline` when the kernel takes the guard."""
        if not self.pipelined or self.coalesce_streams or self.allow_error_names:
            return await super().async_execute(reset_kc=reset_kc, **kwargs)
        if reset_kc and self.owns_km:
            await self._async_cleanup_kernel()
        self.reset_execution_trackers()
        async with self.async_setup_kernel(**kwargs):
            info = await self.async_wait_for_reply(await ensure_async(self.kc.kernel_info()))
            if info is not None:
                if "language_info" not in info["content"]:
                    raise RuntimeError(f"Kernel info received message content has no \"language_info\" key. "
                                       f"Content is:\n{info['content']}")
                self.nb.metadata["language_info"] = info["content"]["language_info"]
            pipeline = Pipeline(self)
            if await self._async_install_guard(pipeline.guard):
                self.pipeline = pipeline
                await pipeline.run()
            else:
                pipeline.guard.close()
                for index, cell in enumerate(self.nb.cells):
                    await self.async_execute_cell(cell, index, execution_count=self.code_cells_executed + 1)
            self.set_widgets_metadata()
        return self.nb

    def execute(self, **kwargs: Any):
        """nbclient's ``execute``, bound to this class's :meth:`async_execute` (nbclient's is bound to its own)."""
        return run_sync(self.async_execute)(**kwargs)

    async def _async_install_guard(self, guard: Guard) -> bool:
        msg_id = self.kc.execute(guard.statement(), silent=True, store_history=False)
        reply = await asyncio.wait_for(self.async_wait_for_reply(msg_id), self.startup_timeout)
        return (reply or {}).get("content", {}).get("status") == "ok"


def _retrieve(future: asyncio.Future) -> None:
    if not future.cancelled():
        future.exception()


def _is_idle(msg: dict) -> bool:
    return msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle"
