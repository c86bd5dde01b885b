"""The pieces that bound a run: ending the processes of one run only, counting output."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from repro.notebook import reaper
from repro.notebook.output_limit import OutputBudget, format_bytes, message_size


@pytest.mark.skipif(not reaper.supported(), reason="needs /proc")
def test_a_run_ends_only_the_processes_that_carry_its_token():
    ours, theirs = reaper.new_token(), reaper.new_token()
    started = [subprocess.Popen(["sleep", "600"], env=dict(os.environ, **{reaper.RUN_VARIABLE: token}),
                                start_new_session=True) for token in (ours, theirs)]
    try:
        assert reaper.carrying(ours) == {started[0].pid}
        ended = reaper.end_processes(reaper.carrying(ours))
        assert ended == [f"sleep (pid {started[0].pid})"]
        assert started[0].wait(timeout=10) is not None  # reaped: end_processes waited for its child
        assert started[1].poll() is None  # another run's process runs on
        assert reaper.summary(ended) == f"repro: ended 1 process a cell left running: sleep (pid {started[0].pid})"
    finally:
        for process in started:
            process.kill()
            process.wait()


@pytest.mark.skipif(not reaper.supported(), reason="needs /proc")
def test_descendants_are_found_below_a_process():
    child = subprocess.Popen([sys.executable, "-c", "import subprocess; subprocess.run(['sleep', '600'])"])
    try:
        found: set[int] = set()
        while not found and child.poll() is None:  # until the grandchild exists
            found = reaper.descendants(child.pid)
        assert len(found) == 1
    finally:
        reaper.end_processes(reaper.descendants(child.pid) | {child.pid})
        child.wait()


def test_output_is_counted_per_cell_and_dropped_past_the_limit():
    budget = OutputBudget(10)
    stream = {"msg_type": "stream", "content": {"name": "stdout", "text": "é" * 4}}  # 8 bytes in UTF-8
    assert message_size(stream) == 8
    assert budget.admit(1, stream) and not budget.admit(1, stream)
    assert budget.admit(2, stream)  # another cell, its own count
    assert budget.marker(1)["text"] == "[repro: output past 10 bytes dropped]\n" and budget.marker(1) is None
    assert str(budget.exceeded(1)) == "output limit exceeded: the cell wrote more than 10 bytes; the rest was dropped"
    assert budget.exceeded(2) is None
    display = {"msg_type": "display_data", "content": {"data": {"text/plain": "abc", "application/json": {"a": 1}}}}
    assert message_size(display) == 3 + len('{"a": 1}')
    assert OutputBudget(0).admit(1, {"msg_type": "stream", "content": {"text": "x" * 100}})


def test_sizes_read_as_a_person_would_say_them():
    assert format_bytes(100 * 2**20) == "100 MiB"
    assert format_bytes(2**30) == "1 GiB"
    assert format_bytes(int(1.5 * 2**30)) == "1.5 GiB"
    assert format_bytes(512) == "512 bytes"
