from __future__ import annotations

import json
import os
import re
from pathlib import Path

import nbformat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from repro import __version__
from repro.notebook.errors import InputError
from repro.notebook.io import (
    expand_paths,
    notebook_hash_seed,
    read_notebook,
    select_shard,
    store_records,
    stored_payloads,
    write_notebook_atomic,
)
from repro.payload import parse_records
from tests.builders import executed, notebook, record_payload, run_cli, stream


def _sample():
    cell = new_code_cell("print('a')\nprint('b')", execution_count=1)
    cell.outputs = [
        new_output("stream", name="stdout", text="a\nb\n"),
        new_output("execute_result", data={"text/plain": "1\n2", "application/json": {"x": [1, 2]}}, execution_count=1),
    ]
    return new_notebook(cells=[new_markdown_cell("# T\ntext"), cell], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})


def test_reads_the_same_notebook_as_nbformat(tmp_path):
    path = tmp_path / "a.ipynb"
    nbformat.write(_sample(), path)
    assert read_notebook(path) == nbformat.read(path, as_version=4)


def test_atomic_write_leaves_the_original_when_replacing_fails(tmp_path, monkeypatch):
    path = tmp_path / "a.ipynb"
    nbformat.write(_sample(), path)
    before = path.read_bytes()
    changed = _sample()
    changed.cells[1].outputs = []

    def fail(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(InputError, match="No space left on device"):
        write_notebook_atomic(changed, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["a.ipynb"]


def test_atomic_write_keeps_the_file_mode(tmp_path):
    path = tmp_path / "a.ipynb"
    nbformat.write(_sample(), path)
    os.chmod(path, 0o600)
    write_notebook_atomic(_sample(), path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert read_notebook(path) == nbformat.read(path, as_version=4)


# --------------------------------------------------------------------------- finding notebooks


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(_sample(), path)
    return path


def test_a_directory_is_replaced_by_the_notebooks_below_it_sorted(tmp_path):
    root = tmp_path / "nbs"
    b = _touch(root / "b.ipynb")
    a = _touch(root / "a.ipynb")
    deep = _touch(root / "sub" / "deeper" / "c.ipynb")
    _touch(root / ".ipynb_checkpoints" / "a-checkpoint.ipynb")
    _touch(root / "sub" / ".ipynb_checkpoints" / "c-checkpoint.ipynb")
    (root / "notes.txt").write_text("not a notebook")
    (root / "folder.ipynb").mkdir()  # a directory named like a notebook
    assert expand_paths([root]) == [a, b, deep]


def test_files_are_kept_as_given_and_directories_expanded_in_place(tmp_path):
    one = _touch(tmp_path / "z.ipynb")
    inner = _touch(tmp_path / "dir" / "x.ipynb")
    missing = tmp_path / "missing.ipynb"  # reading it says so later
    assert expand_paths([one, tmp_path / "dir", missing, one]) == [one, inner, missing, one]


def test_a_directory_without_notebooks_is_an_input_error(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no notebooks") as info:
        expand_paths([empty])
    assert str(empty) in str(info.value) and "\n" not in str(info.value)
    _touch(empty / ".ipynb_checkpoints" / "a-checkpoint.ipynb")
    with pytest.raises(InputError, match="no notebooks"):
        expand_paths([empty])


# --------------------------------------------------------------------------- shards


def test_select_shard_round_robin_over_sorted_paths():
    paths = [Path(p) for p in ("d.ipynb", "a.ipynb", "sub/b.ipynb", "c.ipynb", "b.ipynb")]
    assert select_shard(paths, None) is paths
    assert select_shard(paths, (1, 2)) == [Path("a.ipynb"), Path("c.ipynb"), Path("sub/b.ipynb")]
    assert select_shard(paths, (2, 2)) == [Path("b.ipynb"), Path("d.ipynb")]
    assert select_shard(paths, (1, 1)) == sorted(paths, key=str)
    assert select_shard(paths, (5, 8)) == [Path("sub/b.ipynb")]
    assert select_shard(paths, (8, 8)) == []


_names = st.lists(st.text(st.sampled_from("ab/._-1Z"), min_size=1, max_size=8).map(lambda s: s.strip("/") or "x"),
                  max_size=30, unique_by=lambda s: Path(s).as_posix())


@settings(max_examples=40, database=None)
@given(names=_names, total=st.integers(1, 7), seed=st.randoms(use_true_random=False))
def test_shards_cover_every_notebook_once_in_even_shares(names, total, seed):
    paths = [Path(n + ".ipynb") for n in names]
    shuffled = list(paths)
    seed.shuffle(shuffled)
    shards = [select_shard(paths, (i, total)) for i in range(1, total + 1)]
    flat = [p for shard in shards for p in shard]
    assert sorted(flat, key=Path.as_posix) == sorted(paths, key=Path.as_posix)
    assert len(flat) == len(set(flat))
    assert max(map(len, shards)) - min(map(len, shards)) <= 1
    # Every machine computes the same split, whatever order it found the notebooks in.
    assert [select_shard(shuffled, (i, total)) for i in range(1, total + 1)] == shards


# --------------------------------------------------------------------------- records


def test_store_records_attaches_records_and_run_metadata():
    nb = notebook("import numpy as np", "x = np.random.rand()", "print(x)")
    nb.cells[3].metadata["repro"] = {"version": 1, "source_digest": "from an older recording"}
    nb.cells[3].metadata["tags"] = ["keep"]
    records = {
        1: record_payload(seed=7, backends={"numpy": (None, "n0")}, source=nb.cells[1].source, execution_count=1),
        2: record_payload(seed=7, backends={"numpy": ("n0", "n1")}, source=nb.cells[2].source, execution_count=2),
    }
    env = {"python": "3.11.4", "packages": {"numpy": "2.1.0"}}
    run = executed(nb, {3: [stream("0.5\n")]}, records=records, environment=env, hash_seed="7")
    stored = store_records(run)
    assert stored.cells[1].metadata["repro"] == {k: v for k, v in records[1].items() if k != "source"}
    assert "source" not in stored.cells[2].metadata["repro"]
    assert stored.cells[2].metadata["repro"]["backends"] == {"numpy": {"before": "n0", "after": "n1", "consumed": True}}
    assert "repro" not in stored.cells[3].metadata  # a stale record is dropped
    assert stored.cells[3].metadata["tags"] == ["keep"]
    assert "repro" not in stored.cells[0].metadata
    assert stored.metadata["repro"] == {"version": 1, "repro_version": __version__, "hash_seed": "7",
                                        "kernel": "python3", "environment": env}
    assert stored.metadata["kernelspec"]["name"] == "python3"
    assert notebook_hash_seed(stored) == "7"
    # What was stored parses back as the same records.
    assert parse_records(stored_payloads(stored), stored=True) == parse_records(records)


def test_store_records_without_an_environment(tmp_path):
    run = executed(notebook("print(1)"), {1: [stream("1\n")]}, records=None, hash_seed="0", kernel_name="py3")
    stored = store_records(run)
    assert stored.metadata["repro"] == {"version": 1, "repro_version": __version__, "hash_seed": "0",
                                        "kernel": "py3"}
    assert stored_payloads(stored) == {}
    # And the result is a notebook that writes and reads back.
    path = tmp_path / "r.ipynb"
    write_notebook_atomic(stored, path)
    assert read_notebook(path).metadata["repro"]["kernel"] == "py3"


def test_a_notebook_never_recorded_has_no_hash_seed():
    assert notebook_hash_seed(notebook("1")) is None


# --------------------------------------------------------------------------- reading anything


def _read_or_input_error(path: Path, data: bytes):
    path.write_bytes(data)
    try:
        nb = read_notebook(path)
    except InputError as exc:
        message = str(exc)
        assert message.startswith(f"{path}: ")
        assert message.strip() and "\n" not in message and "\r" not in message
        return None
    assert hasattr(nb, "cells") and hasattr(nb, "metadata")
    # What record does with it: every source sent to a kernel, the notebook written back.
    for cell in nb.cells:
        cell.source.encode("utf-8")
    write_notebook_atomic(nb, path.with_name("written.ipynb"))
    return nb


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=8,
)
_cellish = st.fixed_dictionaries(
    {},
    optional={
        "cell_type": st.sampled_from(["code", "markdown", "raw", "bogus"]) | _json,
        "source": st.text(max_size=10) | st.lists(st.text(max_size=5), max_size=3) | _json,
        "metadata": st.dictionaries(st.text(max_size=5), _json, max_size=2) | _json,
        "outputs": st.lists(
            st.fixed_dictionaries({}, optional={
                "output_type": st.sampled_from(["stream", "execute_result", "display_data", "error"]) | _json,
                "text": st.text(max_size=5) | st.lists(st.text(max_size=5), max_size=3) | _json,
                "name": st.sampled_from(["stdout", "stderr"]) | _json,
                "data": st.dictionaries(st.sampled_from(["text/plain", "image/png", "application/json"]),
                                        st.text(max_size=5) | st.lists(st.text(max_size=5)) | _json, max_size=2)
                | _json,
            }),
            max_size=3,
        ) | _json,
        "execution_count": st.integers() | _json,
        "id": st.text(max_size=8) | _json,
    },
) | _json
_notebookish = st.fixed_dictionaries(
    {"nbformat": st.sampled_from([3, 4, 4, 4, 5]) | _json},
    optional={
        "nbformat_minor": st.integers(0, 6) | _json,
        "cells": st.lists(_cellish, max_size=4) | _json,
        "worksheets": st.lists(st.fixed_dictionaries({}, optional={"cells": st.lists(_cellish, max_size=3)}),
                               max_size=2) | _json,
        "metadata": st.dictionaries(st.text(max_size=5), _json, max_size=3) | _json,
    },
)

_SETTINGS = settings(max_examples=40, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])


@_SETTINGS
@given(data=st.binary(max_size=200))
def test_any_bytes_read_as_a_notebook_or_a_one_line_input_error(tmp_path, data):
    _read_or_input_error(tmp_path / "any.ipynb", data)


@_SETTINGS
@given(value=_json)
def test_any_json_reads_as_a_notebook_or_a_one_line_input_error(tmp_path, value):
    _read_or_input_error(tmp_path / "any.ipynb", json.dumps(value).encode())


@_SETTINGS
@given(value=_notebookish, encoding=st.sampled_from(["utf-8", "utf-16", "latin-1"]))
def test_anything_shaped_like_a_notebook_reads_or_is_a_one_line_input_error(tmp_path, value, encoding):
    text = json.dumps(value, ensure_ascii=encoding != "utf-8")
    _read_or_input_error(tmp_path / "any.ipynb", text.encode(encoding))


@pytest.mark.parametrize("data, message", [
    (b"", "empty file"),
    (b"  \n\t", "empty file"),
    (b"\xff\xfe\xfa", "not UTF-8"),
    (b"{", "not valid JSON (line 1, column 2"),
    (b"[]", "no 'nbformat' field"),
    (b'{"nbformat": 2}', "nbformat 2 is not supported"),
    (b'{"nbformat": "4"}', "nbformat '4' is not supported"),
    (b'{"nbformat": 5, "cells": []}', "nbformat 5 is newer"),
    (b'{"nbformat": 4}', "no 'cells' list"),
    (b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code", "metadata": {}}]}',
     "not a valid notebook: cell 1"),
])
def test_what_is_wrong_is_said(tmp_path, data, message):
    path = tmp_path / "bad.ipynb"
    path.write_bytes(data)
    with pytest.raises(InputError, match=re.escape(message)):
        read_notebook(path)


def test_a_missing_file_or_a_directory_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_notebook(tmp_path / "missing.ipynb")
    with pytest.raises(InputError, match="is a directory"):
        read_notebook(tmp_path)


@pytest.mark.parametrize("data", [b"[" * 100_000, b'{"nbformat": 4, "cells": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}"])
def test_deeply_nested_json_is_an_input_error(tmp_path, data):
    # json.loads raises RecursionError here, not JSONDecodeError.
    _read_or_input_error(tmp_path / "deep.ipynb", data)
    with pytest.raises(InputError):
        read_notebook(tmp_path / "deep.ipynb")


@pytest.mark.parametrize("source", [5, None, {"a": 1}])
def test_a_cell_source_that_is_not_text_is_refused_with_one_line(tmp_path, capsys, source):
    cell = {"cell_type": "code", "metadata": {}, "source": source, "outputs": [], "execution_count": 1}
    path = tmp_path / "odd.ipynb"
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [cell]}))
    code, _, err = run_cli(capsys, "diff", str(path), str(path))
    assert code == 2
    assert err.strip().count("\n") == 0 and str(path) in err


# --------------------------------------------------------------------------- hostile content


def _one_cell(cell: dict, **metadata) -> bytes:
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": metadata, "cells": [cell]}).encode()


def _code(source="1", outputs=(), **extra) -> dict:
    return {"cell_type": "code", "id": "c1", "metadata": {}, "source": source, "outputs": list(outputs),
            "execution_count": 1, **extra}


@pytest.mark.parametrize("output_type", ["hologram", "pyout", "", 5, None])
def test_an_unknown_output_type_is_refused_with_one_line(tmp_path, capsys, output_type):
    # It used to be read, then reported "only in the new outputs" although it is stored.
    path = tmp_path / "odd.ipynb"
    path.write_bytes(_one_cell(_code(outputs=[{"output_type": output_type, "data": {"text/plain": "1"}}])))
    code, out, err = run_cli(capsys, "diff", str(path), str(path))
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "cell 1: output 1: output_type must be one of stream, display_data, " \
        "execute_result, error" in err


def test_an_error_output_traceback_must_be_lines(tmp_path):
    path = tmp_path / "odd.ipynb"
    path.write_bytes(_one_cell(_code(outputs=[{"output_type": "error", "ename": "E", "evalue": "",
                                               "traceback": "not a list"}])))
    with pytest.raises(InputError, match="cell 1: output 1: traceback must be a list of strings"):
        read_notebook(path)


@pytest.mark.parametrize("data, where", [
    (_one_cell(_code('print("\ud800")')), "cell 1: source holds a lone surrogate \\ud800"),
    (_one_cell(_code(['x = 1\n', 'print("\udfff")'])), "cell 1: source holds a lone surrogate \\udfff"),
    (_one_cell(_code(outputs=[{"output_type": "stream", "name": "stdout", "text": ["ok\n", "\ud800"]}])),
     "cell 1: output 1: text holds"),
    (_one_cell(_code(outputs=[{"output_type": "display_data", "metadata": {},
                               "data": {"text/plain": "a", "text/html": "<b>\udc80</b>"}}])),
     "cell 1: output 1: data.text/html holds"),
    (_one_cell(_code(), title="\ud800"), "metadata.title holds"),
    (_one_cell({"cell_type": "markdown", "id": "m", "metadata": {"tags": ["\ud800"]}, "source": ""}),
     "cell 1: metadata.tags holds"),
    (_one_cell(_code(), extra={"\ud800": 1}), "a key in metadata.extra holds"),
])
def test_a_lone_surrogate_anywhere_is_refused_naming_where(tmp_path, data, where):
    # JSON carries half a UTF-16 pair as \ud800; a kernel message or a UTF-8 file cannot.
    path = tmp_path / "half.ipynb"
    path.write_bytes(data)
    with pytest.raises(InputError) as caught:
        read_notebook(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: not a valid notebook: ") and where in message and "\n" not in message


def test_a_valid_surrogate_pair_is_one_character_and_reads(tmp_path):
    path = tmp_path / "emoji.ipynb"
    path.write_bytes(_one_cell(_code('print("\U0001f600")')))  # written by json as \ud83d\ude00
    assert b"\\ud83d\\ude00" in path.read_bytes()
    assert read_notebook(path).cells[0].source == 'print("\U0001f600")'


def test_record_refuses_a_lone_surrogate_in_a_source_before_any_kernel_starts(tmp_path, capsys, monkeypatch):
    import repro.notebook.verify as verify

    def no_kernel(*args, **kwargs):
        raise AssertionError("a kernel was started for a notebook that cannot be sent to it")

    monkeypatch.setattr(verify, "_execute", no_kernel)
    path = tmp_path / "half.ipynb"
    path.write_bytes(_one_cell(_code('print("\ud800")'), kernelspec={"name": "python3", "display_name": "P"}))
    before = path.read_bytes()
    code, out, err = run_cli(capsys, "record", str(path))
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "cell 1: source holds a lone surrogate \\ud800" in err
    assert path.read_bytes() == before


# --------------------------------------------------------------------------- cell ids


def _ids_notebook(*ids):
    nb = notebook(*(str(i) for i in range(len(ids))), markdown_first=False)
    nb.nbformat_minor = 5
    for cell, cell_id in zip(nb.cells, ids):
        if cell_id is None:
            del cell["id"]
        else:
            cell["id"] = cell_id
    return nb


def test_duplicate_and_missing_cell_ids_are_renewed_with_a_note_and_no_warning(tmp_path, recwarn):
    run = executed(_ids_notebook("same", "same", "same", None, "other"), {}, records=None, hash_seed="0")
    stored = store_records(run)
    ids = [cell["id"] for cell in stored.cells]
    assert len(set(ids)) == 5 and ids[0] == "same" and ids[4] == "other"
    assert run.notes == ["2 duplicate cell ids were renewed (cells 2, 3)", "1 missing cell id was added (cell 4)"]
    write_notebook_atomic(stored, tmp_path / "nb.ipynb")
    assert [w.message for w in recwarn] == []  # nbformat's DuplicateCellId, MissingIDFieldWarning
    assert [c["id"] for c in read_notebook(tmp_path / "nb.ipynb").cells] == ids


def test_writing_a_notebook_with_duplicate_ids_warns_nothing(tmp_path, recwarn):
    write_notebook_atomic(_ids_notebook("x", "x"), tmp_path / "nb.ipynb")
    assert [w.message for w in recwarn] == []
    assert len({c["id"] for c in read_notebook(tmp_path / "nb.ipynb").cells}) == 2


def test_unique_ids_and_notebooks_before_ids_are_left_alone():
    run = executed(_ids_notebook("a", "b"), {}, records=None, hash_seed="0")
    store_records(run)
    assert [c["id"] for c in run.notebook.cells] == ["a", "b"] and run.notes == []
    old = notebook("1", "2")
    old.nbformat_minor = 4
    for cell in old.cells:
        cell.pop("id", None)
    old_run = executed(old, {}, records=None, hash_seed="0")
    store_records(old_run)
    assert all("id" not in c for c in old_run.notebook.cells) and old_run.notes == []
