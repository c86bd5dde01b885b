"""The shape of the house, read from the source with ``ast``: two sides, one door, no circles.

The kernel side (``repro.kernel``) runs inside the user's kernel and must stay light;
the notebook side (``repro.notebook``, and its faces ``repro.cli`` and
``repro.pytest_plugin``) runs in ``repro-nb``; the Lab side (``repro.lab``) runs in
a Jupyter Server and calls the notebook side's entry point. None of them imports
the kernel side but the kernel side itself; all may import the modules they share
(``repro.seeding``, ``repro.payload``, ``repro.kernel_calls``, ``repro.environment``),
which are all that stands at the top level besides the faces.
"""

from __future__ import annotations

import ast
import inspect
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "repro"

SHARED = {"repro.seeding", "repro.payload", "repro.kernel_calls", "repro.environment"}
NOTEBOOK_SIDE = ("repro.notebook", "repro.cli", "repro.pytest_plugin")
KERNEL_SIDE = ("repro.kernel",)
LAB_SIDE = ("repro.lab",)
#: Besides the shared modules, the top level holds the package itself and the faces (`repro-nb`, `python -m repro`, the pytest plugin).
TOP_LEVEL = SHARED | {"repro", "repro.__main__", "repro.cli", "repro.pytest_plugin"}
#: The server's libraries: only the Lab side imports them.
SERVER_LIBRARIES = ("jupyter_server", "tornado", "notebook", "jupyterlab")

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


# The Lab frontend's npm packages (src/repro/lab/frontend/node_modules) are not repro's modules.
MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "node_modules" not in p.parts}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(name: str, everything: bool = False) -> set[str]:
    """The repro modules *name* imports anywhere (in functions too), outside ``if TYPE_CHECKING``
    (with *everything*, every module it imports)."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            # "from repro.kernel import extension" imports the module repro.kernel.extension
            found.update(f"{module}.{alias.name}" for alias in node.names if f"{module}.{alias.name}" in MODULES)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found if everything else {m for m in found if m == "repro" or m.startswith("repro.")}


def _in(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


GRAPH = {name: {m for m in _imports(name) if m in MODULES} for name in MODULES}


def test_the_walk_sees_the_modules_and_their_imports():
    # A guard for the tests below: an import walk that found nothing would pass them all.
    assert {"repro.kernel.extension", "repro.notebook.verify", "repro.payload"} <= set(MODULES)
    assert "repro.kernel.recorder" in GRAPH["repro.kernel.extension"]
    assert "repro.notebook.outcome" in GRAPH["repro.notebook.verify"]
    assert "repro.payload" in GRAPH["repro.notebook.execute"]


@pytest.mark.parametrize("name", sorted(n for n in MODULES if _in(n, KERNEL_SIDE) or n in SHARED))
def test_the_kernel_side_and_the_shared_modules_never_import_the_notebook_side(name):
    wrong = sorted(m for m in _imports(name) if _in(m, NOTEBOOK_SIDE))
    assert not wrong, f"{name} imports {wrong}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if _in(n, NOTEBOOK_SIDE + LAB_SIDE) or n in SHARED))
def test_the_notebook_and_lab_sides_never_import_the_kernel_side(name):
    wrong = sorted(m for m in _imports(name) if _in(m, KERNEL_SIDE))
    assert not wrong, f"{name} imports {wrong}"


def test_the_top_level_holds_only_what_the_sides_share_and_the_faces():
    top = {name for name in MODULES if name.count(".") <= 1 and not (MODULES[name].name == "__init__.py" and name != "repro")}
    assert top == TOP_LEVEL
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()} == {"kernel", "notebook", "lab"}


@pytest.mark.parametrize("name", sorted(n for n in MODULES if not _in(n, LAB_SIDE)))
def test_only_the_lab_side_imports_the_server_or_the_lab_side(name):
    wrong = sorted(m for m in _imports(name, everything=True)
                   if _in(m, SERVER_LIBRARIES) or _in(m, LAB_SIDE))
    assert not wrong, f"{name} imports {wrong}"


def test_each_declared_kernel_call_exists_on_the_kernel_side_with_its_parameters():
    from repro import kernel_calls

    assert kernel_calls.KERNEL_CALLS
    for call in kernel_calls.KERNEL_CALLS:
        function = getattr(importlib.import_module(call.module), call.function)
        assert tuple(inspect.signature(function).parameters) == call.parameters, call.target
    assert kernel_calls.LOADED_MODULE in MODULES


def _strings(tree: ast.AST) -> list[str]:
    """The string constants of a module, docstrings left out."""
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


_NAMES_THE_KERNEL_SIDE = re.compile(r"\brepro\.kernel(?![_\w])")


# The package itself is the IPython extension's entry point: it imports the kernel side openly.
@pytest.mark.parametrize("name", sorted(n for n in MODULES if not _in(n, KERNEL_SIDE) and n not in ("repro", "repro.kernel_calls")))
def test_code_sent_to_the_kernel_names_the_kernel_side_only_through_the_declared_calls(name):
    # An import hidden in a string (code sent to the kernel) is a door the import walk cannot see.
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    wrong = [text for text in _strings(tree) if _NAMES_THE_KERNEL_SIDE.search(text)]
    assert not wrong, f"{name} names the kernel side in {wrong}: declare it in repro.kernel_calls"


def test_no_import_circles():
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def walk(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                walk(nxt, path + [nxt])
        state[node] = 2

    for name in sorted(GRAPH):
        if name not in state:
            walk(name, [name])
    assert not cycles, " ; ".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_and_functions_stay_small(name):
    path = MODULES[name]
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MAX_MODULE_LINES, f"{name} has {len(text.splitlines())} lines"
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(text))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, f"{name}: {', '.join(long)}"


def test_the_kernel_side_imports_nothing_heavy():
    code = (
        "import sys, repro, repro.kernel.extension, repro.kernel.magics, repro.kernel.recorder; "
        "repro.kernel.backends.load_backends(); "
        "print(sorted(m for m in ('numpy', 'torch', 'tensorflow', 'cupy', 'nbformat', 'nbclient', "
        "'repro.notebook', 'repro.lab', 'jupyter_server', 'tornado') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_python_api_is_there_without_importing_it_up_front():
    code = (
        "import sys, repro; print('repro.notebook.verify' in sys.modules); "
        "print(repro.verify_notebook.__module__, repro.Options.__module__); "
        "print('nbclient' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[:3] == ["False", "repro.notebook.verify repro.notebook.options", "False"]
