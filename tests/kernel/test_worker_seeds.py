"""Work handed to other processes reproduces, whatever the workers: each notebook runs in two fresh kernels.

Every configuration runs the same cell source (the configuration is set in the cell
before it), so each gets the same cell seed: the results must not depend on the
number of workers, chunk sizes, fork or spawn, or persistent workers.
"""

from __future__ import annotations

import json
import textwrap

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

pytestmark = pytest.mark.kernel

TASKS = textwrap.dedent('''
    import random
    import numpy as np

    def draw(x):
        return [x, round(float(np.random.rand()), 8), round(random.random(), 8),
                round(float(np.random.default_rng().random()), 8)]

    def put(queue, x):
        queue.put(draw(x))
''')

DATASET = textwrap.dedent('''
    import numpy as np
    import torch
    from torch.utils.data import Dataset

    class Noisy(Dataset):
        def __len__(self):
            return 8

        def __getitem__(self, i):
            return torch.tensor([float(np.random.default_rng().random()), float(np.random.rand())])
''')


def _notebook(folder, setup: str, configs: list[str], body: str) -> nbformat.NotebookNode:
    cells = ["%load_ext repro", "%seed 42", f"import sys\nsys.path.insert(0, {str(folder)!r})\n{setup}\nres = {{}}"]
    for config in configs:
        cells += [config, body]
    cells.append("import json\nprint(json.dumps([[str(k), v] for k, v in res.items()]))")
    return new_notebook(cells=[new_code_cell(c) for c in cells],
                        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})


def _results(kernels, nb) -> list[list]:
    """The notebook's results in two fresh kernels: they must be the same."""
    outputs = []
    for _ in range(2):
        run = kernels.run_notebook(nbformat.from_dict(json.loads(json.dumps(nb))))
        texts = run.texts(len(nb.cells) - 1)
        assert not run.texts(len(nb.cells) - 2)["stderr"].strip(), texts
        outputs.append(json.loads(texts["stdout"]))
    assert outputs[0] == outputs[1], "another kernel gave other numbers"
    return outputs[0]


def test_pools_and_processes_give_the_same_numbers_whatever_the_workers(tmp_path, kernels):
    (tmp_path / "tasks.py").write_text(TASKS)
    setup = "import multiprocessing as mp, tasks\nfrom concurrent.futures import ProcessPoolExecutor"
    pool = "with mp.get_context(method).Pool(size) as pool:\n    res[method, size, chunk] = pool.map(tasks.draw, range(8), chunksize=chunk)"
    configs = [f"method, size, chunk = {m!r}, {s}, {c}"
               for m, sizes in (("fork", (1, 2, 4)), ("spawn", (1, 4))) for s in sizes for c in (1, 3)]
    results = _results(kernels, _notebook(tmp_path, setup, configs, pool))
    values = [v for _, v in results]
    assert len(values) == len(configs) and all(v == values[0] for v in values), results
    assert len({row[1] for row in values[0]}) == 8 and len({row[2] for row in values[0]}) == 8  # distinct tasks

    executor = textwrap.dedent('''
        with ProcessPoolExecutor(size, mp_context=mp.get_context(method)) as ex:
            mapped = list(ex.map(tasks.draw, range(4), chunksize=size))
            submitted = [ex.submit(tasks.draw, x).result() for x in range(4)]
        queue = mp.get_context(method).Queue()
        procs = [mp.get_context(method).Process(target=tasks.put, args=(queue, x)) for x in range(2)]
        for p in procs:
            p.start()
        made = sorted(queue.get() for _ in procs)
        for p in procs:
            p.join()
        res[method, size] = [mapped, submitted, made]''')
    configs = ["method, size = 'fork', 1", "method, size = 'spawn', 3"]
    results = _results(kernels, _notebook(tmp_path, setup, configs, executor))
    values = [v for _, v in results]
    assert all(v == values[0] for v in values), results
    mapped, submitted, made = values[0]
    assert len({row[1] for row in mapped + submitted + made}) == 10  # every task its own seed


def test_scikit_learn_n_jobs_gives_the_same_scores(tmp_path, kernels):
    pytest.importorskip("sklearn")
    setup = ("from sklearn.datasets import load_iris\nfrom sklearn.ensemble import RandomForestClassifier\n"
             "from sklearn.model_selection import cross_val_score\nX, y = load_iris(return_X_y=True)")
    body = "res[n] = cross_val_score(RandomForestClassifier(n_estimators=10), X, y, cv=3, n_jobs=n).round(6).tolist()"
    results = _results(kernels, _notebook(tmp_path, setup, [f"n = {n}" for n in (1, 2, -1)], body))
    assert len(results) == 3 and all(v == results[0][1] for _, v in results), results


def test_dataloader_workers_under_spawn_and_persistent_workers_repeat(tmp_path, kernels):
    pytest.importorskip("torch")
    (tmp_path / "noisy.py").write_text(DATASET)
    setup = "import noisy\nfrom torch.utils.data import DataLoader"
    configs = []
    for ctx, persistent in (("fork", False), ("spawn", True)):
        if True:
            loader = (f"loader = DataLoader(noisy.Noisy(), batch_size=2, num_workers=2, "
                      f"multiprocessing_context={ctx!r}, persistent_workers={persistent})")
            configs += [f"key = ({ctx!r}, {persistent}, {run})\n" + (loader if run == 0 else "") for run in (0, 1)]
    body = "res[key] = [batch.tolist() for batch in loader]"
    results = _results(kernels, _notebook(tmp_path, setup, configs, body))
    values = [v for _, v in results]
    assert len(values) == 4 and all(v == values[0] for v in values), results  # also a re-run of the cell
    draws = [x for batch in values[0] for row in batch for x in row]
    assert len(set(draws)) == len(draws)  # workers and samples differ from each other


def test_draws_after_joblib_do_not_depend_on_the_number_of_workers(tmp_path, kernels):
    pytest.importorskip("joblib")
    (tmp_path / "tasks.py").write_text(TASKS)
    setup = "import random, tasks\nimport numpy as np\nfrom joblib import Parallel, delayed"
    body = textwrap.dedent('''
        out = Parallel(n_jobs=n)(delayed(tasks.draw)(i) for i in range(4))
        res[n] = [out, round(float(np.random.rand()), 8), round(random.random(), 8),
                  round(float(np.random.default_rng().random()), 8)]''')
    results = _results(kernels, _notebook(tmp_path, setup, ["n = 1", "n = 2"], body))
    values = [v for _, v in results]
    assert len(values) == 2 and values[0] == values[1], results  # the tasks, and the kernel's draws after them
