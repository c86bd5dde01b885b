"""The pre-commit hook definition points at a command that exists and takes notebooks."""

from __future__ import annotations

from pathlib import Path

from repro.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]


def test_hook_runs_repro_nb_verify_on_notebooks():
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    fields = dict(line.strip().lstrip("- ").split(": ", 1) for line in text.splitlines() if ": " in line)
    assert fields["id"] == "repro-verify"
    assert fields["entry"] == "repro-nb verify"
    assert fields["types"] == "[jupyter]"
    # pre-commit appends the changed files: the entry must accept them as they come
    args = build_parser().parse_args([*fields["entry"].split()[1:], "a.ipynb", "b.ipynb"])
    assert [str(p) for p in args.notebooks] == ["a.ipynb", "b.ipynb"]
