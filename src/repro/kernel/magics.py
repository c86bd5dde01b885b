"""``%seed``, ``%%deterministic``, ``%%repeat`` and ``%repro``: thin layers over :class:`repro.kernel.extension.Repro`.

The extension object is handed in; this module never imports the extension.
"""

from __future__ import annotations

import json

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from repro.kernel.backends import MAX_THREADS, DeterministicOptions
from repro.kernel.body import run_body
from repro.payload import CellRecord
from repro.kernel import notice
from repro.seeding import DEFAULT_BASE_SEED, SeedMode, check_seed, derive_cell_seed, hash_seed_fixed


def _threads_arg(text: str | None) -> int | None:
    """``--threads K``: the digits 0-9 only (argparse's ``int`` would take "1_0" and other scripts' digits)."""
    if text is None:
        return None
    text = text.strip()
    shown = text if len(text) <= 24 else f"{text[:20]}... ({len(text)} characters)"
    digits = text[1:] if text.startswith("-") else text
    if not (digits.isascii() and digits.isdigit()):
        raise UsageError(f"--threads must be a whole number from 1 to {MAX_THREADS}, got {shown!r}")
    if text.startswith("-") or len(digits.lstrip("0")) > 4 or not 1 <= int(digits) <= MAX_THREADS:
        raise UsageError(f"--threads must be at least 1 and at most {MAX_THREADS}, got {shown}")
    return int(digits)


def _parse(magic, line: str):
    """The magic's arguments; a line that cannot be split (an unclosed quote) is a UsageError too."""
    try:
        return parse_argstring(magic, line)
    except ValueError as exc:  # from shlex: "No closing quotation"
        raise UsageError(f"cannot read the arguments: {exc}") from None


def _seed_arg(text: str | None, what: str = "seed") -> int | None:
    if text is None:
        return None
    try:
        return check_seed(text)
    except ValueError as exc:
        raise UsageError(f"{what}: {exc}") from None


@magics_class
class ReproMagics(Magics):
    def __init__(self, shell, repro) -> None:
        super().__init__(shell)
        self._repro = repro

    @magic_arguments()
    @argument("seed", nargs="?", help="Session seed, 0 <= N < 2**32.")
    @argument("--off", action="store_true", help="Stop re-seeding and undo repro's patches.")
    @argument("--once", action="store_true", help="Seed now, without re-seeding before each cell.")
    @line_magic
    def seed(self, line: str = ""):
        """Seed every random backend, and re-seed before each cell.

        ``%seed N`` seeds every loaded library with N now and, before every
        later cell, with a seed derived from N and that cell's source.
        ``%seed`` alone shows the state.
        """
        args = _parse(self.seed, line)
        repro = self._repro
        if args.off:
            if args.seed is not None or args.once:
                raise UsageError("%seed --off takes no seed and no --once")
            repro.deactivate()
            print("repro: seeding off")
            return
        seed = _seed_arg(args.seed)
        if seed is None:
            if args.once:
                raise UsageError("%seed --once needs a seed, e.g. %seed 42 --once")
            print(describe_state(repro))
            return
        repro.activate(seed, mode=SeedMode.ONCE if args.once else SeedMode.PER_CELL)
        warning = repro.hash_seed_warning()
        if warning:
            notice(warning)

    @magic_arguments()
    @argument("--seed", dest="seed", help="Seed the cell with N instead of the derived seed.")
    @argument("--warn-only", action="store_true", help="Warn about non-deterministic operations instead of raising.")
    @argument("--threads", metavar="K",
              help=f"Pin torch and BLAS thread counts to K (1 to {MAX_THREADS}) for the cell.")
    @cell_magic
    def deterministic(self, line: str, cell: str):
        """Run the cell seeded, with every loaded framework's deterministic mode on.

        Everything is restored afterwards, also when the cell raises or is interrupted.
        Every argument is checked before anything changes.
        """
        args = _parse(self.deterministic, line)
        threads = _threads_arg(args.threads)
        repro = self._repro
        seed = _seed_arg(args.seed, "--seed")
        if seed is None:
            seed = repro.state.current if repro.state.mode == SeedMode.PER_CELL else None
        if seed is None:
            seed = derive_cell_seed(DEFAULT_BASE_SEED, cell)
        options = DeterministicOptions(warn_only=args.warn_only, threads=threads)
        with repro.deterministic(seed, options):
            repro.recorder.magic_applied("deterministic", seed, repro.states())
            return run_body(self.shell, cell, "<deterministic>")

    @magic_arguments()
    @argument("count", nargs="?", metavar="N", help="How many runs (optional with --seeds).")
    @argument("--seeds", help="The base seeds: A:B (A to B-1) or 1,5,9; default: derived from %%seed and the cell.")
    @argument("--name", default="_repeat", help="Variable for the raw results (default: _repeat).")
    @argument("--quiet", action="store_true", help="No progress line.")
    @cell_magic
    def repeat(self, line: str, cell: str):
        """Run the cell N times, each under its own seed, and summarise its last expression's values.

        See :mod:`repro.kernel.repeat`; the raw seeds and values go to ``--name`` (default ``_repeat``).
        """
        from repro.kernel.repeat import run_repeat

        run_repeat(self.shell, self._repro, _parse(self.repeat, line), cell)

    @magic_arguments()
    @argument("command", choices=["log", "env", "trace"],
              help="log: the per-cell records of this session; env: what results depend on besides the code; "
                   "trace on|off: digests of the variables each cell changed, in its record.")
    @argument("switch", nargs="?", choices=["on", "off"], help="For trace: on or off (none: show).")
    @argument("--json", action="store_true", help="Print as JSON.")
    @line_magic
    def repro(self, line: str = ""):
        """Inspect repro's records, ``%repro log [--json]``, or the environment, ``%repro env [--json]``;
        ``%repro trace on|off`` switches per-cell state digests."""
        args = _parse(self.repro, line)
        if args.switch is not None and args.command != "trace":
            raise UsageError(f"%repro {args.command} takes no {args.switch!r}")
        if args.command == "trace":
            if args.switch is not None:
                self._repro.trace_state(args.switch == "on")
            print(f"repro: state tracing {'on' if self._repro.tracing else 'off'}")
            return
        if args.command == "env":
            from repro.environment import capture_environment, format_environment

            env = capture_environment()
            print(json.dumps(env, indent=1, sort_keys=True) if args.json else format_environment(env))
            return
        payloads = list(self._repro.recorder.records)
        if args.json:
            print(json.dumps(payloads, indent=1))
        else:
            print(format_log([CellRecord.from_payload(p) for p in payloads]))


def register_magics(shell, repro) -> None:
    """Add repro's magics to *shell*, and make ``%load_ext repro`` silent where repro is loaded."""
    shell.register_magics(ReproMagics(shell, repro=repro))
    table = shell.magics_manager.magics["line"]
    original = table.get("load_ext")
    if original is None or isinstance(original, _QuietLoadExt):
        return
    try:  # IPython's own method; IPython 9 holds a placeholder until first use, resolved when read
        original = original.__self__.load_ext
    except AttributeError:  # someone else's %load_ext: leave it alone
        return
    table["load_ext"] = _QuietLoadExt(original, shell)


class _QuietLoadExt:
    """IPython's ``%load_ext``, except that loading repro where it is loaded says nothing.

    A kernel started with repro (``repro-nb kernel install``) runs a notebook's own
    ``%load_ext repro`` too: IPython's "already loaded, use %reload_ext" would land
    in the notebook's outputs. Loading it again changes nothing either way.
    """

    def __init__(self, original, shell) -> None:
        self.original = original
        self.shell = shell
        self.__doc__ = original.__doc__

    def __call__(self, module_str: str = "", *args, **kwargs):
        if module_str.strip() == "repro" and "repro" in self.shell.extension_manager.loaded:
            return None
        return self.original(module_str, *args, **kwargs)


def unregister_magics(shell) -> None:
    """Remove repro's magics from *shell* (IPython has no API for it)."""
    manager = shell.magics_manager
    for kind, names in (("line", ("seed", "repro")), ("cell", ("deterministic", "repeat"))):
        table = manager.magics[kind]
        for name in names:
            func = table.get(name)
            if isinstance(getattr(func, "__self__", None), ReproMagics):
                del table[name]
    load_ext = manager.magics["line"].get("load_ext")
    if isinstance(load_ext, _QuietLoadExt):
        manager.magics["line"]["load_ext"] = load_ext.original
    instance = manager.registry.pop(ReproMagics.__name__, None)
    if instance in shell.configurables:
        shell.configurables.remove(instance)


def describe_state(repro) -> str:
    """One paragraph saying what is seeded and how."""
    state = repro.state
    if state.mode == SeedMode.OFF:
        head = "repro: seeding off (run %seed N to switch it on)"
    elif state.mode == SeedMode.ONCE:
        head = f"repro: seeded once with {state.base}; no re-seeding before cells"
    else:
        head = f"repro: seed {state.base}, re-seeding before every cell from the seed and the cell's source"
    loaded = {b.name for b in repro.loaded_backends()}
    names = ", ".join(f"{b.name}{'' if b.name in loaded else ' (not imported)'}" for b in repro.backends)
    hash_seed = "fixed" if hash_seed_fixed() else "not fixed"
    return f"{head}\nbackends: {names}\nPYTHONHASHSEED: {hash_seed}"


def format_log(records: list[CellRecord]) -> str:
    """The records as a text table: one row per cell, one column per backend.

    A backend cell shows the state digest after the cell, with ``*`` when the
    cell drew from that generator. ``!`` after the cell number marks a cell that
    raised; an ``unseeded`` column, when any cell has one, counts the generators
    a cell created without a seed and repro seeded.
    """
    if not records:
        return "repro: no cells recorded yet"
    names = sorted({name for r in records for name in r.backends})
    unseeded = any(r.unseeded_generators for r in records)
    header = ["cell", "seed", "mode", *names] + (["unseeded"] if unseeded else [])
    rows = [header]
    for r in records:
        count = "-" if r.execution_count is None else str(r.execution_count)
        row = [count + ("!" if r.error else ""), "-" if r.seed is None else str(r.seed), r.seed_mode]
        for name in names:
            state = r.backends.get(name)
            if state is None or state.after is None:
                row.append("")
            else:
                row.append(state.after + (" *" if state.consumed else ""))
        if unseeded:
            row.append(str(r.unseeded_generators) if r.unseeded_generators else "")
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    if any(r.error for r in records):
        lines.append("! the cell raised an exception")
    if unseeded:
        lines.append("unseeded: generators the cell created without a seed (default_rng(), RandomState(), "
                     "random.Random()...), seeded by repro from the cell's seed")
    lines.append("* the cell drew random numbers from this generator")
    return "\n".join(lines)
