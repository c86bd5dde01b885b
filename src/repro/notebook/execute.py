"""Execute a notebook in a fresh kernel with nbclient, collecting repro's per-cell records.

Built on nbclient's hooks and options rather than a fork of its client:

- before the first cell, repro's extension is loaded silently in the kernel
  (``on_notebook_start``), so every cell returns a record in its execute reply
  even when the notebook never mentions repro; the load leaves no name in the
  user's namespace, no history entry and no execution count; a kernel without
  repro installed runs the notebook all the same, without records;
- the kernel side's per-cell state digests are switched on (``trace_state``);
- each cell's id travels in the execute request's metadata, as JupyterLab sends it;
- the execute requests are sent ahead of their turn, as JupyterLab's Run All sends them, with
  the same results and failure reports as one at a time (:mod:`repro.notebook.pipeline`);
  ``ExecuteOptions.sequential`` sends each once the cell before it has finished;
- the kernel starts with ``PYTHONHASHSEED`` fixed, in the notebook's folder;
- a Python notebook whose own kernel is not installed here runs on ``python3``,
  with a note on the run; a notebook in another language fails in one line
  (:mod:`repro.notebook.kernels`);
- every cell has a time limit (:data:`repro.notebook.options.DEFAULT_TIMEOUT` unless told
  otherwise), and a :class:`~repro.notebook.watchdog.Watchdog` ends a run whose
  client stopped making progress;
- a cell's output past ``max_output_bytes`` is dropped as it arrives, and the
  notebook fails at that cell (:mod:`repro.notebook.output_limit`);
- SIGTERM and SIGHUP while the kernel runs end it as Ctrl-C does, and reach the
  handler that was in place before (nbclient would take SIGTERM for itself);
- whatever happens (an error, a timeout, a dead kernel, Ctrl-C), the kernel is
  shut down before :func:`execute_notebook` returns or raises, without asyncio
  noise on the terminal, and the processes its cells left running are ended
  (:mod:`repro.notebook.reaper`).
"""

from __future__ import annotations

import ast
import asyncio
import copy
import json
import os
import signal
import tempfile
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Callable

from jupyter_client.kernelspec import NoSuchKernel
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbclient.util import run_hook
from nbformat.v4 import new_output

from repro.notebook import reaper
from repro.notebook.io import notebook_hash_seed
from repro.notebook.failures import log_tail as _log_tail, raised as _raised, stalled as _stalled, \
    timeout_message as _timeout_message
from repro.notebook.kernels import WAY_OUT
from repro.notebook.managers import interrupt_kernel, kernel_hash_seed, kernel_manager, shutdown_kernel
from repro.notebook.markers import cell_markers, may_raise
from repro.notebook.options import ExecuteOptions
from repro.notebook.output_limit import OutputBudget, OutputLimitExceeded
from repro.notebook.pipeline import PipelinedClient
from repro.notebook.pool import KernelPool
from repro.notebook.results import DEFAULT_HASH_SEED, Failure, NotebookRun
from repro.notebook.watchdog import Watchdog, kill_kernel
from repro import kernel_calls
from repro.payload import find_payload

#: Called with the index of the cell about to run and the number of cells.
CellProgress = Callable[[int, int], None]

#: Seconds to wait for the kernel to describe its environment after the last cell.
ENVIRONMENT_TIMEOUT = 30

#: Seconds past the per-cell limit that the watchdog waits for the client's own timeout.
WATCHDOG_GRACE = 60.0

#: Seconds a cell interrupted for its output has to answer before its kernel is killed (the
#: interrupt can land as the cell ends, and take the reply the client waits for with it).
OUTPUT_LIMIT_GRACE = 5.0

#: Signals that stop repro-nb as Ctrl-C does (the CLI's handlers), where the OS has them.
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


class _Client(PipelinedClient):
    """nbclient's client with repro's hooks wired in, its cells pipelined (:mod:`repro.notebook.pipeline`)."""

    def __init__(self, nb, run: NotebookRun, preload: str, progress: CellProgress | None,
                 watchdog: Watchdog | None = None, max_output_bytes: int = 0, pipelined: bool = True, **kw):
        super().__init__(nb, **kw)
        self.pipelined = pipelined
        self._run = run
        self.budget = OutputBudget(max_output_bytes)
        self._handlers: dict = {}  # the Python-level signal handlers in place before the run
        self.watchdog = watchdog or Watchdog(None, None)
        self._preload = preload
        self._progress = progress
        # Decided from the cell's markers and stored outputs, and kept here rather
        # than as tags on the cells: the executed copy carries only what nbclient put there.
        self._skip = {i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "skip" in cell_markers(c)}
        self._may_raise = {i for i, c in enumerate(nb.cells) if c.cell_type == "code" and may_raise(c)}
        self.current_index: int | None = None
        self.interrupted = False
        self.stopped_early = False
        self.on_notebook_start = self._on_notebook_start
        self.on_cell_start = self._on_cell_start
        self.on_cell_execute = self._on_cell_execute
        self.on_cell_executed = self._on_cell_executed
        self.on_notebook_complete = self._on_notebook_complete

    def runnable(self, cell, cell_index: int) -> bool:
        return cell_index not in self._skip and super().runnable(cell, cell_index)

    def cell_allows_errors(self, cell, cell_index: int) -> bool:
        return cell_index in self._may_raise or super().cell_allows_errors(cell, cell_index)

    def halt(self) -> None:
        self.stopped_early = True  # nothing more is asked of this kernel: it may be busy or gone
        super().halt()

    async def async_execute(self, reset_kc: bool = False, **kwargs):
        try:
            return await super().async_execute(reset_kc=reset_kc, **kwargs)
        except Exception:
            exceeded = None if self.current_index is None else self.budget.exceeded(self.current_index)
            if exceeded is not None:  # the interrupt it caused, say
                raise exceeded from None
            raise

    async def async_execute_cell(self, cell, cell_index: int, execution_count=None, store_history: bool = True):
        if cell_index in self._skip:
            await run_hook(self.on_cell_start, cell=cell, cell_index=cell_index)
            return cell
        try:
            cell = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        except BaseException as exc:
            self.stopped_early = True  # nothing more is asked of this kernel: it may be busy or gone
            exceeded = self.budget.exceeded(cell_index)
            if exceeded is not None and isinstance(exc, Exception):  # the interrupt it caused, say
                raise exceeded from None
            raise
        exceeded = self.budget.exceeded(cell_index)
        if exceeded is not None:
            self.stopped_early = True
            raise exceeded
        return cell

    def process_message(self, msg: dict, cell, cell_index: int):
        self.watchdog.touch()
        return super().process_message(msg, cell, cell_index)

    def output(self, outs: list, msg: dict, display_id, cell_index: int):
        """nbclient's output hook, which drops a cell's output past the limit as it arrives."""
        if self.budget.admit(cell_index, msg):
            return super().output(outs, msg, display_id, cell_index)
        marker = self.budget.marker(cell_index)
        if marker is not None:
            outs.append(new_output(**marker))
            self.halt()
            # Stop the cell: what it would still write is only dropped, and it piles up in the
            # sockets' queues faster than it is read.
            task = asyncio.ensure_future(self.km.interrupt_kernel())
            task.add_done_callback(_retrieve)
            asyncio.get_running_loop().call_later(OUTPUT_LIMIT_GRACE, self._kill_if_still_in, cell_index)
        return None

    def _kill_if_still_in(self, cell_index: int) -> None:
        """The run fails at this cell whatever comes: a kernel that has not answered it by now is
        killed, and the run ends with the output limit's failure."""
        if self.current_index == cell_index and self.km is not None:
            kill_kernel(self.km)

    @asynccontextmanager
    async def async_setup_kernel(self, **kwargs):
        """nbclient's, with the signal handlers in place before it put back afterwards
        (nbclient leaves SIGTERM at its default, which would end repro-nb with no clean-up)."""
        main = threading.current_thread() is threading.main_thread()
        self._handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, *STOP_SIGNALS)} if main else {}
        try:
            async with super().async_setup_kernel(**kwargs):
                yield
        finally:
            loop = asyncio.get_running_loop()
            for signum, handler in self._handlers.items():
                loop.remove_signal_handler(signum)
                signal.signal(signum, signal.SIG_DFL if handler is None else handler)

    async def async_start_new_kernel(self, **kwargs) -> None:
        # nbclient has just taken SIGINT and SIGTERM for its event loop: take them over.
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGINT, self._on_sigint)
            for signum in STOP_SIGNALS:
                loop.add_signal_handler(signum, self._on_stop_signal, signum)
        except (RuntimeError, NotImplementedError):  # not the main thread, or Windows
            pass
        await super().async_start_new_kernel(**kwargs)

    async def _async_poll_kernel_alive(self) -> None:
        """nbclient's check that the kernel lives, quiet when the kernel or client is torn
        down under it (Ctrl-C, the watchdog): no "Task exception was never retrieved"."""
        try:
            await super()._async_poll_kernel_alive()
        except asyncio.CancelledError:
            raise
        except Exception:
            if self.task_poll_for_reply is not None:
                self.task_poll_for_reply.cancel()

    async def _check_raise_for_error(self, cell, cell_index: int, exec_reply) -> None:
        exceeded = self.budget.exceeded(cell_index)
        if exceeded is not None:
            raise exceeded
        if cell_index in self._may_raise and exec_reply is not None:
            await run_hook(self.on_cell_error, cell=cell, cell_index=cell_index, execute_reply=exec_reply)
            return None
        return await super()._check_raise_for_error(cell, cell_index, exec_reply)

    async def _on_notebook_start(self, notebook) -> None:
        self.watchdog.watch(asyncio.get_running_loop(), asyncio.current_task())
        msg_id = self.kc.execute(self._preload, silent=True, store_history=False,
                                 user_expressions={"loaded": kernel_calls.loaded_expression()})
        reply = await asyncio.wait_for(self.async_wait_for_reply(msg_id), self.startup_timeout)
        loaded = (reply or {}).get("content", {}).get("user_expressions", {}).get("loaded", {})
        self._run.records_available = loaded.get("data", {}).get("text/plain") == "True"

    async def _on_notebook_complete(self, notebook) -> None:
        """Ask the kernel for its environment, once the notebook has imported what it uses."""
        if not self._run.records_available or self.kc is None or self.interrupted or self.stopped_early:
            return
        try:
            msg_id = self.kc.execute("", silent=True, store_history=False,
                                     user_expressions={"environment": kernel_calls.environment_expression()})
            reply = await asyncio.wait_for(self.async_wait_for_reply(msg_id), ENVIRONMENT_TIMEOUT)
            value = reply["content"]["user_expressions"]["environment"]
            if value.get("status") == "ok":
                self._run.environment = json.loads(ast.literal_eval(value["data"]["text/plain"]))
        except Exception as exc:  # the environment is a nicety; the run stands without it
            self.log.debug("could not capture the environment: %s", exc)

    def _on_sigint(self) -> None:
        # The kernel is shut down, which surfaces as a dead kernel; note that it was the user's Ctrl-C.
        self.interrupted = True
        self.halt()
        future = asyncio.ensure_future(self._async_cleanup_kernel())
        future.add_done_callback(_retrieve)  # its outcome is the run's failure, not a log line
        self._async_cleanup_kernel_future = future

    def _on_stop_signal(self, signum: int) -> None:
        """SIGTERM or SIGHUP while the kernel runs: end it as Ctrl-C does, and call the handler
        that was in place (repro-nb's notes the signal, for its exit code, and raises
        KeyboardInterrupt: the run ends as interrupted in any case)."""
        handler = self._handlers.get(signum)
        if handler == signal.SIG_IGN:
            return
        self._on_sigint()
        if callable(handler):
            try:
                handler(signum, None)
            except KeyboardInterrupt:
                pass

    def _on_cell_start(self, cell, cell_index: int) -> None:
        self.watchdog.touch()
        self.current_index = cell_index
        if self._progress is not None and cell.cell_type == "code":
            self._progress(cell_index, len(self.nb.cells))

    def _on_cell_execute(self, cell, cell_index: int) -> None:
        self.kc.cell_id = cell.get("id")
        self._run.executed.add(cell_index)

    def _on_cell_executed(self, cell, cell_index: int, execute_reply: dict) -> None:
        self.watchdog.touch()
        payload = find_payload(execute_reply["content"].get("payload"))
        if payload is not None:
            self._run.records[cell_index] = payload


def _retrieve(future: asyncio.Future) -> None:
    if not future.cancelled():
        future.exception()


def preload_code(options: ExecuteOptions) -> str:
    """The preload statement (:mod:`repro.kernel_calls`) with the run's seed and state-tracing settings."""
    return kernel_calls.preload_statement(options.seed, options.trace_state, options.trace_max_bytes,
                                          options.max_output_bytes)


def execute_notebook(
    nb,
    path: Path,
    options: ExecuteOptions = ExecuteOptions(),
    progress: CellProgress | None = None,
    pool: KernelPool | None = None,
) -> NotebookRun:
    """Execute a copy of *nb* (stored at *path*) in a fresh kernel; never modifies *nb*.

    The kernel holds a slot of *pool* while it is alive. KeyboardInterrupt is caught:
    the run comes back with an "interrupted" failure, and the pool stops.
    """
    pool = pool or KernelPool(1)
    hash_seed = options.hash_seed or notebook_hash_seed(nb) or DEFAULT_HASH_SEED
    work = copy.deepcopy(nb)
    run = NotebookRun(notebook=work, hash_seed=hash_seed, seed=options.seed)
    manager = kernel_manager(nb, options, run)
    if manager is None:
        return run
    run.kernel_hash_seed = kernel_hash_seed(manager)
    run.hash_seed = run.kernel_hash_seed or hash_seed
    token = reaper.new_token()
    env = dict(os.environ, PYTHONHASHSEED=hash_seed, **{reaper.RUN_VARIABLE: token})
    # Past the cell's own limit, or the kernel's start-up wait, whichever is longer.
    limit = None if options.timeout is None else options.timeout + max(WATCHDOG_GRACE, options.startup_timeout)
    client = _Client(
        work, run, preload_code(options), progress, Watchdog(limit, manager),
        max_output_bytes=options.max_output_bytes, pipelined=not options.sequential,
        km=manager,
        # nbclient's timeout is a whole number of seconds; its timeout_func may return any number.
        timeout=-1,
        timeout_func=(lambda cell, limit=options.timeout: limit) if options.timeout else None,
        startup_timeout=options.startup_timeout,
        shutdown_kernel="immediate",
        record_timing=False,  # per-cell timestamps: nothing reads them, and they change every run
        resources={"metadata": {"path": str(path.resolve().parent)}},
    )
    start = time.perf_counter()
    try:
        with pool.slot(manager):
            _drive(client, manager, run, options, env, pool)
    except KeyboardInterrupt:  # Ctrl-C, or the pool stopped before this run had a slot
        run.failure = Failure("interrupted", "interrupted by the user", client.current_index)
    finally:
        run.duration = time.perf_counter() - start
    if run.failure is not None and run.failure.kind == "interrupted":
        pool.stopping.set()
    return run


def _drive(client: NotebookClient, manager, run: NotebookRun, options: ExecuteOptions, env: dict,
           pool: KernelPool) -> None:
    """Run the notebook to its end or its failure; the kernel is gone when this returns."""
    # The kernel's own stderr (ipykernel's start-up warnings) is kept out of the
    # report, and quoted only when the kernel dies or fails to start.
    kernel_log = tempfile.TemporaryFile(mode="w+b")
    try:
        client.execute(env=env, stdout=kernel_log, stderr=kernel_log)
    except CellTimeoutError:
        run.failure = Failure("timeout", _timeout_message(options), client.current_index)
        interrupt_kernel(manager)
    except DeadKernelError:
        if client.interrupted or pool.stopping.is_set():  # the kernel was shut down on Ctrl-C
            run.failure = Failure("interrupted", "interrupted by the user", client.current_index)
        else:
            run.failure = Failure("dead-kernel", "the kernel died" + _log_tail(kernel_log), client.current_index)
    except OutputLimitExceeded as exc:
        run.failure = Failure("output-limit", str(exc), exc.cell_index)
    except CellExecutionError as exc:
        ename, evalue = _raised(exc, client)
        run.failure = Failure("error", f"{ename}: {evalue}", client.current_index, ename=ename, evalue=evalue)
    except (KeyboardInterrupt, asyncio.CancelledError):
        run.failure = Failure("interrupted", "interrupted by the user", client.current_index)
    except NoSuchKernel:  # uninstalled since the run was planned
        run.failure = Failure("kernel", f"no such kernel: {run.kernel_name!r}: {WAY_OUT}")
    except Exception as exc:  # the kernel could not start, or nbclient gave up on it
        reason = (f"{type(exc).__name__}: {exc}".splitlines() or [type(exc).__name__])[0]
        started = "stopped answering" if client.current_index is not None else "could not start"
        message = f"kernel {run.kernel_name!r} {started}: {reason}{_log_tail(kernel_log)}"
        run.failure = Failure("kernel", message, client.current_index)
    finally:
        client.watchdog.stop()
        if client.watchdog.fired:  # whatever the stalled client raised on the way out
            run.failure = _stalled(client)
        shutdown_kernel(client, manager, env.get(reaper.RUN_VARIABLE))
        client.release()
        kernel_log.close()
