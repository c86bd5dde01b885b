"""The server extension's path confinement, as a property: inside the root, or refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("jupyter_server")
from tornado.web import HTTPError  # noqa: E402

from repro.lab.handlers import confined_path  # noqa: E402

PARTS = st.sampled_from(["..", ".", "a", "b.ipynb", "", "/", "\\", "..\\..", "c:", "\x00", "é", " "])


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.lists(PARTS, max_size=6).map("/".join), st.text(max_size=30), st.integers(), st.none()))
def test_a_path_is_inside_the_root_or_refused(tmp_path_factory, given_path):
    root = tmp_path_factory.getbasetemp() / "root"
    root.mkdir(exist_ok=True)
    try:
        path = confined_path(root, given_path)
    except HTTPError as error:
        assert error.status_code == 400
        assert "\n" not in error.log_message
        return
    resolved = root.resolve()
    assert path == resolved or resolved in path.parents


def test_plain_relative_paths_are_kept(tmp_path):
    assert confined_path(tmp_path, "sub/nb.ipynb") == tmp_path.resolve() / "sub" / "nb.ipynb"


@pytest.mark.parametrize("bad", ["../x.ipynb", "/etc/passwd", "a/../../x", "", "  ", None, 3, ["x"]])
def test_escapes_and_non_paths_are_refused(tmp_path, bad):
    with pytest.raises(HTTPError):
        confined_path(tmp_path, bad)


def test_a_link_out_of_the_root_is_refused(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "out").symlink_to(tmp_path)
    with pytest.raises(HTTPError):
        confined_path(Path(root), "out/nb.ipynb")
