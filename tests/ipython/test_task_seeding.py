"""Task seeding in the kernel process: patches on and off, wrappers that pickle, threads told once."""

from __future__ import annotations

import pickle
import random

import numpy as np
import pytest

from repro.kernel.tasks import SeededCall, SeededItem, SeededWorkerInit


def _pool_methods():
    import multiprocessing.pool as pool

    return {name: pool.Pool.__dict__[name] for name in ("_map_async", "imap", "imap_unordered", "apply_async")}


def test_per_cell_seeding_patches_the_pools_and_off_or_unload_undoes_it(shell, _shell):
    import multiprocessing.pool  # noqa: F401

    plain = _pool_methods()
    shell.out("%seed 1")
    assert all(_pool_methods()[name] is not plain[name] for name in plain)
    shell.out("%seed --off")
    assert _pool_methods() == plain
    shell.out("%seed 1")
    shell.out("%seed 2 --once")  # seeding once: no per-cell seeds, so no per-task seeds either
    assert _pool_methods() == plain
    shell.out("%seed 3")
    shell.run("%unload_ext repro")
    assert _pool_methods() == plain
    shell.run("%load_ext repro")


def test_wrappers_pickle_and_seed_a_fresh_process_like_a_spawned_worker(tmp_path, monkeypatch):
    import base64
    import importlib
    import json
    import subprocess
    import sys

    (tmp_path / "drawmod.py").write_text("import random\ndef draw(*args):\n    return random.random()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    drawmod = importlib.import_module("drawmod")
    tasks = [SeededCall(drawmod.draw, 7), SeededItem(drawmod.draw, 9), SeededWorkerInit(None),
             SeededItem(divmod, 9, star=True)]
    payload = base64.b64encode(pickle.dumps(tasks)).decode()
    code = (
        f"import base64, json, pickle, sys\nsys.path.insert(0, {str(tmp_path)!r})\n"
        f"call, item, init, star = pickle.loads(base64.b64decode({payload!r}))\n"
        "import numpy as np\n"
        "first = call()\n"
        "rng = float(np.random.default_rng().random())\n"  # made without a seed: follows the task's seed
        "print(json.dumps([first, item((3, None)), star(3, (7, 2)), init.func, rng, call()]))\n"
    )

    def run() -> str:
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout

    first = run()
    numbers = json.loads(first)
    assert numbers[0] == random.Random(7).random() == numbers[5]  # seeded before each call
    assert numbers[1] != numbers[0] and numbers[2] == [3, 1] and numbers[3] is None
    assert run() == first  # another process, the same numbers: default_rng() included


def test_a_task_that_seeds_itself_keeps_its_own_seed(shell):
    shell.out("%seed 5")
    out = shell.out(
        "import numpy as np\nfrom joblib import Parallel, delayed\n"
        "def own(i):\n    return float(np.random.default_rng(123).random())\n"
        "print(Parallel(n_jobs=1)(delayed(own)(i) for i in range(2)))")
    expected = float(np.random.default_rng(123).random())
    assert out.strip() == str([expected, expected])


def test_sequential_joblib_tasks_are_seeded_by_position(shell):
    shell.out("%seed 5")
    cell = ("from joblib import Parallel, delayed\nimport random\n"
            "print(Parallel(n_jobs=1)(delayed(random.random)() for _ in range(3)))")
    first, again = shell.out(cell), shell.out(cell)
    assert first == again and len(set(eval(first))) == 3


def test_sequential_joblib_tasks_leave_the_kernels_generators_as_they_were(shell):
    shell.out("%seed 5")
    out = shell.out(
        "import random\nimport numpy as np\nfrom joblib import Parallel, delayed\n"
        "np.random.randn()  # one normal left in numpy's cache\n"
        "before = np.random.get_state(), random.getstate()\n"
        "def draw(i):\n    return np.random.randn(), random.gauss(0, 1), np.random.default_rng().random()\n"
        "Parallel(n_jobs=1)(delayed(draw)(i) for i in range(3))\n"
        "after = np.random.get_state(), random.getstate()\n"
        "print(before[1] == after[1], all(np.array_equal(a, b) for a, b in zip(before[0], after[0])))")
    assert out.split() == ["True", "True"]


@pytest.mark.parametrize("cell, told", [
    ("from joblib import Parallel, delayed\nimport random\n"
     "Parallel(n_jobs=2, prefer='threads')(delayed(random.random)() for _ in range(4))", True),
    ("from concurrent.futures import ThreadPoolExecutor\nimport random\n"
     "with ThreadPoolExecutor(2) as ex:\n    list(ex.map(lambda _: random.random(), range(4)))", True),
    ("from concurrent.futures import ThreadPoolExecutor\n"
     "with ThreadPoolExecutor(2) as ex:\n    list(ex.map(abs, range(-4, 0)))", False),
    ("import random\nrandom.random()", False),
])
def test_drawing_from_a_global_generator_in_thread_pools_is_told_once(shell, cell, told):
    shell.out("%seed 5")
    _, out, err = shell.run(cell)
    assert err.count("threads share those generators") == (1 if told else 0), err
    _, _, err = shell.run("x = 1")
    assert "threads share" not in err  # once, for the cell where it happened
