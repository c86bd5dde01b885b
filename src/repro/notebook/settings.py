"""Every option of the notebook side, declared once: :data:`SETTINGS`.

A :class:`Setting` says what an option is (its name, how text becomes its value, its
default, its help) and where it applies. Each face is derived from the table:

- ``repro-nb verify/record/diff`` (:func:`repro.cli.build_parser`): an argument for each
  command named in :attr:`Setting.commands`;
- the pytest plugin: ``--repro-FLAG`` where :attr:`Setting.pytest` gives its help, the ini
  option ``repro_NAME`` where :attr:`Setting.ini` does;
- ``[tool.repro]``: the key ``NAME`` where :attr:`Setting.toml` is true (:func:`toml_keys`);
- the Python API: the keyword ``NAME`` of :func:`repro.notebook.options.resolve_options`
  where :attr:`Setting.field` names the field of :class:`~repro.notebook.options.Options`
  it sets (:func:`keywords`).

A face that is not given an option passes :attr:`Setting.unset`: None where ``[tool.repro]``
may still give it, else its default. A value given on a face beats the pytest ini file,
which beats ``[tool.repro]``, which beats the default. A ``[tool.repro]`` value or a
keyword is checked by :attr:`Setting.check`, text by :attr:`Setting.parse`; both raise
:class:`~repro.notebook.errors.InputError` with a one-line message.
Nothing heavy is imported here: the CLI builds its parser from this table at every start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from repro.notebook.errors import InputError

#: Seconds a cell may run when no limit is given (``--timeout``, ``[tool.repro] timeout``).
DEFAULT_TIMEOUT = 300.0
#: Bytes of output kept per cell when no limit is given (``--max-output``, ``[tool.repro] max_output``).
DEFAULT_MAX_OUTPUT = 100 * 2**20


@dataclass(frozen=True)
class Setting:
    name: str  # resolve_options' keyword, the [tool.repro] key, argparse's dest; pytest: repro_NAME
    help: str  # in repro-nb's --help
    parse: Callable[[str], Any] | None = str  # text (command line, ini file) -> value; None: a flag
    default: Any = None  # the value when no face gives one
    commands: tuple[str, ...] = ()  # the repro-nb commands that take it
    flag: str = ""  # the command line flag (default --NAME with dashes); --no-X for a flag that turns X off
    short: str = ""  # a short flag as well (-j)
    metavar: str | None = None
    group: str | None = None  # the argument group it is listed under in --help
    exclusive: str | None = None  # settings sharing this name are mutually exclusive on the command line
    choices: tuple[str, ...] | None = None
    repeat: bool = False  # given again, adds to the list
    pytest: str | None = None  # the help of pytest's --repro-FLAG; None: no such option
    ini: str | None = None  # the help of pytest's ini option repro_NAME; None: no such option
    toml: bool = False  # a [tool.repro] key
    field: str | None = None  # what it sets in Options ("compare.rtol"); None: not a keyword of resolve_options
    check: Callable[[Setting, Any, bool], Any] | None = None  # (setting, value, given) -> value, or InputError;
    # None: taken as it is. *given*: the value is a keyword's (or a flag's), not [tool.repro]'s

    @property
    def option(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    @property
    def negated(self) -> bool:
        """A flag that turns the setting off (``--no-progress-bars``)."""
        return self.parse is None and self.option.startswith("--no-")

    @property
    def unset(self) -> Any:
        """What a face passes when it is not given the option."""
        if self.repeat:
            return ()
        return None if self.toml else self.default

    @property
    def pytest_option(self) -> str:
        return "--repro-" + self.option[2:]

    @property
    def pytest_name(self) -> str:
        """The dest of the pytest option and the name of the ini option."""
        return "repro_" + self.name


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


_SIZE_UNITS = {"": 1, "K": 2**10, "KB": 2**10, "KIB": 2**10, "M": 2**20, "MB": 2**20, "MIB": 2**20,
               "G": 2**30, "GB": 2**30, "GIB": 2**30}


def parse_size(text: str) -> int:
    """A number of bytes, with an optional K, M or G (powers of 1024): ``100M``, ``2G``, ``0``."""
    import re

    match = re.fullmatch(r"\s*([0-9]{1,15})\s*([A-Za-z]{0,3})\s*", text)
    if match is None or match.group(2).upper() not in _SIZE_UNITS:
        raise InputError(f"not a size in bytes (such as 100M or 2G): {text[:40]!r}")
    return int(match.group(1)) * _SIZE_UNITS[match.group(2).upper()]


def check_size(setting: Setting, value: Any, given: bool) -> int:
    if isinstance(value, str):
        return parse_size(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        where = setting.name if given else f"[tool.repro] {setting.name}"
        raise InputError(f"{where} must be a number of bytes >= 0 (0: no limit), or a size such as \"100M\", "
                         f"not {value!r}")
    return value


def parse_seed(text: str) -> int:
    from repro.seeding import check_seed

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


# -- values from [tool.repro] or keywords: (setting, value, given) -> value -----------------


def check_number(setting: Setting, value: Any, given: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise InputError(f"[tool.repro] {setting.name} must be a number >= 0")
    return float(value)


def check_flag(setting: Setting, value: Any, given: bool) -> bool:
    if not isinstance(value, bool):
        where = setting.name if given else f"[tool.repro] {setting.name}"
        raise InputError(f"{where} must be true or false, not {value!r}")
    return value


def check_timeout(setting: Setting, value: Any, given: bool) -> float | None:
    """Seconds, or None for no limit (0 or ``"none"``)."""
    if isinstance(value, str) and value.strip().lower() == "none":
        value = 0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (value >= 0 and math.isfinite(value)):
        where = setting.option if given else f"[tool.repro] {setting.name}"
        raise InputError(f"{where} must be a number of seconds > 0, or 0 or \"none\" for no limit, not {value!r}")
    return float(value) or None


def check_kernel_name(setting: Setting, value: Any, given: bool) -> str | None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        where = setting.option if given else f"[tool.repro] {setting.name}"
        raise InputError(f"{where} must be a kernel name, not {value!r}")
    return value


def check_seed(setting: Setting, value: Any, given: bool) -> int | None:
    return None if value is None else parse_seed(str(value))


def whole_number(minimum: int) -> Callable[[Setting, Any, bool], int | None]:
    def check(setting: Setting, value: Any, given: bool) -> int | None:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < minimum):
            raise InputError(f"{setting.name} must be a whole number >= {minimum}, got {value!r}")
        return value

    return check


def check_choice(setting: Setting, value: Any, given: bool) -> str:
    if value not in setting.choices:
        where = setting.name if given else f"[tool.repro] {setting.name}"
        raise InputError(f"{where} must be {', '.join(map(repr, setting.choices[:-1]))} or "
                         f"{setting.choices[-1]!r}, not {value!r}")
    return value


def truth(setting: Setting, value: Any, given: bool) -> bool:
    return bool(value)


# -- the table: the order of repro-nb's --help --------------------------------------------

_PARALLEL, _EXECUTION, _COMPARISON, _REPORT = "parallel and sharded runs", "execution", "comparison", "report"
_VERIFY, _RUN, _COMPARE = ("verify",), ("verify", "record"), ("verify", "diff")

SETTINGS: tuple[Setting, ...] = (
    Setting("seed", "switch per-cell seeding on with seed N before the first cell (record stores N; verify "
            "compares a notebook recorded with --seed N under --seed N)", parse_seed, commands=_RUN,
            metavar="N", pytest="switch per-cell seeding on with seed N before the first cell",
            field="execute.seed", check=check_seed),
    Setting("jobs", "notebooks in parallel kernels (default: one per core)", parse_positive_int, commands=_RUN,
            short="-j", metavar="N", group=_PARALLEL, field="jobs", check=whole_number(1)),
    Setting("shard", "only the I-th of N deterministic shares of the notebooks (for a CI matrix)", parse_shard,
            commands=_RUN, metavar="I/N", group=_PARALLEL),
    Setting("isolate", "run each notebook in a scratch copy of its folder, removed afterwards, so that files a "
            "run writes never reach the next run, nor the folder", None, False, commands=_RUN,
            pytest="run each notebook in a scratch copy of its folder, removed afterwards",
            field="execute.isolate", check=check_flag),
    Setting("runs", "execute each notebook N >= 2 times in parallel kernels and name the cause of each "
            "difference (nondeterministic, hash-order, drift)", parse_positive_int, 1, commands=_VERIFY,
            metavar="N", pytest="execute each notebook N times and name the cause of each difference"),
    Setting("recorded_order", "run a notebook once more with its cells in the order their stored execution "
            "counts record, and say whether that reproduces: auto (default) when the counts are out of order and "
            "the notebook fails or differs, always when they are out of order, off", default="auto",
            commands=_VERIFY, choices=("auto", "off", "always"),
            pytest="run a notebook once more in the order its stored execution counts record: auto (when it "
            "fails or differs), always, off", toml=True, field="recorded_order", check=check_choice),
    Setting("reorder", "first move the cells into the order their stored execution counts record (each markdown "
            "cell with the code cell after it), then run and write them in that order", None, False,
            commands=("record",)),
    Setting("kernel", "kernel to run (default: the notebook's kernelspec; python3 for a Python notebook whose "
            "kernel is not installed here)", commands=_RUN, metavar="NAME", group=_EXECUTION, exclusive="kernel",
            pytest="kernel to run (default: each notebook's kernelspec)",
            ini="repro: kernel to run (default: each notebook's kernelspec)", toml=True,
            field="execute.kernel_name", check=check_kernel_name),
    Setting("current_python", "run the kernel on the Python that runs repro-nb", None, False, commands=_RUN,
            group=_EXECUTION, exclusive="kernel", field="execute.current_python"),
    Setting("timeout", "time limit per cell (default 300; 0 or none: no limit)", parse_timeout, DEFAULT_TIMEOUT,
            commands=_RUN, metavar="SECONDS", group=_EXECUTION,
            pytest="time limit per cell (default 300; 0 or none: no limit)",
            ini="repro: time limit per cell, seconds", toml=True, field="execute.timeout", check=check_timeout),
    Setting("trace_state", "do not digest the variables each cell changed (no first state divergence)", None,
            True, commands=_RUN, flag="--no-trace-state", group=_EXECUTION, field="execute.trace_state",
            check=truth),
    Setting("sequential", "send each cell's execute request only once the cell before it has finished (by default "
            "requests wait in the kernel's queue, as JupyterLab's Run All sends them)", None, False, commands=_RUN,
            group=_EXECUTION, field="execute.sequential", check=check_flag),
    Setting("trace_max_bytes", "values larger than this are marked too big instead of digested (default 64 MiB)",
            parse_positive_int, commands=_RUN, metavar="BYTES", group=_EXECUTION,
            field="execute.trace_max_bytes", check=whole_number(0)),
    Setting("max_output", "output kept per cell, in bytes (K, M, G: powers of 1024); past it the rest is dropped "
            "and the notebook fails at that cell (default 100M; 0: no limit)", parse_size, DEFAULT_MAX_OUTPUT,
            commands=_RUN, metavar="BYTES", group=_EXECUTION,
            pytest="output kept per cell, in bytes or K/M/G (default 100M; 0: no limit)", toml=True,
            field="execute.max_output_bytes", check=check_size),
    Setting("rtol", "relative tolerance for numbers in text outputs", parse_non_negative_float, 0.0,
            commands=_COMPARE, group=_COMPARISON, pytest="relative tolerance for numbers in text outputs",
            ini="repro: relative tolerance for numbers in text outputs", toml=True, field="compare.rtol",
            check=check_number),
    Setting("atol", "absolute tolerance for numbers in text outputs", parse_non_negative_float, 0.0,
            commands=_COMPARE, group=_COMPARISON, pytest="absolute tolerance for numbers in text outputs",
            ini="repro: absolute tolerance for numbers in text outputs", toml=True, field="compare.atol",
            check=check_number),
    Setting("image_tolerance", "per-channel difference (0-255) under which two pixels count as equal",
            parse_non_negative_float, 0.0, commands=_COMPARE, metavar="LEVELS", group=_COMPARISON, toml=True,
            field="compare.image_tolerance", check=check_number),
    Setting("masks", "mask text matching REGEX before comparing (repeatable)", commands=_COMPARE, flag="--mask",
            metavar="REGEX", group=_COMPARISON, repeat=True,
            ini="repro: regexes to mask in outputs before comparing, one a line", toml=True,
            field="compare.masks"),
    Setting("sanitize", "an nbval sanitize file of regexes to mask (repeatable)", commands=_COMPARE,
            flag="--sanitize-with", metavar="FILE", group=_COMPARISON, repeat=True, toml=True,
            field="compare.masks"),
    Setting("mime_subset", "compare only the MIME types both sides of an output have (a representation missing "
            "on one side, such as a LaTeX-rendered image/png, is then not a difference)", None, False,
            commands=_COMPARE, group=_COMPARISON,
            pytest="compare only the MIME types both sides of an output have", toml=True,
            field="compare.mime_subset", check=check_flag),
    Setting("progress_bars", "compare progress bars' timing fields (tqdm, Keras: elapsed, rate, ETA) as any other "
            "text; by default they do not count", None, True, commands=_COMPARE, flag="--no-progress-bars",
            group=_COMPARISON, pytest="compare progress bars' timing fields (tqdm, Keras) as any other text",
            toml=True, field="compare.progress", check=check_flag),
    Setting("format", "report format on stdout", default="text", commands=_COMPARE, group=_REPORT,
            choices=("text", "json")),
    Setting("junit_xml", "also write a JUnit XML report to PATH", Path, commands=_COMPARE, metavar="PATH",
            group=_REPORT),
    Setting("allow_unverified", "a notebook with nothing to compare (no stored outputs, every cell skipped) "
            "passes; it is still reported as unverified (JUnit: skipped)", None, False, commands=_COMPARE,
            group=_REPORT, pytest="a notebook with nothing to compare (no stored outputs) is skipped, not failed",
            toml=True, field="allow_unverified", check=check_flag),
)


def toml_keys(table: tuple[Setting, ...] = SETTINGS) -> frozenset[str]:
    """The keys ``[tool.repro]`` accepts."""
    return frozenset(s.name for s in table if s.toml)


def keywords(table: tuple[Setting, ...] = SETTINGS) -> dict[str, Any]:
    """resolve_options' keywords and their defaults: what a face passes when not given the option."""
    return {s.name: s.unset for s in table if s.field is not None}


def from_args(args: Any, table: tuple[Setting, ...] = SETTINGS) -> dict[str, Any]:
    """resolve_options' keywords from parsed command line arguments; options the command lacks are unset."""
    return {name: getattr(args, name, unset) for name, unset in keywords(table).items()}
