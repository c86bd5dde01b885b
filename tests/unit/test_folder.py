"""The notebook's folder: snapshots, side effects and scratch copies (``--isolate``); no kernel."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from repro.notebook import folder
from repro.notebook.errors import InputError
from repro.notebook.folder import check_isolatable, merge_side_effects, scratch_copy, side_effects, snapshot
from repro.notebook.results import SideEffects


def tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def touch_later(path: Path, text: str) -> None:
    """Rewrite *path* and move its mtime on, whatever the file system's clock resolution."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    os.utime(path, ns=(before + 10**9, before + 10**9))


def test_snapshot_lists_files_and_skips_caches_and_hidden_folders(tmp_path):
    tree(tmp_path, {"nb.ipynb": "{}", "data/a.csv": "1", ".git/HEAD": "x", "__pycache__/m.pyc": "x",
                    ".ipynb_checkpoints/nb-checkpoint.ipynb": "{}", ".venv/lib/x.py": "x", ".hidden_file": "x"})
    assert sorted(snapshot(tmp_path)) == [".hidden_file", "data/a.csv", "nb.ipynb"]


def test_created_and_changed_files_are_told_apart(tmp_path):
    tree(tmp_path, {"nb.ipynb": "{}", "doc.cfg": "a", "same.txt": "s"})
    before = snapshot(tmp_path)
    touch_later(tmp_path / "doc.cfg", "b")
    tree(tmp_path, {"out/arr.npz": "x", "new.csv": "1"})
    effects = side_effects(before, snapshot(tmp_path))
    assert effects == SideEffects(created=["new.csv", "out/arr.npz"], changed=["doc.cfg"])


def test_a_folder_over_the_limit_is_not_tracked(tmp_path):
    tree(tmp_path, {f"f{i}.txt": "" for i in range(6)})
    assert snapshot(tmp_path, limit=5) is None
    assert snapshot(tmp_path, limit=6) is not None
    assert side_effects(None, {}) is None and side_effects({}, None) is None


def test_symbolic_links_are_listed_not_followed(tmp_path):
    outside = tree(tmp_path / "outside", {"big.bin": "x"})
    work = tree(tmp_path / "work", {"nb.ipynb": "{}"})
    (work / "link").symlink_to(outside, target_is_directory=True)
    assert sorted(snapshot(work)) == ["link", "nb.ipynb"]


def test_side_effects_of_runs_merge():
    a = SideEffects(created=["a"], changed=["c"], isolated=True)
    b = SideEffects(created=["b", "a"], changed=[], isolated=True)
    assert merge_side_effects([a, None, b]) == SideEffects(created=["a", "b"], changed=["c"], isolated=True)
    assert merge_side_effects([None]) is None


def test_a_scratch_copy_holds_the_folder_and_is_gone_afterwards(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    work = tree(tmp_path / "work", {"nb.ipynb": "{}", "data/in.csv": "1", ".git/HEAD": "x"})
    (work / "empty").mkdir()
    (work / "inner_link").symlink_to("data/in.csv")
    (work / "outer_link").symlink_to("../elsewhere.txt")
    with scratch_copy(work) as copy:
        assert copy.name == "work" and copy != work
        assert (copy / "data/in.csv").read_text() == "1" and (copy / "empty").is_dir()
        assert not (copy / ".git").exists()
        assert os.readlink(copy / "inner_link") == "data/in.csv"
        assert os.readlink(copy / "outer_link") == str((tmp_path / "elsewhere.txt").resolve())
        assert (copy / "data/in.csv").stat().st_mtime_ns == (work / "data/in.csv").stat().st_mtime_ns
        (copy / "made.txt").write_text("x")
        (copy / "locked").mkdir()
        (copy / "locked/f").write_text("x")
        (copy / "locked").chmod(0o500)  # a notebook may leave read-only folders behind
    assert list((tmp_path / "tmp").iterdir()) == []
    assert not (work / "made.txt").exists()


def test_a_scratch_copy_is_removed_when_the_run_raises(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    work = tree(tmp_path / "work", {"nb.ipynb": "{}"})
    with pytest.raises(KeyboardInterrupt):
        with scratch_copy(work):
            raise KeyboardInterrupt
    assert list((tmp_path / "tmp").iterdir()) == []


def test_a_folder_too_large_to_copy_is_refused_in_one_line(tmp_path, monkeypatch):
    work = tree(tmp_path, {"nb.ipynb": "{}", "data.bin": "x" * 100})
    check_isolatable(work)
    monkeypatch.setattr(folder, "MAX_COPY_BYTES", 50)
    with pytest.raises(InputError, match="--isolate: .* holds more than") as info:
        check_isolatable(work)
    assert "\n" not in str(info.value)
    monkeypatch.setattr(folder, "MAX_COPY_BYTES", 1 << 30)
    monkeypatch.setattr(folder, "MAX_ENTRIES", 1)
    with pytest.raises(InputError, match="files and folders"):
        check_isolatable(work)
