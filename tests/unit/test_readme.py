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
