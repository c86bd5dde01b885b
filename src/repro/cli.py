"""The ``repro-nb`` command. ``main(argv) -> int`` so it is testable in-process.

Exit codes: 0 reproduced / success, 1 differs, failed or unverified (nothing compared;
0 with ``--allow-unverified``), 2 usage error, bad input or stdout unwritable (a full disk),
128 + N stopped by signal N; 141 (128 + SIGPIPE), quietly, when stdout's reader is gone.
Heavy modules (nbclient, nbformat) are imported only by the commands that need them.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import threading
from pathlib import Path
from typing import Callable

from repro import __version__
from repro.notebook.errors import InputError
from repro.notebook.settings import SETTINGS, Setting, from_args, parse_seed
from repro.notebook.terminal import StdoutError, flush_stdout, printable_line, say, write_stdout

EXIT_OK = 0
EXIT_DIFFERS = 1
EXIT_USAGE = 2
EXIT_PIPE_CLOSED = 128 + 13  # SIGPIPE's number on every POSIX system: what `yes | head` reports


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _arg(parse: Callable[[str], object]) -> Callable[[str], object]:
    """An argparse ``type=`` from one of repro.notebook.settings' parsers: its message, as argparse's error."""

    def convert(text: str):
        try:
            return parse(text)
        except InputError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = parse.__name__.replace("parse_", "")
    return convert


_KERNEL_NAME = re.compile(r"[a-zA-Z0-9._-]+", re.ASCII)

_seed = _arg(parse_seed)


def add_settings(parser: argparse.ArgumentParser, command: str, table: tuple[Setting, ...] = SETTINGS) -> None:
    """An argument for each setting of *table* that *command* takes, in the table's order, under its group."""
    groups: dict = {None: parser}
    for setting in table:
        if command not in setting.commands:
            continue
        if setting.group not in groups:
            groups[setting.group] = parser.add_argument_group(setting.group)
        target = groups[setting.group]
        if setting.exclusive is not None:
            if (setting.group, setting.exclusive) not in groups:
                groups[setting.group, setting.exclusive] = target.add_mutually_exclusive_group()
            target = groups[setting.group, setting.exclusive]
        flags = [flag for flag in (setting.short, setting.option) if flag]
        target.add_argument(*flags, dest=setting.name, help=setting.help, **_argument(setting))


def _argument(setting: Setting) -> dict:
    """add_argument's action, default, type and metavar for *setting*."""
    if setting.parse is None:
        return {"action": "store_false" if setting.negated else "store_true", "default": setting.unset}
    argument = {"metavar": setting.metavar, "default": setting.unset}
    if setting.repeat:
        argument.update(action="append", default=list(setting.unset))
    if setting.choices:
        argument["choices"] = setting.choices
    if setting.parse is not str:
        argument["type"] = _arg(setting.parse)
    return argument


def _verify_parser(commands, table: tuple[Setting, ...]) -> None:
    verify = commands.add_parser("verify", help="re-execute notebooks and compare with their stored outputs",
                                 description="Execute each notebook in a fresh kernel and compare every code "
                                 "cell's new outputs with the stored ones. Never modifies the notebooks.")
    verify.add_argument("notebooks", nargs="+", type=Path, metavar="NOTEBOOK",
                        help="notebook files, or directories to search for them")
    add_settings(verify, "verify", table)


def build_parser(table: tuple[Setting, ...] = SETTINGS) -> argparse.ArgumentParser:
    """repro-nb's parser; the options of verify, record and diff are those of *table*."""
    parser = _Parser(
        prog="repro-nb",
        description="Make Jupyter notebooks reproducible, and prove that they are.",
        epilog="Exit codes: 0 reproduced, 1 differs, failed or unverified (nothing compared), "
        "2 usage error or bad input. "
        "In a notebook: %load_ext repro, then %seed 42.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    _verify_parser(commands, table)

    record = commands.add_parser("record", help="execute notebooks and store outputs and repro records",
                                 description="Execute each notebook and write its outputs back, with each "
                                 "cell's repro record and the run's metadata. The file is replaced "
                                 "atomically, and only when the whole notebook ran.")
    record.add_argument("notebooks", nargs="+", type=Path, metavar="NOTEBOOK",
                        help="notebook files, or directories to search for them")
    add_settings(record, "record", table)

    kernel = commands.add_parser("kernel", help="manage a reproducible Jupyter kernel")
    kernel_commands = kernel.add_subparsers(dest="kernel_command", metavar="ACTION", parser_class=_Parser,
                                            required=True)
    install = kernel_commands.add_parser(
        "install", help="install a kernelspec for this Python with PYTHONHASHSEED fixed and repro loaded",
        description="Install a kernelspec for the Python running repro-nb, with PYTHONHASHSEED fixed and "
        "the repro extension loaded at start, so interactive sessions run under the conditions of verify.")
    install.add_argument("--name", default="python3-repro", help="kernelspec name (default: %(default)s)")
    install.add_argument("--display-name", help="name shown in Jupyter (default: derived from --name)")
    install.add_argument("--seed", type=_seed, metavar="N", help="also switch per-cell seeding on with seed N")
    install.add_argument("--hash-seed", default="0", metavar="N", help="PYTHONHASHSEED (default: %(default)s)")
    where = install.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="install for the current user")
    where.add_argument("--sys-prefix", action="store_true", help="install into this Python's prefix (a venv, say)")
    where.add_argument("--prefix", type=Path, help="install under PREFIX/share/jupyter/kernels")

    diff = commands.add_parser("diff", help="compare the outputs of two executed notebooks",
                               description="Compare two executed notebooks by the rules of verify, "
                               "without executing them.")
    diff.add_argument("a", type=Path, metavar="A.ipynb")
    diff.add_argument("b", type=Path, metavar="B.ipynb")
    add_settings(diff, "diff", table)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``repro-nb ARGV`` (default: the process's arguments) and return its exit code."""
    try:
        code = _main(argv)
        flush_stdout()  # what is still buffered fails here, not in Python's flush at exit
    except StdoutError as exc:  # a closed pipe ends quietly, as `head` expects; a full disk is one line
        return EXIT_PIPE_CLOSED if exc.settle("repro-nb: cannot write the report") else EXIT_USAGE
    return code


def _main(argv: list[str] | None) -> int:
    # jsonschema (under nbformat) imports rfc3987-syntax when it is installed, as
    # JupyterLab's dependencies make it, to check "iri" string formats that no
    # notebook schema uses; building its grammar costs about 1.5 s at every start.
    sys.modules.setdefault("rfc3987_syntax", None)
    parser = build_parser()
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help()
        return EXIT_OK
    command = {"verify": _verify, "record": _record, "kernel": _kernel_install, "diff": _diff}[args.command]
    received: list[int] = []
    previous = _stop_on_signals(received)
    try:
        code = command(args)
    except InputError as exc:
        say(f"repro-nb: error: {printable_line(exc)}")
        code = EXIT_USAGE
    except KeyboardInterrupt:
        code = EXIT_DIFFERS
        if not received:
            say("repro-nb: interrupted")
    finally:
        _restore_signals(previous)
    if received:
        name = signal.Signals(received[0]).name
        say(f"repro-nb: stopped by {name}: kernels shut down, no notebook left half-written")
        return 128 + received[0]
    return code


def _stop_on_signals(received: list[int]) -> dict:
    """SIGTERM and SIGHUP stop repro-nb as Ctrl-C does: kernels shut down, temporary files removed."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def stop(signum, frame):
        if not received:
            received.append(signum)
        raise KeyboardInterrupt

    previous = {}
    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is not None:
            previous[number] = signal.signal(number, stop)
    return previous


def _restore_signals(previous: dict) -> None:
    for number, handler in previous.items():
        signal.signal(number, handler)


# -- commands: options in, entry point, rendering out ----------------------------------


def _options(args):
    from repro.notebook.options import resolve_options

    return resolve_options(Path.cwd(), **from_args(args))


def _selected(args) -> list[Path]:
    from repro.notebook.io import expand_paths, select_shard

    paths = expand_paths(args.notebooks)
    chosen = select_shard(paths, args.shard)
    if not chosen:
        index, total = args.shard
        say(f"repro-nb: shard {index}/{total} is empty: {len(paths)} notebook(s) make fewer than "
             f"{total} shares")
    return chosen


def _check_report_path(args) -> None:
    """Before anything runs: a report never goes over a notebook or any input, and can be written."""
    if args.junit_xml is not None:
        from repro.notebook.io import check_report_target

        inputs = [*getattr(args, "notebooks", ()), *(p for p in (getattr(args, "a", None), getattr(args, "b", None)) if p)]
        check_report_target(args.junit_xml, inputs, f"--junit-xml {args.junit_xml}")


def _emit(results, args, allow_unverified: bool = False) -> None:
    from repro.notebook import report
    from repro.notebook.terminal import use_colour

    try:
        if args.format == "json":
            write_stdout(report.render_json(results))
        else:
            write_stdout(report.render_text(results, colour=use_colour(sys.stdout)))
    finally:  # written also when stdout failed: `| head` still leaves the whole report in a file
        if args.junit_xml is not None:
            from repro.notebook.io import write_bytes_atomic

            write_bytes_atomic(args.junit_xml, report.render_junit(results, allow_unverified=allow_unverified))


def _verify(args) -> int:
    from repro.notebook.terminal import ProgressLine
    from repro.notebook.verify import verify_notebooks

    _check_report_path(args)
    options = _options(args)
    progress = ProgressLine()
    try:
        results = verify_notebooks(_selected(args), options, runs=args.runs, progress=progress)
    finally:
        progress.clear()
    _emit(results, args, options.allow_unverified)
    return EXIT_OK if all(r.passed(options.allow_unverified) for r in results) else EXIT_DIFFERS


def _record(args) -> int:
    from repro.notebook.terminal import ProgressLine
    from repro.notebook.verify import record_notebooks

    options = _options(args)
    progress = ProgressLine()
    try:
        results = record_notebooks(_selected(args), options, progress=progress, reorder=args.reorder)
    finally:
        progress.clear()
    for result in results:
        if result.written:
            write_stdout(printable_line(result.message))
        else:
            say(printable_line(f"FAILED {result.path}: {result.message}"))
    return EXIT_OK if all(r.written for r in results) else EXIT_DIFFERS


def _diff(args) -> int:
    from repro.notebook.verify import diff_notebooks

    _check_report_path(args)
    options = _options(args)
    result = diff_notebooks(args.a, args.b, options)
    _emit([result], args, options.allow_unverified)
    return EXIT_OK if result.passed(options.allow_unverified) else EXIT_DIFFERS


def _kernel_install(args) -> int:
    import json
    import tempfile

    from jupyter_client.kernelspec import KernelSpecManager

    from repro.seeding import check_hash_seed

    try:
        hash_seed = check_hash_seed(args.hash_seed)
    except ValueError as exc:
        raise InputError(f"--hash-seed: {exc}") from None
    if not _KERNEL_NAME.fullmatch(args.name) or args.name.startswith("."):  # Jupyter's rule, and no ".."
        raise InputError(f"--name must be letters, digits, '.', '_' or '-' (a kernelspec name), got {args.name!r}")
    if args.display_name is not None and not args.display_name.strip():
        raise InputError("--display-name must not be empty")
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
            "--IPKernelApp.extra_extensions=repro"]
    if args.seed is not None:
        argv.append(f"--Repro.seed={args.seed}")
    spec = {
        "argv": argv,
        "display_name": args.display_name or f"Python {sys.version_info.major}.{sys.version_info.minor} (repro)",
        "language": "python",
        "env": {"PYTHONHASHSEED": hash_seed},
        "metadata": {"debugger": True},
    }
    with tempfile.TemporaryDirectory() as staging:
        (Path(staging) / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n", encoding="utf-8")
        prefix = str(args.prefix) if args.prefix else (sys.prefix if args.sys_prefix else None)
        try:
            destination = KernelSpecManager().install_kernel_spec(
                staging, kernel_name=args.name, user=args.user, prefix=prefix)
        except OSError as exc:
            raise InputError(f"cannot install the kernelspec: {exc.strerror or exc}"
                             " (try --user or --sys-prefix)") from None
    write_stdout(f"installed kernelspec {args.name} in {printable_line(destination)}")
    return EXIT_OK
