"""repro.notebook.options: options from [tool.repro] plus overrides and sanitize files, with one-line errors."""

from __future__ import annotations

import inspect
import re
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repro.notebook import options
from repro.notebook.compare import CompareOptions, normalize_text
from repro.notebook.errors import InputError
from repro.notebook.options import ExecuteOptions, Options, read_sanitize_file, resolve_options
from repro.notebook.settings import (
    SETTINGS,
    Setting,
    from_args,
    keywords,
    parse_non_negative_float,
    parse_positive_float,
    parse_positive_int,
    parse_seed,
    parse_shard,
    toml_keys,
)


def write_pyproject(folder, table: str):
    (folder / "pyproject.toml").write_text(f"[tool.repro]\n{table}\n", encoding="utf-8")


def test_no_pyproject_means_defaults(tmp_path, monkeypatch):
    monkeypatch.setattr(options, "find_pyproject", lambda start: None)
    resolved = resolve_options(tmp_path)
    assert resolved == Options(execute=ExecuteOptions(), compare=CompareOptions())
    assert resolved.kernel_cap >= 1


def test_overrides_beat_the_table_and_masks_add_up(tmp_path):
    write_pyproject(tmp_path, "rtol = 0.1\natol = 0.2\ntimeout = 30\nkernel = 'python3'\n"
                              "masks = ['a+', ['b+', 'B']]\nsanitize = ['nbval.cfg']")
    (tmp_path / "nbval.cfg").write_text("[one]\nregex: c+\nreplace: C\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    resolved = resolve_options(tmp_path / "sub", atol=0.5, masks=["d+"], timeout=5, seed=3, jobs=2)
    compare = resolved.compare
    assert (compare.rtol, compare.atol) == (0.1, 0.5)
    assert compare.masks == (("a+", "<masked>"), ("b+", "B"), ("c+", "C"), ("d+", "<masked>"))
    assert resolved.execute == ExecuteOptions(kernel_name="python3", timeout=5, seed=3)
    assert resolved.jobs == resolved.kernel_cap == 2


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("rtol = -1", "[tool.repro] rtol must be a number >= 0"),
        ("atol = 'x'", "[tool.repro] atol must be a number >= 0"),
        ("masks = [1]", "masks must be regexes or [regex, replacement] pairs"),
        ("masks = ['(']", "[tool.repro] masks: invalid mask '('"),
        ("masks = [['(a)', '\\2']]", "invalid mask '(a)'"),
        ("sanitize = ['missing.cfg']", "missing.cfg: cannot read sanitize file"),
        ("colour = true", "unknown key(s) in [tool.repro]: colour"),
        ("timeout = true", "[tool.repro] timeout must be a number of seconds > 0"),
        ("timeout = inf", "[tool.repro] timeout must be a number of seconds > 0"),
        ("timeout = -1.5", "[tool.repro] timeout must be a number of seconds > 0"),
        ("kernel = 3", "[tool.repro] kernel must be a kernel name"),
        ("kernel = ''", "[tool.repro] kernel must be a kernel name"),
        ("masks = 5", "[tool.repro] masks must be a list"),
        ("sanitize = 5", "[tool.repro] sanitize must be a list of file names"),
        ("sanitize = 'abc'", "[tool.repro] sanitize must be a list of file names"),
        ("rtol = [", "cannot read [tool.repro]"),
    ],
)
def test_bad_settings_are_one_line_errors(tmp_path, table, message):
    write_pyproject(tmp_path, table)
    with pytest.raises(InputError) as caught:
        resolve_options(tmp_path)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_tool_that_is_not_a_table_is_one_line(tmp_path):
    (tmp_path / "pyproject.toml").write_text("tool = 5\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"\[tool.repro\] must be a table"):
        resolve_options(tmp_path)


def test_fractional_timeouts_are_fine_and_the_command_line_is_named(tmp_path):
    write_pyproject(tmp_path, "timeout = 2.5")
    assert resolve_options(tmp_path).execute.timeout == 2.5
    assert resolve_options(tmp_path, timeout=0.5).execute.timeout == 0.5
    with pytest.raises(InputError, match=r"^--kernel must be a kernel name"):
        resolve_options(tmp_path, kernel="")
    for text in ("inf", "nan", "-1", "0"):
        with pytest.raises(InputError, match="must be a finite number > 0"):
            parse_positive_float(text)


def test_a_bad_mask_on_the_command_line_names_its_source(tmp_path):
    with pytest.raises(InputError, match=r"^--mask: invalid mask '\[' "):
        resolve_options(tmp_path, masks=["["])


def test_text_values():
    assert parse_non_negative_float("0") == 0.0
    assert parse_positive_float("2.5") == 2.5
    assert parse_seed("42") == 42
    assert parse_positive_int("3") == 3
    assert parse_shard("2/4") == (2, 4)
    for parse, text in [(parse_non_negative_float, "-1"), (parse_non_negative_float, "nan"),
                        (parse_non_negative_float, "x"), (parse_positive_float, "0"),
                        (parse_seed, "-1"), (parse_positive_int, "0"),
                        (parse_shard, "5/4"), (parse_shard, "1-4")]:
        with pytest.raises(InputError):
            parse(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_text_parsers_give_a_value_or_one_line(text):
    for parse in (parse_non_negative_float, parse_positive_float, parse_seed,
                  parse_positive_int, parse_shard):
        try:
            parse(text)
        except InputError as exc:
            assert "\n" not in str(exc)


# --------------------------------------------------------------------------- sanitize files


def write(tmp_path, content):
    path = tmp_path / "sanitize.cfg"
    path.write_text(textwrap.dedent(content))
    return path


def test_read_sanitize_file(tmp_path):
    path = write(tmp_path, r"""
        [regex1]
        regex: \d{1,2}/\d{1,2}/\d{2,4}
        replace: DATE-STAMP

        [regex2]
        regex: \d{2}:\d{2}:\d{2}
        replace: TIME-STAMP

        [percent]
        regex = 100%
        """)
    masks = [(regex, replacement) for regex, replacement, _ in read_sanitize_file(path)]
    assert masks == [
        (r"\d{1,2}/\d{1,2}/\d{2,4}", "DATE-STAMP"),
        (r"\d{2}:\d{2}:\d{2}", "TIME-STAMP"),
        ("100%", ""),
    ]
    compare = resolve_options(tmp_path, sanitize=[path]).compare
    assert compare.masks == tuple(masks)
    assert normalize_text("on 1/2/2024 at 12:00:01, 100% done", compare) == "on DATE-STAMP at TIME-STAMP,  done"


def test_a_sanitize_section_without_regex_is_an_error(tmp_path):
    path = write(tmp_path, """
        [ok]
        regex: a
        [broken]
        replace: b
        """)
    with pytest.raises(InputError, match=r"\[broken\]") as info:
        read_sanitize_file(path)
    assert "\n" not in str(info.value)


def test_an_invalid_sanitize_regex_is_an_error_naming_its_section(tmp_path):
    path = write(tmp_path, """
        [bad]
        regex: (unclosed
        """)
    with pytest.raises(InputError, match=r"\(unclosed") as info:
        resolve_options(tmp_path, sanitize=[path])
    assert "[bad]" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("content", ["regex: a\n", b"\xff\xfe[x]\n"])
def test_a_sanitize_file_that_is_not_ini_is_an_error(tmp_path, content):
    path = tmp_path / "sanitize.cfg"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(InputError) as info:
        read_sanitize_file(path)
    assert "\n" not in str(info.value)


def test_a_missing_sanitize_file_is_an_error(tmp_path):
    with pytest.raises(InputError, match="cannot read sanitize file"):
        read_sanitize_file(tmp_path / "nope.cfg")


def test_mime_subset_from_the_table_and_the_keyword(tmp_path):
    write_pyproject(tmp_path, "mime_subset = true")
    assert resolve_options(tmp_path).compare.mime_subset is True
    assert resolve_options(tmp_path, mime_subset=False).compare.mime_subset is False
    write_pyproject(tmp_path, "")
    assert resolve_options(tmp_path).compare.mime_subset is False
    assert resolve_options(tmp_path, mime_subset=True).compare.mime_subset is True


@pytest.mark.parametrize(("kwargs", "table", "message"), [
    ({}, "mime_subset = 'yes'", "[tool.repro] mime_subset must be true or false, not 'yes'"),
    ({"mime_subset": 1}, "", "mime_subset must be true or false, not 1"),
    ({"isolate": "yes"}, "", "isolate must be true or false, not 'yes'"),
])
def test_bad_flags_are_one_line_errors(tmp_path, kwargs, table, message):
    write_pyproject(tmp_path, table)
    with pytest.raises(InputError) as info:
        resolve_options(tmp_path, **kwargs)
    assert str(info.value).endswith(message) and "\n" not in str(info.value)


def test_isolate_is_an_execute_option(tmp_path):
    write_pyproject(tmp_path, "")
    assert resolve_options(tmp_path).execute.isolate is False
    assert resolve_options(tmp_path, isolate=True).execute.isolate is True


def test_the_command_line_passes_the_new_flags(tmp_path, monkeypatch):
    from repro.cli import _options, build_parser

    monkeypatch.chdir(tmp_path)
    write_pyproject(tmp_path, "mime_subset = true")
    args = build_parser().parse_args(["verify", "--isolate", "nb.ipynb"])
    resolved = _options(args)
    assert resolved.execute.isolate is True and resolved.compare.mime_subset is True  # the table's
    args = build_parser().parse_args(["diff", "--mime-subset", "a.ipynb", "b.ipynb"])
    assert _options(args).compare.mime_subset is True
    assert build_parser().parse_args(["verify", "nb.ipynb"]).mime_subset is None
    # record too: a file a recording run writes would otherwise stay for every later run.
    assert _options(build_parser().parse_args(["record", "--isolate", "nb.ipynb"])).execute.isolate is True


# --------------------------------------------------------------------------- one table, every face

POSITIONAL = {"verify": ["nb.ipynb"], "record": ["nb.ipynb"], "diff": ["a.ipynb", "b.ipynb"]}


class PytestParser:
    """Records what the plugin declares: pytest's Parser and OptionGroup, as far as add_options uses them."""

    def __init__(self):
        self.options: dict[str, dict] = {}
        self.ini: dict[str, tuple] = {}

    def getgroup(self, name, description=""):
        return self

    def addoption(self, *flags, **kwargs):
        self.options[flags[0]] = kwargs

    def addini(self, name, help, type=None):
        self.ini[name] = (help, type)


def wide_help(command: str, table: tuple[Setting, ...]) -> str:
    """--help of *command*'s options, one line each (argparse wraps and hyphenates at the terminal's width)."""
    import argparse

    from repro.cli import add_settings

    parser = argparse.ArgumentParser(formatter_class=lambda prog: argparse.HelpFormatter(prog, width=10_000))
    add_settings(parser, command, table)
    return parser.format_help()


def expected(setting: Setting):
    return list(setting.unset) if setting.repeat else setting.unset


def test_the_faces_are_those_they_always_were():
    # The table reproduces what was written out by hand before it, face by face.
    assert toml_keys() == options.KEYS == {"rtol", "atol", "image_tolerance", "masks", "sanitize", "timeout", "kernel",
                                           "mime_subset", "allow_unverified", "progress_bars", "recorded_order", "max_output"}
    assert set(keywords()) == {"rtol", "atol", "image_tolerance", "masks", "sanitize", "kernel", "current_python",
                               "timeout", "seed", "jobs", "mime_subset", "progress_bars", "isolate", "trace_state",
                               "trace_max_bytes", "allow_unverified", "recorded_order", "max_output", "sequential"}
    recorded = PytestParser()
    from repro.pytest_plugin import add_options

    add_options(recorded, SETTINGS)
    assert set(recorded.options) == {"--repro", "--repro-rtol", "--repro-atol", "--repro-timeout", "--repro-kernel",
                                     "--repro-seed", "--repro-runs", "--repro-mime-subset", "--repro-no-progress-bars",
                                     "--repro-isolate", "--repro-allow-unverified", "--repro-recorded-order",
                                     "--repro-max-output"}
    assert recorded.ini == {"repro_rtol": ("repro: relative tolerance for numbers in text outputs", None),
                            "repro_atol": ("repro: absolute tolerance for numbers in text outputs", None),
                            "repro_timeout": ("repro: time limit per cell, seconds", None),
                            "repro_kernel": ("repro: kernel to run (default: each notebook's kernelspec)", None),
                            "repro_masks": ("repro: regexes to mask in outputs before comparing, one a line",
                                            "linelist")}


@pytest.mark.parametrize("command", sorted(POSITIONAL))
def test_each_command_has_the_settings_that_name_it_with_their_defaults(command):
    from repro.cli import build_parser

    parsed = vars(build_parser().parse_args([command, *POSITIONAL[command]]))
    help_text = wide_help(command, SETTINGS)
    for setting in SETTINGS:
        if command in setting.commands:
            assert parsed[setting.name] == expected(setting), setting.name
            assert setting.option in help_text and setting.help in help_text, setting.name
        else:
            assert setting.name not in parsed and setting.option not in help_text, setting.name


def test_the_pytest_options_and_the_keywords_have_the_same_defaults():
    from repro.pytest_plugin import add_options

    recorded = PytestParser()
    add_options(recorded, SETTINGS)
    parameters = inspect.signature(resolve_options).parameters
    for setting in SETTINGS:
        if setting.pytest is not None:
            option = recorded.options[setting.pytest_option]
            assert (option["dest"], option["default"], option["help"]) == (
                setting.pytest_name, setting.unset, setting.pytest)
        if setting.ini is not None:
            assert recorded.ini[setting.pytest_name][0] == setting.ini
        if setting.field is not None:
            assert parameters[setting.name].kind is inspect.Parameter.KEYWORD_ONLY
            assert parameters[setting.name].default == setting.unset


def test_every_face_left_alone_gives_the_tables_defaults(tmp_path, monkeypatch):
    from repro.cli import build_parser

    monkeypatch.setattr(options, "find_pyproject", lambda start: None)
    resolved = resolve_options(tmp_path)
    for setting in SETTINGS:
        if setting.field is not None and not setting.repeat:
            value = resolved
            for part in setting.field.split("."):
                value = getattr(value, part)
            assert value == setting.default, setting.name
    for command, positional in POSITIONAL.items():
        args = build_parser().parse_args([command, *positional])
        assert resolve_options(tmp_path, **from_args(args)) == resolved


def test_a_setting_added_to_the_table_appears_on_every_face(capsys):
    from repro.cli import build_parser
    from repro.pytest_plugin import add_options

    depth = Setting("colour_depth", "bits per channel to compare", parse_positive_int, 8, commands=("verify", "diff"),
                    metavar="BITS", group="comparison", pytest="bits per channel", ini="repro: bits per channel",
                    toml=True, field="compare.colour_depth")
    table = (*SETTINGS, depth)
    parser = build_parser(table)
    assert parser.parse_args(["diff", "a.ipynb", "b.ipynb", "--colour-depth", "4"]).colour_depth == 4
    assert parser.parse_args(["verify", "nb.ipynb"]).colour_depth is None  # unset: [tool.repro] may give it
    assert from_args(parser.parse_args(["verify", "nb.ipynb", "--colour-depth", "3"]), table)["colour_depth"] == 3
    comparison = wide_help("verify", table).split("comparison:")[1]
    assert re.search(r"\n +--colour-depth BITS +bits per channel to compare\n", comparison)
    with pytest.raises(SystemExit):  # record does not take it
        parser.parse_args(["record", "nb.ipynb", "--colour-depth", "4"])
    assert "unrecognized arguments: --colour-depth" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # its text is parsed by its parser, in argparse's one line
        parser.parse_args(["verify", "nb.ipynb", "--colour-depth", "0"])
    assert "verify: error: argument --colour-depth: must be at least 1\n" in capsys.readouterr().err
    recorded = PytestParser()
    add_options(recorded, table)
    assert recorded.options["--repro-colour-depth"] == {"dest": "repro_colour_depth", "default": None,
                                                        "help": "bits per channel", "metavar": "BITS"}
    assert recorded.ini["repro_colour_depth"] == ("repro: bits per channel", None)
    assert "colour_depth" in toml_keys(table) and "colour_depth" not in toml_keys()
    parameter = options.signature(table).parameters["colour_depth"]
    assert (parameter.kind, parameter.default) == (inspect.Parameter.KEYWORD_ONLY, None)
    assert keywords(table)["colour_depth"] is None


def test_an_unknown_keyword_is_a_type_error(tmp_path):
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        resolve_options(tmp_path, colour=True)
