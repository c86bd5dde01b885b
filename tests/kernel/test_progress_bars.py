"""Progress bars against real kernels: seeded notebooks with tqdm (text and widgets) and
Keras-style lines reproduce whatever their timing, and still differ where what they count does."""

from __future__ import annotations

import nbformat
import pytest

from repro.notebook.compare import render_terminal
from tests.builders import run_cli, verify_json, write_notebook

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.kernel
pytest.importorskip("tqdm")

SEED = "%load_ext repro\n%seed 0"
# Each run of the notebook is slower than the one before (a counter in the notebook's folder),
# so that its bars' rates and times per step differ from the stored ones for certain.
PACE = """\
import pathlib, random, time
runs = pathlib.Path('runs.txt')
run = int(runs.read_text()) + 1 if runs.exists() else 1
runs.write_text(str(run))
pause = 0.002 * run"""


def record(capsys, path) -> None:
    code, _, err = run_cli(capsys, "record", str(path))
    assert code == 0, err


def statuses(data) -> dict[int, str]:
    return {c["index"]: c["status"] for c in data["notebooks"][0]["cells"]}


def cell_diffs(data, index: int) -> list[dict]:
    (cell,) = [c for c in data["notebooks"][0]["cells"] if c["index"] == index]
    return cell["diffs"]


def edit_stderr(path, index: int, old: str, new: str) -> None:
    """Store cell *index*'s stderr as shown (carriage returns applied), with *old* replaced by *new*."""
    nb = nbformat.read(path, 4)
    cell = nb.cells[index]
    shown = render_terminal("".join(o["text"] for o in cell.outputs if o.get("name") == "stderr"))
    assert old in shown, shown
    cell.outputs = [o for o in cell.outputs if o.get("name") != "stderr"]
    cell.outputs.append(nbformat.v4.new_output("stream", name="stderr", text=shown.replace(old, new, 1)))
    nbformat.write(nb, path)


TEXT_BARS = (
    SEED,
    PACE + "\nimport sys\nsys.modules['ipywidgets'] = None  # as in a kernel without ipywidgets",
    "from tqdm import tqdm, trange\n"
    "bar = trange(5, desc='epochs', unit_scale=True)\n"
    "for epoch in bar:\n"
    "    bar.set_postfix(loss=round(random.random(), 4))\n"
    "    time.sleep(pause)",
    "for i in tqdm(range(2000), desc='my bar!'):\n    pass",
    "for i in tqdm(iter(range(7)), unit='img'):\n    time.sleep(pause)",
    "from tqdm.auto import tqdm as auto_tqdm  # falls back to the text bar, with a warning\n"
    "for i in auto_tqdm(range(3), desc='auto', ascii=True):\n    time.sleep(pause)",
)


@pytest.fixture
def text_bars(tmp_path, capsys):
    path = write_notebook(tmp_path / "text_bars.ipynb", *TEXT_BARS)
    record(capsys, path)
    return path


def test_seeded_tqdm_text_bars_reproduce_whatever_their_speed(text_bars, capsys):
    stored = nbformat.read(text_bars, 4)
    stderr = render_terminal("".join(o["text"] for o in stored.cells[3].outputs if o.get("name") == "stderr"))
    assert stderr.startswith("epochs: 100%|██████████| 5.00/5.00 [") and "loss=" in stderr
    assert "IProgress not found" in "".join(o.get("text", "") for o in stored.cells[6].outputs)
    code, data = verify_json(capsys, str(text_bars))
    assert code == 0, data
    assert set(statuses(data).values()) == {"same"}
    # What was normalised is the timing: compared as text, every bar differs.
    code, data = verify_json(capsys, "--no-progress-bars", str(text_bars))
    assert code == 1
    assert statuses(data) == {1: "same", 2: "same", 3: "differs", 4: "differs", 5: "differs", 6: "differs"}
    assert all(d["key"] == "stderr" for d in cell_diffs(data, 3))


@pytest.mark.parametrize(("cell", "old", "new"), [
    (3, "loss=", "loss=1"),  # the final loss the postfix shows (random.random() < 1)
    (3, "5.00/5.00", "4.00/5.00"),  # the count
    (5, "7img", "6img"),  # a bar without a total
])
def test_a_changed_loss_or_count_on_a_text_bar_differs(text_bars, capsys, cell, old, new):
    edit_stderr(text_bars, cell, old, new)
    code, data = verify_json(capsys, str(text_bars))
    assert code == 1
    assert [i for i, status in statuses(data).items() if status == "differs"] == [cell]
    (diff,) = cell_diffs(data, cell)
    assert diff["key"] == "stderr" and "<elapsed>" in diff["diff"] and new in diff["expected"]


WIDGET_BARS = (
    SEED,
    PACE,
    "from tqdm.auto import tqdm\n"
    "bar = tqdm(range(6), desc='train')\n"
    "for i in bar:\n"
    "    bar.set_postfix(loss=round(random.random(), 4))\n"
    "    time.sleep(pause)",
    "from tqdm.notebook import trange\nfor i in trange(4, desc='notebook', unit='img'):\n    time.sleep(pause)",
)


def widget_html(nb) -> dict:
    state = nb.metadata.widgets["application/vnd.jupyter.widget-state+json"]["state"]
    return {k: m["state"] for k, m in state.items() if m["model_name"] == "HTMLModel"}


def test_tqdm_widget_bars_compare_by_their_final_text(tmp_path, capsys):
    pytest.importorskip("ipywidgets")
    path = write_notebook(tmp_path / "widgets.ipynb", *WIDGET_BARS)
    record(capsys, path)
    stored = nbformat.read(path, 4)
    (view,) = stored.cells[3].outputs
    assert "application/vnd.jupyter.widget-view+json" in view["data"]
    assert view["data"]["text/plain"].startswith("train:   0%")  # the bar as it was created
    assert any("loss=" in m["value"] for m in widget_html(stored).values())  # where it ended: the widget state
    code, data = verify_json(capsys, str(path))
    assert code == 0, data  # new model ids, new timing, the same final text

    # A changed final loss, stored in the widget state only, is a difference.
    for model in widget_html(stored).values():
        model["value"] = model["value"].replace("loss=", "loss=1")
    nbformat.write(stored, path)
    code, data = verify_json(capsys, str(path))
    assert code == 1
    assert statuses(data) == {1: "same", 2: "same", 3: "differs", 4: "same"}
    (diff,) = cell_diffs(data, 3)
    assert diff["key"] == "text/plain" and "train: 100%|██████████| 6/6 [<elapsed><<remaining>, <rate>" in diff["diff"]

    # Saved without widget state (JupyterLab's default): compared as stored, and the same.
    del stored.metadata["widgets"]
    nbformat.write(stored, path)
    code, data = verify_json(capsys, str(path))
    assert code == 0, data


KERAS_STYLE = (
    SEED,
    PACE,
    "start = time.perf_counter()\n"
    "for step in range(10):\n"
    "    time.sleep(pause)\n"
    "t = time.perf_counter() - start\n"
    "ms = round(t / 10 * 1000)\n"
    "print('Epoch 1/1')\n"
    "print(f\"10/10 [==============================] - {t:.0f}s {ms}ms/step - loss: {random.random():.4f}\")\n"
    "print(f\"10/10 {'━' * 20} {t:.0f}s {ms}ms/step - accuracy: {random.random():.4f} - loss: 0.1234\")",
)


def test_keras_style_lines_with_real_timing_verify(tmp_path, capsys):
    path = write_notebook(tmp_path / "keras.ipynb", *KERAS_STYLE)
    record(capsys, path)
    stored = nbformat.read(path, 4).cells[3].outputs[0]["text"]
    assert stored.startswith("Epoch 1/1\n10/10 [==============================] - 0s ")
    code, data = verify_json(capsys, str(path))
    assert code == 0, data
    code, data = verify_json(capsys, "--no-progress-bars", str(path))
    assert code == 1 and statuses(data)[3] == "differs"  # each run is slower per step

    nb = nbformat.read(path, 4)
    nb.cells[3].outputs[0]["text"] = stored.replace("loss: 0.1234", "loss: 0.1300")
    nbformat.write(nb, path)
    code, data = verify_json(capsys, str(path))
    assert code == 1
    (diff,) = cell_diffs(data, 3)
    assert "+10/10 ━━━━━━━━━━━━━━━━━━━━ <elapsed> <time>/step - accuracy: " in diff["diff"]
    code, data = verify_json(capsys, "--rtol", "0.1", str(path))
    assert code == 0, data  # 0.1234 and 0.1300 are within 10%


def test_the_pytest_plugin_normalises_bars_unless_told_not_to(capsys, pytester, monkeypatch):
    path = write_notebook(pytester.path / "bars.ipynb", SEED, PACE, TEXT_BARS[2])
    record(capsys, path)
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.runpytest("-p", "repro.pytest_plugin", "--repro").assert_outcomes(passed=1)
    result = pytester.runpytest("-p", "repro.pytest_plugin", "--repro", "--repro-no-progress-bars")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*stderr:*"])

