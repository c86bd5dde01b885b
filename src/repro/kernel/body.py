"""The body of a cell magic (``%%deterministic``, ``%%repeat``), run as IPython runs a cell."""

from __future__ import annotations

import ast
from types import CodeType


def compile_body(shell, cell: str, filename: str) -> tuple[CodeType, CodeType | None]:
    """The body, transformed as IPython transforms a cell, as code objects: its statements,
    and its last expression apart (None when it ends in no expression)."""
    tree = shell.transform_ast(shell.compile.ast_parse(shell.transform_cell(cell)))
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = shell.compile(ast.Expression(tree.body.pop().value), filename, "eval")
    return shell.compile(tree, filename, "exec"), last


def run_body(shell, cell: str, filename: str) -> object:
    """Execute the body in the user namespace; return its last expression's value (or None).

    Exceptions propagate, so the cell fails as a plain cell would.
    """
    statements, last = compile_body(shell, cell, filename)
    namespace = shell.user_ns
    exec(statements, namespace)
    return None if last is None else eval(last, namespace)
