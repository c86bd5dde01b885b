"""Kernel channels wait on their sockets in short slices, so a missed wake-up costs at most one slice."""

from __future__ import annotations

import asyncio
from queue import Empty

import pytest

from repro.notebook import managers
from repro.notebook.managers import POLL_SLICE, CellIdKernelClient, PolledChannel


class MissedWakeUpSocket:
    """A socket whose message is there from the start, but whose poll reports it only when
    a wait runs out: what a missed wake-up looks like to the channel."""

    def __init__(self, has_message: bool = True) -> None:
        self.waits: list[float | None] = []
        self.has_message = has_message

    async def poll(self, timeout_ms):
        self.waits.append(None if timeout_ms is None else timeout_ms / 1000)
        await asyncio.sleep(0 if timeout_ms is None else timeout_ms / 1000)
        return self.has_message and len(self.waits) >= 2  # seen at the end of the second wait


def channel(socket) -> PolledChannel:
    ch = PolledChannel.__new__(PolledChannel)  # no zmq socket needed to test the waiting
    ch.socket = socket

    async def recv(**kwargs):
        return {"msg_type": "execute_reply"}

    ch._recv = recv
    return ch


@pytest.mark.parametrize("timeout", [None, 300.0])
def test_a_long_wait_is_cut_into_slices_and_the_message_comes_after_one(timeout, monkeypatch):
    monkeypatch.setattr(managers, "POLL_SLICE", 0.01)
    socket = MissedWakeUpSocket()
    msg = asyncio.run(channel(socket).get_msg(timeout=timeout))
    assert msg == {"msg_type": "execute_reply"}
    assert socket.waits == [0.01, 0.01]  # not one wait of 300 s, nor one without end


def test_the_deadline_still_holds(monkeypatch):
    monkeypatch.setattr(managers, "POLL_SLICE", 0.01)
    socket = MissedWakeUpSocket(has_message=False)
    with pytest.raises(Empty):
        asyncio.run(channel(socket).get_msg(timeout=0.05))
    assert len(socket.waits) >= 3 and max(socket.waits) <= 0.01 and sum(socket.waits) <= 0.06


def test_a_zero_timeout_polls_once(monkeypatch):
    socket = MissedWakeUpSocket(has_message=False)
    with pytest.raises(Empty):
        asyncio.run(channel(socket).get_msg(timeout=0))
    assert socket.waits == [0.0]


def test_the_kernel_client_uses_them_for_shell_iopub_and_control():
    client = CellIdKernelClient()
    assert POLL_SLICE <= 1
    assert client.shell_channel_class is client.iopub_channel_class is client.control_channel_class is PolledChannel
