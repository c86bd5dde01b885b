"""The optional ``unseeded_generators`` key of the per-cell record."""

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
