from __future__ import annotations

import subprocess
import sys

import repro
from repro.cli import main


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"repro-nb {repro.__version__}"


def test_help(capsys):
    assert main(["--help"]) == 0
    assert "usage: repro-nb" in capsys.readouterr().out


def test_unknown_option_is_a_one_line_usage_error(capsys):
    assert main(["--bogus"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage:") or "error:" in err
    assert "Traceback" not in err


def test_console_script_runs():
    out = subprocess.run([sys.executable, "-m", "repro", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("repro-nb ")
