"""The TensorFlow and Keras backends against a real TensorFlow 2 and Keras 3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import timeit

import pytest

tf = pytest.importorskip("tensorflow")

from IPython.testing.globalipapp import start_ipython  # noqa: E402
from tensorflow.python.framework import config as tf_config  # noqa: E402
from tensorflow.python.ops import stateful_random_ops  # noqa: E402

from repro.kernel.extension import active  # noqa: E402

pytestmark = pytest.mark.tensorflow


def _ipython():
    ip = start_ipython()  # None when a test of another module started it already
    if ip is None:
        from IPython import get_ipython

        ip = get_ipython()
    return ip


@pytest.fixture
def ip():
    shell = _ipython()
    shell.run_cell("%load_ext repro")
    yield shell
    shell.run_cell("%unload_ext repro")
    tf_config.disable_op_determinism()


def run(ip, source: str):
    result = ip.run_cell(source, store_history=True)
    assert result.success, repr(result.error_in_exec or result.error_before_exec)
    return active(ip).recorder.records[-1]


def uniform_after_set_seed(seed: int, shape=(2,)) -> list[float]:
    tf.random.set_seed(seed)
    return tf.random.uniform(shape).numpy().tolist()


@pytest.fixture
def no_global_generator():
    """Start without TF's global Generator, as a fresh process does."""
    saved = stateful_random_ops.global_generator
    stateful_random_ops.global_generator = None
    yield
    stateful_random_ops.global_generator = saved


def test_seed_n_seeds_tensorflow_exactly_as_set_seed(ip):
    record = run(ip, "%seed 42\nimport tensorflow as tf\nx = tf.random.uniform((2,)).numpy().tolist()")
    assert record["seed"] == 42
    assert ip.user_ns["x"] == uniform_after_set_seed(42)


def test_each_cell_is_reseeded_and_a_rerun_repeats_it(ip):
    run(ip, "%seed 42\nimport tensorflow as tf")
    source = "x = tf.random.uniform((2,)).numpy().tolist()"
    record = run(ip, source)
    first = ip.user_ns["x"]
    run(ip, "tf.random.uniform((100,))")  # another cell draws in between
    run(ip, source)
    assert ip.user_ns["x"] == first
    assert first == uniform_after_set_seed(record["seed"])
    run(ip, source + "  # another cell")
    assert ip.user_ns["x"] != first


@pytest.mark.parametrize("fresh", [True, False], ids=["created-in-cell", "existing"])
def test_the_global_generator_starts_from_the_cell_seed(ip, no_global_generator, fresh):
    if not fresh:
        tf.random.get_global_generator().normal((10,))
    run(ip, "%seed 7\nimport tensorflow as tf")
    source = "g = tf.random.get_global_generator().normal((2,)).numpy().tolist()"
    record = run(ip, source)
    first = ip.user_ns["g"]
    assert record["backends"]["tensorflow"]["consumed"] is True
    run(ip, source)
    assert ip.user_ns["g"] == first
    assert first == tf.random.Generator.from_seed(record["seed"]).normal((2,)).numpy().tolist()


def test_generators_made_without_a_seed_are_seeded_from_the_cell(ip):
    original = tf.random.Generator.__dict__["from_non_deterministic_state"]
    run(ip, "%seed 3\nimport tensorflow as tf")
    source = "n = [tf.random.Generator.from_non_deterministic_state().normal((2,)).numpy().tolist() for _ in range(2)]"
    run(ip, source)
    first = ip.user_ns["n"]
    assert first[0] != first[1]
    run(ip, source)
    assert ip.user_ns["n"] == first
    run(ip, "%seed --off")
    assert tf.random.Generator.__dict__["from_non_deterministic_state"] is original


def test_keras_random_without_a_seed_repeats_per_cell(ip):
    keras = pytest.importorskip("keras")
    if not keras.__version__.startswith("3."):
        pytest.skip("needs Keras 3")
    run(ip, "%seed 5\nimport keras")
    source = (
        "k = keras.random.uniform((3,)).numpy().tolist()\n"
        "d = keras.layers.Dense(2)\nd.build((None, 3))\nw = d.kernel.numpy().tolist()"
    )
    record = run(ip, source)
    first = ip.user_ns["k"], ip.user_ns["w"]
    assert record["backends"]["keras"]["consumed"] is True
    run(ip, source)
    assert (ip.user_ns["k"], ip.user_ns["w"]) == first
    run(ip, source + "  # another cell")
    assert (ip.user_ns["k"], ip.user_ns["w"]) != first


def test_records_say_whether_the_cell_drew(ip):
    pytest.importorskip("keras")
    run(ip, "%seed 1\nimport tensorflow as tf\nimport keras")
    tensorflow = run(ip, "a = tf.random.uniform((2,))")["backends"]
    assert tensorflow["tensorflow"]["consumed"] is True
    assert tensorflow["keras"]["consumed"] is False
    nothing = run(ip, "b = tf.constant(1) + 1")["backends"]
    assert nothing["tensorflow"]["consumed"] is False
    assert nothing["keras"]["consumed"] is False
    keras = run(ip, "c = keras.random.normal((2,))")["backends"]
    assert keras["keras"]["consumed"] is True
    assert keras["tensorflow"]["consumed"] is False  # keras.random runs stateless TF ops


def test_state_is_cheap(ip, no_global_generator):
    run(ip, "%seed 1\nimport tensorflow as tf\ntf.random.uniform((2,))")
    backend = next(b for b in active(ip).backends if b.name == "tensorflow")
    assert backend.state() == backend.state()
    cost = min(timeit.repeat(backend.state, number=1000, repeat=3)) / 1000
    assert cost < 50e-6, f"state() costs {cost * 1e6:.1f} µs"


def test_deterministic_switches_op_determinism_on_for_the_cell_only(ip):
    run(ip, "import tensorflow as tf\nfrom tensorflow.python.framework import config as tf_config")
    assert not tf_config.is_op_determinism_enabled()
    run(ip, "%%deterministic\ninside = tf_config.is_op_determinism_enabled()\nx = tf.random.uniform((2,))")
    assert ip.user_ns["inside"] is True
    assert not tf_config.is_op_determinism_enabled()

    result = ip.run_cell("%%deterministic\nraise ValueError('boom')", store_history=True)
    assert not result.success
    assert not tf_config.is_op_determinism_enabled()

    tf_config.enable_op_determinism()
    run(ip, "%%deterministic\nx = 1")
    assert tf_config.is_op_determinism_enabled()


# One fresh process: tensorflow imported in the cell that runs %seed, so the
# import hook seeds it; every value must be the same in a second process.
_SCRIPT = textwrap.dedent(
    """
    import json
    from IPython.testing.globalipapp import start_ipython

    ip = start_ipython()

    def run(source):
        result = ip.run_cell(source, store_history=True)
        if not result.success:
            raise SystemExit(f"cell failed: {source!r}: {result.error_in_exec or result.error_before_exec!r}")

    run("%load_ext repro")
    run("%seed 42\\nimport tensorflow as tf\\nprint(tf.random.uniform((2,)).numpy())\\n"
        "tf_first = tf.random.uniform((2,)).numpy().tolist()")
    run("loader_ok = type(tf.__spec__.loader).__name__ != '_NotifyingLoader' and tf.__loader__ is tf.__spec__.loader\\n"
        "layer_ok = tuple(tf.keras.layers.Dense(1)(tf.ones((1, 2))).shape) == (1, 1)")
    run("tf_cell = tf.random.uniform((2,)).numpy().tolist()")
    run("gen = tf.random.get_global_generator().normal((2,)).numpy().tolist()")
    run("import keras\\nkeras_u = keras.random.uniform((2,)).numpy().tolist()")
    run("dense = keras.layers.Dense(3)\\ndense.build((None, 2))\\ndense_w = dense.kernel.numpy().tolist()")
    from repro.kernel.extension import active
    ns = ip.user_ns
    out = {name: ns[name] for name in ("tf_first", "loader_ok", "layer_ok", "tf_cell", "gen", "keras_u", "dense_w")}
    out["records"] = list(active(ip).recorder.records)
    print("RESULT " + json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def two_processes():
    env = dict(os.environ, PYTHONHASHSEED="0", TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _SCRIPT], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-3000:]
        line = next(line for line in out.splitlines() if line.startswith("RESULT "))
        results.append((json.loads(line[len("RESULT "):]), out, err))
    return results


def test_fresh_processes_agree(two_processes):
    (first, _, _), (second, _, _) = two_processes
    for key in ("tf_first", "tf_cell", "gen", "keras_u", "dense_w"):
        assert first[key] == second[key], key
    # Every record from %seed on; before it, Python's random is unseeded.
    assert [r["backends"] for r in first["records"][1:]] == [r["backends"] for r in second["records"][1:]]


def test_import_after_seed_in_the_same_cell_seeds_tensorflow(two_processes):
    result, out, err = two_processes[0]
    records = result["records"]
    import_cell = records[1]
    assert import_cell["seed"] == 42
    tf.random.set_seed(42)
    expected = tf.random.uniform((2,)).numpy()
    assert str(expected) in out  # the cell's print
    assert result["tf_first"] == tf.random.uniform((2,)).numpy().tolist()  # the second draw
    assert import_cell["backends"]["tensorflow"]["consumed"] is True
    assert result["loader_ok"] and result["layer_ok"]
    assert "repro:" not in err, err[-3000:]


def test_fresh_process_values_match_tensorflow(two_processes):
    result, _, _ = two_processes[0]
    seeds = [r["seed"] for r in result["records"]]
    assert result["tf_cell"] == uniform_after_set_seed(seeds[3])
    assert result["gen"] == tf.random.Generator.from_seed(seeds[4]).normal((2,)).numpy().tolist()
