"""The door's other half: what the runner asks a kernel to do, declared once.

The notebook side never imports the kernel side, yet it has to ask the kernel
for three things: to load repro before the first cell (with the run's seed and
state-tracing settings), whether that worked, and, after the last cell, the
environment the results depend on. It asks by sending code. That code names
kernel-side functions, so those names are declared here, beside the payload
format (:mod:`repro.payload`), as :class:`KernelCall` entries: the runner builds
every string it sends from them (:func:`preload_statement`,
:func:`loaded_expression`, :func:`environment_expression`), and a test imports
each declared function on the kernel side and checks its parameters, so the two
sides cannot drift apart unseen.

The code sent tolerates a kernel whose Python has no repro, or an older one:
the preload then does nothing, and the run has no per-cell records.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KernelCall:
    """A kernel-side function the runner calls by name: ``module.function(*parameters)``."""

    module: str
    function: str
    parameters: tuple[str, ...]

    @property
    def target(self) -> str:
        return f"{self.module}.{self.function}"


#: Loads the extension on the kernel's shell, with the run's settings.
PRELOAD = KernelCall("repro.kernel.entry", "preload", ("shell", "seed", "trace", "max_bytes", "max_output"))
#: The environment as JSON text (:func:`repro.environment.capture_environment_json`).
ENVIRONMENT = KernelCall("repro.environment", "capture_environment_json", ())
#: Whether the extension is loaded: this module is in ``sys.modules`` once it is.
LOADED_MODULE = "repro.kernel.extension"

#: Every kernel-side function the runner may call.
KERNEL_CALLS = (PRELOAD, ENVIRONMENT)

# Run in a namespace of its own, so that the user's namespace gets no name from
# it (``%whos``, ``dir()`` and ``globals()`` show what they show in a plain
# kernel); sent silently and without history, it leaves no ``In``/``Out`` entry
# and no execution count.
_PRELOAD_BODY = """\
try:
    from {module} import {function}
except ImportError:
    pass
else:
    {function}(get_ipython(), seed={seed!r}, trace={trace!r}, max_bytes={max_bytes!r}, max_output={max_output!r})
"""
_EXEC = 'exec(compile({body!r}, "<repro preload>", "exec"), {{"get_ipython": get_ipython, "__name__": "__repro_preload__"}})'


def preload_statement(seed: int | None, trace: bool, max_bytes: int | None, max_output: int | None = None) -> str:
    """The one statement that loads repro in the kernel; it binds nothing where it runs."""
    body = _PRELOAD_BODY.format(module=PRELOAD.module, function=PRELOAD.function, seed=seed,
                                trace=bool(trace), max_bytes=max_bytes, max_output=max_output)
    return _EXEC.format(body=body)


def loaded_expression() -> str:
    """A user expression whose value is ``True`` once the extension is loaded."""
    return f"{LOADED_MODULE!r} in __import__('sys').modules"


def environment_expression() -> str:
    """A user expression whose value is the environment, as JSON text."""
    package = ENVIRONMENT.module.partition(".")[0]
    return f"__import__({ENVIRONMENT.module!r}).{ENVIRONMENT.module[len(package) + 1:]}.{ENVIRONMENT.function}()"
