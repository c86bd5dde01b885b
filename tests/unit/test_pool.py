"""The kernel pool, with stand-in managers: bounded slots, ordered results, stopping, cancelling."""

from __future__ import annotations

import threading
import time

import pytest

from repro.notebook.pool import KernelPool

WAIT = 5.0  # seconds; only reached when something is broken


class FakeProcess:
    def __init__(self, alive=True):
        self.alive = alive
        self.killed = False

    def poll(self):
        return None if self.alive else 0

    def kill(self):
        self.killed = True
        self.alive = False


class FakeManager:
    def __init__(self, alive=True):
        self.provisioner = type("Provisioner", (), {})()
        self.provisioner.process = FakeProcess(alive)


def run_in_thread(target):
    """Start *target* in a thread; returns (thread, box) where box gets "result" or "error"."""
    box = {}

    def body():
        try:
            box["result"] = target()
        except BaseException as exc:  # noqa: BLE001 - KeyboardInterrupt included, for the test to see
            box["error"] = exc

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread, box


# --------------------------------------------------------------------------- map


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_map_returns_results_in_job_order(threads):
    pool = KernelPool(4)
    assert pool.map([(lambda i=i: i * i) for i in range(7)], threads=threads) == [0, 1, 4, 9, 16, 25, 36]


def test_map_returns_results_in_job_order_whatever_order_they_finish_in():
    # Each job waits for the next one to finish first: the last job finishes first.
    n = 4
    done = [threading.Event() for _ in range(n)]

    def job(i):
        if i + 1 < n:
            assert done[i + 1].wait(WAIT)
        done[i].set()
        return i

    pool = KernelPool(n)
    assert pool.map([(lambda i=i: job(i)) for i in range(n)], threads=n) == list(range(n))


def test_map_of_no_jobs():
    assert KernelPool(2).map([], threads=4) == []


def test_an_exception_in_a_job_reaches_the_caller():
    def boom():
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        KernelPool(2).map([lambda: 1, boom], threads=2)


# --------------------------------------------------------------------------- slots


def test_never_more_kernels_than_slots():
    pool = KernelPool(2)
    lock = threading.Lock()
    held = 0
    most = 0
    # Two jobs at a time must be able to hold a slot together: the barrier breaks if
    # the pool lets only one in.
    pair = threading.Barrier(2, timeout=WAIT)

    def job(i):
        nonlocal held, most
        with pool.slot(object()):
            with lock:
                held += 1
                most = max(most, held)
            pair.wait()
            time.sleep(0.005)  # room for a third job to get in, were the pool to let it
            with lock:
                held -= 1
        return i

    assert pool.map([(lambda i=i: job(i)) for i in range(6)], threads=6) == list(range(6))
    assert most == 2
    assert held == 0


def test_a_slot_is_given_back_when_its_job_fails():
    pool = KernelPool(1)
    with pytest.raises(RuntimeError), pool.slot(object()):
        raise RuntimeError("kernel failed to start")

    def take_slot():
        with pool.slot(object()):
            return "got it"

    thread, box = run_in_thread(take_slot)
    thread.join(WAIT)
    assert box == {"result": "got it"}


def test_size_is_at_least_one():
    assert KernelPool(0).size == 1
    assert KernelPool(-3).size == 1


# --------------------------------------------------------------------------- stopping


def test_a_thread_waiting_for_a_slot_is_interrupted_by_stop():
    pool = KernelPool(1)
    holder = FakeManager()
    with pool.slot(holder):
        waiting = threading.Event()

        def wait_for_slot():
            waiting.set()
            with pool.slot(FakeManager()):
                return "got a slot"

        thread, box = run_in_thread(wait_for_slot)
        assert waiting.wait(WAIT)
        pool.stop()
        thread.join(WAIT)
        assert not thread.is_alive()
        assert isinstance(box.get("error"), KeyboardInterrupt)
        assert holder.provisioner.process.killed  # the kernel in flight is killed


def test_no_slot_once_stopped_even_when_one_is_free():
    pool = KernelPool(2)
    pool.stop()
    with pytest.raises(KeyboardInterrupt), pool.slot(object()):
        pytest.fail("a kernel started after stop")
    # The refused slot was given back: the semaphore still has both.
    assert pool._slots.acquire(blocking=False) and pool._slots.acquire(blocking=False)


def test_stop_kills_only_live_kernels_in_flight():
    pool = KernelPool(3)
    alive, exited, gone = FakeManager(), FakeManager(alive=False), FakeManager()
    with pool.slot(gone):
        pass
    with pool.slot(alive), pool.slot(exited), pool.slot(object()):  # a manager without a process too
        pool.stop()
    assert alive.provisioner.process.killed
    assert not exited.provisioner.process.killed
    assert not gone.provisioner.process.killed


def test_inline_map_runs_no_more_jobs_once_stopped():
    pool = KernelPool(1)
    ran = []

    def job(i):
        ran.append(i)
        if i == 1:
            pool.stop()
        return i

    assert pool.map([(lambda i=i: job(i)) for i in range(4)], threads=1) == [0, 1]
    assert ran == [0, 1]
    assert pool.map([lambda: ran.append("late")], threads=1) == []
    assert ran == [0, 1]


# --------------------------------------------------------------------------- cancelling


def test_a_cancel_token_set_from_another_thread_kills_the_kernel_in_flight():
    pool, cancel, manager = KernelPool(1), threading.Event(), FakeManager()
    with pool.cancelled_by(cancel), pool.slot(manager):
        assert not manager.provisioner.process.killed
        cancel.set()
        deadline = time.monotonic() + WAIT
        while not manager.provisioner.process.killed and time.monotonic() < deadline:
            time.sleep(0.01)
        assert manager.provisioner.process.killed and pool.stopping.is_set()
    with pytest.raises(KeyboardInterrupt):  # and no kernel starts any more
        with pool.slot(FakeManager()):
            pass


def test_a_kernel_that_starts_after_the_cancel_is_killed_too():
    pool, cancel = KernelPool(1), threading.Event()
    manager = FakeManager()
    process = manager.provisioner.process
    del manager.provisioner.process  # the slot is taken, the kernel not started yet
    with pool.cancelled_by(cancel), pool.slot(manager):
        cancel.set()
        time.sleep(0.2)
        manager.provisioner.process = process  # now it has started
        deadline = time.monotonic() + WAIT
        while not process.killed and time.monotonic() < deadline:
            time.sleep(0.01)
        assert process.killed


def test_without_a_cancel_nothing_watches_and_the_watcher_ends_with_the_block():
    pool = KernelPool(1)
    with pool.cancelled_by(None):
        assert not any(t.name == "repro-cancel" for t in threading.enumerate())
    cancel = threading.Event()
    with pool.cancelled_by(cancel):
        assert any(t.name == "repro-cancel" for t in threading.enumerate())
    assert not any(t.name == "repro-cancel" for t in threading.enumerate())
    cancel.set()  # after the block: the pool is left alone
    time.sleep(0.1)
    assert not pool.stopping.is_set()
