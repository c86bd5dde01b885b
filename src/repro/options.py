"""Options for running and comparing notebooks: ``[tool.repro]``, overrides, sanitize files.

Shared by every face of the notebook side (the CLI, the pytest plugin, the Python
API), so that all of them read ``[tool.repro]`` the same way and say the same thing
about a bad setting. :func:`resolve_options` is the one way in: a keyword argument
that is not None overrides the ``[tool.repro]`` value; masks and sanitize files add
up. Every error is an :class:`~repro.notebook.errors.InputError` with a one-line
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
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from repro.notebook.compare.model import CompareOptions, check_mask
from repro.notebook.errors import InputError
from repro.seeding import check_seed

KEYS = {"rtol", "atol", "image_tolerance", "masks", "sanitize", "timeout", "kernel", "mime_subset",
        "allow_unverified", "progress_bars"}
MASK_REPLACEMENT = "<masked>"

#: Seconds a cell may run when no limit is given (``--timeout``, ``[tool.repro] timeout``).
DEFAULT_TIMEOUT = 300.0


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
    max_output_bytes: int = 100 * 2**20  # output kept per cell; past it the notebook fails; 0: no limit


@dataclass(frozen=True)
class Options:
    """Everything verify, record and diff need besides the notebooks."""

    execute: ExecuteOptions = field(default_factory=ExecuteOptions)
    compare: CompareOptions = field(default_factory=CompareOptions)
    jobs: int | None = None  # kernels alive at once, at most (default: one per core)
    allow_unverified: bool = False  # a notebook with nothing compared passes (its status stays "unverified")

    @property
    def kernel_cap(self) -> int:
        return max(1, self.jobs or os.cpu_count() or 1)


# -- values given as text (command line, pytest ini files) ---------------------------


def _parse_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InputError(f"not a number: {text!r}") from None


def parse_non_negative_float(text: str) -> float:
    value = _parse_float(text)
    if not value >= 0:  # also NaN
        raise InputError(f"must be >= 0: {text!r}")
    return value


def parse_positive_float(text: str) -> float:
    """A finite number > 0 (a time limit, say): fractions are fine, inf and nan are not."""
    value = _parse_float(text)
    if not (value > 0 and math.isfinite(value)):
        raise InputError(f"must be a finite number > 0: {text!r}")
    return value


def parse_timeout(text: str) -> float:
    """A time limit in seconds: a finite number > 0, or ``0`` / ``none`` for no limit (returned as 0)."""
    if text.strip().lower() in ("0", "none"):
        return 0.0
    try:
        return parse_positive_float(text)
    except InputError:
        raise InputError(f"must be a number of seconds > 0, or 0 or none for no limit: {text!r}") from None


def parse_positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise InputError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise InputError("must be at least 1")
    return value


def parse_seed(text: str) -> int:
    try:
        return check_seed(text)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def parse_shard(text: str) -> tuple[int, int]:
    try:
        index, total = (int(part) for part in text.split("/"))
    except ValueError:
        raise InputError(f"expected I/N, e.g. 1/4, got {text!r}") from None
    if not 1 <= index <= total:
        raise InputError(f"expected 1 <= I <= N in I/N, got {text!r}")
    return index, total


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


def _number(settings: dict[str, Any], name: str, given: float | None) -> float:
    value = given if given is not None else settings.get(name, 0.0)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise InputError(f"[tool.repro] {name} must be a number >= 0")
    return float(value)


def _flag(table: dict[str, Any], name: str, given: bool | None, default: bool = False) -> bool:
    value = given if given is not None else table.get(name, default)
    if not isinstance(value, bool):
        where = name if given is not None else f"[tool.repro] {name}"
        raise InputError(f"{where} must be true or false, not {value!r}")
    return value


def _compare_options(table: dict[str, Any], source: Path | None, *, rtol, atol, image_tolerance,
                     masks: Iterable[str], masks_from: str, sanitize: Iterable[Path],
                     mime_subset: bool | None, progress_bars: bool | None = None) -> CompareOptions:
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
    return CompareOptions(
        rtol=_number(table, "rtol", rtol),
        atol=_number(table, "atol", atol),
        image_tolerance=_number(table, "image_tolerance", image_tolerance),
        masks=tuple((regex, replacement) for regex, replacement, _ in found),
        mime_subset=_flag(table, "mime_subset", mime_subset),
        progress=_flag(table, "progress_bars", progress_bars, default=True),
    )


def _execute_options(table: dict[str, Any], *, kernel, current_python, timeout, seed, isolate) -> ExecuteOptions:
    where_timeout = "--timeout" if timeout is not None else "[tool.repro] timeout"
    if timeout is None:
        timeout = table.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, str) and timeout.strip().lower() == "none":
        timeout = 0
    if (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
            or not (timeout >= 0 and math.isfinite(timeout))):
        raise InputError(f"{where_timeout} must be a number of seconds > 0, or 0 or \"none\" for no limit, "
                         f"not {timeout!r}")
    timeout = float(timeout) or None  # 0: no limit
    where_kernel = "--kernel" if kernel is not None else "[tool.repro] kernel"
    if kernel is None:
        kernel = table.get("kernel")
    if kernel is not None and (not isinstance(kernel, str) or not kernel.strip()):
        raise InputError(f"{where_kernel} must be a kernel name, not {kernel!r}")
    if seed is not None:
        seed = parse_seed(str(seed))
    if not isinstance(isolate, bool):
        raise InputError(f"isolate must be true or false, not {isolate!r}")
    return ExecuteOptions(kernel_name=kernel, current_python=current_python, timeout=timeout, seed=seed,
                          isolate=isolate)


def resolve_options(
    start: Path | None = None,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    image_tolerance: float | None = None,
    masks: Iterable[str] = (),
    masks_from: str = "--mask",
    sanitize: Iterable[Path] = (),
    kernel: str | None = None,
    current_python: bool = False,
    timeout: float | None = None,
    seed: int | None = None,
    jobs: int | None = None,
    mime_subset: bool | None = None,
    progress_bars: bool | None = None,
    isolate: bool = False,
    trace_state: bool = True,
    trace_max_bytes: int | None = None,
    allow_unverified: bool | None = None,
) -> Options:
    """The :class:`Options` of ``[tool.repro]`` at or above *start* (default: the current
    directory), with the given values in place of the table's.

    *masks* (regexes, replaced by ``<masked>``) and *sanitize* (nbval sanitize files) add to
    the table's own, after them; *masks_from* says where *masks* came from, in error messages.
    *mime_subset*: compare only the MIME types both sides of an output have. *progress_bars*
    (default true): progress bars' timing fields do not count. *isolate*: run
    each notebook in a scratch copy of its folder (verify). *trace_state*: per-cell digests of
    the variables (*trace_max_bytes*: their size limit per value). *timeout*: seconds per cell,
    0 for no limit (default :data:`DEFAULT_TIMEOUT`). *allow_unverified*: a notebook with
    nothing to compare passes.
    """
    table, source = load_table(Path.cwd() if start is None else start)
    compare = _compare_options(table, source, rtol=rtol, atol=atol, image_tolerance=image_tolerance,
                               masks=masks, masks_from=masks_from, sanitize=sanitize, mime_subset=mime_subset,
                               progress_bars=progress_bars)
    execute = _execute_options(table, kernel=kernel, current_python=current_python, timeout=timeout, seed=seed,
                               isolate=isolate)
    if trace_max_bytes is not None and (isinstance(trace_max_bytes, bool) or not isinstance(trace_max_bytes, int)
                                        or trace_max_bytes < 0):
        raise InputError(f"trace_max_bytes must be a whole number >= 0, got {trace_max_bytes!r}")
    execute = dataclasses.replace(execute, trace_state=bool(trace_state), trace_max_bytes=trace_max_bytes)
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise InputError(f"jobs must be a whole number >= 1, got {jobs!r}")
    return Options(execute=execute, compare=compare, jobs=jobs,
                   allow_unverified=_flag(table, "allow_unverified", allow_unverified))


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
