"""Cancelling a verify or a record from another thread (what the Lab's Cancel does): the kernel
is killed at once, not at the next cell, and a cancelled record writes nothing."""

from __future__ import annotations

import threading
import time

import psutil
import pytest

import repro
from tests.builders import write_notebook

pytestmark = pytest.mark.kernel

SLEEPER = ("import time", "time.sleep(600)", "print('never')")


def run_cancelled(call, path):
    """Run ``call(path, progress=..., cancel=...)`` in a thread, cancel it once the sleep cell runs:
    (its result, seconds from the cancel to the result)."""
    cancel, at_sleep, box = threading.Event(), threading.Event(), {}

    def progress(_path, _run, index, _total):
        if index == 2:
            at_sleep.set()

    thread = threading.Thread(target=lambda: box.update(result=call(path, progress=progress, cancel=cancel)))
    thread.start()
    assert at_sleep.wait(120), "the sleep cell never started"
    time.sleep(0.5)  # it runs now
    began = time.monotonic()
    cancel.set()
    thread.join(120)
    assert not thread.is_alive()
    return box["result"], time.monotonic() - began


def test_a_cancelled_verify_ends_at_once_as_interrupted_and_no_kernel_is_left(tmp_path):
    path = write_notebook(tmp_path / "sleeper.ipynb", *SLEEPER)
    result, took = run_cancelled(lambda p, **kw: repro.verify_notebook(p, **kw), path)
    assert took < 20, f"the cancel took {took:.1f} s"
    assert result.failure is not None and result.failure.kind == "interrupted"
    assert result.failure.cell_index == 2
    assert [child for child in psutil.Process().children(recursive=True)
            if "ipykernel" in " ".join(child.cmdline())] == []


def test_a_cancelled_record_writes_nothing(tmp_path):
    path = write_notebook(tmp_path / "sleeper.ipynb", *SLEEPER)
    before = path.read_bytes()
    result, took = run_cancelled(lambda p, **kw: repro.record_notebook(p, **kw), path)
    assert took < 20, f"the cancel took {took:.1f} s"
    assert result.written is False and "interrupted" in result.message
    assert path.read_bytes() == before
