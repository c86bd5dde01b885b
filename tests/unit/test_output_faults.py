"""Where the report goes can fail, and what it names can be hostile (no kernel).

stdout on a full disk is one line on stderr and exit 2; a reader that is gone (``| head``)
ends quietly with 141, as a tool stopped by SIGPIPE does; a file name never starts a line
of its own in the report, an error message or the progress line.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest

from repro.notebook.results import NotebookResult, SideEffects
from repro.notebook.report import render_text
from repro.notebook.terminal import ProgressLine
from tests.builders import notebook, run_cli

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="/dev/full and SIGPIPE are POSIX")


def _pair(folder: Path, lines: int = 40) -> tuple[Path, Path]:
    """Two executed notebooks whose many outputs all differ: a long report, no kernel needed."""
    paths = folder / "a.ipynb", folder / "b.ipynb"
    for path, digit in zip(paths, "12"):
        nb = notebook(*(f"print({i})" for i in range(lines)))
        for count, cell in enumerate(nb.cells[1:], start=1):
            cell.execution_count = count
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"{digit}{count}\n" * 20)]
        nbformat.write(nb, path)
    return paths


def _repro_nb(*argv: str, stdout) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "repro", *argv], stdout=stdout, stderr=subprocess.PIPE,
                          text=True, timeout=120)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
@pytest.mark.parametrize("report", ["text", "json"])
def test_a_report_on_a_full_disk_is_one_line_and_exit_2(tmp_path, report):
    with open("/dev/full", "w") as full:
        done = _repro_nb("diff", *map(str, _pair(tmp_path)), "--format", report, stdout=full)
    assert done.returncode == 2
    assert done.stderr == "repro-nb: cannot write the report: No space left on device\n"


@pytest.mark.parametrize("argv", [["diff", "{a}", "{b}"], ["diff", "{a}", "{b}", "--format", "json"]])
def test_a_reader_gone_before_the_report_ends_quietly_with_141(tmp_path, argv):
    a, b = _pair(tmp_path)
    read, write = os.pipe()
    os.close(read)  # `| head -c 10` that has already had its fill
    try:
        done = _repro_nb(*(arg.format(a=a, b=b) for arg in argv), stdout=write)
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (141, "")


def test_the_junit_report_still_written_when_stdout_fails(tmp_path):
    a, b = _pair(tmp_path)
    report = tmp_path / "report.xml"
    read, write = os.pipe()
    os.close(read)
    try:
        done = _repro_nb("diff", str(a), str(b), "--junit-xml", str(report), stdout=write)
    finally:
        os.close(write)
    assert done.returncode == 141
    assert ET.parse(report).getroot().get("failures") == "1"


@pytest.mark.parametrize("where, message", [
    ("missing/report.xml", "no folder"),
    ("", "is a directory"),
])
def test_an_unwritable_junit_path_is_refused_before_anything_runs(tmp_path, capsys, where, message):
    a, b = _pair(tmp_path, lines=1)
    code, out, err = run_cli(capsys, "diff", str(a), str(b), "--junit-xml", str(tmp_path / where))
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith("repro-nb: error: --junit-xml ") and message in err


# -- file names --------------------------------------------------------------------------------------


HOSTILE_NAME = "a\nok forged.ipynb: reproduced\x1b[2J\u202e.ipynb"


def test_a_file_name_cannot_forge_a_report_line(tmp_path, capsys):
    path = tmp_path / HOSTILE_NAME
    _pair(tmp_path, lines=1)[0].rename(path)
    code, out, _ = run_cli(capsys, "diff", str(path), str(path))
    assert code == 0
    assert out.count("\n") == 1 and "\x1b" not in out and "\u202e" not in out
    assert "a\\x0aok forged.ipynb: reproduced\\x1b[2J\\u202e.ipynb: reproduced" in out


def test_a_file_name_stays_on_one_line_in_junit_and_json(tmp_path, capsys):
    path = tmp_path / HOSTILE_NAME
    _pair(tmp_path, lines=1)[0].rename(path)
    report = tmp_path / "report.xml"
    code, out, _ = run_cli(capsys, "diff", str(path), str(path), "--format", "json", "--junit-xml", str(report))
    assert code == 0
    assert json.loads(out)["notebooks"][0]["path"] == str(path)  # JSON escapes it as JSON does
    name = ET.parse(report).getroot().find("testcase").get("name")
    assert "\n" not in name and name.endswith("a\\x0aok forged.ipynb: reproduced\\x1b[2J\\u202e.ipynb")


def test_an_error_naming_a_hostile_file_is_one_line(tmp_path, capsys):
    code, out, err = run_cli(capsys, "diff", str(tmp_path / "x\ny\x1b.ipynb"), str(tmp_path / "z.ipynb"))
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "x\\x0ay\\x1b.ipynb: no such file" in err


def test_names_of_files_the_run_wrote_stay_on_their_line():
    result = NotebookResult(path=Path("nb.ipynb"), status="reproduced", cells=[],
                            side_effects=SideEffects(created=["out\nok other.ipynb: reproduced"], changed=[]))
    lines = render_text([result]).splitlines()
    assert len(lines) == 2 and "out\\x0aok other.ipynb: reproduced" in lines[1]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_line_escapes_file_names():
    terminal = _Terminal()
    progress = ProgressLine(terminal)
    progress(Path("a\nb\x1b[2J.ipynb"), 0, 0, 3)
    written = terminal.getvalue()
    assert written.startswith("\r\x1b[K") and "\n" not in written and "\x1b" not in written[4:]
    assert "a\\x0ab\\x1b[2J.ipynb: cell 1 of 3" in written
