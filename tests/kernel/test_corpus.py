"""Notebooks nobody here wrote: the sample notebooks of nbclient, nbconvert, nbformat and nbval.

Each is copied into tmp_path with ``%load_ext repro`` and ``%seed 0`` as a first cell,
recorded with ``repro-nb record``, then verified with ``repro-nb verify``. Where they
came from and their licences: ``tests/corpus/LICENSES.md``. The share that verifies is
in the README ("A corpus of notebooks nobody here wrote"); a change in any outcome here
means the README's figure needs updating too.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from tests.builders import run_cli, verify_json

pytestmark = pytest.mark.kernel

CORPUS = Path(__file__).resolve().parents[1] / "corpus"

#: Each notebook of the corpus, and how it fares once recorded with %seed 0.
EXPECTED = {
    "nbclient/Clear_Output.ipynb": "reproduced",
    "nbclient/Factorials.ipynb": "reproduced",
    "nbclient/Skip_Exceptions_with_Cell_Tags.ipynb": "reproduced",
    "nbclient/Sleep1s.ipynb": "differs",  # prints datetime.utcnow(): a clock reading, with a hint
    "nbclient/UnicodePy3.ipynb": "reproduced",
    "nbclient/update-display-id.ipynb": "reproduced",
    "nbconvert/notebook1.ipynb": "reproduced",  # SymPy
    "nbformat/test4jupyter_metadata_timings.ipynb": "reproduced",  # kernelspec python2: falls back
    "nbval/exceptions.ipynb": "reproduced",
    "nbval/latex-example.ipynb": "reproduced",  # random, seeded
    "nbval/test-latex-fail-randomoutput.ipynb": "reproduced",  # random without a mask: %seed makes it pass
    "nbval/test_coalesce.ipynb": "reproduced",
}
NEEDS = {"nbconvert/notebook1.ipynb": "sympy", "nbval/latex-example.ipynb": "sympy",
         "nbval/test-latex-fail-randomoutput.ipynb": "sympy"}


def test_the_corpus_is_what_the_test_expects():
    found = sorted(p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*.ipynb"))
    assert found == sorted(EXPECTED)
    licences = (CORPUS / "LICENSES.md").read_text(encoding="utf-8")
    for name in EXPECTED:
        assert name in licences, f"{name} has no entry in tests/corpus/LICENSES.md"


def _seeded_copies(target: Path) -> list[str]:
    names = [n for n in EXPECTED if NEEDS.get(n) is None or importlib.util.find_spec(NEEDS[n]) is not None]
    for name in names:
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        nb = nbformat.read(CORPUS / name, as_version=4)
        nb.cells.insert(0, new_code_cell("%load_ext repro\n%seed 0"))
        nbformat.write(nb, destination)
    return names


def test_the_corpus_verifies_once_recorded_with_a_seed(tmp_path, capsys):
    work = tmp_path / "corpus"
    names = _seeded_copies(work)
    code, out, err = run_cli(capsys, "record", "-j", "2", str(work))
    assert code == 0, err
    code, data = verify_json(capsys, "-j", "2", str(work))
    by_name = {Path(nb["path"]).relative_to(work).as_posix(): nb for nb in data["notebooks"]}
    assert {name: by_name[name]["status"] for name in names} == {name: EXPECTED[name] for name in names}

    sleep = by_name["nbclient/Sleep1s.ipynb"]
    hints = [c["hint"] for c in sleep["cells"] if c["status"] == "differs"]
    assert hints and all("clock reading" in h and "--mask '" in h for h in hints)
    timings = by_name["nbformat/test4jupyter_metadata_timings.ipynb"]
    assert any("kernel 'python2' is not installed here" in note for note in timings["notes"])
    assert code == (0 if all(EXPECTED[n] == "reproduced" for n in names) else 1)
