"""TensorFlow: the global seed, the op-seed sequence and the global Generator."""

from __future__ import annotations

import sys

from repro.backends import Backend, DeterministicOptions, Restore


class TensorflowBackend(Backend):
    name = "tensorflow"
    module = "tensorflow"

    def seed(self, seed: int) -> None:
        tf = self.loaded()
        tf.random.set_seed(seed)
        stateful = sys.modules.get("tensorflow.python.ops.stateful_random_ops")
        if stateful is not None and stateful.global_generator is not None:
            stateful.global_generator.reset_from_seed(seed)

    def state(self) -> bytes:
        context = sys.modules["tensorflow.python.eager.context"].context()
        parts = [repr(context._seed)]
        if context._seed is not None:
            # Ops without their own seed take the next number from this generator.
            parts.append(repr(context._rng.getstate()[1][-3:]))
        stateful = sys.modules.get("tensorflow.python.ops.stateful_random_ops")
        if stateful is not None and stateful.global_generator is not None:
            parts.append(repr(stateful.global_generator.state.numpy().tolist()))
        return ";".join(parts).encode()

    def deterministic(self, options: DeterministicOptions) -> Restore:
        config = sys.modules["tensorflow.python.framework.config"]
        was_enabled = config.is_op_determinism_enabled()
        config.enable_op_determinism()

        def restore() -> None:
            if not was_enabled:
                config.disable_op_determinism()

        return restore


class KerasBackend(Backend):
    """Keras 3: the global SeedGenerator behind ``keras.random`` calls without a seed."""

    name = "keras"
    module = "keras"

    def _modules(self):
        global_state = sys.modules.get("keras.src.backend.common.global_state")
        seed_generator = sys.modules.get("keras.src.random.seed_generator")
        return global_state, seed_generator

    def seed(self, seed: int) -> None:
        global_state, seed_generator = self._modules()
        if global_state is None or seed_generator is None:
            return
        # As keras.utils.set_random_seed does: the global generator is rebuilt
        # on next use from Python's random, which repro has seeded too.
        global_state.set_global_attribute("global_random_seed", seed)
        global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)

    def state(self) -> bytes:
        global_state, seed_generator = self._modules()
        if global_state is None or seed_generator is None:
            return b""
        generator = global_state.get_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR)
        if generator is None:
            return b"unset"
        return repr(generator.state.numpy().tolist()).encode()
