"""repro.notebook.options: options from [tool.repro] plus overrides and sanitize files, with one-line errors."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repro.notebook import options
from repro.notebook.compare import CompareOptions, normalize_text
from repro.notebook.errors import InputError
from repro.notebook.options import ExecuteOptions, Options, read_sanitize_file, resolve_options


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
            options.parse_positive_float(text)


def test_a_bad_mask_on_the_command_line_names_its_source(tmp_path):
    with pytest.raises(InputError, match=r"^--mask: invalid mask '\[' "):
        resolve_options(tmp_path, masks=["["])


def test_text_values():
    assert options.parse_non_negative_float("0") == 0.0
    assert options.parse_positive_float("2.5") == 2.5
    assert options.parse_seed("42") == 42
    assert options.parse_positive_int("3") == 3
    assert options.parse_shard("2/4") == (2, 4)
    for parse, text in [(options.parse_non_negative_float, "-1"), (options.parse_non_negative_float, "nan"),
                        (options.parse_non_negative_float, "x"), (options.parse_positive_float, "0"),
                        (options.parse_seed, "-1"), (options.parse_positive_int, "0"),
                        (options.parse_shard, "5/4"), (options.parse_shard, "1-4")]:
        with pytest.raises(InputError):
            parse(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_text_parsers_give_a_value_or_one_line(text):
    for parse in (options.parse_non_negative_float, options.parse_positive_float, options.parse_seed,
                  options.parse_positive_int, options.parse_shard):
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
    with pytest.raises(SystemExit):
        build_parser().parse_args(["record", "--isolate", "nb.ipynb"])
