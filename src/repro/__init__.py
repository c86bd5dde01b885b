"""repro: reproducible Jupyter notebooks.

In a notebook: ``%load_ext repro``, then ``%seed 42``. From Python::

    import repro
    result = repro.verify_notebook("analysis.ipynb", runs=2)

This module stays light: loading the extension imports none of numpy, torch,
tensorflow, nbclient or nbformat, and the notebook side (``verify_notebook``
and the rest of the Python API) is imported only when first used.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = [
    "__version__", "load_ipython_extension", "unload_ipython_extension", "jax_key",
    "verify_notebook", "verify_notebooks", "record_notebook", "record_notebooks", "diff_notebooks",
    "Options", "ExecuteOptions", "CompareOptions", "resolve_options", "InputError",
]

# The Python API, by the module that defines each name: imported on first use.
_API = {
    "verify_notebook": "repro.notebook.verify",
    "verify_notebooks": "repro.notebook.verify",
    "record_notebook": "repro.notebook.verify",
    "record_notebooks": "repro.notebook.verify",
    "diff_notebooks": "repro.notebook.verify",
    "Options": "repro.notebook.options",
    "ExecuteOptions": "repro.notebook.options",
    "resolve_options": "repro.notebook.options",
    "CompareOptions": "repro.notebook.options",
    "InputError": "repro.notebook.errors",
}


def __getattr__(name: str):
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'repro' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))


# `%reload_ext repro` unloads the extension, re-executes this module and loads it again:
# run again (its functions are still here), it tells the kernel side that the next load is
# a reload, which keeps the session's seed state. The kernel side's modules are not reloaded.
def _reloading() -> None:
    import sys

    extension = sys.modules.get("repro.kernel.extension")
    if extension is not None:
        extension.keep_settings_for_reload()


if "load_ipython_extension" in globals():
    _reloading()


def load_ipython_extension(ipython) -> None:
    from repro.kernel.extension import load

    load(ipython)


def unload_ipython_extension(ipython) -> None:
    from repro.kernel.extension import unload

    unload(ipython)


def jax_key():
    """A JAX PRNG key derived from the current cell's seed; a new one on each call in a cell.

    JAX has no global generator to seed, so pass this key where JAX wants one.
    """
    from repro.kernel.extension import active

    repro = active()
    if repro is None:
        raise RuntimeError("repro: the extension is not loaded; run %load_ext repro first")
    return repro.jax_key()
