"""The per-cell recorder: re-seeds before each cell and fingerprints generators.

Registered on IPython's ``pre_run_cell`` and ``post_run_cell`` events. The
events nest when a cell magic runs its body as a cell (pre, pre, post, post):
only the outermost pair counts. The cell that runs ``%load_ext repro`` gets a
post without a pre. A failure here is reported as one line on stderr; an
event callback that raised would print a traceback into the user's output.
"""

from __future__ import annotations

import sys
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from repro.kernel import warn
from repro.kernel.backends import digest_state
from repro.kernel.entropy import UnseededGenerators
from repro.payload import make_payload
from repro.kernel.session import SeedState
from repro.seeding import SeedMode, source_digest

#: Re-seeds for a cell with this source digest; returns the seed applied and the states.
StartCell = Callable[[str], "tuple[int | None, dict[str, bytes]]"]

#: Records kept for ``%repro log``; older ones are dropped.
MAX_RECORDS = 10_000


@dataclass(slots=True)
class _Frame:
    seed: int | None
    seed_mode: SeedMode
    source_digest: str
    cell_id: str | None
    before: dict[str, bytes | None] = field(default_factory=dict)  # generator states
    unseeded: set[str] = field(default_factory=set)  # generators holding fresh entropy when the cell started
    processes: str = ""  # multiprocessing's process counter when the cell started (see process_mark)
    taken: object = None  # the state tracer's snapshot before the cell, while tracing
    magics: list[str] = field(default_factory=list)  # repro's cell magics that ran the cell


class CellRecorder:
    """Keeps one frame per running cell and sends its record when the cell ends.

    *start_cell* re-seeds the backends for a cell; *states* reads every loaded
    backend's generator state; *state* is the session's seeding state.
    """

    def __init__(self, payload_manager, state: SeedState, start_cell: StartCell,
                 states: Callable[[], dict[str, bytes]]) -> None:
        self._payloads = payload_manager
        self._state = state
        self._start_cell = start_cell
        self._states = states
        self._stack: list[_Frame | None] = []
        # %seed ran in the cell that loaded repro, which had no pre_run_cell.
        self._loading_frame: _Frame | None = None
        self.records: deque[dict] = deque(maxlen=MAX_RECORDS)  # payload dicts
        self.tracer = None  # a repro.kernel.tracer.StateTracer while tracing is on
        self.unseeded = UnseededGenerators()

    @property
    def current_frame(self) -> _Frame | None:
        return self._stack[0] if self._stack else self._loading_frame

    def pre_run_cell(self, info) -> None:
        self._loading_frame = None
        if self._stack:
            self._stack.append(None)  # a body run by a cell magic: part of the outer cell
            return
        try:
            digest = source_digest(info.raw_cell or "")
            seed, before = self._start_cell(digest)
            if seed is not None:
                self.unseeded.seeded()
            frame = _Frame(
                seed=seed,
                seed_mode=self._state.mode,
                source_digest=digest,
                cell_id=getattr(info, "cell_id", None),
                before=before,
                unseeded=set(self.unseeded.names),
                processes=process_mark(),
            )
            if self.tracer is not None:
                # IPython 9.16+ hands over the cell as Python: not transformed a second time.
                frame.taken = self.tracer.before(info.raw_cell or "", getattr(info, "transformed_cell", None))
        except Exception as exc:  # never a traceback in the user's output
            warn(f"fingerprinting failed before the cell: {exc!r}")
            frame = None
        self._stack.append(frame)

    def post_run_cell(self, result) -> None:
        if self._stack:
            frame = self._stack.pop()
            if self._stack:
                return
            if frame is None:
                return
        else:  # the cell that loaded repro
            info = getattr(result, "info", None)
            frame = self._loading_frame or _Frame(seed=None, seed_mode=self._state.mode, source_digest="", cell_id=None,
                                                  unseeded=set(self.unseeded.names), processes=process_mark())
            self._loading_frame = None
            frame.source_digest = source_digest(getattr(info, "raw_cell", "") or "")
            frame.cell_id = getattr(info, "cell_id", None)
        try:
            states = self._states()
            state = self._state
            before, after = digest_states(frame.before, states)
            unseeded = self.unseeded.names
            consumed = without_entropy(before, after, frame.unseeded, unseeded, frame.before, states) \
                if frame.unseeded or unseeded else None
            payload = make_payload(
                execution_count=result.execution_count,
                cell_id=frame.cell_id,
                source_digest=frame.source_digest,
                seed=frame.seed,
                seed_mode=frame.seed_mode.value,  # the plain value: the payload holds plain strings
                error=not result.success,
                before=before,
                after=after,
                unseeded_generators=state.draws - state.import_draws,
                state=None if frame.taken is None or self.tracer is None else self.tracer.after(frame.taken),
                session_seed=None if state.mode == SeedMode.OFF else state.base,
                magics=frame.magics,
                consumed=consumed,
                processes=processes_since(frame.processes),
            )
            self.records.append(payload)
            self._payloads.write_payload(payload)
        except Exception as exc:
            warn(f"fingerprinting failed after the cell: {exc!r}")

    def reseeded(self, seed: int, mode: SeedMode, states: dict[str, bytes]) -> None:
        """``%seed`` ran inside the cell: the cell's generators start over from here."""
        self.unseeded.seeded()
        frame = self.current_frame
        if frame is not None:
            frame.seed, frame.seed_mode, frame.before = seed, mode, states
            frame.unseeded = set()
        else:
            self._loading_frame = _Frame(seed=seed, seed_mode=mode, source_digest="", cell_id=None, before=states,
                                         processes=process_mark())

    def magic_applied(self, name: str, seed: int | None = None) -> None:
        """One of repro's cell magics runs the cell; with *seed*, the body runs under that seed
        (``%%deterministic --seed 3``; :meth:`restarted` moves the states the cell starts from)."""
        frame = self.current_frame
        if frame is None:
            return
        if name not in frame.magics:
            frame.magics.append(name)
        if seed is not None:
            frame.seed = seed

    def restarted(self, before: dict[str, bytes], after: dict[str, bytes]) -> None:
        """The running cell seeded its generators again (``%%deterministic``, a ``%%repeat`` run),
        from the states *before* to *after*: a seeding is not a draw, so a generator the cell has
        not drawn from yet starts the cell at *after*."""
        frame = self.current_frame
        if frame is None:
            return
        for name, state in after.items():
            if name not in frame.before or frame.before[name] == before.get(name):
                frame.before[name] = state

    def backend_imported(self, name: str, state: bytes | None) -> None:
        """A backend was imported during the running cell: its state now is its 'before', so that
        the record says whether the cell drew from it after importing it (seeded or not)."""
        frame = self.current_frame
        if frame is not None and name not in frame.before:
            frame.before[name] = state
            if name in self.unseeded.names:
                frame.unseeded.add(name)


def process_mark() -> str:
    """multiprocessing's process counter, as it reads now (read without moving it; "" before
    multiprocessing is imported): :func:`processes_since` counts the processes made since."""
    process = sys.modules.get("multiprocessing.process")
    return "" if process is None else repr(getattr(process, "_process_counter", None))


def processes_since(mark: str) -> int:
    """How many processes multiprocessing has made in this kernel since *mark* (DataLoader
    workers, pools, joblib's workers): the mark is compared first, read only when it moved."""
    now = process_mark()
    return 0 if now == mark else max(0, _counted(now) - _counted(mark))


def _counted(mark: str) -> int:
    """The processes made by *mark*: its counter starts at 1 (the kernel itself)."""
    if not mark.startswith("count(") or not mark.endswith(")"):
        return 0
    try:
        return max(0, int(mark[6:-1]) - 1)
    except ValueError:
        return 0


def without_entropy(before: dict[str, str | None], after: dict[str, str | None], unseeded_before: set[str],
                    unseeded_after: set[str], states_before: dict, states_after: dict) -> dict[str, bool | None]:
    """Blank the digests of generators that held fresh entropy at the start or the end of the
    cell (they differ in every run) and return, for those, whether the cell drew from them."""
    consumed = {}
    for name in unseeded_before | unseeded_after:
        if name not in after:
            continue
        if name in unseeded_before:
            before[name] = None
        if name in unseeded_after:
            after[name] = None
        state_before = states_before.get(name)
        consumed[name] = None if state_before is None else state_before != states_after.get(name)
    return consumed


def digest_states(
    before: dict[str, bytes | None], after: dict[str, bytes]
) -> tuple[dict[str, str | None], dict[str, str]]:
    """Digests of the states around a cell (fingerprints of a hundred bytes); an unchanged state is hashed once."""
    before_digests: dict[str, str | None] = {}
    after_digests: dict[str, str] = {}
    for name, state_after in after.items():
        state_before = before.get(name)
        if state_before is None:
            before_digests[name] = None
            after_digests[name] = digest_state(state_after)
        else:
            digest = before_digests[name] = digest_state(state_before)
            after_digests[name] = digest if state_before == state_after else digest_state(state_after)
    return before_digests, after_digests


