"""End to end: repro's JupyterLab extension in a real JupyterLab, real kernels, headless Chromium.

What a user sees: a badge under each cell that ran with repro (its seed and the
``%seed`` it came from, the generators it drew from), a warning on a cell that
drew while seeding was off, the session's seed state in the status bar, Verify
from the notebook toolbar with a marker on each cell and a summary, and nothing
at all in a kernel without repro. Badges and markers are read through their
``aria-label``, the words a screen reader speaks.

The server loads the Lab extension built in the tree under test (see
``conftest.built_labextension``). Skipped unless Debian's chromium, jupyterlab
and playwright are installed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from repro.seeding import derive_cell_seed

from .test_jupyterlab import NOTEBOOK_SELECTOR, UI_TIMEOUT_MS, accept_dialog_if_any, menu, save, wait_for_kernel_idle

pytestmark = pytest.mark.e2e

RUN_TIMEOUT_MS = 90_000
VERIFY_TIMEOUT_MS = 180_000
#: Where screenshots for the README go (REPRO_E2E_SCREENSHOTS overrides; empty: none).
SCREENSHOTS = os.environ.get("REPRO_E2E_SCREENSHOTS", str(Path(__file__).resolve().parents[2] / "docs" / "images"))

CELL = f"{NOTEBOOK_SELECTOR} .jp-Cell"
BADGE = ".repro-Badge:not([hidden])"
VERDICT = ".repro-Verdict:not([hidden])"
STATUS = ".repro-SeedStatus"


def write_notebook(path: Path, cells: list[str]) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nbformat.write(nb, path)


def open_notebook(page, lab, name: str, n_cells: int) -> None:
    page.set_default_timeout(UI_TIMEOUT_MS)
    page.goto(lab.url(f"lab/tree/{name}?reset&token={lab.token}"))
    page.locator(NOTEBOOK_SELECTOR).first.wait_for(state="visible")
    page.locator(CELL).nth(n_cells - 1).wait_for(state="attached")
    wait_for_kernel_idle(page, lab)


def wait_until_ran(page, counts: dict[int, int]) -> None:
    """Wait until each cell *index* shows the prompt ``[count]:`` and the kernel is idle."""
    page.wait_for_function(
        """([selector, counts]) => {
          const cells = [...document.querySelectorAll(selector)];
          const indicator = document.querySelector(
            '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');
          if (indicator && indicator.getAttribute('data-status') !== 'idle') return false;
          return Object.entries(counts).every(([i, n]) =>
            (cells[i]?.querySelector('.jp-InputPrompt')?.textContent || '').trim() === `[${n}]:`);
        }""",
        arg=[CELL, {str(k): v for k, v in counts.items()}],
        timeout=RUN_TIMEOUT_MS,
        polling=100,
    )


def badge_of(page, index: int) -> str | None:
    """The aria-label of cell *index*'s badge, or None when it shows none."""
    badge = page.locator(CELL).nth(index).locator(BADGE)
    return badge.first.get_attribute("aria-label") if badge.count() else None


def wait_for_badge(page, index: int, pattern: str) -> str:
    """Wait until cell *index*'s badge label matches *pattern* (a regex); return the label."""
    page.wait_for_function(
        """([selector, index, pattern]) => {
          const cell = document.querySelectorAll(selector)[index];
          const badge = cell && cell.querySelector('.repro-Badge:not([hidden])');
          return !!badge && new RegExp(pattern).test(badge.getAttribute('aria-label') || '');
        }""",
        arg=[CELL, index, pattern],
        timeout=UI_TIMEOUT_MS,
        polling=100,
    )
    return badge_of(page, index) or ""


def status_text(page) -> str | None:
    item = page.locator(STATUS)
    return (item.first.text_content() or "").strip() if item.count() and item.first.is_visible() else None


def wait_for_status(page, text: str) -> None:
    page.wait_for_function(
        """([selector, text]) => {
          const item = document.querySelector(selector);
          return !!item && item.offsetParent !== null && item.textContent.trim() === text;
        }""",
        arg=[STATUS, text],
        timeout=UI_TIMEOUT_MS,
        polling=100,
    )


def run_cell(page, index: int) -> None:
    """Select cell *index* and run it in place (Ctrl+Enter in command mode)."""
    cell = page.locator(CELL).nth(index)
    cell.locator(".jp-InputPrompt").first.click()
    page.keyboard.press("Escape")
    page.keyboard.press("Control+Enter")


def screenshot(page, name: str, locator=None) -> None:
    if not SCREENSHOTS:
        return
    folder = Path(SCREENSHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    target = locator if locator is not None else page
    target.screenshot(path=str(folder / name))


SEEDED_CELLS = [
    "%load_ext repro",
    "%seed 42",
    "import random\nx = [random.randint(0, 99) for _ in range(3)]\nx",
    "import numpy as np\nnp.random.rand(2)",
    "%seed --off",
    "np.random.rand(2)",
    "%seed 1",
]


def test_badges_and_status_bar_follow_the_kernel(lab, page):
    path = lab.root_dir / "badges.ipynb"
    write_notebook(path, SEEDED_CELLS)
    open_notebook(page, lab, path.name, len(SEEDED_CELLS))
    assert status_text(page) is None  # nothing ran yet: repro says nothing

    menu(page, "Run", "Run All Cells")
    wait_until_ran(page, {i: i + 1 for i in range(len(SEEDED_CELLS))})

    # Each drawing cell says its seed, the %seed it came from, and what it drew.
    assert wait_for_badge(page, 2, "seeded") == (
        f"repro: seeded {derive_cell_seed(42, SEEDED_CELLS[2])} (from %seed 42); drew random"
    )
    assert badge_of(page, 3) == f"repro: seeded {derive_cell_seed(42, SEEDED_CELLS[3])} (from %seed 42); drew numpy"
    # The draw after `%seed --off` is flagged, visibly.
    assert badge_of(page, 5) == "repro: drew numpy without a seed (seeding is off)"
    warning = page.locator(CELL).nth(5).locator(BADGE).first
    assert "repro-mod-warning" in (warning.get_attribute("class") or "")
    assert warning.get_attribute("title") == badge_of(page, 5)
    wait_for_status(page, "repro: %seed 1 per-cell")
    screenshot(page, "lab-badges.png", page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)").first)

    # Running a cell again, out of order, under %seed 1: its badge follows.
    run_cell(page, 3)
    wait_until_ran(page, {3: len(SEEDED_CELLS) + 1})
    assert wait_for_badge(page, 3, r"from %seed 1\)") == (
        f"repro: seeded {derive_cell_seed(1, SEEDED_CELLS[3])} (from %seed 1); drew numpy"
    )
    assert badge_of(page, 2).endswith("(from %seed 42); drew random")  # the others keep theirs

    run_cell(page, 4)  # %seed --off
    wait_for_status(page, "repro: seeding off")

    # The status item shows %seed's own words, asked silently: no new prompt, no output.
    prompts = page.locator(f"{CELL} .jp-InputPrompt").all_text_contents()
    page.locator(STATUS).first.click()
    dialog = page.locator(".jp-Dialog")
    dialog.first.wait_for(state="visible")
    assert "repro: seeding off (run %seed N to switch it on)" in dialog.locator(".repro-DialogText").first.text_content()
    dialog.locator(".jp-Dialog-button.jp-mod-accept").first.click()
    dialog.first.wait_for(state="detached")
    assert page.locator(f"{CELL} .jp-InputPrompt").all_text_contents() == prompts

    # Clearing the outputs takes the badges away with them.
    menu(page, "Edit", "Clear Outputs of All Cells")
    page.locator(f"{CELL} {BADGE}").first.wait_for(state="detached")

    # Nothing of repro's reaches the file: no cell or notebook metadata.
    saved = save(page, path)
    assert all(cell.metadata == {} for cell in saved.cells), [cell.metadata for cell in saved.cells]
    assert set(saved.metadata) <= {"kernelspec", "language_info"}, saved.metadata

    # A restarted kernel has no repro loaded until %load_ext runs again.
    menu(page, "Kernel", "Restart Kernel…")
    accept_dialog_if_any(page)
    wait_for_status(page, "repro: not loaded")


def test_a_kernel_without_repro_shows_nothing(lab, page):
    cells = ["import random\nrandom.random()", "import numpy as np\nnp.random.rand(2)"]
    path = lab.root_dir / "plain.ipynb"
    write_notebook(path, cells)
    messages: list[str] = []
    page.on("console", lambda msg: messages.append(msg.text))
    open_notebook(page, lab, path.name, len(cells))
    menu(page, "Run", "Run All Cells")
    wait_until_ran(page, {0: 1, 1: 2})
    # The extension is there (its toolbar button) yet says nothing: no badge, no status, no log.
    assert page.locator(".repro-VerifyButton").count() >= 1
    assert page.locator(f"{CELL} {BADGE}").count() == 0
    assert status_text(page) is None
    assert not [m for m in messages if "repro" in m.lower() and "repro-nb" not in m.lower()], messages
