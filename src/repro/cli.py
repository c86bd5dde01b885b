"""The ``repro-nb`` command. ``main(argv) -> int`` so it is testable in-process.

Exit codes: 0 reproduced / success, 1 differs or failed, 2 usage error or bad input.
"""

from __future__ import annotations

import argparse
import sys

from repro import __version__

EXIT_OK = 0
EXIT_DIFFERS = 1
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="repro-nb",
        description="Make Jupyter notebooks reproducible, and prove that they are.",
        epilog="In a notebook: %load_ext repro, then %seed 42.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        parser.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    parser.print_help()
    return EXIT_OK
