"""pytest plugin: ``pytest --repro [PATHS]`` verifies notebooks as ``repro-nb verify`` does.

Opt-in: without ``--repro`` the plugin collects nothing and changes nothing.
With it, every ``.ipynb`` file pytest meets (``.ipynb_checkpoints`` excepted,
unless given by name) is one test item. The item executes a copy of the
notebook in a fresh kernel and compares the new outputs with the stored ones;
it fails when a cell differs, the notebook does not run to the end, or nothing
could be compared (no stored outputs: skipped instead with
``--repro-allow-unverified``), and its failure is ``repro-nb verify``'s
plain-text report.

One item per notebook, not per cell: a notebook's cells depend on each other,
so they cannot be reordered (pytest-randomly), deselected or spread over
workers (pytest-xdist) one by one. Each notebook runs in its own kernel, so
items are independent of each other.

Options, the command line first, then pytest's ini options, then ``[tool.repro]``
in pyproject.toml:

=========================  ==================  =======================
command line               ini option          ``[tool.repro]``
=========================  ==================  =======================
``--repro-rtol``           ``repro_rtol``      ``rtol``
``--repro-atol``           ``repro_atol``      ``atol``
``--repro-timeout``        ``repro_timeout``   ``timeout``
``--repro-kernel``         ``repro_kernel``    ``kernel``
``--repro-seed``
``--repro-runs``
``--repro-mime-subset``                        ``mime_subset``
``--repro-no-progress-bars``                   ``progress_bars``
``--repro-isolate``
``--repro-allow-unverified``                   ``allow_unverified``
\\                         ``repro_masks``     ``masks``, ``sanitize``
\\                                             ``image_tolerance``
=========================  ==================  =======================

Masks add up: ``[tool.repro]``'s masks and sanitize files, then ``repro_masks``
(one regex a line, each match replaced by ``<masked>``). With ``--repro-runs N``
each notebook runs N times and a failure names the cause of each difference.

An item calls :func:`repro.notebook.verify.verify_notebook`, the entry point of
``repro-nb verify``, so both give the same result for the same notebook.

pytest imports every installed plugin when it starts, so this module imports
nothing heavy: nbclient and nbformat are imported when an item runs.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from repro.notebook.settings import Setting

_OPTIONS = pytest.StashKey[tuple]()  # (Options, runs), with --repro


def pytest_addoption(parser: pytest.Parser) -> None:
    from repro.notebook.settings import SETTINGS

    add_options(parser, SETTINGS)


def add_options(parser: pytest.Parser, table: tuple[Setting, ...]) -> None:
    """``--repro``, then ``--repro-FLAG`` and the ini option ``repro_NAME`` of each setting of *table* that has them."""
    group = parser.getgroup("repro", "notebook reproducibility (repro-nb)")
    group.addoption("--repro", action="store_true", dest="repro", default=False,
                    help="collect .ipynb files: execute each in a fresh kernel and compare "
                    "with its stored outputs, as `repro-nb verify` does")
    for setting in table:
        if setting.pytest is None:
            continue
        if setting.parse is None:
            kind = {"action": "store_false" if setting.negated else "store_true"}
        else:
            kind = {"metavar": setting.metavar or setting.name.upper()}
        group.addoption(setting.pytest_option, dest=setting.pytest_name, default=setting.unset, help=setting.pytest,
                        **kind)
    for setting in table:
        if setting.ini is not None:
            parser.addini(setting.pytest_name, setting.ini, type="linelist" if setting.repeat else None)


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("repro"):
        return
    from repro.notebook import options
    from repro.notebook.errors import InputError
    from repro.notebook.settings import SETTINGS

    try:
        given = {s.name: _given(config, s) for s in SETTINGS if s.pytest is not None or s.ini is not None}
        keywords = {s.name: given[s.name] for s in SETTINGS if s.name in given and s.field is not None}
        resolved = options.resolve_options(
            config.rootpath,
            masks_from="ini option repro_masks",
            jobs=1,  # one notebook per item; pytest-xdist spreads the items
            **keywords,
        )
        runs = given["runs"]
        if not hasattr(config, "workerinput"):  # once, in the xdist controller
            options.check_kernel(resolved)
    except InputError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[_OPTIONS] = (resolved, runs)


def _given(config: pytest.Config, setting: Setting) -> Any:
    """The command line's value, else the ini file's; parsed, or an InputError naming its source."""
    from repro.notebook.errors import InputError

    if setting.parse is None:
        return config.getoption(setting.pytest_name)
    if setting.repeat:  # ini only: one a line
        return [str(line) for line in config.getini(setting.pytest_name) if str(line).strip()]
    value = where = None
    if setting.pytest is not None:
        value, where = config.getoption(setting.pytest_name), f"argument {setting.pytest_option}"
    if value is None and setting.ini is not None:
        value = str(config.getini(setting.pytest_name) or "").strip() or None
        where = f"ini option {setting.pytest_name}"
    if value is None:
        return None
    try:
        return setting.parse(str(value).strip())
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if file_path.suffix != ".ipynb" or not parent.config.getoption("repro"):
        return None
    if ".ipynb_checkpoints" in file_path.parts and not parent.session.isinitpath(file_path):
        return None
    return NotebookFile.from_parent(parent, path=file_path)


def _display_path(path: Path, rootpath: Path) -> str:
    """*path* relative to pytest's rootdir, with forward slashes, as in node ids."""
    try:
        return path.relative_to(rootpath).as_posix()
    except ValueError:
        try:
            return Path(os.path.relpath(path, rootpath)).as_posix()
        except ValueError:  # another drive
            return path.as_posix()


class NotebookFile(pytest.File):
    """A notebook file: one item, the whole notebook."""

    def collect(self):
        yield NotebookItem.from_parent(self, name=_display_path(self.path, self.config.rootpath))


class NotebookFailed(Exception):
    """The notebook differs from its stored outputs, did not run to the end, or cannot be read."""

    def __init__(self, result=None, message: str = "") -> None:
        super().__init__(message or (result.status if result is not None else ""))
        self.result = result
        self.message = message


class NotebookItem(pytest.Item):
    """Execute the notebook in a fresh kernel and compare with its stored outputs."""

    result = None  # the NotebookResult, once run

    def runtest(self) -> None:
        from repro.notebook.errors import InputError
        from repro.notebook.verify import verify_notebook

        resolved, runs = self.config.stash[_OPTIONS]
        try:
            result = verify_notebook(self.path, resolved, runs=runs)
        except InputError as exc:  # "PATH: what is wrong", with PATH as the report shows it
            message = str(exc)
            if message.startswith(f"{self.path}: "):
                message = self.name + message[len(str(self.path)):]
            raise NotebookFailed(message=message) from None
        if result.failure is not None and result.failure.kind == "interrupted":
            raise KeyboardInterrupt  # Ctrl-C stops the session, as for any test
        self.result = dataclasses.replace(result, path=Path(self.name))
        if self.result.status == "unverified" and resolved.allow_unverified:
            from repro.notebook.report import summary

            pytest.skip(summary(self.result))
        if self.result.status != "reproduced":
            raise NotebookFailed(self.result)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, NotebookFailed):
            if excinfo.value.result is None:
                return excinfo.value.message
            from repro.notebook.report import render_text

            return render_text([excinfo.value.result], colour=False)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, None, f"notebook: {self.name}"
