"""Execute a notebook in a fresh kernel with nbclient, collecting repro's per-cell records.

Built on nbclient's hooks and options rather than a fork of its client:

- before the first cell, repro's extension is loaded silently in the kernel
  (``on_notebook_start``), so every cell returns a record in its execute reply
  even when the notebook never mentions repro; a kernel without repro installed
  runs the notebook all the same, without records;
- each cell's id travels in the execute request's metadata, as JupyterLab sends it;
- the kernel starts with ``PYTHONHASHSEED`` fixed, in the notebook's folder;
- whatever happens (an error, a timeout, a dead kernel, Ctrl-C), the kernel is
  shut down before :func:`execute_notebook` returns or raises.
"""

from __future__ import annotations

import ast
import asyncio
import copy
import json
import os
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from traitlets import Type

from repro.compare import cell_markers
from repro.record import PAYLOAD_SOURCE
from repro.runs import DEFAULT_HASH_SEED, Failure, NotebookRun

#: Kernel-side code run silently before the first cell. It assigns no names.
PRELOAD = """\
try:
    import repro.extension
except ImportError:
    pass
else:
    repro.extension.load(get_ipython(), seed=__REPRO_SEED__)
"""

SKIP_TAG = "repro-skip"

#: Kernel-side expression whose value is the environment, as JSON text.
ENVIRONMENT_EXPRESSION = "__import__('repro.environment').environment.capture_environment_json()"


@dataclass(frozen=True)
class ExecuteOptions:
    """How to run a notebook."""

    kernel_name: str | None = None  # default: the notebook's kernelspec
    current_python: bool = False  # run the kernel on the Python running repro-nb
    timeout: float | None = None  # per cell, seconds
    startup_timeout: float = 60
    hash_seed: str | None = None  # default: the notebook's metadata, else "0"
    seed: int | None = None  # switch per-cell seeding on before the first cell


class CellIdKernelClient(AsyncKernelClient):
    """Sends the running cell's id in the execute request's metadata, as JupyterLab does."""

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


class _Client(NotebookClient):
    """nbclient's client with repro's hooks wired in."""

    def __init__(self, nb, run: NotebookRun, preload: str, progress: Callable[[int, int], None] | None, **kw):
        super().__init__(nb, **kw)
        self._run = run
        self._preload = preload
        self._progress = progress
        self.current_index: int | None = None
        self.interrupted = False
        self.on_notebook_start = self._on_notebook_start
        self.on_cell_start = self._on_cell_start
        self.on_cell_execute = self._on_cell_execute
        self.on_cell_executed = self._on_cell_executed
        self.on_notebook_complete = self._on_notebook_complete

    async def _on_notebook_start(self, notebook) -> None:
        # nbclient shuts the kernel down on SIGINT, which surfaces as a dead
        # kernel; note that it was the user's Ctrl-C.
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGINT, self._on_sigint)
        except (RuntimeError, NotImplementedError):  # not the main thread, or Windows
            pass
        msg_id = self.kc.execute(self._preload, silent=True, store_history=False,
                                 user_expressions={"loaded": "'repro.extension' in __import__('sys').modules"})
        reply = await self.async_wait_for_reply(msg_id)
        loaded = (reply or {}).get("content", {}).get("user_expressions", {}).get("loaded", {})
        self._run.records_available = loaded.get("data", {}).get("text/plain") == "True"

    async def _on_notebook_complete(self, notebook) -> None:
        """Ask the kernel for its environment, once the notebook has imported what it uses."""
        if not self._run.records_available or self.kc is None or self.interrupted:
            return
        try:
            msg_id = self.kc.execute("", silent=True, store_history=False,
                                     user_expressions={"environment": ENVIRONMENT_EXPRESSION})
            reply = await self.async_wait_for_reply(msg_id)
            value = reply["content"]["user_expressions"]["environment"]
            if value.get("status") == "ok":
                self._run.environment = json.loads(ast.literal_eval(value["data"]["text/plain"]))
        except Exception as exc:  # the environment is a nicety; the run stands without it
            self.log.debug("could not capture the environment: %s", exc)

    def _on_sigint(self) -> None:
        self.interrupted = True
        self._async_cleanup_kernel_future = asyncio.ensure_future(self._async_cleanup_kernel())

    def _on_cell_start(self, cell, cell_index: int) -> None:
        self.current_index = cell_index
        if self._progress is not None and cell.cell_type == "code":
            self._progress(cell_index, len(self.nb.cells))

    def _on_cell_execute(self, cell, cell_index: int) -> None:
        self.kc.cell_id = cell.get("id")
        self._run.executed.add(cell_index)

    def _on_cell_executed(self, cell, cell_index: int, execute_reply: dict) -> None:
        for payload in execute_reply["content"].get("payload", ()):
            if payload.get("source") == PAYLOAD_SOURCE:
                self._run.records[cell_index] = payload


# Kernels of runs in flight, so that Ctrl-C in the main thread can stop those
# that worker threads run (see run_parallel).
_live_managers: set = set()
_live_lock = threading.Lock()
_stop_all = threading.Event()


def kill_all_kernels() -> None:
    """Kill the kernel of every run in flight; their runs end as interrupted."""
    _stop_all.set()
    with _live_lock:
        managers = list(_live_managers)
    for manager in managers:
        process = getattr(getattr(manager, "provisioner", None), "process", None)
        if process is not None and process.poll() is None:
            process.kill()


def run_parallel(jobs: list[Callable[[], Any]], workers: int) -> list[Any]:
    """Run *jobs* (each executing one notebook) on up to *workers* threads, in order.

    Ctrl-C kills every kernel in flight, then waits for the jobs to wind down.
    """
    if workers <= 1 or len(jobs) <= 1:
        return [job() for job in jobs]
    from concurrent.futures import ThreadPoolExecutor

    _stop_all.clear()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="repro-run") as pool:
        futures = [pool.submit(job) for job in jobs]
        try:
            return [future.result() for future in futures]
        except KeyboardInterrupt:
            kill_all_kernels()
            for future in futures:
                future.cancel()
            return [future.result() for future in futures if not future.cancelled()]
        finally:
            _stop_all.clear()


def notebook_hash_seed(nb) -> str | None:
    """The PYTHONHASHSEED recorded in a notebook's metadata by ``repro-nb record``, if any."""
    value = nb.metadata.get("repro", {}).get("hash_seed")
    return str(value) if value is not None else None


def execute_notebook(
    nb,
    path: Path,
    options: ExecuteOptions = ExecuteOptions(),
    progress: Callable[[int, int], None] | None = None,
) -> NotebookRun:
    """Execute a copy of *nb* (stored at *path*) in a fresh kernel; never modifies *nb*.

    KeyboardInterrupt is caught: the run comes back with an "interrupted" failure.
    """
    work = copy.deepcopy(nb)
    original_tags = {}
    for index, cell in enumerate(work.cells):
        if cell.cell_type != "code":
            continue
        markers = cell_markers(cell)
        original_tags[index] = list(cell.metadata["tags"]) if "tags" in cell.metadata else None
        tags = cell.metadata.setdefault("tags", [])
        if "skip" in markers and SKIP_TAG not in tags:
            tags.append(SKIP_TAG)
        stored_error = any(o.get("output_type") == "error" for o in cell.get("outputs", ()))
        if ("raises-exception" in markers or stored_error) and "raises-exception" not in tags:
            tags.append("raises-exception")

    hash_seed = options.hash_seed or notebook_hash_seed(nb) or DEFAULT_HASH_SEED
    kernel_name = options.kernel_name or nb.metadata.get("kernelspec", {}).get("name") or "python3"
    if options.current_python:
        manager = _current_python_manager()
        kernel_name = "(current python)"
    else:
        manager = ReproKernelManager(kernel_name=kernel_name)

    run = NotebookRun(notebook=work, kernel_name=kernel_name, hash_seed=hash_seed, original_tags=original_tags)
    preload = PRELOAD.replace("__REPRO_SEED__", repr(options.seed))
    client = _Client(
        work,
        run,
        preload,
        progress,
        km=manager,
        timeout=options.timeout if options.timeout else -1,
        startup_timeout=options.startup_timeout,
        skip_cells_with_tag=SKIP_TAG,
        shutdown_kernel="immediate",
        resources={"metadata": {"path": str(path.resolve().parent)}},
    )
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    # The kernel's own stderr (ipykernel's start-up warnings) is kept out of the
    # report, and quoted only when the kernel dies or fails to start.
    kernel_log = tempfile.TemporaryFile(mode="w+b")
    start = time.perf_counter()
    with _live_lock:
        _live_managers.add(manager)
    try:
        if _stop_all.is_set():
            raise KeyboardInterrupt
        client.execute(env=env, stdout=kernel_log, stderr=kernel_log)
    except CellTimeoutError:
        run.failure = Failure("timeout", f"cell timed out after {options.timeout:g} s", client.current_index)
        _interrupt(manager)
    except DeadKernelError:
        if client.interrupted or _stop_all.is_set():  # the kernel was shut down on Ctrl-C
            run.failure = Failure("interrupted", "interrupted by the user", client.current_index)
        else:
            run.failure = Failure("dead-kernel", "the kernel died" + _log_tail(kernel_log), client.current_index)
    except CellExecutionError as exc:
        run.failure = Failure(
            "error", f"{exc.ename}: {exc.evalue}", client.current_index, ename=exc.ename, evalue=exc.evalue
        )
    except (KeyboardInterrupt, asyncio.CancelledError):
        run.failure = Failure("interrupted", "interrupted by the user", client.current_index)
    except Exception as exc:  # the kernel could not start, or nbclient gave up on it
        message = f"{type(exc).__name__}: {exc}".splitlines()[0] + _log_tail(kernel_log)
        run.failure = Failure("kernel", message, client.current_index)
    finally:
        _shutdown(client, manager)
        with _live_lock:
            _live_managers.discard(manager)
        kernel_log.close()
        run.duration = time.perf_counter() - start
    return run


def _log_tail(log, lines: int = 1) -> str:
    """The last line the kernel wrote to stderr, as a suffix for a failure message."""
    log.seek(0)
    text = [line for line in log.read().decode("utf-8", "replace").splitlines()
            if line.strip() and "Kernel is running over TCP" not in line]
    return f" (kernel said: {' | '.join(text[-lines:]).strip()})" if text else ""


def _interrupt(manager: AsyncKernelManager) -> None:
    from jupyter_core.utils import run_sync

    try:
        run_sync(manager.interrupt_kernel)()
    except Exception:  # the kernel is killed next in any case
        return


def _shutdown(client: NotebookClient, manager: AsyncKernelManager) -> None:
    """Stop the kernel and its channels, whatever state they are in."""
    from jupyter_core.utils import run_sync

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
