"""The one error type of the notebook side."""

from __future__ import annotations


class InputError(Exception):
    """Input repro-nb cannot use: a missing or unreadable notebook, a bad option or setting.

    The message is one line for the user; the CLI prints it and exits with 2.
    """
