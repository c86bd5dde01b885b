"""An in-process IPython shell with repro loaded, fresh for every test."""

from __future__ import annotations

import pytest
from IPython.testing.globalipapp import start_ipython


@pytest.fixture(scope="session")
def _shell():
    return start_ipython()


class Shell:
    """Runs cells and captures what the user would see."""

    def __init__(self, ip, capsys):
        self.ip = ip
        self._capsys = capsys

    def run(self, source: str):
        self._capsys.readouterr()
        result = self.ip.run_cell(source, store_history=True)
        out, err = self._capsys.readouterr()
        return result, out, err

    def out(self, source: str) -> str:
        result, out, err = self.run(source)
        assert result.success, err or out
        return out

    @property
    def repro(self):
        from repro.kernel.extension import active

        return active(self.ip)


@pytest.fixture
def shell(_shell, capsys, monkeypatch):
    # As under repro-nb: no PYTHONHASHSEED advice among what the tests read (the tests of the
    # advice take the variable away again).
    monkeypatch.setenv("PYTHONHASHSEED", "0")
    ip = _shell
    sh = Shell(ip, capsys)
    sh.run("import random\nimport numpy as np\nimport numpy.random")
    sh.run("%load_ext repro")
    yield sh
    sh.run("%unload_ext repro")
    capsys.readouterr()


@pytest.fixture
def with_backends(shell, _shell, monkeypatch):
    """Reload repro with extra backends (besides the built-in ones); call it with the backend objects.

    Unlike appending to ``shell.repro.backends``, this also watches their modules for imports.
    """
    import repro.kernel.extension
    from repro.kernel.extension import load, unload

    builtin = repro.kernel.extension.load_backends

    def reload(*extra):
        unload(_shell)
        monkeypatch.setattr(repro.kernel.extension, "load_backends", lambda: [*builtin(), *extra])
        return load(_shell)

    yield reload
    unload(_shell)
    monkeypatch.setattr(repro.kernel.extension, "load_backends", builtin)
    load(_shell)
