"""Nothing the user owns is lost or half-written, and bad input is one line with exit 2 (no kernel)."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest

from repro.notebook.errors import InputError
from repro.notebook.io import load_notebook, read_notebook, write_bytes_atomic, write_notebook_atomic
from tests.builders import notebook, run_cli, write_notebook


@pytest.fixture
def nb_path(tmp_path):
    return write_notebook(tmp_path / "nb.ipynb", "print(1)")


# -- 1. a report never goes over a notebook or an input ---------------------------------------------


@pytest.mark.parametrize("argv", [
    ["verify", "--junit-xml", "{nb}", "{other}"],          # what `--junit-xml *.ipynb` expands to
    ["verify", "{nb}", "--junit-xml", "{nb}"],
    ["verify", "{nb}", "--junit-xml", "{link}"],            # a link to an input is that input
    ["diff", "{nb}", "{other}", "--junit-xml", "{other}"],
])
def test_a_report_path_that_is_a_notebook_is_refused_before_anything_runs(tmp_path, nb_path, capsys, argv):
    other = write_notebook(tmp_path / "other.ipynb", "print(2)")
    link = tmp_path / "link.xml"
    link.symlink_to(nb_path)
    before = {p: p.read_bytes() for p in (nb_path, other)}
    args = [a.format(nb=nb_path, other=other, link=link) for a in argv]
    code, out, err = run_cli(capsys, *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "--junit-xml" in err and "Traceback" not in err
    assert {p: p.read_bytes() for p in before} == before


# -- 2-4. record's write: changed files, links, read-only files, owners ------------------------------


def test_a_file_changed_since_it_was_read_is_not_replaced(nb_path):
    nb, snapshot = load_notebook(nb_path)
    nb_path.write_text(nb_path.read_text().replace("print(1)", "print(10)"))  # saved from an editor meanwhile
    saved = nb_path.read_bytes()
    with pytest.raises(InputError, match="changed on disk while repro-nb ran"):
        write_notebook_atomic(nb, nb_path, unchanged_since=snapshot)
    assert nb_path.read_bytes() == saved
    assert [p.name for p in nb_path.parent.iterdir()] == ["nb.ipynb"]
    write_notebook_atomic(nb, nb_path, unchanged_since=load_notebook(nb_path)[1])  # unchanged: replaced


def test_a_link_is_written_through_and_stays_a_link(tmp_path, nb_path):
    (tmp_path / "links").mkdir()
    link = tmp_path / "links" / "nb.ipynb"
    link.symlink_to(nb_path)
    nb = read_notebook(link)
    nb.cells[1].source = "print('new')"
    write_notebook_atomic(nb, link)
    assert link.is_symlink() and os.readlink(link) == str(nb_path)
    assert read_notebook(nb_path).cells[1].source == "print('new')"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["links", "nb.ipynb", "nb.ipynb"]


def test_a_read_only_file_is_refused_even_for_root(nb_path):
    os.chmod(nb_path, 0o444)
    before = nb_path.read_bytes()
    with pytest.raises(InputError, match="is read-only: refusing to replace it"):
        write_bytes_atomic(nb_path, b"{}")
    assert nb_path.read_bytes() == before and nb_path.stat().st_mode & 0o777 == 0o444


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="changing owners needs root")
def test_the_owner_group_and_mode_of_a_replaced_file_are_kept(nb_path):
    os.chown(nb_path, 12345, 23456)
    os.chmod(nb_path, 0o640)
    write_bytes_atomic(nb_path, b"{}\n")
    info = nb_path.stat()
    assert (info.st_uid, info.st_gid, info.st_mode & 0o777) == (12345, 23456, 0o640)


def test_a_new_report_file_gets_ordinary_permissions(tmp_path):
    target = tmp_path / "report.xml"
    write_bytes_atomic(target, b"<x/>")
    assert target.read_bytes() == b"<x/>" and target.stat().st_mode & 0o777 == 0o644


# -- 9, 11. malformed notebooks and files that are not notebooks -------------------------------------


def _raw(tmp_path, text: str) -> Path:
    path = tmp_path / "bad.ipynb"
    path.write_text(text, encoding="utf-8")
    return path


def _with(change) -> str:
    data = json.loads(nbformat.writes(notebook("print(1)")))
    change(data)
    return json.dumps(data)


@pytest.mark.parametrize(("text", "message"), [
    ("[" * 100_000 + "]" * 100_000, "not a notebook JSON can hold"),
    ('{"nbformat": 4, "cells": [], "x": ' + "9" * 5000 + "}", "not a notebook JSON can hold"),
    (_with(lambda d: d["metadata"].update(kernelspec="python3")), "metadata.kernelspec must be an object"),
    (_with(lambda d: d["metadata"].update(repro="x")), "metadata.repro must be an object"),
    (_with(lambda d: d["metadata"].update(repro={"hash_seed": "abc"})), "metadata.repro.hash_seed must be"),
    (_with(lambda d: d["cells"][1]["metadata"].update(tags=5)), "cell 2: metadata.tags must be a list of strings"),
    (_with(lambda d: d["cells"][1].update(source=123)), "cell 2:"),
    (_with(lambda d: d["cells"][1].update(outputs={"a": 1})), "cell 2: outputs must be a list"),
    (_with(lambda d: d["cells"][1].update(execution_count="3")), "cell 2: execution_count must be"),
    (_with(lambda d: d["cells"][1].update(outputs=[{"output_type": "stream", "text": 5}])), "output 1: text"),
    (_with(lambda d: d.update(nbformat=True)), "nbformat True is not supported"),
])
def test_malformed_notebooks_are_one_line_exit_2_for_verify_and_diff(tmp_path, capsys, text, message):
    path = _raw(tmp_path, text)
    for argv in (["verify", str(path)], ["diff", str(path), str(path)]):
        code, out, err = run_cli(capsys, *argv)
        assert code == 2 and out == "", err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_at_once(tmp_path, capsys):
    fifo = tmp_path / "pipe.ipynb"
    os.mkfifo(fifo)
    code, _, err = run_cli(capsys, "verify", str(fifo))  # would block forever if it were opened
    assert code == 2 and "not a regular file" in err


# -- 8, 10, 12. options and kernel install -------------------------------------------------------


@pytest.mark.parametrize(("argv", "message"), [
    (["verify", "--timeout", "inf", "{nb}"], "must be a number of seconds > 0"),
    (["verify", "--timeout", "nan", "{nb}"], "must be a number of seconds > 0"),
    (["verify", "--timeout", "-2", "{nb}"], "must be a number of seconds > 0"),
    (["verify", "--kernel", "", "{nb}"], "--kernel must be a kernel name"),
    (["kernel", "install", "--name", "a b"], "--name must be letters, digits"),
    (["kernel", "install", "--name", "a/b"], "--name must be letters, digits"),
    (["kernel", "install", "--name", "../../x"], "--name must be letters, digits"),
    (["kernel", "install", "--name", ""], "--name must be letters, digits"),
    (["kernel", "install", "--name", ".."], "--name must be letters, digits"),
    (["kernel", "install", "--hash-seed", "\u0663"], "--hash-seed"),
    (["kernel", "install", "--hash-seed", "4294967296"], "--hash-seed"),
])
def test_bad_options_are_one_line_exit_2(nb_path, capsys, argv, message):
    code, out, err = run_cli(capsys, *[a.format(nb=nb_path) for a in argv])
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_an_empty_shard_says_so(nb_path, capsys):
    code, out, err = run_cli(capsys, "verify", "--shard", "2/2", str(nb_path))
    assert code == 0 and "shard 2/2 is empty" in err


def test_the_help_epilog_shows_the_magics_as_typed(capsys):
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0 and "%load_ext repro, then %seed 42" in out and "%%load_ext" not in out


# -- 16. terminal and report injection ----------------------------------------------------------


HOSTILE = "\x1bc\x1b[31mred\x00\x07\u202eevil"


def _differing_pair(hostile: str = HOSTILE):
    a = notebook("print(1)")
    a.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="ok\n")]
    a.cells[1].execution_count = 1
    b = nbformat.from_dict(json.loads(json.dumps(a)))
    b.cells[1].outputs = [nbformat.v4.new_output("error", ename="ValueError", evalue=hostile, traceback=[])]
    return a, b


def test_control_characters_reach_neither_the_terminal_nor_the_junit_file(tmp_path, capsys):
    paths = tmp_path / "a.ipynb", tmp_path / "b.ipynb"
    for nb, path in zip(_differing_pair(), paths):
        path.write_text(json.dumps(nb), encoding="utf-8")
    report = tmp_path / "report.xml"
    code, out, err = run_cli(capsys, "diff", *map(str, paths), "--junit-xml", str(report))
    assert code == 1
    assert not any(ch in out for ch in "\x1b\x00\x07\u202e") and "\\x1bc" in out and "\\u202e" in out
    root = ET.parse(report).getroot()  # well-formed XML 1.0
    assert root.get("failures") == "1" and "\\x1b[31mred" in root.find("testcase/failure").text


def test_a_lone_surrogate_in_new_outputs_is_shown_escaped():
    # No notebook file holds one (reading refuses it), but a kernel's JSON message can.
    from repro.notebook.outcome import diff_result
    from repro.notebook.report import render_junit, render_text
    from repro.notebook.options import Options

    result = diff_result(Path("nb.ipynb"), *_differing_pair("bad \ud800 half"), Options().compare)
    text = render_text([result])
    text.encode("utf-8")  # no lone surrogate left to fail a terminal's encoder
    assert "\\ud800" in text
    assert "\\ud800" in ET.fromstring(render_junit([result])).find("testcase/failure").text
