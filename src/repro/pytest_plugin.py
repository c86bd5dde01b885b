"""pytest plugin: ``pytest --repro [PATHS]`` verifies notebooks as ``repro-nb verify`` does.

Opt-in: without ``--repro`` the plugin collects nothing and changes nothing.
With it, every ``.ipynb`` file pytest meets (``.ipynb_checkpoints`` excepted,
unless given by name) is one test item. The item executes a copy of the
notebook in a fresh kernel and compares the new outputs with the stored ones;
it fails when a cell differs or the notebook does not run to the end, and its
failure is ``repro-nb verify``'s plain-text report.

One item per notebook, not per cell: a notebook's cells depend on each other,
so they cannot be reordered (pytest-randomly), deselected or spread over
workers (pytest-xdist) one by one. Each notebook runs in its own kernel, so
items are independent of each other.

Options, the command line first, then pytest's ini options, then ``[tool.repro]``
in pyproject.toml:

=====================  ==================  =======================
command line           ini option          ``[tool.repro]``
=====================  ==================  =======================
``--repro-rtol``       ``repro_rtol``      ``rtol``
``--repro-atol``       ``repro_atol``      ``atol``
``--repro-timeout``    ``repro_timeout``   ``timeout``
``--repro-kernel``     ``repro_kernel``    ``kernel``
``--repro-seed``
\\                     ``repro_masks``     ``masks``, ``sanitize``
\\                                         ``image_tolerance``
=====================  ==================  =======================

Masks add up: ``[tool.repro]``'s masks and sanitize files, then ``repro_masks``
(one regex a line, each match replaced by ``<masked>``).

pytest imports every installed plugin when it starts, so this module imports
nothing heavy: nbclient and nbformat are imported when an item runs.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_OPTIONS = pytest.StashKey[tuple]()  # (CompareOptions, ExecuteOptions' arguments), with --repro


def pytest_addoption(parser: pytest.Parser) -> None:
    from repro import settings

    group = parser.getgroup("repro", "notebook reproducibility (repro-nb)")
    group.addoption("--repro", action="store_true", dest="repro", default=False,
                    help="collect .ipynb files: execute each in a fresh kernel and compare "
                    "with its stored outputs, as `repro-nb verify` does")
    group.addoption("--repro-rtol", type=settings.non_negative_float, dest="repro_rtol", metavar="RTOL",
                    help="relative tolerance for numbers in text outputs")
    group.addoption("--repro-atol", type=settings.non_negative_float, dest="repro_atol", metavar="ATOL",
                    help="absolute tolerance for numbers in text outputs")
    group.addoption("--repro-timeout", type=settings.positive_float, dest="repro_timeout", metavar="SECONDS",
                    help="time limit per cell")
    group.addoption("--repro-kernel", dest="repro_kernel", metavar="NAME",
                    help="kernel to run (default: each notebook's kernelspec)")
    group.addoption("--repro-seed", type=settings.seed, dest="repro_seed", metavar="N",
                    help="switch per-cell seeding on with seed N before the first cell")
    parser.addini("repro_rtol", "repro: relative tolerance for numbers in text outputs")
    parser.addini("repro_atol", "repro: absolute tolerance for numbers in text outputs")
    parser.addini("repro_timeout", "repro: time limit per cell, seconds")
    parser.addini("repro_kernel", "repro: kernel to run (default: each notebook's kernelspec)")
    parser.addini("repro_masks", "repro: regexes to mask in outputs before comparing, one a line",
                  type="linelist")


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("repro"):
        return
    import argparse

    from repro import settings

    def ini(name: str, parse):
        text = str(config.getini(name) or "").strip()
        if not text:
            return None
        try:
            return parse(text)
        except (argparse.ArgumentTypeError, ValueError) as exc:
            raise pytest.UsageError(f"ini option {name}: {exc}") from None

    def pick(name: str, parse):
        value = config.getoption(name)
        return value if value is not None else ini(name, parse)

    try:
        found = settings.load_settings(config.rootpath)
        compare = settings.compare_options(
            found,
            rtol=pick("repro_rtol", settings.non_negative_float),
            atol=pick("repro_atol", settings.non_negative_float),
            masks=[str(m) for m in config.getini("repro_masks") if str(m).strip()],
        )
        execute = settings.execute_settings(
            found,
            kernel=pick("repro_kernel", str),
            timeout=pick("repro_timeout", settings.positive_float),
            seed=config.getoption("repro_seed"),
        )
        if not hasattr(config, "workerinput"):  # once, in the xdist controller
            settings.check_kernel(execute["kernel_name"])
    except settings.SettingsError as exc:
        raise pytest.UsageError(str(exc)) from None
    # ExecuteOptions is built when an item runs: it imports nbclient, which an xdist
    # controller, or a run that collects no notebook, never needs.
    config.stash[_OPTIONS] = (compare, execute)


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
    """The notebook differs from its stored outputs or did not run to the end."""

    def __init__(self, result) -> None:
        super().__init__(result.status)
        self.result = result


class NotebookUnreadable(Exception):
    """Not a notebook that can be read; the message is one line."""


class NotebookItem(pytest.Item):
    """Execute the notebook in a fresh kernel and compare with its stored outputs."""

    result = None  # the NotebookResult, once run

    def runtest(self) -> None:
        from repro.execute import ExecuteOptions, execute_notebook
        from repro.notebooks import NotebookError, read_notebook
        from repro.verify import verify_result

        compare, execute = self.config.stash[_OPTIONS]
        try:
            nb = read_notebook(self.path)
        except NotebookError as exc:  # "PATH: what is wrong", with PATH as the report shows it
            message = str(exc)
            if message.startswith(f"{self.path}: "):
                message = self.name + message[len(str(self.path)):]
            raise NotebookUnreadable(message) from None
        run = execute_notebook(nb, self.path, ExecuteOptions(**execute))
        if run.failure is not None and run.failure.kind == "interrupted":
            raise KeyboardInterrupt  # Ctrl-C stops the session, as for any test
        self.result = verify_result(Path(self.name), nb, [run], compare)
        if self.result.status != "reproduced":
            raise NotebookFailed(self.result)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, NotebookFailed):
            from repro.report import render_text

            return render_text([excinfo.value.result], colour=False)
        if isinstance(excinfo.value, NotebookUnreadable):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, None, f"notebook: {self.name}"
