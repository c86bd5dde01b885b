"""The kernel's output in slices, and nothing sent past the runner's limit (repro.kernel.pacing)."""

from __future__ import annotations

import sys

import pytest

from repro.kernel.pacing import OutputPacer


class OutStream:
    """Stands in for ipykernel's stream: what was written, and where each flush fell."""

    def __init__(self):
        self.sent: list[str] = []
        self.pending = ""

    def write(self, text):
        self.pending += text
        return len(text)

    def flush(self):
        if self.pending:
            self.sent.append(self.pending)
            self.pending = ""


@pytest.fixture
def streams(monkeypatch):
    """Replaces sys.stdout and sys.stderr when called (pytest's capture puts its own back between phases)."""
    def replace():
        out, err = OutStream(), OutStream()
        monkeypatch.setattr(sys, "stdout", out)
        monkeypatch.setattr(sys, "stderr", err)
        return out, err

    return replace


def test_output_is_flushed_in_slices_and_is_unchanged(streams):
    out, _ = streams()
    OutputPacer(None, slice_bytes=10).start_cell()
    for _ in range(7):
        sys.stdout.write("abcd")
    out.flush()
    assert "".join(out.sent) == "abcd" * 7
    assert [len(s) for s in out.sent] == [12, 12, 4]


def test_past_the_limit_and_one_slice_a_cell_sends_nothing_more(streams):
    out, err = streams()
    pacer = OutputPacer(20, slice_bytes=10)
    pacer.start_cell()
    for _ in range(10):
        assert sys.stdout.write("x" * 5) == 5
    sys.stderr.write("y" * 5)  # counts with stdout: the limit is the cell's
    out.flush()
    err.flush()
    assert len("".join(out.sent)) == 30 and not err.sent
    pacer.start_cell()  # the next cell starts from nothing
    sys.stderr.write("z")
    err.flush()
    assert err.sent == ["z"]


def test_a_stream_is_wrapped_once_per_cell_and_other_streams_never(streams, monkeypatch):
    out, _ = streams()
    pacer = OutputPacer(None)
    assert pacer.pace() == ["stdout", "stderr"]
    assert pacer.pace() == []
    monkeypatch.setattr(sys, "stdout", object())
    assert pacer.pace() == []
