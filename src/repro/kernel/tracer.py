"""Which variables a cell changed, and their digests: what the recorder asks around each cell
while tracing is on (the digests themselves: :mod:`repro.kernel.state`)."""

from __future__ import annotations

import ast
from functools import lru_cache
from typing import Any, Callable, Iterable, Mapping

from repro.kernel.state import TOO_BIG, Limits, digest_value_or_error, is_digestible, is_traced_name
from repro.seeding import scanned_names


@lru_cache(maxsize=512)
def names_in_code(code: str) -> frozenset[str]:
    """Every name the code assigns or reads (a value read may have been changed in place),
    maybe a few more (keyword-argument and parameter names); empty when it does not parse.

    Plain Python is read by the source digest's scanner, in a fraction of a syntax tree's
    time; anything else (tabs, backslash continuations, names beyond ASCII) by the tree."""
    names = scanned_names(code)
    if names is not None:
        return names
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return frozenset()
    # The ids of the ast.Name nodes, as ast.walk would find them, in a third of its time.
    names = set()
    stack: list = [tree]
    pop, push, extend, name_type, node_type = stack.pop, stack.append, stack.extend, ast.Name, ast.AST
    while stack:
        node = pop()
        if type(node) is name_type:
            names.add(node.id)
        elif isinstance(node, node_type):  # lists hold nodes, or names as strings (global x)
            for field in node._fields:
                value = getattr(node, field, None)
                if type(value) is list:
                    extend(value)
                elif isinstance(value, node_type):
                    push(value)
    return frozenset(names)


def snapshot(namespace: Mapping[str, Any], names: Iterable[str] | None = None) -> dict[str, int]:
    """The identity of every user variable's object, before a cell (*names*: the user's
    names in *namespace*, if known, see :class:`UserNames`)."""
    if names is not None:
        return {name: id(namespace[name]) for name in names}
    return {name: id(value) for name, value in namespace.items() if is_traced_name(name)}


def touched_names(namespace: Mapping[str, Any], before: Mapping[str, int], code_names: Iterable[str],
                  names: Iterable[str] | None = None) -> list[str]:
    """The user variables a cell may have changed: named in its code, new, or bound to
    another object than before it; sorted (*names* as for :func:`snapshot`)."""
    touched = {name for name in code_names if name in namespace}
    if names is not None:
        touched.update(name for name in names if before.get(name) != id(namespace[name]))
    else:
        touched.update(name for name, value in namespace.items() if before.get(name) != id(value))
    return sorted(name for name in touched if is_traced_name(name))


class UserNames:
    """The user's names in a namespace (see :func:`is_traced_name`), kept up to date with one
    pass in C over its keys: IPython adds names of its own (``_i12``...) after every cell,
    thousands in a long notebook, and only the new ones at the end are looked at."""

    def __init__(self, namespace: Mapping[str, Any]) -> None:
        self.namespace = namespace
        self._keys: list[str] = []
        self._names: list[str] = []

    def __call__(self) -> list[str]:
        keys = list(self.namespace)  # one step: another thread cannot change it halfway
        known = len(self._keys)
        if keys[:known] != self._keys:  # a name was deleted: read them all again
            known, self._names = 0, []
        if len(keys) > known:
            self._names = self._names + [name for name in keys[known:] if is_traced_name(name)]
        self._keys = keys
        return self._names


def digest_names(namespace: Mapping[str, Any], names: Iterable[str],
                 limits: Limits = Limits()) -> tuple[dict[str, str], dict[str, BaseException]]:
    """Digests of the named values that have one, and the exceptions of those unreadable.

    Once the cell's budget (``limits.cell_seconds``) is spent, the values left are marked
    :data:`TOO_BIG`, never left out.
    """
    digests: dict[str, str] = {}
    errors: dict[str, BaseException] = {}
    cell_deadline = limits.clock() + limits.cell_seconds
    for name in names:
        value = namespace[name]
        if not is_digestible(value):
            continue
        if limits.clock() > cell_deadline:
            digests[name] = TOO_BIG
            continue
        digest, error = digest_value_or_error(value, limits, cell_deadline)
        if digest is not None:
            digests[name] = digest
        if error is not None:
            errors[name] = error
    return digests, errors


class StateTracer:
    """What the recorder calls around each cell while tracing is on.

    *transform* turns a cell's raw text into Python (IPython's ``transform_cell``).
    """

    def __init__(self, namespace: Mapping[str, Any], transform: Callable[[str], str],
                 limits: Limits = Limits(), warn: Callable[[str], None] | None = None) -> None:
        self.namespace = namespace
        self.transform = transform
        self.limits = limits
        self._warn = warn
        self._warned: set[tuple[str, str]] = set()
        self._names = UserNames(namespace)

    def before(self, raw_cell: str, code: str | None = None) -> tuple[dict[str, int], frozenset[str]]:
        """The snapshot before a cell; *code* is the cell as Python, if IPython has transformed it already."""
        if code is None:
            try:
                code = self.transform(raw_cell)
            except Exception:  # IPython's own error shows when the cell runs
                code = ""
        return snapshot(self.namespace, self._names()), names_in_code(code)

    def after(self, taken: tuple[dict[str, int], frozenset[str]]) -> dict[str, str]:
        before, code_names = taken
        touched = touched_names(self.namespace, before, code_names, self._names())
        digests, errors = digest_names(self.namespace, touched, self.limits)
        for name, exc in errors.items():
            key = (name, type(self.namespace[name]).__qualname__)
            if self._warn is not None and key not in self._warned:
                self._warned.add(key)
                self._warn(f"cannot digest the value of {name!r} ({key[1]}), marked unreadable: {exc!r}")
        return digests
