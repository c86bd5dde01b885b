"""repro: reproducible Jupyter notebooks.

In a notebook: ``%load_ext repro``, then ``%seed 42``. This module stays
light: loading the extension imports none of numpy, torch, tensorflow,
nbclient or nbformat.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__", "load_ipython_extension", "unload_ipython_extension", "jax_key"]


def load_ipython_extension(ipython) -> None:
    from repro.extension import load

    load(ipython)


def unload_ipython_extension(ipython) -> None:
    from repro.extension import unload

    unload(ipython)


def jax_key():
    """A JAX PRNG key derived from the current cell's seed; a new one on each call in a cell.

    JAX has no global generator to seed, so pass this key where JAX wants one.
    """
    from repro.extension import active

    repro = active()
    if repro is None:
        raise RuntimeError("repro: the extension is not loaded; run %load_ext repro first")
    return repro.jax_key()
