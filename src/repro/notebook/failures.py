"""What a failed run says: the exception a cell raised, a stalled client, a timeout, the kernel's last words."""

from __future__ import annotations

from nbclient.exceptions import CellExecutionError

from repro.notebook.options import ExecuteOptions
from repro.notebook.results import Failure


def raised(exc: CellExecutionError, client) -> tuple[str, str]:
    """What the failing cell raised. A cell whose display failed (a ``_repr_html_`` that raised)
    has a reply with no exception in it (IPython's ``NoneType: None``): its error output says."""
    ename, evalue = exc.ename, exc.evalue
    if ename not in ("NoneType", "<Error>", "", None) or client.current_index is None:
        return ename, evalue
    outputs = client.nb.cells[client.current_index].get("outputs") or ()
    errors = [o for o in outputs if o.get("output_type") == "error" and o.get("ename")]
    if not errors:
        return ename, evalue
    return str(errors[-1]["ename"]), str(errors[-1].get("evalue", ""))


def stalled(client) -> Failure:
    return Failure("timeout", f"no progress for {client.watchdog.limit:g} s: the run was stopped and its "
                   "kernel ended", client.current_index)


def timeout_message(options: ExecuteOptions) -> str:
    from repro.notebook.options import DEFAULT_TIMEOUT

    message = f"cell timed out after {options.timeout:g} s"
    if options.timeout == DEFAULT_TIMEOUT:
        message += " (the default limit: --timeout SECONDS sets another, --timeout none removes it)"
    return message


def log_tail(log) -> str:
    """What the kernel said on stderr that best tells why it failed, as a suffix for a message.

    The line naming an error wins over the last line: a Python that cannot start ends
    with "Python runtime state: preinitialized", after the line that says why.
    """
    log.seek(0)
    text = [line.strip() for line in log.read().decode("utf-8", "replace").splitlines()
            if line.strip() and "Kernel is running over TCP" not in line]
    if not text:
        return ""
    errors = [line for line in text if "error" in line.lower()]
    return f" (kernel said: {(errors or text)[-1][:300]})"
