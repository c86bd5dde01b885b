"""End to end: a notebook run through JupyterLab's own UI gives what ``repro-nb verify`` accepts.

A real JupyterLab server, a real kernel (the venv's Python, repro installed),
headless Chromium clicking the menus: Run > Run All Cells, save with Ctrl+S,
Kernel > Restart Kernel and Run All Cells, save again. The outputs JupyterLab
saved must be the same across the restart, and ``repro-nb verify`` must accept
the notebook JupyterLab wrote.

Skipped (see conftest.py) unless Debian's chromium, jupyterlab and playwright
are installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.e2e

CELLS = [
    "%load_ext repro",
    "%seed 42",
    "import random\nprint([random.randint(0, 10**6) for _ in range(4)])",
    "import numpy as np\nprint(np.random.rand(3))\nnp.random.default_rng().integers(0, 1000, size=5)",
    "import torch\nprint(torch.rand(2))",
    "print(random.random(), np.random.randint(0, 10**6), torch.randint(0, 10**6, (2,)).tolist())",
]
N_CELLS = len(CELLS)
NOTEBOOK = "e2e.ipynb"

#: Seconds for one Run All (a cold `import torch` included) and for the UI to settle.
RUN_TIMEOUT_MS = 60_000
UI_TIMEOUT_MS = 30_000
VERIFY_TIMEOUT = 120


def make_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nbformat.validate(nb)
    nbformat.write(nb, path)


# -- driving the UI ---------------------------------------------------------------------

#: Where the open notebook is: the visible notebook panel.
NOTEBOOK_SELECTOR = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"

#: In the page: the state of the open notebook's run. `null` while cells are
#: queued or running; "done" when every code cell has an execution count, the
#: last one has output and the kernel is idle; "stuck" when the kernel has been
#: idle for 5 s with nothing queued yet some cell never ran (a cell raised, and
#: JupyterLab stopped the run there).
RUN_STATE_JS = """
([selector, n]) => {
  const notebook = document.querySelector(selector);
  if (!notebook) return null;
  const cells = [...notebook.querySelectorAll('.jp-CodeCell')];
  const prompts = cells.map(c => (c.querySelector('.jp-InputPrompt')?.textContent || '').trim());
  const indicator = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');
  const idle = !indicator || indicator.getAttribute('data-status') === 'idle';
  const ran = prompts.length === n && prompts.every(p => /^\\[\\d+\\]:$/.test(p));
  const lastHasOutput = cells.length > 0 && !!cells[cells.length - 1].querySelector('.jp-OutputArea-output');
  if (ran && lastHasOutput && idle) return 'done';
  const queued = prompts.some(p => p.includes('*'));
  if (idle && !queued) {
    window.__reproIdleSince = window.__reproIdleSince || Date.now();
    if (Date.now() - window.__reproIdleSince > 5000) return 'stuck';
  } else {
    window.__reproIdleSince = 0;
  }
  return null;
}
"""

CLEARED_JS = """
([selector, n]) => {
  const notebook = document.querySelector(selector);
  if (!notebook) return false;
  const cells = [...notebook.querySelectorAll('.jp-CodeCell')];
  return cells.length === n
    && !notebook.querySelector('.jp-OutputArea-output')
    && cells.every(c => /^\\[ ?\\]:$/.test((c.querySelector('.jp-InputPrompt')?.textContent || '').trim()));
}
"""


def describe_cells(page) -> str:
    """The open notebook's prompts and output text, for failure messages."""
    cells = page.locator(f"{NOTEBOOK_SELECTOR} .jp-CodeCell")
    lines = []
    for index in range(cells.count()):
        cell = cells.nth(index)
        prompt = cell.locator(".jp-InputPrompt").first.text_content() or ""
        output = " | ".join(cell.locator(".jp-OutputArea-output").all_text_contents())
        lines.append(f"  cell {index} {prompt.strip()} {output[:300]!r}")
    return "\n".join(lines) or "  (no cells in the DOM)"


def accept_dialog_if_any(page) -> bool:
    """Accept a modal dialog (e.g. kernel selection) if one is open."""
    dialog = page.locator(".jp-Dialog")
    if dialog.count() and dialog.first.is_visible():
        dialog.locator(".jp-Dialog-button.jp-mod-accept").first.click()
        dialog.first.wait_for(state="detached", timeout=UI_TIMEOUT_MS)
        return True
    return False


def wait_for_kernel_idle(page, lab) -> None:
    """Wait until the notebook's kernel is started and idle, accepting any dialog on the way."""
    indicator = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator")
    deadline = time.monotonic() + UI_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        accept_dialog_if_any(page)
        if indicator.count() and indicator.first.get_attribute("data-status") == "idle" and lab.api("kernels"):
            return
        page.wait_for_timeout(200)  # polling interval, not synchronisation
    raise AssertionError(
        f"the kernel did not become idle; indicator: "
        f"{indicator.first.get_attribute('data-status') if indicator.count() else None}\n{lab.log_tail()}"
    )


def menu(page, top: str, item: str) -> None:
    """Click a main-menu entry, e.g. ``menu(page, "Run", "Run All Cells")``."""
    page.locator(".lm-MenuBar-item", has=page.get_by_text(top, exact=True)).first.click()
    entry = page.locator(".lm-Menu .lm-Menu-item", has=page.get_by_text(item, exact=True)).first
    entry.wait_for(state="visible", timeout=UI_TIMEOUT_MS)
    entry.click()


def wait_for_run(page, lab, what: str) -> None:
    """Wait until every cell ran and the last one has output."""
    handle = page.wait_for_function(
        RUN_STATE_JS, arg=[NOTEBOOK_SELECTOR, N_CELLS], timeout=RUN_TIMEOUT_MS, polling=100
    )
    state = handle.json_value()
    assert state == "done", f"{what}: the run stopped before the end:\n{describe_cells(page)}\n{lab.log_tail(2000)}"


def save(page, path: Path) -> nbformat.NotebookNode:
    """Save with Ctrl+S and return the notebook as JupyterLab wrote it."""
    before = path.stat()
    page.locator(NOTEBOOK_SELECTOR).first.click(position={"x": 5, "y": 5})  # focus the notebook
    page.keyboard.press("Escape")  # command mode; Ctrl+S saves in either mode
    page.keyboard.press("Control+s")
    tab = page.locator(".lm-TabBar-tab.jp-mod-current")
    deadline = time.monotonic() + UI_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        now = path.stat()
        if (now.st_mtime_ns, now.st_size) != (before.st_mtime_ns, before.st_size) and not (
            tab.count() and "jp-mod-dirty" in (tab.first.get_attribute("class") or "")
        ):
            try:
                return nbformat.read(path, as_version=4)
            except Exception:  # caught mid-write; poll again
                pass
        page.wait_for_timeout(100)  # polling interval, not synchronisation
    raise AssertionError(f"Ctrl+S did not save {path.name} within {UI_TIMEOUT_MS / 1000:g} s")


# -- reading what was saved -----------------------------------------------------------------


def outputs_of(nb) -> list[dict]:
    """Each code cell's outputs, streams joined per name (JupyterLab merges them as they arrive)."""
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        streams: dict[str, str] = {}
        others = []
        for out in cell.outputs:
            if out.output_type == "stream":
                streams[out.name] = streams.get(out.name, "") + out.text
            else:
                others.append({k: v for k, v in out.items() if k != "execution_count"})
        cells.append({"source": cell.source, "streams": streams, "others": others})
    return cells


def kernel_processes(lab) -> dict[int, list[str]]:
    """PID -> command line of the kernels this server runs (psutil permitting)."""
    try:
        import psutil
    except ImportError:
        return {}
    commands = {}
    for child in psutil.Process(lab.process.pid).children(recursive=True):
        try:
            cmdline = child.cmdline()
        except psutil.Error:
            continue
        if any("ipykernel" in part for part in cmdline):
            commands[child.pid] = cmdline
    return commands


def test_jupyterlab_run_restart_and_verify(lab, page):
    path = lab.root_dir / NOTEBOOK
    make_notebook(path)
    page.set_default_timeout(UI_TIMEOUT_MS)

    # `reset` starts from an empty workspace: only this notebook open.
    page.goto(lab.url(f"lab/tree/{NOTEBOOK}?reset&token={lab.token}"))
    page.locator(NOTEBOOK_SELECTOR).first.wait_for(state="visible")
    page.locator(f"{NOTEBOOK_SELECTOR} .jp-CodeCell").nth(N_CELLS - 1).wait_for(state="attached")
    wait_for_kernel_idle(page, lab)

    # The kernel JupyterLab started is the venv's Python, the one running these tests.
    kernels = kernel_processes(lab)
    if kernels:
        assert len(kernels) == 1, kernels
        assert next(iter(kernels.values()))[0] == sys.executable, kernels

    # First run: Run > Run All Cells, then Ctrl+S.
    menu(page, "Run", "Run All Cells")
    wait_for_run(page, lab, "Run All Cells")
    first_nb = save(page, path)
    first = outputs_of(first_nb)
    assert [c["source"] for c in first] == CELLS
    for cell in first:
        assert not any(o["output_type"] == "error" for o in cell["others"]), first
        assert "repro:" not in cell["streams"].get("stderr", ""), first  # e.g. the PYTHONHASHSEED advice
    assert first[4]["streams"]["stdout"].startswith("tensor(["), first[4]
    assert all(c["streams"].get("stdout") for c in first[2:]), first

    # Clear every output, so the second run cannot be mistaken for the first.
    menu(page, "Edit", "Clear Outputs of All Cells")
    page.wait_for_function(CLEARED_JS, arg=[NOTEBOOK_SELECTOR, N_CELLS], polling=100)

    # Second run: Kernel > Restart Kernel and Run All Cells…, accept, then Ctrl+S.
    old_kernels = set(kernel_processes(lab))
    menu(page, "Kernel", "Restart Kernel and Run All Cells…")
    dialog = page.locator(".jp-Dialog")
    dialog.first.wait_for(state="visible")
    dialog.locator(".jp-Dialog-button.jp-mod-accept").first.click()
    dialog.first.wait_for(state="detached")
    wait_for_run(page, lab, "Restart Kernel and Run All Cells")
    second_nb = save(page, path)
    second = outputs_of(second_nb)
    if old_kernels:  # the restart really replaced the kernel process
        new_kernels = set(kernel_processes(lab))
        assert new_kernels and not new_kernels & old_kernels, (old_kernels, new_kernels)

    assert second == first, "outputs changed across a kernel restart"
    counts = [cell.execution_count for cell in second_nb.cells]
    assert counts == list(range(1, N_CELLS + 1)), counts

    # And what JupyterLab saved is what `repro-nb verify` reproduces in a fresh kernel.
    env = {**os.environ, "NO_COLOR": "1"}
    verify = subprocess.run(
        [sys.executable, "-m", "repro", "verify", str(path)],
        capture_output=True, text=True, timeout=VERIFY_TIMEOUT, env=env,
    )
    assert verify.returncode == 0, f"repro-nb verify exited {verify.returncode}:\n{verify.stdout}\n{verify.stderr}"
