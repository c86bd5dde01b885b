"""Per-cell digests of the user's variables: which values a cell changed, as short hashes.

Off unless switched on (``%repro trace on``, or the runner's preload): the recorder
then asks a :class:`~repro.kernel.tracer.StateTracer` for a snapshot before each cell and for the digests
after it, and sends them in the cell's payload (``"state"``, see :mod:`repro.payload`).

A digest is the first :data:`DIGEST_CHARS` hex digits of SHA-256 over a value's type,
layout and bytes. Values are digested only when the cell assigned or referenced their
name, or the name's object changed. A value over the size limit, or that takes longer
than the time budget, is marked :data:`TOO_BIG`; one that cannot be read is marked
:data:`UNREADABLE`. Modules, functions, classes, private names and IPython's own names
are left out, and so are objects of any other type (they have no digest here).

Digested: Python's scalars, strings and containers (deques too); dates, times, decimals,
fractions, paths and UUIDs (by their repr); NumPy arrays and scalars; torch tensors,
modules and optimizers; pandas objects: DataFrame and Series (with any index), every
kind of Index, arrays such as Categorical, and its scalars (Timestamp, Period, NA...).

NumPy, torch and pandas are never imported here: they are looked up in ``sys.modules``.
"""

from __future__ import annotations

import hashlib
import sys
import time
import types
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from repro.kernel import guard

DIGEST_CHARS = 16
TOO_BIG = "<too-big>"
UNREADABLE = "<unreadable>"

#: IPython's own names; every other name starting with "_" is private and skipped too.
IPYTHON_NAMES = frozenset({"In", "Out", "exit", "quit", "get_ipython"})

_CHUNK = 1 << 22  # bytes hashed between two looks at the clock
_SKIPPED_TYPES = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType, type)
_SCALARS = (int, float, complex, bool, str, bytes, bytearray, type(None))
_CONTAINERS = (list, tuple, dict, set, frozenset, deque)
_PLAIN_SCALARS = frozenset({int, float, complex, bool, type(None)})
_BIG_INT = 10**1000  # far below the digits a repr may have (sys.get_int_max_str_digits())
#: Standard-library values whose repr says all of them: module -> class names.
_REPR_TYPES = {"datetime": ("date", "time", "timedelta", "timezone"), "decimal": ("Decimal",),
               "fractions": ("Fraction",), "pathlib": ("PurePath",), "uuid": ("UUID",)}


@dataclass(frozen=True)
class Limits:
    """How much digesting one value may cost: bytes, seconds, container depth and items."""

    max_bytes: int = 64 * 2**20
    seconds: float = 0.05  # per value
    cell_seconds: float = 0.5  # per cell: values after it are marked too big
    max_depth: int = 4
    max_items: int = 10_000
    clock: Callable[[], float] = field(default=time.perf_counter, compare=False)


class _TooBig(Exception):
    pass


class _Hasher:
    """One value's hash, with the limits of *limits* enforced as it goes."""

    def __init__(self, limits: Limits, deadline: float) -> None:
        self.limits = limits
        self.deadline = deadline
        self.items = 0
        self.bytes = 0
        self.hash = hashlib.sha256()

    def tag(self, text: str) -> None:
        self.hash.update(text.encode("utf-8", "surrogatepass") + b"\0")

    def data(self, buffer) -> None:
        view = memoryview(buffer).cast("B")
        self.bytes += view.nbytes
        if self.bytes > self.limits.max_bytes:
            raise _TooBig
        for start in range(0, view.nbytes, _CHUNK):
            self.hash.update(view[start:start + _CHUNK])
            self.check_time()

    def check_time(self) -> None:
        if self.limits.clock() > self.deadline:
            raise _TooBig

    def count(self, n: int = 1) -> None:
        self.items += n
        if self.items > self.limits.max_items:
            raise _TooBig


def is_traced_name(name: str) -> bool:
    """Whether a variable of this name is the user's: not private, not IPython's own."""
    return not name.startswith("_") and name not in IPYTHON_NAMES


def digest_value(value: Any, limits: Limits = Limits(), deadline: float | None = None) -> str | None:
    """The digest of *value*; :data:`TOO_BIG` or :data:`UNREADABLE` when it has none;
    None for what is not digested at all (modules, functions, classes, other objects).

    Raises nothing but KeyboardInterrupt; an exception while reading the value gives
    :data:`UNREADABLE` (use :func:`digest_value_or_error` to learn which).
    """
    return digest_value_or_error(value, limits, deadline)[0]


def digest_value_or_error(value: Any, limits: Limits = Limits(),
                          deadline: float | None = None) -> tuple[str | None, BaseException | None]:
    """:func:`digest_value`, and the exception that made the value unreadable, if one did."""
    if type(value) in _PLAIN_SCALARS and limits.max_items > 0:
        # What _feed gives a number, True or None, without a hasher: most of a notebook's variables.
        text = f"{type(value).__name__}:{value!r}" if type(value) is not int or -_BIG_INT < value < _BIG_INT else None
        if text is not None:
            return hashlib.sha256(text.encode() + b"\0").hexdigest()[:DIGEST_CHARS], None
    if not is_digestible(value):
        return None, None
    start = limits.clock()
    hasher = _Hasher(limits, start + limits.seconds if deadline is None else min(deadline, start + limits.seconds))
    feeding = guard()  # a value's own methods may raise anything
    with feeding:
        _feed(hasher, value, 0)
    if isinstance(feeding.error, _TooBig):
        return TOO_BIG, None
    if feeding.error is not None:
        return UNREADABLE, feeding.error
    return hasher.hash.hexdigest()[:DIGEST_CHARS], None


def is_digestible(value: Any) -> bool:
    """Whether *value* is of a kind that gets a digest (or a marker)."""
    if isinstance(value, _SKIPPED_TYPES):
        return False
    if isinstance(value, _SCALARS + _CONTAINERS + (range,)):
        return True
    return _library_kind(value) is not None


def _library_kind(value: Any) -> str | None:
    modules = sys.modules
    np = modules.get("numpy")
    if np is not None and isinstance(value, (np.ndarray, np.generic)):
        return "numpy"
    torch = modules.get("torch")
    if torch is not None:
        if isinstance(value, torch.Tensor):
            return "tensor"
        nn = getattr(torch, "nn", None)
        optim = getattr(torch, "optim", None)
        if (nn is not None and isinstance(value, nn.Module)) or (
                optim is not None and isinstance(value, optim.Optimizer)):
            return "state_dict"
    pd = modules.get("pandas")
    if pd is not None:
        if isinstance(value, (pd.DataFrame, pd.Series, pd.Index, pd.api.extensions.ExtensionArray)):
            return "pandas"
        if isinstance(value, (pd.Period, pd.Interval)) or value is pd.NA:
            return "repr"
    for module, names in _REPR_TYPES.items():
        found = modules.get(module)
        if found is not None and isinstance(value, tuple(getattr(found, name) for name in names)):
            return "repr"
    return None


def _feed(hasher: _Hasher, value: Any, depth: int) -> None:
    hasher.count()
    if isinstance(value, (bytes, bytearray)):
        hasher.tag(type(value).__name__)
        hasher.data(value)
    elif isinstance(value, str):
        hasher.tag("str")
        hasher.data(value.encode("utf-8", "surrogatepass"))
    elif isinstance(value, _SCALARS):
        hasher.tag(f"{type(value).__name__}:{value!r}")
    elif isinstance(value, _CONTAINERS):
        _feed_container(hasher, value, depth)
    elif isinstance(value, range):
        hasher.tag(f"range:{value.start}:{value.stop}:{value.step}")
    else:
        kind = _library_kind(value)
        if kind == "numpy":
            _feed_array(hasher, value, depth)
        elif kind == "tensor":
            _feed_tensor(hasher, value)
        elif kind == "state_dict":
            hasher.tag(f"state_dict:{type(value).__qualname__}")
            _feed(hasher, value.state_dict(), depth)
        elif kind == "pandas":
            _feed_pandas(hasher, value, depth)
        elif kind == "repr":
            hasher.tag(f"{type(value).__module__}.{type(value).__qualname__}:{value!r}")
        else:  # an object of another kind inside a container: only its type counts
            hasher.tag(f"object:{type(value).__module__}.{type(value).__qualname__}")


def _feed_container(hasher: _Hasher, value, depth: int) -> None:
    if depth >= hasher.limits.max_depth:
        raise _TooBig
    hasher.count(len(value))
    hasher.tag(f"{type(value).__name__}:{len(value)}")
    if isinstance(value, dict):
        for key, item in value.items():
            _feed(hasher, key, depth + 1)
            _feed(hasher, item, depth + 1)
    elif isinstance(value, (set, frozenset)):  # iteration order may follow string hashes: sort the parts
        parts = []
        for item in value:
            part = _Hasher(hasher.limits, hasher.deadline)
            part.items = hasher.items
            _feed(part, item, depth + 1)
            hasher.items, hasher.bytes = part.items, hasher.bytes + part.bytes
            parts.append(part.hash.digest())
        for digest in sorted(parts):
            hasher.hash.update(digest)
    else:
        for item in value:
            _feed(hasher, item, depth + 1)
        hasher.check_time()


def _feed_array(hasher: _Hasher, array, depth: int) -> None:
    np = sys.modules["numpy"]
    array = np.asarray(array)
    hasher.tag(f"ndarray:{array.dtype.str}:{array.dtype.descr!r}:{array.shape}")
    if array.dtype.hasobject:
        if depth >= hasher.limits.max_depth:
            raise _TooBig
        hasher.count(array.size)
        for item in array.ravel(order="C").tolist():
            _feed(hasher, item, depth + 1)
        return
    if array.nbytes > hasher.limits.max_bytes:
        raise _TooBig
    array = np.ascontiguousarray(array)  # a copy only when the array is a strided view
    hasher.data(array.reshape(-1).view(np.uint8))


def _feed_tensor(hasher: _Hasher, tensor) -> None:
    tensor = tensor.detach()
    nbytes = tensor.numel() * tensor.element_size()
    hasher.tag(f"tensor:{tensor.dtype}:{tuple(tensor.shape)}")
    if nbytes > hasher.limits.max_bytes:
        raise _TooBig
    if tensor.device.type != "cpu":
        hasher.tag(device_checksum(tensor))
        return
    hasher.data(tensor.contiguous().reshape(-1).view(sys.modules["torch"].uint8).numpy())


def device_checksum(tensor) -> str:
    """A checksum of a tensor's bytes computed where it lives (no copy to the host):
    a Fletcher-like pair of integer sums, exact and independent of reduction order."""
    torch = sys.modules["torch"]
    data = tensor.detach().contiguous().reshape(-1).view(torch.uint8).to(torch.int64)
    weights = torch.arange(1, data.numel() + 1, device=data.device, dtype=torch.int64) % 65521
    total, weighted = data.sum(), (data * weights).sum()
    return f"device:{int(total)}:{int(weighted)}"


def _feed_pandas(hasher: _Hasher, value, depth: int) -> None:
    """A DataFrame, Series, Index (of any kind) or pandas array: its type, shape, dtypes,
    names and the hash of every row (the index's too); object values that pandas cannot
    hash (lists in a column) item by item."""
    pd = sys.modules["pandas"]
    frame_or_series = isinstance(value, (pd.DataFrame, pd.Series))
    usage = value.memory_usage(index=True, deep=False) if frame_or_series else _array_bytes(value)
    if int(getattr(usage, "sum", lambda: usage)()) > hasher.limits.max_bytes:
        raise _TooBig
    hasher.tag(f"pandas:{type(value).__name__}:{value.shape}")
    if isinstance(value, pd.DataFrame):
        hasher.tag(repr([(str(c), str(t)) for c, t in value.dtypes.items()]))
        hasher.tag(repr(list(value.index.names)))
    elif isinstance(value, pd.Series):
        hasher.tag(f"{value.dtype}:{value.name!r}:{list(value.index.names)!r}")
    elif isinstance(value, pd.Index):
        hasher.tag(f"{value.dtype}:{list(value.names)!r}:{getattr(value, 'freqstr', None)!r}")
    else:  # an array: Categorical, IntegerArray, SparseArray...
        hasher.tag(str(value.dtype))
        value = pd.Series(value, copy=False)
    try:
        hashes = pd.util.hash_pandas_object(value, index=frame_or_series)
    except TypeError:  # unhashable objects in it
        _feed_pandas_items(hasher, value, depth)
        return
    hasher.data(hashes.to_numpy())


def _array_bytes(value) -> int:
    usage = getattr(value, "memory_usage", None)
    return int(usage(deep=False)) if usage is not None else int(value.nbytes)


def _feed_pandas_items(hasher: _Hasher, value, depth: int) -> None:
    pd = sys.modules["pandas"]
    if isinstance(value, (pd.DataFrame, pd.Series)):
        _feed_pandas(hasher, value.index, depth)
    columns = [value[c] for c in value.columns] if isinstance(value, pd.DataFrame) else [value]
    for column in columns:
        _feed_array(hasher, column.to_numpy(dtype=object), depth)
