"""Options for running and comparing notebooks, from ``[tool.repro]`` plus overrides.

Shared by ``repro-nb`` (:mod:`repro.cli`) and the pytest plugin
(:mod:`repro.pytest_plugin`), so that both read ``[tool.repro]`` the same way and
say the same thing about a bad setting. Precedence is the caller's business: a
keyword argument that is not None overrides the ``[tool.repro]`` value.

Every error is a :class:`SettingsError` with a one-line message. Imports stay
light: nbclient is imported only when an :class:`~repro.execute.ExecuteOptions`
is built.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any, Iterable

MASK_REPLACEMENT = "<masked>"


class SettingsError(Exception):
    """A setting that cannot be used; the message is one line."""


# -- values given as text (command line, pytest ini files) ---------------------------
# argparse ``type=`` functions: argparse and pytest print their message as a usage error.


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0:  # also NaN
        raise argparse.ArgumentTypeError(f"must be >= 0: {text!r}")
    return value


def positive_float(text: str) -> float:
    value = non_negative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def seed(text: str) -> int:
    from repro.seeding import check_seed

    try:
        return check_seed(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# -- [tool.repro] ------------------------------------------------------------------------


def load_settings(start: Path) -> dict[str, Any]:
    """The ``[tool.repro]`` table of the nearest pyproject.toml at or above *start*.

    The pyproject.toml's path is under the key ``"_source"`` (None when there is none),
    for the paths in it that are relative to it.
    """
    from repro.config import ConfigError, load_config

    try:
        config, source = load_config(start)
    except ConfigError as exc:
        raise SettingsError(str(exc)) from None
    return dict(config, _source=source)


def compare_options(
    settings: dict[str, Any],
    *,
    rtol: float | None = None,
    atol: float | None = None,
    image_tolerance: float | None = None,
    masks: Iterable[str] = (),
    sanitize: Iterable[Path] = (),
):
    """A :class:`~repro.compare.CompareOptions` from *settings* (see :func:`load_settings`).

    *rtol*, *atol*, *image_tolerance*: override the settings when not None.
    *masks* (regexes, replaced by ``<masked>``) and *sanitize* (nbval sanitize files)
    add to the settings' own, after them.
    """
    from repro.compare import CompareOptions, read_sanitize_file
    from repro.config import ConfigError, masks_from_config

    source = settings.get("_source")
    try:
        all_masks = masks_from_config(settings.get("masks"), source)
    except ConfigError as exc:
        raise SettingsError(str(exc)) from None
    sanitize_files = [(source.parent / p if source else Path(p)) for p in settings.get("sanitize", [])]
    sanitize_files += [Path(p) for p in sanitize]
    for path in sanitize_files:
        try:
            all_masks += list(read_sanitize_file(path))
        except OSError as exc:
            raise SettingsError(f"{path}: cannot read sanitize file: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise SettingsError(f"{path}: {exc}") from None
    all_masks += [(regex, MASK_REPLACEMENT) for regex in masks]
    for regex, _ in all_masks:
        try:
            re.compile(regex)
        except re.error as exc:
            raise SettingsError(f"invalid mask regex {regex!r}: {exc}") from None

    def pick(name: str, given: float | None) -> float:
        value = given if given is not None else settings.get(name, 0.0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            raise SettingsError(f"[tool.repro] {name} must be a number >= 0")
        return float(value)

    try:
        return CompareOptions(
            rtol=pick("rtol", rtol),
            atol=pick("atol", atol),
            image_tolerance=pick("image_tolerance", image_tolerance),
            masks=tuple(all_masks),
        )
    except ValueError as exc:  # a replacement with a bad group reference
        raise SettingsError(str(exc).splitlines()[0]) from None


def execute_settings(
    settings: dict[str, Any],
    *,
    kernel: str | None = None,
    current_python: bool = False,
    timeout: float | None = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """The keyword arguments of an :class:`~repro.execute.ExecuteOptions`, checked, from
    *settings*; *kernel* and *timeout* override the settings when not None.

    Imports nothing heavy, so that a bad setting is reported before nbclient is imported.
    """
    if timeout is None:
        timeout = settings.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0):
        raise SettingsError("[tool.repro] timeout must be a number > 0")
    if kernel is None:
        kernel = settings.get("kernel")
    if kernel is not None and (not isinstance(kernel, str) or not kernel):
        raise SettingsError("[tool.repro] kernel must be a kernel name")
    return {"kernel_name": kernel, "current_python": current_python, "timeout": timeout, "seed": seed}


def execute_options(settings: dict[str, Any], **overrides: Any):
    """An :class:`~repro.execute.ExecuteOptions` (imports nbclient); arguments as for
    :func:`execute_settings`."""
    from repro.execute import ExecuteOptions

    return ExecuteOptions(**execute_settings(settings, **overrides))


def check_kernel(kernel_name: str | None) -> None:
    """Raise SettingsError when no kernel named *kernel_name* is installed (None: nothing to check)."""
    if kernel_name is None:
        return
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel:
        raise SettingsError(f"no such kernel: {kernel_name!r} (see `jupyter kernelspec list`)") from None
