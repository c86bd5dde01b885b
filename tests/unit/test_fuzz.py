"""Notebooks nobody thought of: generated from the nbformat v4 shape, then mutated.

The property, for the reader, ``diff`` and every report renderer: one line and exit 2,
or a valid result; never a traceback; the JSON and JUnit reports always parse. A
notebook read is valid all through: every source can be sent to a kernel and the whole
notebook written back as UTF-8 (no lone surrogate anywhere). A file name, whatever
characters it holds, stays on its one line of the report.

The example count is modest so that CI stays fast; run it longer with
``REPRO_FUZZ_EXAMPLES=5000 python -m pytest tests/unit/test_fuzz.py``.
"""

from __future__ import annotations

import copy
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repro.notebook.errors import InputError
from repro.notebook.io import parse_notebook
from repro.notebook.outcome import diff_result
from repro.notebook.report import render_json, render_junit, render_text
from repro.notebook.options import Options
from tests.builders import run_cli

EXAMPLES = int(os.environ.get("REPRO_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# Text as hostile as JSON can carry it: control characters, lone surrogates, bidi overrides.
odd_text = st.text(
    alphabet=st.one_of(st.characters(codec=None), st.sampled_from("\x00\x1b\x07\r\b\u202e\ud800\udfff\n")),
    max_size=40,
)
json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), odd_text)
json_value = st.recursive(json_leaf, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                             st.dictionaries(odd_text, inner, max_size=3)),
                          max_leaves=8)
lines = st.one_of(odd_text, st.lists(odd_text, max_size=3))

outputs = st.one_of(
    st.fixed_dictionaries({"output_type": st.just("stream"), "name": st.sampled_from(["stdout", "stderr"]),
                           "text": lines}),
    st.fixed_dictionaries({"output_type": st.sampled_from(["execute_result", "display_data"]),
                           "data": st.dictionaries(st.sampled_from(["text/plain", "text/html", "image/png",
                                                                    "image/svg+xml", "application/json"]),
                                                   st.one_of(lines, json_value), max_size=3),
                           "metadata": st.just({}), "execution_count": st.one_of(st.none(), st.integers(0, 9))}),
    st.fixed_dictionaries({"output_type": st.just("error"), "ename": odd_text, "evalue": odd_text,
                           "traceback": st.lists(odd_text, max_size=2)}),
)
cells = st.one_of(
    st.fixed_dictionaries({"cell_type": st.just("code"), "source": lines, "metadata": st.one_of(
        st.just({}), st.fixed_dictionaries({"tags": st.lists(st.sampled_from(
            ["repro-skip", "raises-exception", "nbval-ignore-output", "x"]), max_size=2)})),
        "outputs": st.lists(outputs, max_size=3), "execution_count": st.one_of(st.none(), st.integers(1, 20))}),
    st.fixed_dictionaries({"cell_type": st.sampled_from(["markdown", "raw"]), "source": lines, "metadata": st.just({})}),
)
notebooks = st.fixed_dictionaries({
    "nbformat": st.just(4), "nbformat_minor": st.integers(0, 5),
    "metadata": st.fixed_dictionaries({"kernelspec": st.just({"name": "python3", "display_name": "P"})}),
    "cells": st.lists(cells, max_size=4),
})


@st.composite
def mutated(draw):
    """A generated notebook with one or two of its values replaced, or keys dropped."""
    data = copy.deepcopy(draw(notebooks))  # st.just values are shared between examples
    for _ in range(draw(st.integers(0, 2))):
        holders = []

        def walk(node):
            if isinstance(node, dict):
                holders.extend((node, k) for k in node)
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                holders.extend((node, i) for i in range(len(node)))
                for value in node:
                    walk(value)

        walk(data)
        if not holders:
            break
        holder, key = draw(st.sampled_from(holders))
        if isinstance(holder, dict) and draw(st.booleans()):
            del holder[key]
        else:
            holder[key] = draw(json_value)
    return data


def _check_sendable_and_writable(nb) -> None:
    """What record does with a notebook it read: send each source to a kernel, write it back."""
    import tempfile

    from repro.notebook.io import write_notebook_atomic

    for cell in nb.cells:
        cell.source.encode("utf-8")
    with tempfile.TemporaryDirectory() as folder:
        write_notebook_atomic(nb, Path(folder) / "written.ipynb")


def _check_reports(result) -> None:
    text = render_text([result])
    text.encode("utf-8")  # no lone surrogate reaches a terminal
    assert not any(ch in text for ch in "\x00\x1b\x07\u202e")
    json.loads(render_json([result]))
    ET.fromstring(render_junit([result]))


@FUZZ
@given(mutated(), mutated())
def test_read_diff_and_report_give_a_result_or_one_line(a, b):
    loaded = []
    for data in (a, b):
        raw = json.dumps(data).encode()  # lone surrogates travel as \ud800 escapes, as in a real file
        try:
            loaded.append(parse_notebook(raw, Path("fuzz.ipynb")))
        except InputError as exc:
            assert "\n" not in str(exc) and str(exc).startswith("fuzz.ipynb: ")
            return
    for nb in loaded:
        _check_sendable_and_writable(nb)
    result = diff_result(Path("fuzz.ipynb"), loaded[0], loaded[1], Options().compare)
    assert result.status in ("reproduced", "differs", "unverified")
    _check_reports(result)


@FUZZ
@given(mutated())
def test_the_command_line_answers_exit_0_1_or_2_with_one_line(tmp_path_factory, capsys, data):
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "nb.ipynb"
    path.write_text(json.dumps(data), encoding="utf-8")
    code, out, err = run_cli(capsys, "diff", str(path), str(path), "--format", "json")
    if code == 2:
        assert out == "" and err.count("\n") == 1 and "Traceback" not in err
    else:
        # A notebook compared with itself: the same, or nothing to compare (no stored outputs).
        status = json.loads(out)["notebooks"][0]["status"]
        assert (code, status) in ((0, "reproduced"), (1, "unverified"))


# What a file name on a command line can hold: any character but "/" and NUL, and as lone
# surrogates only \udc80-\udcff, Python's stand-ins for bytes that are not UTF-8.
name_text = st.text(
    alphabet=st.one_of(st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)),
                       st.sampled_from("\n\r\t\x1b\x07\x85\u2028\u202e\udc80\udcff")),
    min_size=1, max_size=30,
).filter(lambda name: name not in (".", ".."))


@FUZZ
@given(name_text, st.sampled_from(["text", "json"]))
def test_any_file_name_stays_on_its_line_of_the_report(tmp_path_factory, capsys, name, report):
    from hypothesis import assume

    from tests.builders import notebook, stream

    folder = tmp_path_factory.mktemp("names")
    path = folder / (name + ".ipynb")
    nb = notebook("print(1)")
    nb.cells[1].execution_count = 1
    nb.cells[1].outputs = [stream("1\n")]
    try:
        path.write_text(json.dumps(nb), encoding="utf-8")
    except OSError:  # a name longer than the file system takes
        assume(False)
    code, out, err = run_cli(capsys, "diff", str(path), str(path), "--format", report)
    assert (code, err) == (0, "")
    if report == "json":
        assert json.loads(out)["notebooks"][0]["path"] == str(path)
    else:
        out.encode("utf-8")
        assert out.count("\n") == 1 and out.startswith("ok ") and out.endswith(": reproduced (1 code cells)\n")
        assert not any(ch in out[:-1] for ch in "\n\r\x1b\x07\x85\u2028\u202e")
