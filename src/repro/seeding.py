"""Seed derivation, the seed modes and the seed checks (both sides).

Every seed repro hands to a library is an integer in ``[0, 2**32)``: the
widest range that every supported library accepts (NumPy's legacy generator
refuses anything larger), so the same value reaches each library unchanged.
Seeds for cells are derived from the session seed and the cell's code (its
tokens, see :func:`source_digest`) with BLAKE2b, never with Python's ``hash()``, whose value for strings
changes from one process to the next.
"""

from __future__ import annotations

import functools
import hashlib
import keyword
import os
import re
import sys
import tokenize
from enum import Enum

SEED_LIMIT = 2**32
#: Session seed used by ``%%deterministic`` when ``%seed`` is off.
DEFAULT_BASE_SEED = 0


class SeedMode(str, Enum):
    """What ``%seed`` has switched on; its value is what a cell's record says (``seed_mode``)."""

    OFF = "off"  # generators left alone
    PER_CELL = "per-cell"  # %seed N: re-seeded before every cell from N and the cell's code
    ONCE = "once"  # %seed N --once: seeded with N, not re-seeded

    def __str__(self) -> str:
        return self.value


def hash_seed_fixed(environ=os.environ) -> bool:
    """Whether this process was started with a fixed PYTHONHASHSEED."""
    return environ.get("PYTHONHASHSEED", "random").strip().isdigit()


def check_hash_seed(value: object) -> str:
    """Return *value* as a PYTHONHASHSEED value (0 to 2**32 - 1), or raise ValueError."""
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or int(text) >= SEED_LIMIT:
        raise ValueError(f"PYTHONHASHSEED must be an integer from 0 to {SEED_LIMIT - 1}, got {text!r}")
    return str(int(text))


def check_seed(value: object) -> int:
    """Return *value* as a seed, or raise ValueError saying what is wrong with it (in one short line).

    Only the ASCII digits 0-9 make a seed (with a "-" only to say that it is
    negative): not "1_000", "+5" or "\u0663", which ``int()`` would take.
    """
    text = str(value).strip()
    shown = text if len(text) <= 24 else f"{text[:20]}... ({len(text)} characters)"
    if not _SEED_TEXT.fullmatch(text):
        raise ValueError(f"seed must be an integer written with the digits 0-9, got {shown!r}")
    # More than 10 significant digits is out of range: never convert a huge number.
    if len(text.lstrip("-").lstrip("0")) > 10 or not 0 <= int(text) < SEED_LIMIT:
        raise ValueError(f"seed must be between 0 and {SEED_LIMIT - 1}, got {shown}")
    return int(text)


_SEED_TEXT = re.compile(r"-?[0-9]+")


# Line breaks other than "\n", or blanks at a line's end: the source needs per-line work.
_NEEDS_LINE_WORK = re.compile("[\r\f\v\x1c\x1d\x1e\x85\u2028\u2029]|[ \t]\n")


def normalize_source(source: str) -> str:
    """Cell source as text: line endings unified, trailing blanks of lines and
    blank lines at both ends dropped. What :func:`source_digest` hashes when the
    cell is not Python it can tokenize."""
    # Runs before every cell: most sources need no per-line work.
    if _NEEDS_LINE_WORK.search(source):
        source = "\n".join([line.rstrip() for line in source.splitlines()])
    return source.rstrip().strip("\n")


def _digest(*parts: object, size: int) -> bytes:
    text = "\x1f".join(map(str, parts))
    # "surrogatepass": a lone surrogate (JSON can carry one) gets a digest too; UTF-8 otherwise.
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=size).digest()


#: Cell magics that run their body once, as a plain cell, and only watch it: their
#: header line is left out of the digest, so wrapping a cell in one keeps its seed.
OBSERVING_CELL_MAGICS = frozenset({"time", "capture"})
#: Cell magics whose body is Python but which change how it runs: the header counts
#: (as its text) and the body by its tokens.
PYTHON_CELL_MAGICS = frozenset({"timeit", "deterministic"})
#: Digests kept for sources seen before: a re-run cell costs one lookup.
DIGEST_CACHE_SIZE = 1024


def source_digest(source: str) -> str:
    """Short stable digest of a cell's code (16 hex digits), the same for the same tokens.

    Python code counts by its tokens (:mod:`tokenize`): comments, blank lines,
    trailing blanks, the spaces between tokens and the width of indentation do
    not count; every name, number, operator and string literal (exactly as
    written), and the block structure (line ends, indents, dedents) do. IPython
    syntax is read as text, without IPython:

    - a line magic or shell line (a logical line starting with ``%`` or ``!``,
      with its backslash continuations) counts as its stripped text;
    - a cell magic header (``%%name args``, the first non-blank line) of a magic
      that only watches its body, ``%%time`` and ``%%capture`` (any arguments),
      is left out: the cell keeps the seed it had without it;
    - ``%%timeit`` (runs the body many times) and ``%%deterministic`` (changes
      how it runs, maybe the seed) count with their header text, the body by its tokens;
    - any other cell magic (``%%bash``, ``%%writefile``, ``%%html``...) has a body
      that is not Python: the cell counts as its :func:`normalize_source` text.

    A cell that does not tokenize (incomplete code, a bad indent, other syntax)
    counts as its :func:`normalize_source` text too, so every source has a digest.
    Token types and strings do not depend on the Python version (f-strings count
    as one token, as before Python 3.12), and the result is cached per source.
    """
    return _cached_source_digest(source)


@functools.lru_cache(maxsize=DIGEST_CACHE_SIZE)
def _cached_source_digest(source: str) -> str:
    canonical = _fast_code(source)
    if canonical is None:
        canonical = _canonical_code(source)
    if canonical is None:
        return _digest(normalize_source(source), size=8).hex()
    return _digest("tokens", canonical, size=8).hex()


def _canonical_code(source: str) -> str | None:
    """The tokens of a cell as one string (see :func:`source_digest`), or None to hash its text."""
    if "\r" in source:
        source = source.replace("\r\n", "\n").replace("\r", "\n")
    lines = source.split("\n")
    header = ""
    while True:  # cell magic headers, outermost first
        first = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
        text = lines[first].strip() if first < len(lines) else ""
        if not text.startswith("%%"):
            break
        name = text[2:].split(maxsplit=1)[0] if text[2:].strip() else ""
        if name in OBSERVING_CELL_MAGICS:
            lines = lines[first + 1:]
        elif name in PYTHON_CELL_MAGICS:
            header += _part("%", text)
            lines = lines[first + 1:]
        else:
            return None
    tokens = _code_tokens(lines)
    return None if tokens is None else header + tokens


def _part(kind: str, text: str) -> str:
    # Length-prefixed, so that no two token sequences join to the same string.
    return f"{kind}{len(text)}:{text}"


def _code_tokens(lines: list[str]) -> str | None:
    """Python code with IPython line magics as canonical tokens, or None if it does not tokenize."""
    magics = _magic_lines(lines)
    while True:
        result = _tokens(lines, magics)
        if result is None:
            if not magics:
                return None
            # A placeholder may have cut a bracket short (a continued line starting
            # with "%"): read every line as code.
            magics = {}
            continue
        tokens, misplaced = result
        if not misplaced:
            return tokens
        # A "magic" inside a string or a bracket is code after all: read it again as such.
        for number in misplaced:
            del magics[number]


def _magic_lines(lines: list[str]) -> dict[int, tuple[str, int]]:
    """Lines that may be line magics or shell lines: {first line number: (text, last line number)}."""
    magics = {}
    number = 0
    while number < len(lines):
        line = lines[number]
        number += 1
        if line.lstrip()[:1] in ("%", "!"):
            first, parts = number, [line.strip()]
            while parts[-1].endswith("\\") and number < len(lines):  # IPython joins continued lines
                parts.append(lines[number].strip())
                number += 1
            magics[first] = ("\n".join(parts), number)
    return magics


# Not Python operators, although tokenize takes them as such from Python 3.12 on.
_NOT_OPERATORS = frozenset({"!", "$", "?", "`"})
_SKIPPED = frozenset({tokenize.COMMENT, tokenize.NL, tokenize.ENDMARKER})
_STRUCTURE = {tokenize.NEWLINE: ";", tokenize.INDENT: ">", tokenize.DEDENT: "<"}
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)


def _tokens(lines: list[str], magics: dict[int, tuple[str, int]]) -> tuple[str, set[int]] | None:
    """Tokenize *lines* with each of *magics* replaced by a placeholder statement.

    Return the canonical tokens and the magic lines whose placeholder was not a
    statement of its own, or None if the code does not tokenize.
    """
    code = list(lines)
    indents = {}
    for first, (_, last) in magics.items():
        line = code[first - 1]
        indents[first] = len(line) - len(line.lstrip())
        code[first - 1] = line[: indents[first]] + "pass"
        code[first:last] = [""] * (last - first)
    parts: list[str] = []
    placed: set[int] = set()
    statement_start = True
    fstring_depth, fstring_from = 0, (0, 0)
    readline = iter([f"{line}\n" for line in code]).__next__
    try:
        for kind, string, start, end, _ in tokenize.generate_tokens(readline):
            if fstring_depth:  # Python 3.12+: one f-string is many tokens; count it as one
                fstring_depth += (kind == _FSTRING_START) - (kind == _FSTRING_END)
                if not fstring_depth:
                    parts.append(_part("t", _slice(code, fstring_from, end)))
                continue
            if kind in _SKIPPED:
                continue
            if kind in _STRUCTURE:
                parts.append(_STRUCTURE[kind])
                statement_start = True
                continue
            if kind == tokenize.ERRORTOKEN or (kind == tokenize.OP and string in _NOT_OPERATORS):
                return None
            if kind == _FSTRING_START:
                fstring_depth, fstring_from = 1, start
            elif statement_start and start[0] in magics and start[1] == indents[start[0]] and string == "pass":
                placed.add(start[0])
                parts.append(_part("%", magics[start[0]][0]))
            else:
                parts.append(_part("t", string))
            statement_start = False
    except (tokenize.TokenError, SyntaxError, ValueError, SystemError):  # SystemError: a NUL byte, Python 3.12+
        return None
    return "".join(parts), set(magics) - placed


def _slice(lines: list[str], start: tuple[int, int], end: tuple[int, int]) -> str:
    """The source text from *start* to *end*, tokenize's (line, column) positions."""
    (first, column), (last, end_column) = start, end
    if first == last:
        return lines[first - 1][column:end_column]
    return "\n".join([lines[first - 1][column:], *lines[first:last - 1], lines[last - 1][:end_column]])


# -- the same tokens without tokenize, for the code most cells hold -----------------------


def _string_pattern(q: str) -> str:
    """A string literal in quotes *q*, as tokenize reads it (a triple-quoted one may span lines)."""
    return (rf"{q * 3}[^{q}\\]*(?:(?:\\[\s\S]|{q}(?!{q}{q}))[^{q}\\]*)*{q * 3}"
            rf"|(?!{q * 3}){q}[^{q}\\\n]*(?:\\.[^{q}\\\n]*)*{q}")


# String prefixes whose literal is one token to tokenize (from Python 3.12 an f-string is many).
_STRING_PREFIXES = frozenset({"", "b", "r", "u", "br", "rb"} | ({"f", "fr", "rf"} if sys.version_info < (3, 12) else set()))
_OPENING = frozenset("([{")
_CLOSING = {")": "(", "]": "[", "}": "{"}
# Python's operators (tokenize.EXACT_TOKEN_TYPES but "!"), longest first. Not "<>": from
# Python 3.12 tokenize reads it as one operator.
_OPERATOR = r"(?!<>)(?:\*\*=?|//=?|>>=?|<<=?|\.\.\.|->|[-+*/%&|^@<>=!:]=|[-+*/%&|^@<>=:,;~()\[\]{}]|\.(?![0-9]))"
# One token and the blanks before it: (blanks, name, operator, line end with the blank and comment
# lines after it, number, string, its prefix, anything else); a comment matches no group. What
# tokenize may read otherwise (".5" is a number, "1if" two tokens, a backslash continues a
# line, a name may go beyond ASCII) falls to "anything else", and the cell to tokenize.
_FAST_TOKEN = re.compile(
    r"([ \t]*)(?:([A-Za-z_][A-Za-z0-9_]*)(?![A-Za-z0-9_'\"])"
    rf"|({_OPERATOR})"
    r"|(\n(?:[ \t]*(?:#[^\n]*)?\n)*)"
    r"|((?:0|[1-9](?:_?[0-9])*)(?:\.(?:[0-9](?:_?[0-9])*)?)?(?:[eE][+-]?[0-9](?:_?[0-9])*)?[jJ]?)(?![\w.])"
    rf"|(([A-Za-z]{{0,2}})(?:{_string_pattern(chr(39))}|{_string_pattern(chr(34))}))"
    r"|#[^\n]*|(.))"
)
_MAGIC_LINE = re.compile(r"^\s*[%!]", re.MULTILINE)
_SURROGATE = re.compile("[\ud800-\udfff]")  # Python 3.12+ does not tokenize one


def _fast_code(source: str) -> str | None:
    """What :func:`_canonical_code` gives, without :mod:`tokenize`, for plain Python (no IPython
    syntax, no tabs in indentation, ASCII names); None for any other source."""
    if "\r" in source:
        source = source.replace("\r\n", "\n").replace("\r", "\n")
    if "\0" in source or (("%" in source or "!" in source) and _MAGIC_LINE.search(source)) or (
            not source.isascii() and _SURROGATE.search(source)):
        return None
    parts: list[str] = []
    indents, brackets = [0], []
    line_start = True  # before the first token of a logical line
    # findall skips nothing: at any place one of the alternatives matches.
    for blanks, name, operator, line_end, number, string, prefix, other in _FAST_TOKEN.findall(source + "\n"):
        text = name or operator or number or string
        if not text:
            if other:
                return None
            if line_end and not (brackets or line_start):
                parts.append(";")
                line_start = True
            continue  # a comment, or a line end inside brackets or after no code
        if line_start:  # its indentation opens or closes blocks
            line_start = False
            width = len(blanks)
            if "\t" in blanks or len(indents) > 90:
                return None
            if width > indents[-1]:
                indents.append(width)
                parts.append(">")
            while width < indents[-1]:
                indents.pop()
                parts.append("<")
            if width != indents[-1]:
                return None
        if operator:
            if operator in _OPENING:
                brackets.append(operator)
                if len(brackets) > 150:
                    return None
            elif operator in _CLOSING and (not brackets or brackets.pop() != _CLOSING[operator]):
                return None
        elif string and prefix.lower() not in _STRING_PREFIXES:
            return None
        parts.append(f"t{len(text)}:{text}")
    if brackets:
        return None
    parts.append("<" * (len(indents) - 1))
    return "".join(parts)


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEYWORDS = frozenset(keyword.kwlist)


def scanned_names(code: str) -> frozenset[str] | None:
    """The names plain Python *code* mentions, read by :func:`_fast_code`'s scanner: every name
    token but keywords and attribute names (after a dot), and every identifier in the text of
    an f-string. A superset of the names its syntax tree holds (keyword-argument and parameter
    names too); None for code the scanner does not read, or whose brackets do not match."""
    names: list[str] = []
    depth = 0
    after_dot = False
    for _, name, operator, _, _, string, prefix, other in _FAST_TOKEN.findall(code + "\n"):
        if other:
            return None
        if name and not after_dot:
            names.append(name)
        elif operator in _OPENING:
            depth += 1
        elif operator in _CLOSING:
            depth -= 1
            if depth < 0:
                return None
        elif string and "f" in prefix.lower():
            names += _IDENTIFIER.findall(string, len(prefix))
        after_dot = operator == "."
    return None if depth else frozenset(names).difference(_KEYWORDS)


def derive_seed(base_seed: int, *parts: object) -> int:
    """A seed in ``[0, 2**32)`` derived from *base_seed* and *parts* by a stable hash."""
    return int.from_bytes(_digest(base_seed, *parts, size=4), "big")


def derive_cell_seed(base_seed: int, source: str) -> int:
    """The seed a cell with this source gets under session seed *base_seed*."""
    return cell_seed(base_seed, source_digest(source))


@functools.lru_cache(maxsize=DIGEST_CACHE_SIZE)
def cell_seed(base_seed: int, digest: str) -> int:
    """The seed of a cell with this :func:`source_digest` under session seed *base_seed* (cached)."""
    # derive_seed(base_seed, "cell", digest), without its generic joining: once per new cell.
    text = f"{base_seed}\x1fcell\x1f{digest}".encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(text, digest_size=4).digest(), "big")


def derive_bits(seed: int, counter: int | str, bits: int) -> int:
    """*bits* bits of entropy derived from a cell seed and a per-cell call counter."""
    size = max(1, (bits + 7) // 8)
    value = int.from_bytes(_digest(seed, "entropy", counter, size=size), "big")
    return value >> (size * 8 - bits) if bits else 0
