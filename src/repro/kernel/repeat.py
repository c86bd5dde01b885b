"""``%%repeat``: run a cell under many seeds and summarise the spread of its result.

Pure functions (seed lists, value columns, statistics, the summary's text and
HTML) and one small runner, :func:`run_repeat`, that the magic calls. Kernel
side: standard library and IPython only, no numpy, no SciPy.

Confidence interval of the mean (95%): ``mean +- t * std / sqrt(n)`` with
``std`` the sample standard deviation (``ddof=1``) and ``t`` the 0.975 quantile
of Student's t with ``n - 1`` degrees of freedom: from a table for 1 to 30
degrees of freedom (SciPy's values to 9 decimals), and beyond that from the
Cornish-Fisher expansion of t around the normal quantile, four terms (error
below 1e-7 for more than 30 degrees of freedom). With one run there is no interval.
"""

from __future__ import annotations

import html
import keyword
import math
import numbers
import sys
from dataclasses import dataclass

from IPython.core.error import UsageError

from repro.kernel import body
from repro.seeding import DEFAULT_BASE_SEED, SEED_LIMIT, cell_seed, derive_seed, source_digest

#: The most runs one ``%%repeat`` takes (a guard against a typo such as ``%%repeat 30000000``).
MAX_RUNS = 100_000
CI_METHOD = "Student t, n-1 degrees of freedom"

# t(0.975, df) for df = 1..30.
_T_975 = (
    12.706204736, 4.30265273, 3.182446305, 2.776445105, 2.570581836, 2.446911851, 2.364624252,
    2.306004135, 2.262157163, 2.228138852, 2.20098516, 2.17881283, 2.160368656, 2.144786688,
    2.131449546, 2.119905299, 2.109815578, 2.10092204, 2.093024054, 2.085963447, 2.079613845,
    2.073873068, 2.06865761, 2.063898562, 2.059538553, 2.055529439, 2.051830516, 2.048407142,
    2.045229642, 2.042272456,
)
_Z_975 = 1.959963984540054


def t_quantile_975(df: int) -> float:
    """The 0.975 quantile of Student's t with *df* >= 1 degrees of freedom (see the module docstring)."""
    if df <= len(_T_975):
        return _T_975[df - 1]
    z = _Z_975
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


# -- arguments -------------------------------------------------------------------


def _whole(text: str, what: str) -> int:
    """ASCII digits only (``int()`` would take "1_0" and other scripts' digits), at most 10 of them."""
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        shown = text if len(text) <= 24 else f"{text[:20]}... ({len(text)} characters)"
        raise UsageError(f"{what} must be a whole number, got {shown!r}")
    return int(text)


def _seed(text: str) -> int:
    seed = _whole(text.strip(), "a seed")
    if seed >= SEED_LIMIT:
        raise UsageError(f"a seed must be below 2**32, got {seed}")
    return seed


def parse_seeds(text: str) -> list[int]:
    """``--seeds``: ``A:B`` (A, A+1, ..., B-1, as Python's ``range``) or ``1,5,9``; UsageError otherwise."""
    text = text.strip()
    if ":" in text:
        start, _, stop = text.partition(":")
        first, end = _seed(start), _whole(stop.strip(), "the end of --seeds A:B")
        if end > SEED_LIMIT or end <= first:
            raise UsageError(f"--seeds A:B needs A < B <= 2**32 (B itself is left out), got {first}:{end}")
        if end - first > MAX_RUNS:
            raise UsageError(f"--seeds {first}:{end} is {end - first} runs; at most {MAX_RUNS}")
        return list(range(first, end))
    seeds = [_seed(item) for item in text.split(",")]
    if len(seeds) > MAX_RUNS:
        raise UsageError(f"--seeds lists {len(seeds)} seeds; at most {MAX_RUNS}")
    seen: set[int] = set()
    for seed in seeds:
        if seed in seen:
            raise UsageError(f"--seeds lists seed {seed} twice")
        seen.add(seed)
    return seeds


def plan_seeds(count: str | None, seeds: str | None, base: int | None, digest: str) -> list[int]:
    """The base seed of every run: ``--seeds`` as given, else N seeds derived from *base* and the body's digest.

    Derived seeds do not depend on N, so ``%%repeat 30`` starts with the seeds of ``%%repeat 5``.
    """
    n = None if count is None else _whole(count.strip(), "%%repeat N")
    if n is not None and not 1 <= n <= MAX_RUNS:
        raise UsageError(f"%%repeat N needs 1 <= N <= {MAX_RUNS}, got {n}")
    if seeds is not None:
        listed = parse_seeds(seeds)
        if n is not None and n != len(listed):
            raise UsageError(f"%%repeat {n} and --seeds ({len(listed)} seeds) disagree; give one of them")
        return listed
    if n is None:
        raise UsageError("%%repeat needs the number of runs, e.g. %%repeat 30, or --seeds A:B")
    base = DEFAULT_BASE_SEED if base is None else base
    return [derive_seed(base, "repeat", digest, i) for i in range(n)]


def check_name(name: str) -> str:
    if not name.isidentifier() or keyword.iskeyword(name):
        raise UsageError(f"--name needs a Python variable name, got {name!r}")
    return name


# -- values ----------------------------------------------------------------------


def _number(value: object) -> float | None:
    """A finite real number as a float (a 0-d array or tensor counts); None for anything else."""
    if isinstance(value, bool):
        return None
    if not isinstance(value, numbers.Real) and getattr(value, "shape", None) == () and callable(
            getattr(value, "item", None)):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def value_columns(value: object) -> dict[str, float]:
    """The columns of one run's value: a number (``value``), a dict of numbers, a (named) tuple of numbers.

    Raises ValueError with a one-line reason for anything else.
    """
    if isinstance(value, tuple) and isinstance(getattr(type(value), "_fields", None), tuple):
        items = list(zip(type(value)._fields, value))
    elif isinstance(value, tuple):
        items = [(str(i), v) for i, v in enumerate(value)]
    elif isinstance(value, dict):
        bad = next((k for k in value if not isinstance(k, str)), None)
        if bad is not None:
            raise ValueError(f"a dict's keys must be strings, got {bad!r}")
        items = list(value.items())
    else:
        items = [("value", value)]
    if not items:
        raise ValueError(f"an empty {type(value).__name__} has no numbers")
    columns = {}
    for name, item in items:
        number = _number(item)
        if number is None:
            shown = repr(item) if len(repr(item)) <= 40 else f"a {type(item).__name__}"
            where = "" if name == "value" and len(items) == 1 else f" in {name!r}"
            raise ValueError(f"{shown}{where} is not a finite number")
        columns[name] = number
    if "seed" in columns:
        raise ValueError("a column may not be called 'seed' (the seeds have that column)")
    return columns


def add_run(table: dict[str, list], seed: int, value: object, run: int) -> None:
    """Append one run to *table* (``{"seed": [...], column: [...]}``); UsageError for a value that does not fit."""
    try:
        columns = value_columns(value)
    except ValueError as exc:
        raise UsageError(f"%%repeat run {run} (seed {seed}): the cell's last expression must be a number or "
                         f"a dict / tuple / named tuple of numbers: {exc}") from None
    if len(table) > 1 and list(columns) != list(table)[1:]:
        raise UsageError(f"%%repeat run {run} (seed {seed}) returned the columns {list(columns)}, "
                         f"run 1 returned {list(table)[1:]}")
    table.setdefault("seed", []).append(seed)
    for name, number in columns.items():
        table.setdefault(name, []).append(number)


# -- statistics and the summary ------------------------------------------------------


@dataclass(frozen=True)
class ColumnStats:
    name: str
    n: int
    mean: float
    std: float | None  # sample standard deviation (ddof=1); None with one run
    min: float
    median: float
    max: float
    ci_low: float | None
    ci_high: float | None
    seed_of_min: int  # the first run that gave the minimum
    seed_of_max: int


def column_stats(name: str, values: list[float], seeds: list[int]) -> ColumnStats:
    """n, mean, sample std, min, median, max, the 95% CI of the mean, and the seeds of min and max."""
    n = len(values)
    mean = math.fsum(values) / n
    ordered = sorted(values)
    median = ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2
    std = low = high = None
    if n > 1:
        std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
        half = t_quantile_975(n - 1) * std / math.sqrt(n)
        low, high = mean - half, mean + half
    lowest, highest = values.index(ordered[0]), values.index(ordered[-1])
    return ColumnStats(name, n, mean, std, ordered[0], median, ordered[-1], low, high,
                       seeds[lowest], seeds[highest])


@dataclass(frozen=True)
class RepeatSummary:
    """What ``%%repeat`` shows: one row per column; aligned text as repr, an HTML table in JupyterLab."""

    columns: tuple[ColumnStats, ...]
    runs: int
    planned: int

    @property
    def partial(self) -> bool:
        return self.runs < self.planned

    def _head(self) -> str:
        if self.partial:
            return f"%%repeat: partial, {self.runs} of {self.planned} runs (interrupted)"
        return f"%%repeat: {self.runs} runs"

    def _rows(self) -> list[list[str]]:
        rows = [["column", "n", "mean", "std", "min", "median", "max", "95% CI", "seed of min", "seed of max"]]
        for c in self.columns:
            ci = "-" if c.ci_low is None else f"[{_num(c.ci_low)}, {_num(c.ci_high)}]"
            rows.append([c.name, str(c.n), _num(c.mean), _num(c.std), _num(c.min), _num(c.median),
                         _num(c.max), ci, str(c.seed_of_min), str(c.seed_of_max)])
        return rows

    def _foot(self) -> str:
        return (f"95% CI of the mean: {CI_METHOD}; re-run one seed alone with %seed SEED and the "
                "cell's body")

    def __repr__(self) -> str:
        rows = self._rows()
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                           for i, (cell, w) in enumerate(zip(row, widths))).rstrip() for row in rows]
        return "\n".join([self._head(), *lines, self._foot()])

    def _repr_html_(self) -> str:
        header, *body = self._rows()
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        rows = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>" for row in body)
        return (f"<p>{html.escape(self._head())}</p><table><thead><tr>{head}</tr></thead>"
                f"<tbody>{rows}</tbody></table><p><small>{html.escape(self._foot())}</small></p>")


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def summarize(table: dict[str, list], planned: int) -> RepeatSummary:
    seeds = table.get("seed", [])
    columns = tuple(column_stats(name, values, seeds) for name, values in table.items() if name != "seed")
    return RepeatSummary(columns, len(seeds), planned)


# -- running -------------------------------------------------------------------------


class _Line:  # a progress line as a display object (text/plain only)
    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


class Progress:
    """Where the progress goes. In a kernel: one display, updated in place, that becomes the
    summary at the end (so the stored outputs hold the summary and nothing else of ours). In a
    terminal: a ``\\r`` line on stderr, erased at the end. Otherwise (and with --quiet): none."""

    def __init__(self, shell, quiet: bool) -> None:
        self.in_kernel = getattr(shell, "kernel", None) is not None
        self.stream = None if quiet or self.in_kernel or not _is_terminal(sys.stderr) else sys.stderr
        self.quiet = quiet
        self.handle = None
        self._width = 0

    def step(self, text: str) -> None:
        if self.quiet:
            return
        if self.stream is not None:
            self.stream.write("\r" + text.ljust(self._width))
            self.stream.flush()
            self._width = len(text)
        elif self.in_kernel:
            self._show(_Line(text))

    def _show(self, obj) -> None:
        from IPython.display import display

        if self.handle is None:
            self.handle = display(obj, display_id=True)
        else:
            self.handle.update(obj)

    def finish(self, obj) -> None:
        """Replace the progress with *obj* (the summary, or a line saying which run failed)."""
        if self.stream is not None:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
        if self.handle is not None:
            self.handle.update({"text/plain": ""} if obj is None else obj, raw=obj is None)
        elif obj is not None:
            from IPython.display import display

            display(obj)


def _is_terminal(stream) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def compile_body(shell, cell: str):
    """The body as (statements, last expression) code objects; UsageError when it ends in no expression."""
    statements, last = body.compile_body(shell, cell, "<repeat>")
    if last is None:
        raise UsageError("%%repeat needs a cell that ends with an expression, the value to collect "
                         "(a number, or a dict / tuple / named tuple of numbers)")
    return statements, last


def run_repeat(shell, repro, args, cell: str) -> None:
    """``%%repeat``: every argument checked first, then the runs, then the summary and ``args.name``."""
    name = check_name(args.name)
    digest = source_digest(cell)
    seeds = plan_seeds(args.count, args.seeds, repro.state.base, digest)
    statements, last = compile_body(shell, cell)
    repro.recorder.magic_applied("repeat")
    progress = Progress(shell, args.quiet)
    table: dict[str, list] = {}
    namespace = shell.user_ns
    run, seed = 0, seeds[0]
    try:
        for run, seed in enumerate(seeds, 1):
            progress.step(f"%%repeat: run {run} of {len(seeds)} (seed {seed})")
            # As `%seed SEED` would seed this body as a cell of its own: the seed can be re-run alone.
            # Afterwards the seed in force is the one before, also after a %seed in the body.
            with repro.reseeded(cell_seed(seed, digest)):
                exec(statements, namespace)
                value = eval(last, namespace)
            add_run(table, seed, value, run)
    except KeyboardInterrupt:
        if table:
            namespace[name] = table
            progress.finish(summarize(table, len(seeds)))
        else:
            progress.finish(_Line(f"%%repeat: interrupted in run 1 of {len(seeds)} (seed {seed})"))
        raise
    except UsageError:  # a value that does not fit: its message names the run and the seed
        progress.finish(None)
        raise
    except BaseException:
        progress.finish(_Line(f"%%repeat: run {run} of {len(seeds)} (seed {seed}) failed"))
        raise
    namespace[name] = table
    progress.finish(summarize(table, len(seeds)))
