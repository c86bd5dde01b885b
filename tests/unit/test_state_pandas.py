"""State digests of pandas objects and other common values: each kind gets a digest that
follows its content, never the unreadable marker."""

from __future__ import annotations

import datetime
import decimal
import fractions
import pathlib
import uuid
from collections import deque

import numpy as np
import pytest

from repro.kernel.state import UNREADABLE, digest_value, digest_value_or_error

pd = pytest.importorskip("pandas")

DIGEST = r"[0-9a-f]{16}"


def same_and_changed():
    """(kind, value, an equal copy, a value that differs in one detail)."""
    dates = pd.date_range("2024-01-01", periods=4, freq="D")
    return [
        ("Index", pd.Index([1, 2, 3]), pd.Index([1, 2, 3]), pd.Index([1, 2, 4])),
        ("named Index", pd.Index([1, 2], name="a"), pd.Index([1, 2], name="a"), pd.Index([1, 2], name="b")),
        ("DatetimeIndex", dates, pd.date_range("2024-01-01", periods=4, freq="D"),
         pd.date_range("2024-01-02", periods=4, freq="D")),
        ("DatetimeIndex tz", dates, dates.copy(), dates.tz_localize("UTC")),
        ("RangeIndex", pd.RangeIndex(5), pd.RangeIndex(5), pd.RangeIndex(6)),
        ("MultiIndex", pd.MultiIndex.from_tuples([(1, "a"), (2, "b")]),
         pd.MultiIndex.from_tuples([(1, "a"), (2, "b")]), pd.MultiIndex.from_tuples([(1, "a"), (2, "c")])),
        ("CategoricalIndex", pd.CategoricalIndex(["a", "b"]), pd.CategoricalIndex(["a", "b"]),
         pd.CategoricalIndex(["b", "a"])),
        ("PeriodIndex", pd.period_range("2024", periods=3, freq="M"), pd.period_range("2024", periods=3, freq="M"),
         pd.period_range("2024", periods=3, freq="D")),
        ("IntervalIndex", pd.IntervalIndex.from_breaks([0, 1, 2]), pd.IntervalIndex.from_breaks([0, 1, 2]),
         pd.IntervalIndex.from_breaks([0, 1, 3])),
        ("Categorical", pd.Categorical(["a", "b", "a"]), pd.Categorical(["a", "b", "a"]),
         pd.Categorical(["a", "b", "b"])),
        ("nullable array", pd.array([1, None], dtype="Int64"), pd.array([1, None], dtype="Int64"),
         pd.array([1, 2], dtype="Int64")),
        ("Series on dates", pd.Series([1.0, 2.0], index=dates[:2]), pd.Series([1.0, 2.0], index=dates[:2]),
         pd.Series([1.0, 2.0], index=dates[1:3])),
        ("DataFrame on a MultiIndex", pd.DataFrame({"x": [1, 2]}, index=pd.MultiIndex.from_tuples([(1, "a"), (2, "b")])),
         pd.DataFrame({"x": [1, 2]}, index=pd.MultiIndex.from_tuples([(1, "a"), (2, "b")])),
         pd.DataFrame({"x": [1, 2]}, index=pd.MultiIndex.from_tuples([(1, "a"), (3, "b")]))),
        ("DataFrame of lists", pd.DataFrame({"x": [[1], [2]]}), pd.DataFrame({"x": [[1], [2]]}),
         pd.DataFrame({"x": [[1], [3]]})),
        ("Timestamp", pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-01", tz="UTC")),
        ("Timedelta", pd.Timedelta(1, "D"), pd.Timedelta(1, "D"), pd.Timedelta(2, "D")),
        ("Period", pd.Period("2024-01"), pd.Period("2024-01"), pd.Period("2024-02")),
        ("datetime", datetime.datetime(2024, 1, 1), datetime.datetime(2024, 1, 1), datetime.datetime(2024, 1, 2)),
        ("Decimal", decimal.Decimal("1.50"), decimal.Decimal("1.50"), decimal.Decimal("1.5")),
        ("Fraction", fractions.Fraction(1, 3), fractions.Fraction(1, 3), fractions.Fraction(1, 4)),
        ("Path", pathlib.Path("/a/b"), pathlib.Path("/a/b"), pathlib.Path("/a/c")),
        ("UUID", uuid.UUID(int=1), uuid.UUID(int=1), uuid.UUID(int=2)),
        ("range", range(3), range(3), range(1, 3)),
        ("deque", deque([1, 2]), deque([1, 2]), deque([2, 1])),
    ]


@pytest.mark.parametrize("kind,value,copy,changed", same_and_changed(), ids=[c[0] for c in same_and_changed()])
def test_common_values_digest_by_their_content(kind, value, copy, changed):
    digest, error = digest_value_or_error(value)
    assert error is None and digest != UNREADABLE
    assert len(digest) == 16 and all(c in "0123456789abcdef" for c in digest)
    assert digest_value(copy) == digest
    assert digest_value(changed) != digest


def test_an_index_and_the_series_of_its_values_differ():
    assert digest_value(pd.Index([1, 2])) != digest_value(pd.Series([1, 2]))
    assert digest_value(pd.Index([1, 2])) != digest_value(np.array([1, 2]))


def test_missing_values_digest():
    for value in (pd.NaT, pd.NA, pd.Series([np.nan, None], dtype=object)):
        assert digest_value(value) not in (None, UNREADABLE)
