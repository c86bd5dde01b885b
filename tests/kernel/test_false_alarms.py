"""False alarms repro knows about, against real kernels: timing magics, %%writefile, clock
readings, side effects and --isolate, kernelspecs that do not exist here, a missing
representation and --mime-subset."""

from __future__ import annotations

import re
import tempfile
import xml.etree.ElementTree as ET

import nbformat
import pytest

from tests.builders import run_cli, verify_json, write_notebook

pytestmark = pytest.mark.kernel

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def record(capsys, path) -> str:
    code, out, err = run_cli(capsys, "record", str(path))
    assert code == 0, err
    return out


def set_stdout(path, cell: int, text: str) -> None:
    nb = nbformat.read(path, 4)
    (stream,) = [o for o in nb.cells[cell].outputs if o.get("name") == "stdout"]
    stream["text"] = text
    nbformat.write(nb, path)


def statuses(data) -> dict[int, str]:
    return {c["index"]: c["status"] for c in data["notebooks"][0]["cells"]}


def test_timing_magics_verify_and_the_same_text_from_print_is_still_compared(tmp_path, capsys):
    path = write_notebook(
        tmp_path / "timing.ipynb",
        "%timeit -r 2 sum(range(50))",
        "%%time\nx = sum(range(1000))\nprint(x)",
        "for n in (10, 20):\n    %time y = sum(range(n))",
        "res = %timeit -o -q -n 2 -r 2 sum(range(10))\nres",
        "print('Wall time: 1.23 ms')",
    )
    record(capsys, path)
    code, data = verify_json(capsys, str(path))
    assert code == 0, data
    # The same kind of change in a timing cell and in a plain print: only the print differs.
    set_stdout(path, 2, "499500\nCPU times: user 9 s, sys: 1 s, total: 10 s\nWall time: 12.5 s\n")
    set_stdout(path, 5, "Wall time: 4.56 ms\n")
    code, data = verify_json(capsys, str(path))
    assert code == 1
    assert statuses(data) == {1: "same", 2: "same", 3: "same", 4: "same", 5: "differs"}


def test_writefile_twice_is_the_same_and_files_written_are_listed(tmp_path, capsys, monkeypatch):
    path = write_notebook(
        tmp_path / "files.ipynb",
        "%%writefile doc_sanitize.cfg\n[a]\nregex: x",
        "import pathlib\npathlib.Path('out.csv').write_text('1,2\\n')",
        "print(open('doc_sanitize.cfg').read())",
    )
    record(capsys, path)
    assert nbformat.read(path, 4).cells[1].outputs[0]["text"] == "Writing doc_sanitize.cfg\n"
    (tmp_path / "out.csv").unlink()
    code, data = verify_json(capsys, str(path))
    assert code == 0  # "Overwriting doc_sanitize.cfg" now: one fact, not a difference
    assert data["notebooks"][0]["side_effects"] == {"created": ["out.csv"], "changed": ["doc_sanitize.cfg"],
                                                    "isolated": False}
    code, out, _ = run_cli(capsys, "verify", str(path))
    assert "  files written in the notebook's folder: changed doc_sanitize.cfg, out.csv" in out.splitlines()

    # --isolate: a scratch copy per run, removed afterwards; the folder itself untouched.
    scratch = tmp_path.parent / (tmp_path.name + "-tmp")
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    (tmp_path / "out.csv").unlink()
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    code, data = verify_json(capsys, "--isolate", str(path))
    assert code == 0
    assert data["notebooks"][0]["side_effects"] == {"created": ["out.csv"], "changed": ["doc_sanitize.cfg"],
                                                    "isolated": True}
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before
    assert list(scratch.iterdir()) == []


def test_a_clock_reading_is_reported_with_a_mask_that_works_when_pasted(tmp_path, capsys):
    path = write_notebook(tmp_path / "clock.ipynb", "import datetime\nprint(datetime.datetime.now().isoformat())",
                          "print('steady')")
    record(capsys, path)
    code, data = verify_json(capsys, str(path))
    assert code == 1
    (cell,) = [c for c in data["notebooks"][0]["cells"] if c["status"] == "differs"]
    assert cell["index"] == 1 and cell["hint"].startswith("cell 2 prints a clock reading")
    assert "repro-ignore-output" in cell["hint"]
    regex = re.search(r"--mask '([^']+)'", cell["hint"]).group(1)
    code, out, err = run_cli(capsys, "verify", "--mask", regex, str(path))
    assert code == 0, out


PYTHON_ELSEWHERE = {"name": "conda-env-tqdm-py", "display_name": "Python [conda env:tqdm]", "language": "python"}


def test_a_python_notebook_whose_kernel_is_missing_runs_on_python3_with_a_note(tmp_path, capsys, monkeypatch):
    path = write_notebook(tmp_path / "elsewhere.ipynb", "print(6 * 7)")
    nb = nbformat.read(path, 4)
    nb.metadata["kernelspec"] = PYTHON_ELSEWHERE
    nbformat.write(nb, path)
    note = "the notebook's kernel 'conda-env-tqdm-py' is not installed here: ran on python3"
    assert note in record(capsys, path)
    report = tmp_path / "report.xml"
    code, out, _ = run_cli(capsys, "verify", "--junit-xml", str(report), str(path))
    assert code == 0
    assert out.splitlines()[0].startswith("ok ") and out.splitlines()[1].startswith(f"  note: {note}")
    assert note in ET.parse(report).getroot().find("testcase/system-out").text
    # [tool.repro] kernel wins, and needs no note.
    (tmp_path / "pyproject.toml").write_text("[tool.repro]\nkernel = 'python3'\n")
    monkeypatch.chdir(tmp_path)
    code, data = verify_json(capsys, str(path))
    assert code == 0 and data["notebooks"][0]["notes"] == []


def test_a_notebook_in_another_language_whose_kernel_is_missing_fails_in_one_line(tmp_path, capsys):
    path = write_notebook(tmp_path / "r.ipynb", "1 + 1")
    nb = nbformat.read(path, 4)
    nb.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    nb.cells[1].outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "[1] 2"}, execution_count=1)]
    nb.cells[1].execution_count = 1
    nbformat.write(nb, path)
    code, out, err = run_cli(capsys, "verify", str(path))
    assert code == 1
    assert out.splitlines() == [f"FAILED {path}: failed: the notebook's kernel 'ir' (language R) is not "
                                "installed here: install it, or pass --kernel NAME with an installed kernel "
                                "(see `jupyter kernelspec list`), or --current-python to run on the Python "
                                "of repro-nb"]
    code, out, err = run_cli(capsys, "verify", "--kernel", "no-such-kernel", str(path))
    assert code == 2 and out == ""
    assert err == ("repro-nb: error: no such kernel: 'no-such-kernel': pass --kernel NAME with an installed "
                   "kernel (see `jupyter kernelspec list`), or --current-python to run on the Python of repro-nb\n")


def test_a_representation_missing_here_is_explained_and_mime_subset_compares_the_rest(tmp_path, capsys):
    path = write_notebook(tmp_path / "sympy_like.ipynb", "6 * 7")
    record(capsys, path)
    nb = nbformat.read(path, 4)
    nb.cells[1].outputs[0]["data"]["image/png"] = PNG  # as if rendered with LaTeX when recorded
    nbformat.write(nb, path)
    code, out, _ = run_cli(capsys, "verify", str(path))
    assert code == 1
    assert "    image/png: only in the stored outputs" in out.splitlines()
    assert "image/png only in the stored output (the output itself is there)" in out and "--mime-subset" in out
    code, out, _ = run_cli(capsys, "verify", "--mime-subset", str(path))
    assert code == 0, out
