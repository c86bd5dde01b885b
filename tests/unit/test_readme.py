"""The README's fresh-machine commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    return [line for block in blocks for line in block.splitlines() if line.startswith("python3 -m venv")]


def test_ci_runs_the_readme_test_command_verbatim():
    test_command = next(c for c in _commands() if c.endswith("-m pytest"))
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci_lines


def test_the_main_job_uses_files_that_exist():
    main_job = next(c for c in _commands() if "example_notebooks" in c)
    for path in re.findall(r"example_notebooks/\S*", main_job):
        assert (ROOT / path).exists(), path


def _table_rows(heading: str) -> dict[str, str]:
    """First cell -> last cell of the first table after *heading*."""
    text = (ROOT / "README.md").read_text()
    after = text[text.index(heading):]
    rows = re.findall(r"^\| (.+?) \| .+ \| (.+?) \|$", after[: after.index("\n\n", after.index("| ---"))], flags=re.M)
    return dict(rows)


def test_the_what_to_do_tables_say_what_verify_says():
    from repro.notebook.advice import WHAT_TO_DO
    from repro.notebook.results import Cause

    single = _table_rows("## Why it differs\n")
    assert single["`hash-order` (a cause)"] == WHAT_TO_DO[Cause.HASH_ORDER]
    unseeded = next(v for k, v in single.items() if "with no seed in force" in k)
    edited = next(v for k, v in single.items() if "was edited since" in k)
    assert (unseeded, edited) == (WHAT_TO_DO["unseeded"], WHAT_TO_DO["edited"])
    causes = _table_rows("### `verify --runs N`")
    assert {k.strip("`"): v for k, v in causes.items() if k not in ("cause", "---")} == {c.value: WHAT_TO_DO[c] for c in Cause}


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


def test_no_command_installs_what_is_not_published():
    """repro-nb is not on PyPI: the README installs from a clone, or says where a URL goes."""
    text = (ROOT / "README.md").read_text()
    assert not re.search(r"pip install (?:-\S+ )*[\"']?repro-nb(?!\s*@)", text)
    assert "OWNER" not in text and "rev: v" not in text
    extras = re.findall(r'"\.\[(\w+)\]"', text)
    defined = re.search(r"\[project.optional-dependencies\](.*?)\n\[", (ROOT / "pyproject.toml").read_text(), re.S)
    assert extras and all(re.search(rf"^{name} = ", defined.group(1), re.M) for name in extras), extras


def test_the_tool_repro_example_loads_as_written(tmp_path, monkeypatch):
    from repro.notebook.options import resolve_options

    (example,) = [b for b in _blocks("toml") if b.startswith("[tool.repro]")]
    (tmp_path / "pyproject.toml").write_text(example, encoding="utf-8")
    options = resolve_options(tmp_path)
    assert options.compare.rtol == 1e-6 and options.execute.timeout == 600


def test_the_pre_commit_snippet_is_the_hook_this_repository_defines():
    (snippet,) = [b for b in _blocks("yaml") if "repro-verify" in b]
    assert "repo: local" in snippet

    def fields(text: str) -> dict[str, str]:
        return dict(line.strip().lstrip("- ").split(": ", 1) for line in text.splitlines() if ": " in line)

    local, defined = fields(snippet), fields((ROOT / ".pre-commit-hooks.yaml").read_text())
    for key in ("id", "name", "entry", "types", "require_serial"):
        assert local[key] == defined[key], key
    assert local["language"] == "system"  # the repro-nb of the environment: nothing to fetch
