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
#: A folder for the README's screenshots (docs/images), when set; none taken otherwise.
SCREENSHOTS = os.environ.get("REPRO_E2E_SCREENSHOTS", "")

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


#: In the page: the contrast ratio (WCAG 2) of an element's text against what is behind it,
#: semi-transparent colours blended over the first opaque background up the tree.
CONTRAST_JS = """
(element) => {
  const parse = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const blend = (top, bottom) => {
    const a = top.length > 3 ? top[3] : 1;
    return [0, 1, 2].map(i => top[i] * a + bottom[i] * (1 - a));
  };
  let background = [255, 255, 255];
  const layers = [];
  for (let node = element; node; node = node.parentElement) {
    const colour = parse(getComputedStyle(node).backgroundColor);
    if (colour.length > 3 && colour[3] === 0) continue;
    layers.push(colour);
    if (colour.length === 3 || colour[3] === 1) break;
  }
  for (const layer of layers.reverse()) background = blend(layer, background);
  const text = blend(parse(getComputedStyle(element).color), background);
  const luminance = rgb => {
    const [r, g, b] = rgb.map(v => v / 255).map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [hi, lo] = [luminance(text), luminance(background)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}
"""


def contrast(locator) -> float:
    return locator.evaluate(CONTRAST_JS)


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

    # Legible in the light theme and in the dark one (JupyterLab's theme colours only).
    quiet = page.locator(CELL).nth(2).locator(BADGE).first
    ratios = {"light": (contrast(quiet), contrast(warning))}
    page.locator(".lm-MenuBar-item", has=page.get_by_text("Settings", exact=True)).first.click()
    page.locator(".lm-Menu .lm-Menu-item", has=page.get_by_text("Theme", exact=True)).first.click()
    page.locator(".lm-Menu .lm-Menu-item", has=page.get_by_text("JupyterLab Dark", exact=True)).first.click()
    page.locator("body[data-jp-theme-light='false']").wait_for(state="attached")
    page.wait_for_function("() => getComputedStyle(document.body).getPropertyValue('--jp-layout-color0').trim() !== ''")
    page.wait_for_timeout(500)  # the theme's stylesheet applies after the attribute changes
    ratios["dark"] = (contrast(quiet), contrast(warning))
    for theme, (plain, warned) in ratios.items():
        assert plain >= 3 and warned >= 3, ratios
    screenshot(page, "lab-badges-dark.png", page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)").first)

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


# -- verify and record from Lab ------------------------------------------------------------

VERIFY_CELLS = [
    "%load_ext repro",
    "%seed 0",
    "import random\nprint(random.random())",
    "print('hello')",
    "import time\ntime.sleep(3)",
    "import numpy as np\nnp.random.rand(2)",
]
EDITED = 3  # the cell whose stored output is edited by hand on disk
BANNER = ".jp-NotebookPanel:not(.lm-mod-hidden) .repro-Banner"


def record_and_edit(path: Path) -> None:
    """`repro-nb record` the notebook, then change one stored output by hand, as a person would."""
    env = {**os.environ, "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-m", "repro", "record", str(path)],
                          capture_output=True, text=True, timeout=180, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    nb = nbformat.read(path, as_version=4)
    output = nb.cells[EDITED].outputs[0]
    assert output.text == "hello\n", output
    output.text = "hullo\n"
    nbformat.write(nb, path)


def wait_for_banner(page, running: bool, timeout: int = VERIFY_TIMEOUT_MS) -> str:
    """Wait until the banner shows a job running (or ended); return its text."""
    page.wait_for_function(
        """([selector, running]) => {
          const banner = document.querySelector(selector);
          return !!banner && (banner.dataset.status === 'running') === running;
        }""",
        arg=[BANNER, running],
        timeout=timeout,
        polling=100,
    )
    return page.locator(BANNER).first.inner_text()


def verdicts(page) -> list[str | None]:
    labels = []
    for index in range(page.locator(CELL).count()):
        marker = page.locator(CELL).nth(index).locator(VERDICT)
        labels.append(marker.first.get_attribute("aria-label") if marker.count() else None)
    return labels


def ipykernels(lab) -> int:
    from .test_jupyterlab import kernel_processes

    return len(kernel_processes(lab))


def test_verify_and_record_from_lab(lab, page):
    path = lab.root_dir / "verify.ipynb"
    write_notebook(path, VERIFY_CELLS)
    record_and_edit(path)
    open_notebook(page, lab, path.name, len(VERIFY_CELLS))
    before = save(page, path) and path.read_bytes()  # as JupyterLab writes it

    # Verify from the toolbar: exactly the edited cell differs, and says how.
    page.locator(".repro-VerifyButton button, button.repro-VerifyButton").first.click()
    text = wait_for_banner(page, running=False)
    assert text.startswith("repro verify: differs"), text
    assert f"First difference: cell {EDITED + 1}" in text, text
    marks = verdicts(page)
    assert marks[EDITED] == "repro verify: differs", marks
    assert [i for i, m in enumerate(marks) if m and "differs" in m] == [EDITED], marks
    assert all(m == "repro verify: reproduced" for i, m in enumerate(marks) if i != EDITED and m), marks
    screenshot(page, "lab-verify.png", page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)").first)

    page.locator(CELL).nth(EDITED).locator(VERDICT).first.click()
    dialog = page.locator(".jp-Dialog")
    dialog.first.wait_for(state="visible")
    report = dialog.locator(".repro-DialogText").first.text_content()
    assert "-hullo" in report and "+hello" in report, report
    screenshot(page, "lab-verify-diff.png", dialog.locator(".jp-Dialog-content").first)
    dialog.locator(".jp-Dialog-button.jp-mod-accept").first.click()
    dialog.first.wait_for(state="detached")

    # The summary's link scrolls to the cell and makes it the active one.
    page.locator(BANNER).get_by_text(f"cell {EDITED + 1}", exact=True).first.click()
    page.locator(CELL).nth(EDITED).and_(page.locator(".jp-mod-active")).wait_for(state="visible")

    # Badges and markers never reach the file: saving writes the very same bytes.
    save(page, path)
    assert path.read_bytes() == before

    # Cancel stops the verify and its kernel: only the notebook's own kernel is left.
    kernels = ipykernels(lab)
    page.locator(".repro-VerifyButton button, button.repro-VerifyButton").first.click()
    page.wait_for_function(
        "s => (document.querySelector(s)?.innerText || '').includes('time.sleep') || "
        "(document.querySelector(s)?.innerText || '').includes('cell 5 of')",
        arg=BANNER, timeout=VERIFY_TIMEOUT_MS, polling=100,
    )
    page.locator(f"{BANNER} .repro-Banner-cancel").click()
    text = wait_for_banner(page, running=False)
    assert "Verify cancelled" in text, text
    deadline = time.monotonic() + 30
    while ipykernels(lab) > kernels and time.monotonic() < deadline:
        page.wait_for_timeout(200)  # polling interval, not synchronisation
    assert ipykernels(lab) <= kernels

    # With unsaved changes, Verify says that the saved file is what it verifies.
    editor = page.locator(CELL).nth(EDITED).locator(".cm-content").first
    editor.click()
    page.keyboard.press("End")
    page.keyboard.type("  # edited")
    page.keyboard.press("Escape")
    page.locator(".repro-VerifyButton button, button.repro-VerifyButton").first.click()
    running = wait_for_banner(page, running=True, timeout=UI_TIMEOUT_MS)
    assert "unsaved changes: the saved file is what gets verified" in running, running
    text = wait_for_banner(page, running=False)
    assert "Verified the saved file; the notebook has unsaved changes." in text, text

    # Record from the context menu: save first, record, and the notebook reloads from disk.
    page.locator(CELL).nth(0).click(button="right")
    page.locator(".lm-Menu .lm-Menu-item", has=page.get_by_text("Record Notebook (repro)", exact=True)).first.click()
    dialog = page.locator(".jp-Dialog")
    dialog.first.wait_for(state="visible")
    dialog.locator(".jp-Dialog-button.jp-mod-accept").first.click()
    page.wait_for_function(
        "s => (document.querySelector(s)?.innerText || '').startsWith('repro record: ')",
        arg=BANNER, timeout=VERIFY_TIMEOUT_MS, polling=100,
    )
    text = page.locator(BANNER).first.inner_text()
    assert "recorded" in text, text
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[EDITED].source == "print('hello')  # edited"
    assert nb.cells[EDITED].outputs[0].text == "hello\n"
    output = page.locator(CELL).nth(EDITED).locator(".jp-OutputArea-output").first
    assert (output.text_content() or "").strip() == "hello"
    tab = page.locator(".lm-TabBar-tab.jp-mod-current")
    assert "jp-mod-dirty" not in (tab.first.get_attribute("class") or "")
