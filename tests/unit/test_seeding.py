from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from contextlib import nullcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repro import seeding
from repro.kernel.session import SeedState
from repro.seeding import (
    SEED_LIMIT,
    SeedMode,
    check_seed,
    derive_cell_seed,
    normalize_source,
    source_digest,
)


def test_cell_seeds_are_stable_across_processes_and_hash_seeds():
    source = 'x = {"a", "b"}'
    code = f"from repro.seeding import derive_cell_seed; print(derive_cell_seed(42, {source!r}))"
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True,
            env={**os.environ, "PYTHONHASHSEED": hs},
        ).stdout
        for hs in ("0", "1", "random")
    }
    assert outputs == {f"{derive_cell_seed(42, source)}\n"}


def test_cell_seeds_fit_every_library_and_differ_by_seed_and_source():
    seeds = {derive_cell_seed(base, f"x = {i}") for base in (0, 1) for i in range(200)}
    assert len(seeds) == 400
    assert all(0 <= s < SEED_LIMIT for s in seeds)


def test_whitespace_and_line_endings_do_not_change_the_seed():
    assert derive_cell_seed(1, "x = 1\r\ny = 2  \n\n") == derive_cell_seed(1, "x = 1\ny = 2")
    assert normalize_source("\n\nx = 1   \n\n") == "x = 1"
    assert source_digest("a\r\nb") == source_digest("a\nb") != source_digest("a\nc")
    assert source_digest("a\rb") == source_digest("a\nb")


CELL = """import numpy as np
x = np.random.rand(3)
if x.sum() > 1:
    y = f"{x[0]:.3f} and {x!r}"
    print(y, 'two  spaces')
"""

SAME_CODE = [
    "# a note first\n" + CELL,
    CELL.replace("x = np", "x=np").replace("> 1", ">1"),  # spaces between tokens
    CELL.replace("\n", "   \n"),  # trailing blanks
    CELL.replace("if x", "\n\n# why\n\nif x"),  # blank and comment lines
    CELL.replace("(3)", "(3)  # three"),  # a trailing comment
    CELL.replace("    ", "  "),  # indented by two spaces instead of four
    CELL.replace("(3)", "(\n    3,\n)").replace("3,", "3"),  # a bracket over several lines
    "\n\n" + CELL + "\n\n\n",
]


@pytest.mark.parametrize("variant", SAME_CODE)
def test_comments_blank_lines_and_spacing_do_not_change_the_digest(variant):
    assert source_digest(variant) == source_digest(CELL)


CHANGED_CODE = [
    CELL.replace("rand(3)", "rand(4)"),  # a number
    CELL.replace("y = f", "z = f").replace("print(y", "print(z"),  # a name
    CELL.replace("two  spaces", "two spaces"),  # inside a string literal
    CELL.replace("'two  spaces'", '"two  spaces"'),  # the quotes of a string
    CELL.replace(":.3f", ":.4f"),  # inside an f-string
    CELL.replace("    print", "print"),  # the block structure
    CELL.replace("> 1", ">= 1"),  # an operator
]


@pytest.mark.parametrize("variant", CHANGED_CODE)
def test_any_change_of_a_token_changes_the_digest(variant):
    assert source_digest(variant) != source_digest(CELL)


def test_digests_do_not_depend_on_the_python_version():
    # Pinned values: tokenize's types and strings are the same from Python 3.10 on,
    # and an f-string counts as one token also where Python 3.12+ splits it.
    assert source_digest("x = 1") == "f14595befc04f947"
    assert source_digest("print(f'{x!r:>{width}} {y}')\nif x:\n    %time f()\n!ls -la") == "e81898e353da117c"
    assert source_digest("%%time\nimport numpy as np\nprint(np.random.rand())") == "31e921bfe4127345"
    assert source_digest("x = (1") == "25ae5abd51d9fa32"
    assert source_digest("%%bash\necho hi") == "0bcf80e5d46efa55"


def _text_digest(source: str) -> str:
    """The digest of a source by its normalised text, as before digests followed tokens."""
    return hashlib.blake2b(normalize_source(source).encode(), digest_size=8).hexdigest()


@pytest.mark.parametrize("source", [
    "x = (1, 2",  # incomplete
    "if x:\n    y\n  z",  # a dedent to no level
    "s = 'unterminated",
    "files = !ls",  # IPython syntax tokenize cannot read
    "np.random.rand?",
    "a $ b",
])
def test_a_source_that_does_not_tokenize_counts_as_its_normalised_text(source):
    assert source_digest(source) == _text_digest(source) == source_digest(source + "   \n\n")


def test_line_magics_and_shell_lines_count_as_their_text():
    base = "%seed 42\nimport numpy as np\n!ls -la\nfor i in range(3):\n    %time f(i)\n"
    assert source_digest(base) == source_digest(base.replace("%seed", "  \n%seed") + "# done\n")
    assert source_digest(base) != source_digest(base.replace("%seed 42", "%seed 43"))
    assert source_digest(base) != source_digest(base.replace("-la", "-l"))
    assert source_digest(base) != source_digest(base.replace("    %time", "%time"))  # out of the loop
    assert source_digest("!echo a \\\n  b") != source_digest("!echo a \\\n  c")  # a continued line


def test_a_percent_line_inside_a_string_or_a_bracket_is_code():
    template = 's = """\n%d items\n"""'
    assert source_digest(template) != source_digest(template.replace("%d items", "%d things"))
    assert source_digest(template) == source_digest(template + "  # a comment")
    bracket = "x = (1\n     % 2)"
    assert source_digest(bracket) == source_digest("x = (1 % 2)") != source_digest("x = (1 % 3)")


@pytest.mark.parametrize("header", ["%%time", "%%capture", "%%capture captured --no-stderr", "  %%time", "%%time\n%%capture out"])
def test_observing_cell_magic_headers_are_left_out(header):
    body = "print(np.random.rand())"
    assert source_digest(f"{header}\n{body}") == source_digest(body) == source_digest(f"\n{header}\n# note\n{body}")
    assert source_digest(f"{header}\n{body}") != source_digest(f"{header}\nprint(np.random.rand(2))")


@pytest.mark.parametrize("header", ["%%timeit", "%%timeit -n 10", "%%deterministic", "%%deterministic --seed 3"])
def test_cell_magics_that_change_how_the_body_runs_count_with_their_header(header):
    body = "x = np.random.rand()"
    digest = source_digest(f"{header}\n{body}")
    assert digest != source_digest(body)
    assert digest == source_digest(f"{header}\n# note\n{body}   ")  # the body by its tokens
    assert digest != source_digest(f"{header} -r 2\n{body}")
    assert digest != source_digest(f"{header}\nx = np.random.rand(2)")


@pytest.mark.parametrize("cell", ["%%bash\necho hi # not a comment here", "%%writefile a.py\nx = 1  # kept", "%%html\n<b>hi</b>"])
def test_other_cell_magics_count_as_their_normalised_text(cell):
    assert source_digest(cell) == _text_digest(cell) == source_digest(cell.replace("\n", "  \r\n"))
    assert source_digest(cell) != source_digest(cell.replace("#", "##").replace("hi", "ho").replace("1", "2"))


def test_a_digest_is_computed_once_per_source():
    source = "x = 'cached'  # a source no other test uses"
    digest = source_digest(source)
    hits = seeding._cached_source_digest.cache_info().hits
    assert source_digest("".join(list(source))) == digest  # an equal string, not the same object
    assert seeding._cached_source_digest.cache_info().hits == hits + 1


# -- property: comments and blank lines never change a digest ------------------------------

_NAMES = st.sampled_from(["x", "y", "np", "total", "rng", "données"])
_ATOMS = st.one_of(
    _NAMES,
    st.integers(-10**6, 10**6).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\\'\r\n\x00"), max_size=8).map(
        lambda text: f"'{text}'"),
)
_EXPRESSIONS = st.recursive(_ATOMS, lambda inner: st.one_of(
    st.tuples(inner, st.sampled_from(["+", "*", "-", "%", "==", "and"]), inner).map(" ".join),
    st.tuples(_NAMES, st.lists(inner, max_size=3)).map(lambda t: f"{t[0]}({', '.join(t[1])})"),
), max_leaves=6)
_STATEMENTS = st.tuples(st.integers(0, 2), _NAMES, _EXPRESSIONS)
_COMMENT = st.text(st.characters(blacklist_categories=("Cs", "Zl", "Zp", "Cc")), max_size=12).map(lambda t: f"# {t}")


def _program(statements) -> list[str]:
    """Lines of code with blocks: a statement at depth d sits in d nested ``if`` blocks."""
    lines, depth = [], 0
    for level, name, expression in statements:
        while depth < level:
            lines.append("    " * depth + f"if {name}:")
            depth += 1
        depth = level
        lines.append("    " * depth + f"{name} = {expression}")
    return lines


@settings(max_examples=150, deadline=None)
@given(st.lists(_STATEMENTS, min_size=1, max_size=6), st.data())
def test_adding_comments_and_blank_lines_leaves_the_digest_unchanged(statements, data):
    lines = _program(statements)
    original = "\n".join(lines)
    noisy = []
    for line in lines:
        indent = line[: len(line) - len(line.lstrip())]
        for _ in range(data.draw(st.integers(0, 2))):
            noisy.append(data.draw(st.sampled_from(["", "   ", indent + data.draw(_COMMENT), data.draw(_COMMENT)])))
        noisy.append(line + data.draw(st.sampled_from(["", "  ", "  " + data.draw(_COMMENT)])))
    assert source_digest("\n".join(noisy)) == source_digest(original)


@settings(max_examples=100, deadline=None)
@given(st.lists(_STATEMENTS, min_size=1, max_size=6), st.integers(0, 5), st.integers(1, 10**6))
def test_changing_a_number_changes_the_digest(statements, index, offset):
    lines = _program(statements)
    index %= len(lines)
    changed = lines[index] + f" + {offset}"
    assert source_digest("\n".join(lines)) != source_digest("\n".join(lines[:index] + [changed] + lines[index + 1:]))


@pytest.mark.parametrize("text", ["0", "42", str(SEED_LIMIT - 1), " 7 "])
def test_check_seed_accepts(text):
    assert check_seed(text) == int(text)


@pytest.mark.parametrize("text", ["abc", "-1", str(SEED_LIMIT), "1.5", ""])
def test_check_seed_rejects_with_a_reason(text):
    with pytest.raises(ValueError, match="seed must be"):
        check_seed(text)


def test_entropy_depends_on_cell_seed_and_counter_only():
    a, b = SeedState(mode="per-cell", base=1), SeedState(mode="per-cell", base=1)
    a.start_cell(source_digest("x"))
    b.start_cell(source_digest("x"))
    first = [a.next_entropy(128) for _ in range(3)]
    assert first == [b.next_entropy(128) for _ in range(3)]
    assert len(set(first)) == 3 and all(0 <= v < 2**128 for v in first)
    a.start_cell(source_digest("x"))
    assert a.next_entropy(128) == first[0]  # the counter restarts with each cell


def test_off_mode_applies_no_seed():
    state = SeedState()
    assert state.start_cell(source_digest("x")) is None
    assert state.current is None


def test_seed_modes_are_the_strings_records_carry():
    assert [mode.value for mode in SeedMode] == ["off", "per-cell", "once"]
    assert SeedMode.PER_CELL == "per-cell" and f"{SeedMode.ONCE}" == "once" and str(SeedMode.OFF) == "off"
    assert json.dumps({"seed_mode": SeedMode.PER_CELL}) == '{"seed_mode": "per-cell"}'


def _fields(state: SeedState) -> tuple:
    return (state.mode, state.base, state.current, state.draws, state.forks, state.submitted, state.lineage)


@pytest.mark.parametrize("exc", [None, RuntimeError("boom"), KeyboardInterrupt()])
def test_reseeded_restores_every_field_also_on_exceptions_and_ctrl_c(exc):
    state = SeedState(mode=SeedMode.PER_CELL, base=7, current=11, draws=2, forks=1, submitted=3, lineage="/1")
    before = _fields(state)
    with pytest.raises(type(exc)) if exc is not None else nullcontext():
        with state.reseeded(99):
            assert (state.current, state.draws, state.forks, state.submitted, state.lineage) == (99, 0, 0, 0, "")
            state.next_entropy(32)
            state.switch(SeedMode.ONCE, 5)  # a %seed inside lasts as long as the block
            if exc is not None:
                raise exc
    assert _fields(state) == before


def test_reseeded_with_shared_counters_counts_with_the_code_around_it():
    state = SeedState(mode=SeedMode.PER_CELL, base=7, current=11, draws=2)
    with state.reseeded(99, own_counters=False):
        assert state.draws == 2
        state.next_entropy(32)
    assert (state.current, state.draws) == (11, 3)
