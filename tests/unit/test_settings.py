"""repro.settings: options from [tool.repro] plus overrides, with one-line errors."""

from __future__ import annotations

import argparse

import pytest

from repro import settings
from repro.settings import SettingsError


def write_pyproject(folder, table: str):
    (folder / "pyproject.toml").write_text(f"[tool.repro]\n{table}\n", encoding="utf-8")


def test_no_pyproject_means_defaults(tmp_path, monkeypatch):
    monkeypatch.setattr("repro.config.find_pyproject", lambda start: None)
    found = settings.load_settings(tmp_path)
    assert found == {"_source": None}
    compare = settings.compare_options(found)
    assert (compare.rtol, compare.atol, compare.image_tolerance, compare.masks) == (0.0, 0.0, 0.0, ())
    assert settings.execute_settings(found) == {"kernel_name": None, "current_python": False,
                                                "timeout": None, "seed": None}


def test_overrides_beat_the_table_and_masks_add_up(tmp_path):
    write_pyproject(tmp_path, "rtol = 0.1\natol = 0.2\ntimeout = 30\nkernel = 'python3'\n"
                              "masks = ['a+', ['b+', 'B']]\nsanitize = ['nbval.cfg']")
    (tmp_path / "nbval.cfg").write_text("[one]\nregex: c+\nreplace: C\n", encoding="utf-8")
    found = settings.load_settings(tmp_path / "sub")  # found upwards, sanitize relative to it
    compare = settings.compare_options(found, atol=0.5, masks=["d+"])
    assert (compare.rtol, compare.atol) == (0.1, 0.5)
    assert compare.masks == (("a+", "<masked>"), ("b+", "B"), ("c+", "C"), ("d+", "<masked>"))
    assert settings.execute_settings(found, timeout=5, seed=3) == {
        "kernel_name": "python3", "current_python": False, "timeout": 5, "seed": 3}


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("rtol = -1", "[tool.repro] rtol must be a number >= 0"),
        ("atol = 'x'", "[tool.repro] atol must be a number >= 0"),
        ("masks = [1]", "masks must be regexes or [regex, replacement] pairs"),
        ("masks = ['(']", "invalid mask regex '('"),
        ("masks = [['(a)', '\\2']]", "invalid mask '(a)'"),
        ("sanitize = ['missing.cfg']", "missing.cfg: cannot read sanitize file"),
        ("colour = true", "unknown key(s) in [tool.repro]: colour"),
    ],
)
def test_bad_comparison_settings_are_one_line_errors(tmp_path, table, message):
    write_pyproject(tmp_path, table)
    with pytest.raises(SettingsError) as caught:
        settings.compare_options(settings.load_settings(tmp_path))
    assert message in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("timeout = 0", "[tool.repro] timeout must be a number > 0"),
        ("timeout = true", "[tool.repro] timeout must be a number > 0"),
        ("kernel = 3", "[tool.repro] kernel must be a kernel name"),
    ],
)
def test_bad_execution_settings_are_one_line_errors(tmp_path, table, message):
    write_pyproject(tmp_path, table)
    with pytest.raises(SettingsError, match=message.replace("[", r"\[").replace("]", r"\]")):
        settings.execute_settings(settings.load_settings(tmp_path))


def test_text_values():
    assert settings.non_negative_float("0") == 0.0
    assert settings.positive_float("2.5") == 2.5
    assert settings.seed("42") == 42
    for parse, text in [(settings.non_negative_float, "-1"), (settings.non_negative_float, "nan"),
                        (settings.non_negative_float, "x"), (settings.positive_float, "0"), (settings.seed, "-1")]:
        with pytest.raises(argparse.ArgumentTypeError):
            parse(text)
