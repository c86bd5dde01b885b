"""Seed a library the moment it is imported, with the seed in force.

A meta-path finder that, for a few watched module names, wraps the loader so
that a callback runs right after the module has executed. The module ends up
with its original loader; nothing else about the import changes.
"""

from __future__ import annotations

import sys
from importlib.abc import Loader, MetaPathFinder
from typing import Callable, Iterable


class _NotifyingLoader(Loader):
    def __init__(self, loader: Loader, on_loaded: Callable[[str], None]) -> None:
        self._loader = loader
        self._on_loaded = on_loaded

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        self._on_loaded(module.__name__)

    def __getattr__(self, name: str):
        return getattr(self._loader, name)


class ImportWatcher(MetaPathFinder):
    """Calls *on_loaded(name)* after any of *names* is imported for the first time."""

    def __init__(self, names: Iterable[str], on_loaded: Callable[[str], None]) -> None:
        self.names = frozenset(names)
        self._on_loaded = on_loaded
        self._finding: set[str] = set()

    def install(self) -> None:
        if self not in sys.meta_path:
            sys.meta_path.insert(0, self)

    def uninstall(self) -> None:
        while self in sys.meta_path:
            sys.meta_path.remove(self)

    def find_spec(self, fullname, path, target=None):
        if fullname not in self.names or fullname in self._finding:
            return None
        self._finding.add(fullname)
        try:
            for finder in sys.meta_path:
                if finder is self:
                    continue
                find_spec = getattr(finder, "find_spec", None)
                spec = find_spec(fullname, path, target) if find_spec else None
                if spec is not None:
                    break
            else:
                return None
        finally:
            self._finding.discard(fullname)
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _NotifyingLoader(spec.loader, self._on_loaded)
        return spec
