"""TensorFlow and Keras 3: the global seed, the op-seed sequence, the global Generator
and Keras's global SeedGenerator.

In eager mode ``tf.random.set_seed(s)`` stores *s* on the eager context, makes
a ``random.Random(s)`` there from which every random op without its own seed
draws its op seed, and clears the kernel cache so that stateful random kernels
start over. The global ``tf.random.Generator`` is separate: it exists only
once ``tf.random.get_global_generator()`` has been called, and is then reset
here from the same seed (its state becomes that of
``tf.random.Generator.from_seed(s)``). It is never created here: creating a
variable initializes the TensorFlow runtime and its devices, which must stay
possible to configure after ``import tensorflow``. Under per-cell seeding, a
global generator first made inside a cell starts from that cell's seed too,
and generators made with ``Generator.from_non_deterministic_state()`` are
seeded from the cell (see :meth:`TensorflowBackend.patch`).

Clearing the kernel cache is part of ``set_seed``: without it a re-run cell
would continue the streams of the random kernels its first run made, and of
every ``tf.function``. The price is that the first use of each op in a cell
instantiates its kernel again (about 0.3 ms an op, 5 to 20 ms for a small
Keras model's ``predict`` or ``train_on_batch``).
"""

from __future__ import annotations

import sys
from typing import Callable

from repro.kernel.backends import Backend, DeterministicOptions, Restore, read_memory
from repro.kernel.backends.python_random import _HEAD as _RANDOM_HEAD
from repro.kernel.backends.python_random import _STATE_SIZE as _RANDOM_STATE_SIZE
from repro.kernel.backends.python_random import PythonRandomBackend

_CONTEXT = "tensorflow.python.eager.context"
_RANDOM_SEED = "tensorflow.python.framework.random_seed"
_STATEFUL = "tensorflow.python.ops.stateful_random_ops"
_CONFIG = "tensorflow.python.framework.config"
_READ_VARIABLE = "tensorflow.python.ops.gen_resource_variable_ops"

# Whether random.Random's C state can be read in place (see python_random);
# every subclass starts with the same C struct.
_fast_random: bool | None = None


def _random_state(rng) -> bytes:
    """The state of a ``random.Random``: under 1 µs where its C layout is the known one."""
    global _fast_random
    if _fast_random is None:
        _fast_random = PythonRandomBackend._layout_matches(rng)
    if _fast_random and isinstance(rng, sys.modules["_random"].Random):
        return read_memory(id(rng) + _RANDOM_HEAD, _RANDOM_STATE_SIZE)
    return repr(rng.getstate()).encode()


def _variable_state(variable) -> bytes:
    """The value of a TF resource variable as bytes, with one eager op (about 9 µs).

    ``variable.numpy()`` goes through ``read_value()`` and costs three times as much.
    """
    try:
        read = sys.modules[_READ_VARIABLE].read_variable_op
        return read(variable.handle, variable.dtype).numpy().tobytes()
    except Exception:  # a distributed variable, say: the slow, general way
        return variable.numpy().tobytes()


def _reset_generator(generator, seed: int) -> None:
    """``generator.reset_from_seed(seed)`` for a seed below 2**63, in one eager op.

    ``create_rng_state`` chops an integer seed into 64-bit words, least
    significant first, one per state element: ``[seed, 0, ...]``. Built here,
    that state costs one assignment; ``reset_from_seed`` runs six ops, and
    each costs a kernel instantiation (about 0.3 ms) after set_seed has
    cleared the kernel cache.
    """
    variable = generator.state
    try:
        variable.assign([seed] + [0] * (variable.shape[0] - 1), read_value=False)
    except Exception:  # an unusual generator (distributed, say): the general way
        generator.reset_from_seed(seed)


class TensorflowBackend(Backend):
    name = "tensorflow"
    module = "tensorflow"

    def __init__(self) -> None:
        self._seed: int | None = None  # the last seed applied, for the global Generator

    def seed(self, seed: int) -> None:
        modules = sys.modules
        # tf.random.set_seed: the eager global seed (or, in graph mode, the
        # default graph's), a fresh op-seed sequence and a cleared kernel cache.
        random_seed = modules[_RANDOM_SEED]
        random_seed.set_seed(seed)
        self._seed = seed
        if not modules[_CONTEXT].executing_eagerly():
            # tf.compat.v1 graph mode: ops made from here on number their op
            # seeds from 0 again, as the ops of a new graph would.
            graph = modules["tensorflow.python.framework.ops"].get_default_graph()
            random_seed._graph_to_seed_dict.pop(graph, None)
            return
        stateful = modules.get(_STATEFUL)
        generator = getattr(stateful, "global_generator", None)
        if generator is not None:
            _reset_generator(generator, seed)

    def state(self) -> bytes:
        modules = sys.modules
        context_module = modules[_CONTEXT]
        context = context_module.context()
        if context_module.executing_eagerly():
            seed = context._seed
            if seed is None:
                parts = [b"-"]
            else:
                # Random ops without their own seed take their op seed from this
                # random.Random; it changes with every such op.
                parts = [repr(seed).encode(), _random_state(context._rng)]
            stateful = modules.get(_STATEFUL)
            generator = getattr(stateful, "global_generator", None)
            if generator is not None:
                parts.append(_variable_state(generator.state))
        else:
            # tf.compat.v1 graph mode: the default graph's seed and op counter;
            # variables have no value outside a session.
            graph = modules["tensorflow.python.framework.ops"].get_default_graph()
            counter = modules[_RANDOM_SEED]._graph_to_seed_dict.get(graph, 0)
            parts = [b"graph", repr((graph.seed, counter)).encode()]
        return b";".join(parts)

    def patch(self, entropy: Callable[[int], int]) -> Restore | None:
        """``Generator.from_non_deterministic_state`` seeds from the cell instead.

        The global generator, created on first use by ``get_global_generator()``,
        gets the cell's seed, so that it is in the same state whether it is
        created in this cell or was made earlier and reset before the cell.
        Other generators made without a seed get their seed from *entropy*.
        """
        stateful = sys.modules.get(_STATEFUL)
        if stateful is None:
            return None
        generator_class = stateful.Generator
        original = generator_class.__dict__.get("from_non_deterministic_state")
        if not isinstance(original, classmethod):  # not the TensorFlow this was written for
            return None
        module_globals = stateful.__dict__
        backend = self

        def from_non_deterministic_state(cls, alg=None):
            caller = sys._getframe(1)
            if (
                backend._seed is not None
                and caller.f_globals is module_globals
                and caller.f_code.co_name == "get_global_generator"
            ):
                seed = backend._seed
            else:
                seed = entropy(64)
            return cls.from_seed(seed, alg)

        from_non_deterministic_state.__doc__ = original.__func__.__doc__
        patched = classmethod(from_non_deterministic_state)
        generator_class.from_non_deterministic_state = patched

        def restore() -> None:
            if generator_class.__dict__.get("from_non_deterministic_state") is patched:
                generator_class.from_non_deterministic_state = original

        return restore

    def deterministic(self, options: DeterministicOptions) -> Restore:
        # TensorFlow has no warn-only mode, and its thread pools can only be
        # sized before the runtime starts: only op determinism is switched.
        config = sys.modules[_CONFIG]
        was_enabled = config.is_op_determinism_enabled()
        config.enable_op_determinism()

        def restore() -> None:
            if was_enabled:
                config.enable_op_determinism()
            else:
                config.disable_op_determinism()

        return restore


class KerasBackend(Backend):
    """Keras 3: the global SeedGenerator behind ``keras.random`` calls without a seed.

    Initializers and SeedGenerators made without a seed take one from Python's
    ``random`` (``keras.random.make_default_seed``), which the ``random``
    backend seeds; the global SeedGenerator is such a generator, made on first
    use after being dropped here, as ``keras.utils.set_random_seed`` does.
    """

    name = "keras"
    module = "keras"

    def _modules(self):
        modules = sys.modules
        return (
            modules.get("keras.src.backend.common.global_state"),
            modules.get("keras.src.random.seed_generator"),
        )

    def seed(self, seed: int) -> None:
        global_state, seed_generator = self._modules()
        if global_state is None or seed_generator is None:
            return
        global_state.set_global_attribute("global_random_seed", seed)
        global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)

    def state(self) -> bytes:
        global_state, seed_generator = self._modules()
        if global_state is None or seed_generator is None:
            return b""
        generator = global_state.get_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR)
        if generator is None:
            return b"unset"
        value = generator.state.value
        if hasattr(value, "handle"):  # the TensorFlow backend: a tf.Variable
            return _variable_state(value)
        return sys.modules["keras.src.backend"].convert_to_numpy(value).tobytes()
