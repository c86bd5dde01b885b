"""The options of the notebook side, and :func:`resolve_options`, the one way to them.

:class:`Options` holds everything verify, record and diff need besides the notebooks:
:class:`ExecuteOptions` (how to run a notebook) and :class:`CompareOptions` (how to compare
outputs). Shared by every face of the notebook side (the CLI, the pytest plugin, the Python
API), so that all of them read ``[tool.repro]`` the same way and say the same thing about a
bad setting. Each option is declared once, in :data:`repro.notebook.settings.SETTINGS`: its
``[tool.repro]`` key, its keyword here, its flags. :func:`resolve_options` is the one way in:
a keyword argument that is not None overrides the ``[tool.repro]`` value; masks and sanitize
files add up. Every error is an :class:`~repro.notebook.errors.InputError` with a one-line
message. Nothing heavy is imported here: no nbclient, no nbformat.

Recognised keys of ``[tool.repro]`` in the nearest ``pyproject.toml`` (all optional)::

    [tool.repro]
    rtol = 1e-6
    atol = 0.0
    image_tolerance = 0        # 0-255 per channel
    masks = ['\\d{4}-\\d{2}-\\d{2}', ['took \\d+ ms', 'took N ms']]   # regex, or [regex, replacement]
    sanitize = ["nbval.cfg"]   # nbval sanitize files, relative to pyproject.toml
    timeout = 600              # per cell, seconds (default 300; 0 or "none": no limit)
    kernel = "python3"
    mime_subset = false        # true: compare only the MIME types both sides of an output have
    progress_bars = true       # false: compare progress bars' timing (tqdm, Keras) as any text
    allow_unverified = false   # true: a notebook with nothing to compare (no stored outputs) passes
    recorded_order = "auto"    # "off" | "always": run once more in the order the stored counts record
    max_output = "100M"        # output kept per cell (bytes, or K/M/G); 0: no limit
"""

from __future__ import annotations

import inspect
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from repro.notebook.errors import InputError
from repro.notebook.settings import DEFAULT_MAX_OUTPUT, DEFAULT_TIMEOUT, SETTINGS, Setting, keywords, toml_keys

__all__ = ["DEFAULT_TIMEOUT", "CompareOptions", "ExecuteOptions", "Options", "check_kernel", "check_mask",
           "load_table", "read_sanitize_file", "resolve_options"]

KEYS = toml_keys(SETTINGS)
MASK_REPLACEMENT = "<masked>"


def check_mask(regex: str, replacement: str) -> None:
    """Raise ValueError (one line) unless *regex* compiles and *replacement* fits it."""
    try:
        re.compile(regex).sub(replacement, "")  # also checks the replacement's group references
    except re.error as exc:
        raise ValueError(f"invalid mask {regex!r} -> {replacement!r}: {exc}") from None


@dataclass(frozen=True)
class CompareOptions:
    """How to compare a cell's outputs (:mod:`repro.notebook.compare`)."""

    rtol: float = 0.0  # relative tolerance for numbers inside text
    atol: float = 0.0  # absolute tolerance
    masks: tuple[tuple[str, str], ...] = ()  # extra (regex, replacement) pairs, applied after the built-in ones
    image_tolerance: float = 0.0  # max per-channel difference (0-255) for a pixel to count as equal
    normalize: bool = True  # the safe built-in normalisation (off only for debugging)
    mime_subset: bool = False  # compare only the MIME types both sides of an output have
    progress: bool = True  # progress bars' timing as placeholders, tqdm widgets by final text (compare.progress)
    known_forms: frozenset = frozenset()  # IPython's volatile forms the cell may print (compare.ipython)

    def __post_init__(self):
        for name in ("rtol", "atol", "image_tolerance"):
            value = getattr(self, name)
            try:
                ok = float(value) >= 0  # False for NaN
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise ValueError(f"{name} must be a number >= 0, not {value!r}")
        masks = tuple((str(regex), str(replacement)) for regex, replacement in self.masks)
        for regex, replacement in masks:
            check_mask(regex, replacement)
        object.__setattr__(self, "masks", masks)
        object.__setattr__(self, "known_forms", frozenset(self.known_forms))


@dataclass(frozen=True)
class ExecuteOptions:
    """How to run a notebook."""

    kernel_name: str | None = None  # default: the notebook's kernelspec
    current_python: bool = False  # run the kernel on the Python running repro-nb
    timeout: float | None = DEFAULT_TIMEOUT  # per cell, seconds; None: no limit
    startup_timeout: float = 60
    hash_seed: str | None = None  # default: the notebook's metadata, else "0"
    seed: int | None = None  # switch per-cell seeding on before the first cell
    isolate: bool = False  # run in a scratch copy of the notebook's folder, removed afterwards
    trace_state: bool = True  # per-cell digests of the variables each cell changed
    trace_max_bytes: int | None = None  # size limit per value digested (default: the kernel side's)
    max_output_bytes: int = DEFAULT_MAX_OUTPUT  # output kept per cell; past it the notebook fails; 0: no limit
    sequential: bool = False  # send each execute request once the cell before has finished (repro.notebook.pipeline)


@dataclass(frozen=True)
class Options:
    """Everything verify, record and diff need besides the notebooks."""

    execute: ExecuteOptions = field(default_factory=ExecuteOptions)
    compare: CompareOptions = field(default_factory=CompareOptions)
    jobs: int | None = None  # kernels alive at once, at most (default: one per core)
    allow_unverified: bool = False  # a notebook with nothing compared passes (its status stays "unverified")
    recorded_order: str = "auto"  # "auto" | "off" | "always": verify runs once more in the recorded order

    @property
    def kernel_cap(self) -> int:
        return max(1, self.jobs or os.cpu_count() or 1)


# -- [tool.repro] ------------------------------------------------------------------------


def find_pyproject(start: Path) -> Path | None:
    for directory in (start.resolve(), *start.resolve().parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_table(start: Path) -> tuple[dict[str, Any], Path | None]:
    """The ``[tool.repro]`` table of the nearest pyproject.toml at or above *start*, and its path."""
    path = find_pyproject(start)
    if path is None:
        return {}, None
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{path}: cannot read [tool.repro]: {_one_line(exc)}") from None
    tool = data.get("tool", {})
    table = tool.get("repro", {}) if isinstance(tool, dict) else None
    if not isinstance(table, dict):
        raise InputError(f"{path}: [tool.repro] must be a table")
    unknown = sorted(set(table) - KEYS)
    if unknown:
        raise InputError(f"{path}: unknown key(s) in [tool.repro]: {', '.join(unknown)}")
    return table, path


def _table_masks(value: Any, source: Path | None) -> list[tuple[str, str, str]]:
    """(regex, replacement, where it came from) for each mask of ``[tool.repro]``."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(f"{source}: [tool.repro] masks must be a list of regexes or [regex, replacement] pairs")
    masks = []
    for item in value:
        if isinstance(item, str):
            masks.append((item, MASK_REPLACEMENT, f"{source}: [tool.repro] masks"))
        elif isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item):
            masks.append((item[0], item[1], f"{source}: [tool.repro] masks"))
        else:
            raise InputError(f"{source}: [tool.repro] masks must be regexes or [regex, replacement] pairs")
    return masks


def read_sanitize_file(path: Path) -> list[tuple[str, str, str]]:
    """(regex, replacement, where) for each section of an nbval sanitize file, in file order.

    An INI file; every section has a ``regex`` key and an optional ``replace`` (default ``""``).
    """
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(path, encoding="utf-8") as handle:
            parser.read_file(handle)
    except OSError as exc:
        raise InputError(f"{path}: cannot read sanitize file: {exc.strerror or exc}") from None
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a valid sanitize file: {_one_line(exc)}") from None
    masks = []
    for section in parser.sections():
        values = parser[section]
        if "regex" not in values:
            raise InputError(f"{path}: section [{section}] has no 'regex' key")
        masks.append((values["regex"], values.get("replace", ""), f"{path}: section [{section}]"))
    return masks


def _masks(table: dict[str, Any], source: Path | None, *, masks: Iterable[str], masks_from: str,
           sanitize: Iterable[Path]) -> tuple[tuple[str, str], ...]:
    """The table's masks and sanitize files, then the given sanitize files and masks, each checked."""
    found = _table_masks(table.get("masks"), source)
    sanitize_files = table.get("sanitize", [])
    if not isinstance(sanitize_files, list) or not all(isinstance(p, str) for p in sanitize_files):
        raise InputError(f"{source}: [tool.repro] sanitize must be a list of file names")
    files = [(source.parent / p if source else Path(p)) for p in sanitize_files]
    for path in [*files, *(Path(p) for p in sanitize)]:
        found += read_sanitize_file(path)
    found += [(regex, MASK_REPLACEMENT, masks_from) for regex in masks]
    for regex, replacement, where in found:
        try:
            check_mask(regex, replacement)
        except ValueError as exc:
            raise InputError(f"{where}: {exc}") from None
    return tuple((regex, replacement) for regex, replacement, _ in found)


def _value(setting: Setting, given: dict[str, Any], table: dict[str, Any]) -> Any:
    """The setting's keyword if given (not None), else its [tool.repro] value, else its default; checked."""
    value = given.get(setting.name, setting.unset)
    from_keyword = value is not None or not setting.toml
    if not from_keyword:
        value = table.get(setting.name, setting.default)
    return value if setting.check is None else setting.check(setting, value, from_keyword)


def resolve_options(start: Path | None = None, *, masks_from: str = "--mask", **given: Any) -> Options:
    """The :class:`Options` of ``[tool.repro]`` at or above *start* (default: the current
    directory), with the given values in place of the table's.

    The keywords are those of :data:`~repro.notebook.settings.SETTINGS` that set a field of
    :class:`Options` (see :func:`signature`). *masks* (regexes, replaced by ``<masked>``)
    and *sanitize* (nbval sanitize files) add to the table's own, after them; *masks_from*
    says where *masks* came from, in error messages. *mime_subset*: compare only the MIME
    types both sides of an output have. *progress_bars* (default true): progress bars' timing
    fields do not count. *isolate*: run each notebook in a scratch copy of its folder
    (verify). *trace_state*: per-cell digests of the variables (*trace_max_bytes*: their size
    limit per value). *timeout*: seconds per cell, 0 for no limit (default
    :data:`DEFAULT_TIMEOUT`). *sequential*: each execute request sent once the cell before
    it finished. *allow_unverified*: a notebook with nothing to compare passes.
    """
    unknown = sorted(set(given) - set(keywords(SETTINGS)))
    if unknown:
        raise TypeError(f"resolve_options() got an unexpected keyword argument {unknown[0]!r}")
    table, source = load_table(Path.cwd() if start is None else start)
    parts: dict[str, dict[str, Any]] = {"execute": {}, "compare": {}, "": {}}
    parts["compare"]["masks"] = _masks(table, source, masks=given.get("masks", ()), masks_from=masks_from,
                                       sanitize=given.get("sanitize", ()))
    for setting in SETTINGS:
        if setting.field is not None and not setting.repeat:
            part, _, name = setting.field.rpartition(".")
            parts[part][name] = _value(setting, given, table)
    return Options(execute=ExecuteOptions(**parts["execute"]), compare=CompareOptions(**parts["compare"]),
                   **parts[""])


def signature(table: tuple[Setting, ...] = SETTINGS) -> inspect.Signature:
    """resolve_options' signature: *start*, then a keyword for each setting of *table* with a field."""
    parameters = [inspect.Parameter("start", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None)]
    parameters += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=unset)
                   for name, unset in keywords(table).items()]
    parameters.append(inspect.Parameter("masks_from", inspect.Parameter.KEYWORD_ONLY, default="--mask"))
    return inspect.Signature(parameters, return_annotation=Options)


resolve_options.__signature__ = signature()


def check_kernel(options: Options) -> None:
    """Raise InputError when the kernel the options name is not installed."""
    name = options.execute.kernel_name
    if name is None or options.execute.current_python:
        return
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        from repro.notebook.kernels import WAY_OUT

        raise InputError(f"no such kernel: {name!r}: {WAY_OUT}") from None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
