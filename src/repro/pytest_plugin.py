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
``--repro-recorded-order``                     ``recorded_order``
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

import pytest

_OPTIONS = pytest.StashKey[tuple]()  # (Options, runs), with --repro


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("repro", "notebook reproducibility (repro-nb)")
    group.addoption("--repro", action="store_true", dest="repro", default=False,
                    help="collect .ipynb files: execute each in a fresh kernel and compare "
                    "with its stored outputs, as `repro-nb verify` does")
    group.addoption("--repro-rtol", dest="repro_rtol", metavar="RTOL",
                    help="relative tolerance for numbers in text outputs")
    group.addoption("--repro-atol", dest="repro_atol", metavar="ATOL",
                    help="absolute tolerance for numbers in text outputs")
    group.addoption("--repro-timeout", dest="repro_timeout", metavar="SECONDS",
                    help="time limit per cell (default 300; 0 or none: no limit)")
    group.addoption("--repro-kernel", dest="repro_kernel", metavar="NAME",
                    help="kernel to run (default: each notebook's kernelspec)")
    group.addoption("--repro-seed", dest="repro_seed", metavar="N",
                    help="switch per-cell seeding on with seed N before the first cell")
    group.addoption("--repro-runs", dest="repro_runs", metavar="N",
                    help="execute each notebook N times and name the cause of each difference")
    group.addoption("--repro-mime-subset", action="store_true", dest="repro_mime_subset", default=None,
                    help="compare only the MIME types both sides of an output have")
    group.addoption("--repro-no-progress-bars", action="store_false", dest="repro_progress_bars", default=None,
                    help="compare progress bars' timing fields (tqdm, Keras) as any other text")
    group.addoption("--repro-isolate", action="store_true", dest="repro_isolate", default=False,
                    help="run each notebook in a scratch copy of its folder, removed afterwards")
    group.addoption("--repro-allow-unverified", action="store_true", dest="repro_allow_unverified", default=None,
                    help="a notebook with nothing to compare (no stored outputs) is skipped, not failed")
    group.addoption("--repro-recorded-order", dest="repro_recorded_order", choices=("auto", "off", "always"),
                    default=None, help="run a notebook once more in the order its stored execution counts "
                    "record: auto (when it fails or differs), always, off")
    parser.addini("repro_rtol", "repro: relative tolerance for numbers in text outputs")
    parser.addini("repro_atol", "repro: absolute tolerance for numbers in text outputs")
    parser.addini("repro_timeout", "repro: time limit per cell, seconds")
    parser.addini("repro_kernel", "repro: kernel to run (default: each notebook's kernelspec)")
    parser.addini("repro_masks", "repro: regexes to mask in outputs before comparing, one a line",
                  type="linelist")


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("repro"):
        return
    from repro import options
    from repro.notebook.errors import InputError

    def pick(name: str, parse, flag: str):
        """The command line's value, else the ini file's; parsed, or a usage error naming its source."""
        value, where = config.getoption(name), f"argument --{flag}"
        if value is None and name in _INI:
            value, where = str(config.getini(name) or "").strip() or None, f"ini option {name}"
        if value is None:
            return None
        try:
            return parse(str(value).strip())
        except InputError as exc:
            raise pytest.UsageError(f"{where}: {exc}") from None

    try:
        resolved = options.resolve_options(
            config.rootpath,
            rtol=pick("repro_rtol", options.parse_non_negative_float, "repro-rtol"),
            atol=pick("repro_atol", options.parse_non_negative_float, "repro-atol"),
            masks=[str(m) for m in config.getini("repro_masks") if str(m).strip()],
            masks_from="ini option repro_masks",
            kernel=pick("repro_kernel", str, "repro-kernel"),
            timeout=pick("repro_timeout", options.parse_timeout, "repro-timeout"),
            seed=pick("repro_seed", options.parse_seed, "repro-seed"),
            jobs=1,  # one notebook per item; pytest-xdist spreads the items
            mime_subset=config.getoption("repro_mime_subset"),
            progress_bars=config.getoption("repro_progress_bars"),
            isolate=config.getoption("repro_isolate"),
            allow_unverified=config.getoption("repro_allow_unverified"),
            recorded_order=config.getoption("repro_recorded_order"),
        )
        runs = pick("repro_runs", options.parse_positive_int, "repro-runs") or 1
        if not hasattr(config, "workerinput"):  # once, in the xdist controller
            options.check_kernel(resolved)
    except InputError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[_OPTIONS] = (resolved, runs)


_INI = {"repro_rtol", "repro_atol", "repro_timeout", "repro_kernel"}


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
