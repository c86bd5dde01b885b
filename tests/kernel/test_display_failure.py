"""A cell whose display fails, against real kernels: the failure names what was raised."""

from __future__ import annotations

import pytest

from tests.builders import run_cli, verify_json, write_notebook

pytestmark = pytest.mark.kernel

# An animation's _repr_html_ without ffmpeg, say: the cell's code ran, showing its value raised.
FAILING_DISPLAY = ("class Animation:\n    def _repr_html_(self):\n        raise RuntimeError('ffmpeg not found')\n"
                   "Animation()")


def test_a_display_that_raises_is_reported_as_the_exception_raised(tmp_path, capsys):
    path = write_notebook(tmp_path / "anim.ipynb", "x = 1", FAILING_DISPLAY, "print(x)")
    code, out, err = run_cli(capsys, "record", str(path))
    assert code == 1 and "failed at cell 3: RuntimeError: ffmpeg not found" in err
    assert "NoneType" not in err
    code, data = verify_json(capsys, str(path))
    failure = data["notebooks"][0]["failure"]
    assert code == 1 and (failure["cell"], failure["ename"], failure["evalue"]) == (2, "RuntimeError", "ffmpeg not found")
