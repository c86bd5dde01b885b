"""The pytest plugin (``pytest --repro``) against real kernels, through pytester.

Each pytester run disables plugin auto-loading and loads what it needs with
``-p``, so that the runs are the same whether or not repro's ``pytest11`` entry
point is installed (loading a plugin both ways is an error), and no other
installed plugin (nbval, pytest-randomly) joins in.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest

from repro.cli import main
from tests.builders import write_notebook

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.kernel

PLUGIN = ("-p", "repro.pytest_plugin")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> dict[str, Path]:
    """Two small notebooks whose outputs ``repro-nb record`` stored."""
    folder = tmp_path_factory.mktemp("recorded")
    paths = {
        "first": write_notebook(folder / "first.ipynb", "import sys\nprint('hello', file=sys.stdout)",
                               "x = 6 * 7\nx"),
        "second": write_notebook(folder / "second.ipynb", "%load_ext repro", "%seed 42",
                                "import random\nprint(random.random())"),
    }
    assert main(["record", str(folder)]) == 0
    return paths


@pytest.fixture
def run_pytest(pytester, monkeypatch):
    """``run_pytest(*args)``: pytest in-process in pytester's folder, with only the plugins named."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.delenv("NO_COLOR", raising=False)

    def run(*args: str):
        return pytester.runpytest(*PLUGIN, "--repro-timeout=60", *args)

    return run


def copy(source: Path, folder: Path, name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(source, folder / (name or source.name)))


def edit_output(path: Path) -> None:
    """Change the stored ``42`` of ``x = 6 * 7; x`` by hand."""
    nb = nbformat.read(path, 4)
    nb.cells[2].outputs[0]["data"]["text/plain"] = "43"
    nbformat.write(nb, path)


def test_a_reproducing_notebook_passes(run_pytest, pytester, recorded):
    copy(recorded["first"], pytester.path)
    result = run_pytest("--repro", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["first.ipynb::first.ipynb PASSED*"])


def test_a_hand_edited_output_fails_with_the_verify_report(run_pytest, pytester, recorded):
    edit_output(copy(recorded["first"], pytester.path / "nbs", "edited.ipynb"))
    result = run_pytest("--repro", "nbs")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*_ notebook: nbs/edited.ipynb _*",
        "DIFFERS nbs/edited.ipynb: 1 cell differs*",
        "  cell 3 (In [2]): first difference",
        "    text/plain:",
        "    -43",
        "    +42",
    ])
    assert "Traceback" not in result.stdout.str() and "NotebookFailed" not in result.stdout.str()
    result.stdout.fnmatch_lines(["FAILED nbs/edited.ipynb::nbs/edited.ipynb - DIFFERS*"])


def test_without_repro_no_notebook_is_collected(run_pytest, pytester, recorded):
    copy(recorded["first"], pytester.path)
    pytester.makepyfile(test_plain="def test_plain():\n    pass\n")
    result = run_pytest("-v")
    result.assert_outcomes(passed=1)
    assert "ipynb" not in result.stdout.str()


def test_one_item_per_notebook_named_by_its_path(run_pytest, pytester, recorded):
    copy(recorded["first"], pytester.path)
    copy(recorded["second"], pytester.path / "sub")
    copy(recorded["first"], pytester.path / "sub" / ".ipynb_checkpoints", "first-checkpoint.ipynb")
    pytester.makeini("[pytest]\nnorecursedirs = build\n")  # pytest's own default would skip dot-folders
    result = run_pytest("--repro", "--collect-only", "-q")
    assert [line for line in result.outlines if "::" in line] == [
        "first.ipynb::first.ipynb",
        "sub/second.ipynb::sub/second.ipynb",
    ]
    items, _ = pytester.inline_genitems(*PLUGIN, "--repro")
    assert [item.reportinfo()[1:] for item in items] == [
        (None, "notebook: first.ipynb"),
        (None, "notebook: sub/second.ipynb"),
    ]
    assert [item.reportinfo()[0] for item in items] == [
        pytester.path / "first.ipynb", pytester.path / "sub" / "second.ipynb",
    ]


def test_junitxml_carries_the_report_without_colour(run_pytest, pytester, recorded):
    edit_output(copy(recorded["first"], pytester.path, "edited.ipynb"))
    result = run_pytest("--repro", "--color=yes", "--junitxml=report.xml")
    result.assert_outcomes(failed=1)
    xml = (pytester.path / "report.xml").read_text(encoding="utf-8")
    assert "\x1b" not in xml and "#27" not in xml and "#x1b" not in xml.lower()
    case = ET.fromstring(xml).find(".//testcase")
    assert case.get("name") == "edited.ipynb"
    failure = case.find("failure")
    assert failure.get("message").startswith("DIFFERS edited.ipynb: 1 cell differs")
    assert "cell 3 (In [2]): first difference" in failure.text
    assert "-43" in failure.text and "+42" in failure.text


def test_xdist_runs_each_notebook_on_its_own(run_pytest, pytester, recorded):
    pytest.importorskip("xdist")
    copy(recorded["first"], pytester.path)
    copy(recorded["second"], pytester.path)
    result = run_pytest("-p", "xdist.plugin", "-n", "2", "--repro", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*PASSED first.ipynb::first.ipynb*"], consecutive=False)
    result.stdout.fnmatch_lines(["*PASSED second.ipynb::second.ipynb*"], consecutive=False)


def test_an_unreadable_notebook_fails_with_one_line(run_pytest, pytester):
    (pytester.path / "broken.ipynb").write_text('{"cells": [', encoding="utf-8")
    result = run_pytest("--repro")
    result.assert_outcomes(failed=1)
    lines = result.outlines
    header = next(i for i, line in enumerate(lines) if "notebook: broken.ipynb" in line)
    assert lines[header + 1].startswith("broken.ipynb: not valid JSON (line 1, column 12")
    assert lines[header + 2].startswith("=")  # the next section: one line, no traceback
    assert "Traceback" not in result.stdout.str()


def test_options_command_line_beats_ini_beats_tool_repro(pytester, monkeypatch):
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyprojecttoml(
        """
        [tool.repro]
        rtol = 0.1
        atol = 0.2
        timeout = 30
        kernel = "python3"
        masks = ['a+']

        [tool.pytest.ini_options]
        repro_atol = "0.02"
        repro_timeout = "20"
        repro_masks = ["b+"]
        """
    )
    config = pytester.parseconfigure(*PLUGIN, "--repro", "--repro-timeout=10", "--repro-seed=7")
    from repro.pytest_plugin import _OPTIONS

    from repro.notebook.options import ExecuteOptions

    options, runs = config.stash[_OPTIONS]
    assert (options.compare.rtol, options.compare.atol) == (0.1, 0.02)
    assert options.compare.masks == (("a+", "<masked>"), ("b+", "<masked>"))
    assert options.execute == ExecuteOptions(kernel_name="python3", timeout=10, seed=7)
    assert runs == 1


@pytest.mark.parametrize(
    ("args", "ini", "message"),
    [
        (["--repro-rtol=-1"], "", "argument --repro-rtol: must be >= 0: '-1'"),
        ([], "repro_rtol = abc", "ini option repro_rtol: not a number: 'abc'"),
        ([], "repro_masks = (", "ini option repro_masks: invalid mask '('"),
        (["--repro-runs=0"], "", "argument --repro-runs: must be at least 1"),
        (["--repro-kernel=no-such-kernel"], "", "no such kernel: 'no-such-kernel'"),
    ],
)
def test_a_bad_setting_is_a_usage_error(run_pytest, pytester, args, ini, message):
    pytester.makeini(f"[pytest]\n{ini}\n")
    result = run_pytest("--repro", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()


def test_bad_settings_are_ignored_without_repro(run_pytest, pytester):
    pytester.makeini("[pytest]\nrepro_timeout = 0\n")
    pytester.makepyfile(test_plain="def test_plain():\n    pass\n")
    run_pytest().assert_outcomes(passed=1)


def test_the_entry_point_names_this_module():
    from importlib.metadata import entry_points

    found = [ep for ep in entry_points(group="pytest11") if ep.name == "repro"]
    if not found:
        pytest.skip("repro's pytest11 entry point is not installed (pip install -e . after adding it)")
    assert found[0].value == "repro.pytest_plugin"


PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def test_mime_subset_and_isolate_options(run_pytest, pytester, recorded):
    path = copy(recorded["first"], pytester.path, "rendered.ipynb")
    nb = nbformat.read(path, 4)
    nb.cells[2].outputs[0]["data"]["image/png"] = PNG  # a representation this machine does not render
    nb.cells.append(nbformat.v4.new_code_cell("open('written.txt', 'w').write('x')"))
    nbformat.write(nb, path)
    result = run_pytest("--repro")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["    image/png: only in the stored outputs", "    hint: image/png only in the stored output*"])
    (pytester.path / "written.txt").unlink()
    result = run_pytest("--repro", "--repro-mime-subset", "--repro-isolate")
    result.assert_outcomes(passed=1)
    assert not (pytester.path / "written.txt").exists()  # it was written in a scratch copy
    config = pytester.parseconfigure(*PLUGIN, "--repro", "--repro-mime-subset", "--repro-isolate")
    from repro.pytest_plugin import _OPTIONS

    options, _ = config.stash[_OPTIONS]
    assert options.compare.mime_subset and options.execute.isolate


def test_an_unexecuted_notebook_fails_as_unverified_or_is_skipped_when_allowed(run_pytest, pytester):
    write_notebook(pytester.path / "bare.ipynb", "x = 1", "print(x)")
    result = run_pytest("--repro")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["UNVERIFIED bare.ipynb: unverified: 0 of 2 code cells had stored outputs*"])
    result = run_pytest("--repro", "--repro-allow-unverified", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED*unverified: 0 of 2 code cells had stored outputs*"])
