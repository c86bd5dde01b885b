"""repro-nb verify / record / diff against real kernels."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
import pytest

from tests.builders import run_cli, verify_json, write_notebook

pytestmark = pytest.mark.kernel


@pytest.fixture
def recorded(tmp_path, capsys):
    """A seeded notebook recorded by repro-nb record."""
    path = write_notebook(
        tmp_path / "seeded.ipynb",
        "%load_ext repro",
        "%seed 42",
        "import numpy as np\nprint(np.random.rand(3))",
        "print(sorted({'a', 'b', 'c'}))\nprint(object())",
        "import sys\nprint('warn', file=sys.stderr)\n42",
    )
    code, out, err = run_cli(capsys, "record", str(path))
    assert code == 0, err
    return path


def test_record_then_verify_reproduces(recorded, capsys):
    before = recorded.read_bytes()
    code, data = verify_json(capsys, str(recorded))
    assert code == 0
    notebook = data["notebooks"][0]
    assert data["version"] == 1 and notebook["status"] == "reproduced"
    assert [c["index"] for c in notebook["cells"]] == [1, 2, 3, 4, 5]  # markdown cell 0 not listed
    assert {c["status"] for c in notebook["cells"]} == {"same"}
    assert recorded.read_bytes() == before  # verify never modifies the notebook


def test_record_stores_records_and_run_metadata(recorded):
    nb = nbformat.read(recorded, 4)
    assert nb.metadata["repro"]["hash_seed"] == "0"
    draw = nb.cells[3]
    assert draw.metadata["repro"]["backends"]["numpy"]["consumed"] is True
    assert draw.metadata["repro"]["cell_id"] == draw.id  # the cell id travelled with the request
    assert draw.metadata["repro"]["seed"] is not None
    load_cell = nb.cells[1]
    assert load_cell.outputs == []  # %load_ext repro: no "already loaded" message
    assert [c.execution_count for c in nb.cells[1:]] == [1, 2, 3, 4, 5]
    assert "tags" not in draw.metadata


def test_a_hand_edited_output_differs_with_a_diff(recorded, capsys):
    nb = nbformat.read(recorded, 4)
    nb.cells[5].outputs[-1]["data"]["text/plain"] = "43"
    nbformat.write(nb, recorded)
    code, out, err = run_cli(capsys, "verify", str(recorded))
    assert code == 1
    assert "1 cell differs" in out
    assert "cell 6 (In [5]): first difference" in out
    assert "-43" in out and "+42" in out
    assert "\x1b[" not in out  # no colour when not a terminal


def test_unseeded_numbers_differ_and_later_cells_are_marked_downstream(tmp_path, capsys):
    path = write_notebook(
        tmp_path / "flaky.ipynb",
        "import random\nprint(random.random())",
        "print(random.random())",
    )
    assert run_cli(capsys, "record", str(path))[0] == 0
    code, data = verify_json(capsys, str(path))
    assert code == 1
    notebook = data["notebooks"][0]
    assert notebook["status"] == "differs"
    assert [c["status"] for c in notebook["cells"]] == ["differs", "differs"]
    assert notebook["first_difference"] == 1
    code, out, _ = run_cli(capsys, "verify", str(path))
    # A reason to say so: the later cell ran after the random stream diverged.
    assert "cell 3 (In [2]): downstream of cell 2 (it ran after the random stream diverged at cell 2)" in out


def test_seed_option_makes_an_unseeded_notebook_reproduce(tmp_path, capsys):
    path = write_notebook(tmp_path / "unseeded.ipynb", "import numpy as np\nprint(np.random.rand(2))")
    code, _, err = run_cli(capsys, "record", str(path))
    assert code == 0, err
    # The stored outputs come from an unseeded run, so they differ; with --seed,
    # two runs draw the same numbers, so their differences are identical.
    first = verify_json(capsys, "--seed", "1", str(path))[1]["notebooks"][0]["cells"][0]
    second = verify_json(capsys, "--seed", "1", str(path))[1]["notebooks"][0]["cells"][0]
    unseeded = verify_json(capsys, str(path))[1]["notebooks"][0]["cells"][0]
    assert first["status"] == "differs"
    assert first["diffs"][0]["actual"] == second["diffs"][0]["actual"] != unseeded["diffs"][0]["actual"]


def test_a_broken_notebook_fails_at_the_right_cell_and_record_leaves_it_untouched(tmp_path, capsys):
    path = write_notebook(tmp_path / "broken.ipynb", "x = 1", "1 / 0", "print('never')")
    before = path.read_bytes()
    code, out, err = run_cli(capsys, "record", str(path))
    assert code == 1 and "failed at cell 3: ZeroDivisionError" in err
    assert path.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    code, data = verify_json(capsys, str(path))
    notebook = data["notebooks"][0]
    assert code == 1 and notebook["status"] == "failed"
    assert notebook["failure"]["kind"] == "error" and notebook["failure"]["cell"] == 2
    assert notebook["failure"]["ename"] == "ZeroDivisionError"
    # cell 2 was never executed in the stored notebook: nothing to compare
    assert [c["status"] for c in notebook["cells"]] == ["skipped", "failed", "skipped"]


def test_an_expected_error_is_compared_not_fatal(tmp_path, capsys):
    path = write_notebook(tmp_path / "raises.ipynb", "raise ValueError('expected')", "print('after')")
    nb = nbformat.read(path, 4)
    nb.cells[1].metadata["tags"] = ["raises-exception"]
    nbformat.write(nb, path)
    assert run_cli(capsys, "record", str(path))[0] == 0
    assert run_cli(capsys, "verify", str(path))[0] == 0


def test_timeout_interrupts_and_reports_the_cell(tmp_path, capsys):
    path = write_notebook(tmp_path / "slow.ipynb", "x = 1", "import time\ntime.sleep(60)")
    code, data = verify_json(capsys, "--timeout", "1.5", str(path))  # fractions are fine
    notebook = data["notebooks"][0]
    assert code == 1 and notebook["failure"]["kind"] == "timeout" and notebook["failure"]["cell"] == 2
    assert notebook["failure"]["message"] == "cell timed out after 1.5 s"


def test_a_dead_kernel_is_reported_at_its_cell(tmp_path, capsys):
    path = write_notebook(tmp_path / "dies.ipynb", "x = 1", "import os\nos._exit(1)", "print('never')")
    code, data = verify_json(capsys, str(path))
    notebook = data["notebooks"][0]
    assert code == 1 and notebook["failure"]["kind"] == "dead-kernel" and notebook["failure"]["cell"] == 2


def test_kernels_get_a_fixed_hash_seed_and_the_notebook_folder(tmp_path, capsys):
    (tmp_path / "data.txt").write_text("hello")
    path = write_notebook(
        tmp_path / "env.ipynb",
        "import os\nprint(os.environ['PYTHONHASHSEED'])\nprint(open('data.txt').read())",
    )
    assert run_cli(capsys, "record", str(path))[0] == 0
    assert nbformat.read(path, 4).cells[1].outputs[0]["text"] == "0\nhello\n"


def test_a_kernel_without_repro_is_verified_without_records(tmp_path, capsys, monkeypatch):
    kernels = tmp_path / "share" / "jupyter" / "kernels" / "norepro"
    kernels.mkdir(parents=True)
    argv = [
        sys.executable, "-c",
        "import sys; sys.modules['repro'] = None; from ipykernel import kernelapp; kernelapp.launch_new_instance()",
        "-f", "{connection_file}",
    ]
    (kernels / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "no repro", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "share" / "jupyter"))
    path = write_notebook(tmp_path / "plain.ipynb", "print(1 + 1)")
    code, _, err = run_cli(capsys, "record", "--kernel", "norepro", str(path))
    assert code == 0, err
    nb = nbformat.read(path, 4)
    assert "repro" not in nb.cells[1].metadata
    assert "environment" not in nb.metadata["repro"]
    assert run_cli(capsys, "verify", "--kernel", "norepro", str(path))[0] == 0


def test_diff_compares_two_notebooks_without_running(recorded, tmp_path, capsys):
    other = tmp_path / "other.ipynb"
    nb = nbformat.read(recorded, 4)
    nbformat.write(nb, other)
    assert run_cli(capsys, "diff", str(recorded), str(other))[0] == 0
    nb.cells[3].outputs[0]["text"] = "[0.1 0.2 0.3]\n"
    nbformat.write(nb, other)
    code, out, _ = run_cli(capsys, "diff", str(recorded), str(other))
    assert code == 1 and "cell 4 (In [3]): first difference" in out


def test_junit_report(recorded, tmp_path, capsys):
    target = tmp_path / "report.xml"
    code, _, _ = run_cli(capsys, "verify", "--junit-xml", str(target), str(recorded))
    assert code == 0
    import xml.etree.ElementTree as ET

    suite = ET.parse(target).getroot()
    assert suite.tag == "testsuite" and suite.get("tests") == "1" and suite.get("failures") == "0"
    assert "\x1b[" not in target.read_text()


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "no such file"),
        ("", "empty file"),
        ("{not json", "not valid JSON"),
        ('{"cells": []}', "not a notebook"),
        ('{"nbformat": 2, "cells": []}', "nbformat 2 is not supported"),
        ("[1, 2]", "not a notebook"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, content, message):
    path = tmp_path / "bad.ipynb"
    if content is not None:
        path.write_text(content)
    for command in (["verify"], ["record"], ["diff", str(path)]):
        code, out, err = run_cli(capsys, *command, str(path))
        assert code == 2, (command, err)
        assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_directory_without_notebooks_is_bad_input(tmp_path, capsys):
    code, _, err = run_cli(capsys, "verify", str(tmp_path))
    assert code == 2 and "is a directory with no notebooks" in err
    code, _, err = run_cli(capsys, "diff", str(tmp_path), str(tmp_path))
    assert code == 2 and "is a directory" in err


def test_a_directory_is_searched_for_notebooks(tmp_path, capsys):
    write_notebook(tmp_path / "b.ipynb", "print(2)")
    (tmp_path / "sub").mkdir()
    write_notebook(tmp_path / "sub" / "a.ipynb", "print(1)")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    write_notebook(tmp_path / ".ipynb_checkpoints" / "b-checkpoint.ipynb", "print(2)")
    code, data = verify_json(capsys, "--allow-unverified", str(tmp_path))  # never executed: unverified
    assert code == 0
    assert [Path(n["path"]).name for n in data["notebooks"]] == ["b.ipynb", "a.ipynb"]


def test_nbformat_3_is_upgraded_in_memory(tmp_path, capsys):
    v3 = {
        "nbformat": 3, "nbformat_minor": 0, "metadata": {"name": "old"},
        "worksheets": [{"cells": [{"cell_type": "code", "input": "print(1)", "language": "python",
                                   "outputs": [{"output_type": "stream", "stream": "stdout", "text": "1\n"}],
                                   "prompt_number": 1}]}],
    }
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(v3))
    assert run_cli(capsys, "verify", "--current-python", str(path))[0] == 0


def test_unknown_kernel_is_a_usage_error(recorded, capsys):
    code, _, err = run_cli(capsys, "verify", "--kernel", "no-such-kernel", str(recorded))
    assert code == 2 and "no such kernel" in err


def test_no_kernel_outlives_a_run(tmp_path, capsys):
    psutil = pytest.importorskip("psutil")
    path = write_notebook(tmp_path / "slow.ipynb", "import time\ntime.sleep(60)")
    before = {p.pid for p in psutil.Process(os.getpid()).children(recursive=True)}
    run_cli(capsys, "verify", "--timeout", "1", str(path))
    after = {p.pid for p in psutil.Process(os.getpid()).children(recursive=True) if p.is_running() and p.status() != psutil.STATUS_ZOMBIE}
    assert after <= before


def test_ctrl_c_reports_the_cell_and_leaves_no_kernel(tmp_path):
    import signal
    import subprocess

    psutil = pytest.importorskip("psutil")
    path = write_notebook(tmp_path / "slow.ipynb", "x = 1", "import time\nprint('started', flush=True)\ntime.sleep(60)")
    nb = nbformat.read(path, 4)
    nb.cells[2].execution_count = 2
    nbformat.write(nb, path)
    process = subprocess.Popen(
        [sys.executable, "-m", "repro", "verify", "--format", "json", str(path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    parent = psutil.Process(process.pid)
    kernels = []
    deadline = 120
    import time

    start = time.monotonic()
    # Wait until the kernel runs the slow cell: its Python child has imported time and sleeps.
    while time.monotonic() - start < deadline and not kernels:
        kernels = [c for c in parent.children(recursive=True) if "ipykernel" in " ".join(c.cmdline())]
        if kernels:
            try:
                kernels[0].wait(timeout=0.5)  # returns only if it died early
            except psutil.TimeoutExpired:
                pass
    assert kernels, "the kernel never started"
    # the cell prints 'started' before sleeping; give the kernel time to reach it
    time.sleep(3)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1
    notebook = json.loads(out)["notebooks"][0]
    assert notebook["failure"]["kind"] == "interrupted" and notebook["failure"]["cell"] == 2
    # One line, no asyncio noise ("Task exception was never retrieved", tracebacks).
    assert "Task exception" not in err and "Traceback" not in err and "never retrieved" not in err, err
    for kernel in kernels:
        assert not kernel.is_running() or kernel.status() == psutil.STATUS_ZOMBIE


def test_parallel_jobs_and_shards(tmp_path, capsys):
    paths = [write_notebook(tmp_path / f"nb{i}.ipynb", f"print({i})") for i in range(3)]
    for path in paths:
        assert run_cli(capsys, "record", str(path))[0] == 0
    code, data = verify_json(capsys, "-j", "2", str(tmp_path))
    assert code == 0 and [Path(n["path"]).name for n in data["notebooks"]] == ["nb0.ipynb", "nb1.ipynb", "nb2.ipynb"]
    shards = [verify_json(capsys, "--shard", f"{i}/2", str(tmp_path))[1]["notebooks"] for i in (1, 2)]
    names = [[Path(n["path"]).name for n in shard] for shard in shards]
    assert names == [["nb0.ipynb", "nb2.ipynb"], ["nb1.ipynb"]]
    code, _, err = run_cli(capsys, "verify", "--shard", "3/2", str(tmp_path))
    assert code == 2 and "1 <= I <= N" in err


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
@pytest.mark.parametrize("report", ["text", "json"])
def test_verify_to_a_full_disk_is_one_line_and_exit_2(tmp_path, report):
    import subprocess

    path = write_notebook(tmp_path / "tiny.ipynb", "print(1)")
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "repro", "verify", "--format", report, str(path)],
                              stdout=full, stderr=subprocess.PIPE, text=True, timeout=300)
    assert done.returncode == 2
    assert done.stderr == "repro-nb: cannot write the report: No space left on device\n"
