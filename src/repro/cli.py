"""The ``repro-nb`` command. ``main(argv) -> int`` so it is testable in-process.

Exit codes: 0 reproduced / success, 1 differs or failed, 2 usage error or bad input.
Heavy modules (nbclient, nbformat) are imported only by the commands that need them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from repro import __version__
from repro.settings import non_negative_float as _non_negative_float
from repro.settings import positive_float as _positive_float
from repro.settings import seed as _seed

EXIT_OK = 0
EXIT_DIFFERS = 1
EXIT_USAGE = 2


class UsageFailure(Exception):
    """Bad input: reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _shard(text: str) -> tuple[int, int]:
    try:
        index, total = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected I/N, e.g. 1/4, got {text!r}") from None
    if not 1 <= index <= total:
        raise argparse.ArgumentTypeError(f"expected 1 <= I <= N in I/N, got {text!r}")
    return index, total


def _parallel_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("parallel and sharded runs")
    group.add_argument("-j", "--jobs", type=_positive_int, metavar="N",
                       help="notebooks in parallel kernels (default: one per core)")
    group.add_argument("--shard", type=_shard, metavar="I/N",
                       help="only the I-th of N deterministic shares of the notebooks (for a CI matrix)")


def select_shard(paths: list[Path], shard: tuple[int, int] | None) -> list[Path]:
    """The notebooks of shard I/N: round-robin over the paths sorted as text, so every
    machine computes the same split and the shares differ in size by at most one."""
    if shard is None:
        return paths
    index, total = shard
    ordered = sorted(paths, key=lambda p: p.as_posix())
    return [path for position, path in enumerate(ordered) if position % total == index - 1]


def _comparison_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("comparison")
    group.add_argument("--rtol", type=_non_negative_float, help="relative tolerance for numbers in text outputs")
    group.add_argument("--atol", type=_non_negative_float, help="absolute tolerance for numbers in text outputs")
    group.add_argument("--image-tolerance", type=_non_negative_float, metavar="LEVELS",
                       help="per-channel difference (0-255) under which two pixels count as equal")
    group.add_argument("--mask", action="append", default=[], metavar="REGEX",
                       help="mask text matching REGEX before comparing (repeatable)")
    group.add_argument("--sanitize-with", action="append", default=[], metavar="FILE",
                       help="an nbval sanitize file of regexes to mask (repeatable)")


def _report_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("report")
    group.add_argument("--format", choices=["text", "json"], default="text", help="report format on stdout")
    group.add_argument("--junit-xml", metavar="PATH", type=Path, help="also write a JUnit XML report to PATH")


def _execution_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("execution")
    kernel = group.add_mutually_exclusive_group()
    kernel.add_argument("--kernel", metavar="NAME", help="kernel to run (default: the notebook's kernelspec)")
    kernel.add_argument("--current-python", action="store_true",
                        help="run the kernel on the Python that runs repro-nb")
    group.add_argument("--timeout", type=_positive_float, metavar="SECONDS", help="time limit per cell")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="repro-nb",
        description="Make Jupyter notebooks reproducible, and prove that they are.",
        epilog="Exit codes: 0 reproduced, 1 differs or failed, 2 usage error or bad input. "
        "In a notebook: %%load_ext repro, then %%seed 42.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    verify = commands.add_parser("verify", help="re-execute notebooks and compare with their stored outputs",
                                 description="Execute each notebook in a fresh kernel and compare every code "
                                 "cell's new outputs with the stored ones. Never modifies the notebooks.")
    verify.add_argument("notebooks", nargs="+", type=Path, metavar="NOTEBOOK",
                        help="notebook files, or directories to search for them")
    verify.add_argument("--seed", type=_seed, metavar="N",
                        help="switch per-cell seeding on with seed N before the first cell")
    _parallel_options(verify)
    verify.add_argument("--runs", type=_positive_int, default=1, metavar="N",
                        help="execute each notebook N >= 2 times in parallel kernels and name the cause of "
                        "each difference (nondeterministic, hash-order, drift)")
    _execution_options(verify)
    _comparison_options(verify)
    _report_options(verify)

    record = commands.add_parser("record", help="execute notebooks and store outputs and repro records",
                                 description="Execute each notebook and write its outputs back, with each "
                                 "cell's repro record and the run's metadata. The file is replaced "
                                 "atomically, and only when the whole notebook ran.")
    record.add_argument("notebooks", nargs="+", type=Path, metavar="NOTEBOOK",
                        help="notebook files, or directories to search for them")
    _parallel_options(record)
    _execution_options(record)

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
    _comparison_options(diff)
    _report_options(diff)
    return parser


def main(argv: list[str] | None = None) -> int:
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
    try:
        if args.command == "verify":
            return _verify(args)
        if args.command == "record":
            return _record(args)
        if args.command == "kernel":
            return _kernel_install(args)
        return _diff(args)
    except UsageFailure as exc:
        print(f"repro-nb: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("repro-nb: interrupted", file=sys.stderr)
        return EXIT_DIFFERS


# -- commands ----------------------------------------------------------------------


def expand_paths(paths: list[Path]) -> list[Path]:
    """Notebook paths, with each directory replaced by the notebooks below it (sorted)."""
    expanded: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts and p.is_file()
            )
            if not found:
                raise UsageFailure(f"{path}: is a directory with no notebooks in it")
            expanded.extend(found)
        else:
            expanded.append(path)
    return expanded


def _read_all(paths: list[Path]) -> list:
    from repro.notebooks import NotebookError, read_notebook

    notebooks = []
    for path in paths:
        try:
            notebooks.append(read_notebook(path))
        except NotebookError as exc:
            raise UsageFailure(str(exc)) from None
    return notebooks


def _settings(args) -> dict:
    from repro.settings import SettingsError, load_settings

    try:
        return load_settings(Path.cwd())
    except SettingsError as exc:
        raise UsageFailure(str(exc)) from None

def _compare_options(args, config: dict):
    from repro.settings import SettingsError, compare_options

    try:
        return compare_options(config, rtol=args.rtol, atol=args.atol, image_tolerance=args.image_tolerance,
                               masks=args.mask, sanitize=args.sanitize_with)
    except SettingsError as exc:
        raise UsageFailure(str(exc)) from None

def _execute_options(args, config: dict, seed: int | None = None):
    from repro.settings import SettingsError, execute_options

    try:
        return execute_options(config, kernel=args.kernel, current_python=args.current_python,
                               timeout=args.timeout, seed=seed)
    except SettingsError as exc:
        raise UsageFailure(str(exc)) from None

def _check_kernel(options) -> None:
    if options.current_python:
        return
    from repro.settings import SettingsError, check_kernel

    try:
        check_kernel(options.kernel_name)
    except SettingsError as exc:
        raise UsageFailure(str(exc)) from None

def _emit(results, args) -> None:
    from repro import report

    if args.format == "json":
        print(report.render_json(results))
    else:
        print(report.render_text(results, colour=report.use_colour(sys.stdout)))
    if args.junit_xml is not None:
        from repro.notebooks import NotebookError, write_bytes_atomic

        try:
            write_bytes_atomic(args.junit_xml, report.render_junit(results))
        except NotebookError as exc:
            raise UsageFailure(str(exc)) from None


def _run(path: Path, nb, options, progress: bool = True):
    from repro import report
    from repro.execute import execute_notebook

    if not progress:
        return execute_notebook(nb, path, options)
    show = report.progress_printer()
    progress = (lambda index, total: show(path, index, total)) if show else None
    try:
        return execute_notebook(nb, path, options, progress=progress)
    finally:
        report.clear_progress()


def _other_hash_seed(hash_seed: str) -> str:
    return "1" if hash_seed != "1" else "2"


def _verify_one(path: Path, nb, options, compare_options, runs: int, progress: bool = True):
    """Execute *nb* once, or *runs* times in parallel kernels, and compare."""
    import dataclasses
    import os

    from repro.execute import execute_notebook, notebook_hash_seed, run_parallel
    from repro.runs import DEFAULT_HASH_SEED
    from repro.verify import needs_hash_run, verify_result

    if runs == 1:
        return verify_result(path, nb, [_run(path, nb, options, progress)], compare_options)
    workers = min(runs, os.cpu_count() or 1)
    executions = run_parallel([lambda: execute_notebook(nb, path, options) for _ in range(runs)], workers)
    result = verify_result(path, nb, executions, compare_options)
    if needs_hash_run(result):
        # Only a difference needs explaining: a run under another PYTHONHASHSEED
        # tells hash-order apart from drift.
        hash_seed = options.hash_seed or notebook_hash_seed(nb) or DEFAULT_HASH_SEED
        other = dataclasses.replace(options, hash_seed=_other_hash_seed(hash_seed))
        hash_run = execute_notebook(nb, path, other)
        if hash_run.failure is None:
            result = verify_result(path, nb, executions, compare_options, hash_run=hash_run)
    return result


def _workers(args, count: int) -> int:
    import os

    return max(1, min(args.jobs or os.cpu_count() or 1, count))


def _each_notebook(paths: list[Path], notebooks: list, workers: int, work) -> list:
    """``work(path, nb, progress)`` for each notebook: one after another, stopping at
    Ctrl-C, or on *workers* threads in parallel (no per-cell progress then)."""
    from repro.execute import run_parallel

    if workers == 1:
        done = []
        for path, nb in zip(paths, notebooks):
            done.append(work(path, nb, True))
            failure = done[-1].failure
            if failure is not None and failure.kind == "interrupted":
                break
        return done
    return run_parallel([(lambda path=path, nb=nb: work(path, nb, False)) for path, nb in zip(paths, notebooks)],
                        workers)


def _verify(args) -> int:
    config = _settings(args)
    compare_options = _compare_options(args, config)
    options = _execute_options(args, config, seed=args.seed)
    args.notebooks = select_shard(expand_paths(args.notebooks), args.shard)
    notebooks = _read_all(args.notebooks)
    _check_kernel(options)
    results = _each_notebook(
        args.notebooks, notebooks, _workers(args, len(notebooks)),
        lambda path, nb, progress: _verify_one(path, nb, options, compare_options, args.runs, progress),
    )
    _emit(results, args)
    return EXIT_OK if all(r.status == "reproduced" for r in results) else EXIT_DIFFERS


def _record(args) -> int:
    from repro.notebooks import NotebookError, write_notebook_atomic
    from repro.recording import apply_records

    config = _settings(args)
    options = _execute_options(args, config)
    args.notebooks = select_shard(expand_paths(args.notebooks), args.shard)
    notebooks = _read_all(args.notebooks)
    _check_kernel(options)
    runs = _each_notebook(args.notebooks, notebooks, _workers(args, len(notebooks)),
                          lambda path, nb, progress: _run(path, nb, options, progress))
    status = EXIT_OK
    for path, run in zip(args.notebooks, runs):
        if run.failure is not None:
            where = "" if run.failure.cell_index is None else f" at cell {run.failure.cell_index + 1}"
            print(f"FAILED {path}: not recorded, failed{where}: {run.failure.message}", file=sys.stderr)
            status = EXIT_DIFFERS
            continue
        try:
            write_notebook_atomic(apply_records(run), path)
        except NotebookError as exc:
            print(f"FAILED {exc}", file=sys.stderr)
            status = EXIT_DIFFERS
            continue
        print(f"recorded {path} ({run.duration:.1f} s)")
    return status


def _diff(args) -> int:
    from repro.verify import diff_result

    config = _settings(args)
    compare_options = _compare_options(args, config)
    a_nb, b_nb = _read_all([args.a, args.b])
    result = diff_result(args.a, a_nb, b_nb, compare_options)
    _emit([result], args)
    return EXIT_OK if result.status == "reproduced" else EXIT_DIFFERS


def _kernel_install(args) -> int:
    import json
    import tempfile

    from jupyter_client.kernelspec import KernelSpecManager

    if not args.hash_seed.isdigit() or int(args.hash_seed) > 4294967295:
        raise UsageFailure(f"--hash-seed must be an integer from 0 to 4294967295, got {args.hash_seed!r}")
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
            "--IPKernelApp.extra_extensions=repro"]
    if args.seed is not None:
        argv.append(f"--Repro.seed={args.seed}")
    spec = {
        "argv": argv,
        "display_name": args.display_name or f"Python {sys.version_info.major}.{sys.version_info.minor} (repro)",
        "language": "python",
        "env": {"PYTHONHASHSEED": args.hash_seed},
        "metadata": {"debugger": True},
    }
    with tempfile.TemporaryDirectory() as staging:
        (Path(staging) / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n", encoding="utf-8")
        prefix = str(args.prefix) if args.prefix else (sys.prefix if args.sys_prefix else None)
        try:
            destination = KernelSpecManager().install_kernel_spec(
                staging, kernel_name=args.name, user=args.user, prefix=prefix)
        except OSError as exc:
            raise UsageFailure(f"cannot install the kernelspec: {exc.strerror or exc}"
                               " (try --user or --sys-prefix)") from None
    print(f"installed kernelspec {args.name} in {destination}")
    return EXIT_OK
