"""The optional keys of the per-cell record: ``unseeded_generators``, ``session_seed``, ``magics``."""

from __future__ import annotations

import json

import pytest

from repro.payload import CellRecord, make_payload


def _payload(**changes):
    fields = dict(execution_count=1, cell_id=None, source_digest="0123456789abcdef", seed=7, seed_mode="per-cell",
                  error=False, before={"numpy": "aa"}, after={"numpy": "bb"})
    return make_payload(**(fields | changes))


def test_the_count_is_left_out_when_zero_and_round_trips_otherwise():
    assert "unseeded_generators" not in _payload()
    assert "unseeded_generators" not in _payload(unseeded_generators=0)
    payload = json.loads(json.dumps(_payload(unseeded_generators=3)))
    assert payload["unseeded_generators"] == 3
    assert CellRecord.from_payload(payload).unseeded_generators == 3
    assert CellRecord.from_payload(_payload()).unseeded_generators == 0  # as from an older kernel


@pytest.mark.parametrize("value", ["3", -1, 2.5, True, None, [1]])
def test_a_malformed_count_reads_as_zero_and_keeps_the_record(value):
    record = CellRecord.from_payload(_payload() | {"unseeded_generators": value})
    assert record.unseeded_generators == 0 and record.backends["numpy"].consumed is True


def test_session_seed_and_magics_round_trip_and_are_optional():
    payload = json.loads(json.dumps(_payload(session_seed=42, magics=["deterministic"])))
    assert payload["session_seed"] == 42 and payload["magics"] == ["deterministic"]
    record = CellRecord.from_payload(payload)
    assert record.session_seed == 42 and record.magics == ("deterministic",)
    plain = _payload()
    assert plain["session_seed"] is None and "magics" not in plain
    older = {key: value for key, value in plain.items() if key != "session_seed"}  # a kernel before the key
    assert CellRecord.from_payload(older).session_seed is None


@pytest.mark.parametrize("value", ["42", -1, 2.5, True, [42]])
def test_a_malformed_session_seed_reads_as_none_and_keeps_the_record(value):
    record = CellRecord.from_payload(_payload() | {"session_seed": value})
    assert record.session_seed is None and record.seed == 7


@pytest.mark.parametrize("value, names", [("deterministic", ()), ({"repeat": 1}, ()), ([1, "repeat", None], ("repeat",))])
def test_malformed_magics_keep_only_names(value, names):
    assert CellRecord.from_payload(_payload() | {"magics": value}).magics == names
