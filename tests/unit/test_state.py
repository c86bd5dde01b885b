"""Per-cell state digests (repro.kernel.state): what gets a digest, a marker, or nothing."""

from __future__ import annotations

import itertools
import keyword
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repro.kernel.state import DIGEST_CHARS, TOO_BIG, UNREADABLE, Limits, device_checksum, digest_value, is_traced_name
from repro.kernel.tracer import StateTracer, UserNames, digest_names, names_in_code, snapshot, touched_names


def is_hex(digest) -> bool:
    return isinstance(digest, str) and len(digest) == DIGEST_CHARS and all(c in "0123456789abcdef" for c in digest)


def test_numpy_arrays_digest_by_dtype_shape_and_bytes():
    a = np.arange(12, dtype=np.float64)
    assert is_hex(digest_value(a))
    assert digest_value(a) == digest_value(a.copy())
    assert digest_value(a) != digest_value(a.astype(np.float32))
    assert digest_value(a) != digest_value(a.reshape(3, 4))
    b = a.copy()
    b[5] += 1e-12
    assert digest_value(a) != digest_value(b)


def test_a_non_contiguous_array_digests_as_its_contiguous_copy():
    a = np.arange(24.0).reshape(4, 6)
    view = a[:, ::2]
    assert not view.flags.c_contiguous
    assert digest_value(view) == digest_value(np.ascontiguousarray(view))
    assert digest_value(a.T) == digest_value(np.ascontiguousarray(a.T))


def test_object_arrays_digest_their_elements():
    a = np.array([1, "x", (2.5, None)], dtype=object)
    b = np.array([1, "x", (2.5, None)], dtype=object)
    assert is_hex(digest_value(a)) and digest_value(a) == digest_value(b)
    b[0] = 2
    assert digest_value(a) != digest_value(b)


def test_numpy_scalars_and_python_values():
    assert digest_value(np.float32(1.5)) != digest_value(np.float64(1.5))
    assert digest_value(1) != digest_value(True) != digest_value(1.0)
    assert digest_value("a") != digest_value(b"a")
    assert is_hex(digest_value(None)) and is_hex(digest_value(3 + 1j))


def test_nested_containers_within_bounds():
    value = {"w": [np.ones(3), (1, 2.0, "s")], "n": None}
    assert is_hex(digest_value(value))
    assert digest_value(value) == digest_value({"w": [np.ones(3), (1, 2.0, "s")], "n": None})
    assert digest_value([1, 2]) != digest_value((1, 2))
    assert digest_value({"a", "b", "c"}) == digest_value({"c", "b", "a"})


def test_depth_and_item_bounds_mark_the_value_too_big():
    deep = [[[[[1]]]]]
    assert digest_value(deep, Limits(max_depth=3)) == TOO_BIG
    assert is_hex(digest_value(deep, Limits(max_depth=6)))
    assert digest_value(list(range(100)), Limits(max_items=50)) == TOO_BIG
    assert digest_value(np.array([None] * 100, dtype=object), Limits(max_items=50)) == TOO_BIG


def test_size_limit_marks_too_big():
    assert digest_value(np.zeros(1000), Limits(max_bytes=1000)) == TOO_BIG
    assert digest_value("x" * 2000, Limits(max_bytes=1000)) == TOO_BIG
    assert is_hex(digest_value(np.zeros(100), Limits(max_bytes=1000)))


def test_time_budget_with_a_fake_clock_marks_too_big():
    ticks = itertools.count(0.0, 1.0)  # every look at the clock is a second later
    limits = Limits(seconds=0.5, clock=lambda: next(ticks))
    assert digest_value(np.zeros(10), limits) == TOO_BIG
    frozen = Limits(seconds=0.5, clock=lambda: 0.0)
    assert is_hex(digest_value(np.zeros(10), frozen))


def test_the_cell_budget_marks_the_values_left_never_skips_them():
    ticks = itertools.count(0.0, 1.0)
    limits = Limits(seconds=100, cell_seconds=2.5, clock=lambda: next(ticks))
    ns = {"a": 1, "b": 2, "c": 3, "d": 4}
    digests, errors = digest_names(ns, sorted(ns), limits)
    assert set(digests) == set(ns) and not errors
    assert digests["d"] == TOO_BIG and is_hex(digests["a"])


def test_modules_functions_classes_and_other_objects_get_no_digest():
    class Thing:
        pass

    for value in (np, len, test_size_limit_marks_too_big, Thing, Thing(), object()):
        assert digest_value(value) is None
    assert is_hex(digest_value([Thing()]))  # inside a container only its type counts


def test_a_failing_state_dict_is_unreadable():
    torch = pytest.importorskip("torch")

    class Broken(torch.nn.Module):
        def state_dict(self, *a, **k):
            raise RuntimeError("nope")

    digests, errors = digest_names({"m": Broken()}, ["m"])
    assert digests == {"m": UNREADABLE} and isinstance(errors["m"], RuntimeError)


def test_torch_tensors_modules_and_optimizers():
    torch = pytest.importorskip("torch")
    t = torch.arange(6.0).reshape(2, 3)
    assert is_hex(digest_value(t)) and digest_value(t) == digest_value(t.clone())
    assert digest_value(t.T) == digest_value(t.T.contiguous())
    assert digest_value(t) != digest_value(t.double())
    assert is_hex(digest_value(t.to(torch.bfloat16)))
    assert is_hex(digest_value(torch.ones(2, requires_grad=True)))
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    before = digest_value(model), digest_value(opt)
    assert all(map(is_hex, before))
    model(torch.ones(1, 3)).sum().backward()
    opt.step()
    assert digest_value(model) != before[0] and digest_value(opt) != before[1]
    assert digest_value(torch.zeros(1000), Limits(max_bytes=100)) == TOO_BIG


def test_the_device_checksum_is_exact_and_order_free():
    torch = pytest.importorskip("torch")
    t = torch.arange(10.0)
    u = t.clone()
    u[3] = 3.0000002
    assert device_checksum(t) == device_checksum(t.clone()) != device_checksum(u)
    assert device_checksum(t) != device_checksum(t.flip(0))


def test_skip_rules_for_names():
    for name in ("In", "Out", "_", "__", "___", "_i", "_i3", "_ii", "_oh", "_ih", "_dh", "exit", "quit",
                 "get_ipython", "_private", "_3"):
        assert not is_traced_name(name), name
    assert is_traced_name("model") and is_traced_name("x_")


def test_touched_names_are_the_code_names_and_the_rebound_ones():
    ns = {"a": [1], "b": [2], "c": 3, "_h": 1, "In": []}
    before = snapshot(ns)
    assert "_h" not in before and "In" not in before
    ns["b"] = [2]  # rebound by a function the cell called, say
    ns["d"] = 4  # new
    assert touched_names(ns, before, names_in_code("a.append(1)")) == ["a", "b", "d"]
    assert names_in_code("x = (") == frozenset()
    assert names_in_code("for i in r: y += i") == {"i", "r", "y"}


def test_the_tracer_warns_once_per_unreadable_value():
    torch = pytest.importorskip("torch")

    class Broken(torch.nn.Module):
        def state_dict(self, *a, **k):
            raise RuntimeError("nope")

    warnings = []
    ns = {"m": Broken()}
    tracer = StateTracer(ns, lambda raw: raw, warn=warnings.append)
    for _ in range(2):
        assert tracer.after(tracer.before("m")) == {"m": UNREADABLE}
    assert len(warnings) == 1 and "'m'" in warnings[0] and "unreadable" in warnings[0]


_OPS = st.lists(st.tuples(st.sampled_from(["set", "del", "rebind"]), st.sampled_from(["a", "b", "c", "_i1", "_i2", "In", "d"])),
                max_size=30)


@settings(max_examples=200, deadline=None)
@given(_OPS)
def test_the_user_names_follow_every_change_of_the_namespace(ops):
    ns: dict = {"x": 1, "_": 0}
    names = UserNames(ns)
    for op, name in ops:
        if op == "del":
            ns.pop(name, None)
        else:
            ns[name] = object()
        assert names() == [key for key in ns if is_traced_name(key)]
        assert snapshot(ns, names()) == snapshot(ns)


def test_the_tracer_sees_rebound_new_and_named_variables_among_thousands_of_ipython_names():
    ns: dict = {"a": [1], "b": 2}
    tracer = StateTracer(ns, lambda raw: raw)
    for count in range(3000):
        taken = tracer.before(f"_i{count} = 0", "a.append(1)")  # IPython names its inputs _i1, _i2...
        ns[f"_i{count}"] = f"cell {count}"
        if count == 2000:
            ns["b"] = 3
            ns["c"] = 4
            del ns["_i5"]
        digests = tracer.after(taken)
        assert sorted(digests) == (["a", "b", "c"] if count == 2000 else ["a"])


def _walked_names(code: str) -> frozenset[str]:
    import ast
    return frozenset(node.id for node in ast.walk(ast.parse(code)) if isinstance(node, ast.Name))


def test_the_names_of_a_cell_hold_those_ast_walk_finds():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    sources = [path.read_text(encoding="utf-8") for path in sorted((root / "src").rglob("*.py"))]
    sources += ["global g\nnonlocal_ = 1\ndef f():\n    global h\n    h = g", "match p:\n    case C(a, b=[x, *rest]) | {'k': y, **kw}: z",
                "lambda q=w: q + e", "f(a=b, *c, **d)[i:j:k]", "x: int = y\ndel t", "class K(B, metaclass=M): u = v"]
    for source in sources:
        names = names_in_code(source)
        assert names >= _walked_names(source)
        assert not names & set(keyword.kwlist)


_PIECES = ["x", "y.z", "(", ")", "[", "]", "{", "}", " = ", " += ", "f(a=b)", "'s x'", 'f"{q:.3f} {r[i]}"', "# c x\n",
           "\n", "\n    ", ":", ",", " if ", " else ", "lambda p: p", "import m as n", "1", ".5", "\\\n", "\t", "é",
           "rb'\\x'", '"""t\n u"""', "global g", " for ", " in ", "not ", "**", "x.y(", "@d\n"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=14))
def test_the_scanned_names_never_miss_one_the_syntax_tree_holds(pieces):
    """Whatever the code, where it parses, every name of its tree is among the names found: a
    variable the cell changed in place is never left out of its record."""
    source = "".join(pieces)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)  # "1if": an invalid decimal literal
            walked = _walked_names(source)
    except (SyntaxError, ValueError):
        return
    assert names_in_code(source) >= walked


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.integers(), st.integers(min_value=10**990, max_value=10**1010), st.floats(), st.complex_numbers(),
                 st.booleans(), st.none()))
def test_a_plain_number_has_the_digest_the_hasher_gives(value):
    """Numbers skip the hasher (most of a notebook's variables): their digests are the ones
    records always held."""
    import repro.kernel.state as state

    fast = state.digest_value_or_error(value)
    plain, state._PLAIN_SCALARS = state._PLAIN_SCALARS, frozenset()
    try:
        assert fast == state.digest_value_or_error(value)
    finally:
        state._PLAIN_SCALARS = plain
