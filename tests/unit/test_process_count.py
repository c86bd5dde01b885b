"""The worker processes a cell started, from multiprocessing's own counter (no kernel needed)."""

from __future__ import annotations

import itertools
import multiprocessing
import sys
import types

from repro.kernel.recorder import process_mark, processes_since


def test_processes_are_counted_from_multiprocessing_counter(monkeypatch):
    fake = types.SimpleNamespace(_process_counter=itertools.count(1))  # as multiprocessing starts it
    monkeypatch.setitem(sys.modules, "multiprocessing.process", fake)
    mark = process_mark()
    assert processes_since(mark) == 0
    next(fake._process_counter), next(fake._process_counter)  # two Process objects made
    assert processes_since(mark) == 2
    assert processes_since(mark) == 2  # reading does not move it


def test_a_cell_that_only_imports_multiprocessing_started_no_process(monkeypatch):
    monkeypatch.delitem(sys.modules, "multiprocessing.process")
    mark = process_mark()  # not imported yet when the cell started
    assert mark == ""
    monkeypatch.setitem(sys.modules, "multiprocessing.process", types.SimpleNamespace(_process_counter=itertools.count(1)))
    assert processes_since(mark) == 0
    sys.modules["multiprocessing.process"]._process_counter = itertools.count(4)
    assert processes_since(mark) == 3


def test_a_real_process_is_counted():
    mark = process_mark()
    process = multiprocessing.get_context("spawn").Process(target=print)
    assert processes_since(mark) == 1  # counted when made, started or not
    del process


def test_a_counter_of_another_shape_counts_nothing(monkeypatch):
    monkeypatch.setitem(sys.modules, "multiprocessing.process", types.SimpleNamespace(_process_counter=object()))
    assert processes_since(process_mark()) == 0
    assert processes_since("count(x)") == 0
