from __future__ import annotations

import json

import pytest

from repro.record import PAYLOAD_SOURCE, SCHEMA_VERSION, BackendState, CellRecord, record_from_payloads


def _record(**changes):
    fields = dict(
        execution_count=3,
        cell_id="abc",
        source_digest="0123456789abcdef",
        seed=7,
        seed_mode="per-cell",
        error=False,
        backends={"numpy": BackendState("aaaa", "bbbb"), "random": BackendState("cccc", "cccc"), "torch": BackendState(None, "dddd")},
    )
    fields.update(changes)
    return CellRecord(**fields)


def test_payload_round_trips_through_json():
    record = _record()
    payload = json.loads(json.dumps(record.to_payload()))
    assert payload["source"] == PAYLOAD_SOURCE and payload["version"] == SCHEMA_VERSION
    assert payload["backends"]["numpy"]["consumed"] is True
    assert payload["backends"]["random"]["consumed"] is False
    assert payload["backends"]["torch"]["consumed"] is None
    assert CellRecord.from_payload(payload) == record


def test_record_is_found_among_other_payloads():
    payloads = [{"source": "page", "data": {}}, _record().to_payload()]
    assert record_from_payloads(payloads) == _record()
    assert record_from_payloads([{"source": "page"}]) is None
    assert record_from_payloads(None) is None


def test_other_versions_are_refused():
    payload = _record().to_payload() | {"version": 2}
    with pytest.raises(ValueError, match="version"):
        CellRecord.from_payload(payload)
    assert record_from_payloads([payload]) is None


def test_unknown_keys_are_ignored():
    payload = _record().to_payload() | {"future": 1}
    assert CellRecord.from_payload(payload) == _record()
