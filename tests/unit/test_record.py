from __future__ import annotations

import json

import pytest

from repro.payload import (
    DIGESTS,
    PAYLOAD_SOURCE,
    SCHEMA_VERSION,
    BackendState,
    CellRecord,
    find_payload,
    make_payload,
    parse_records,
)


def _record(**changes):
    fields = dict(
        execution_count=3,
        cell_id="abc",
        source_digest="0123456789abcdef",
        seed=7,
        seed_mode="per-cell",
        error=False,
        backends={"numpy": BackendState("aaaa", "bbbb"), "random": BackendState("cccc", "cccc"), "torch": BackendState(None, "dddd")},
        digests=DIGESTS,
    )
    fields.update(changes)
    return CellRecord(**fields)


def _payload(record: CellRecord) -> dict:
    """The payload the kernel side would send for *record*."""
    return make_payload(
        execution_count=record.execution_count, cell_id=record.cell_id, source_digest=record.source_digest,
        seed=record.seed, seed_mode=record.seed_mode, error=record.error,
        before={name: s.before for name, s in record.backends.items()},
        after={name: s.after for name, s in record.backends.items()},
    )


def test_payload_round_trips_through_json():
    record = _record()
    payload = json.loads(json.dumps(_payload(record)))
    assert payload["source"] == PAYLOAD_SOURCE and payload["version"] == SCHEMA_VERSION
    assert payload["backends"]["numpy"]["consumed"] is True
    assert payload["backends"]["random"]["consumed"] is False
    assert payload["backends"]["torch"]["consumed"] is None
    assert CellRecord.from_payload(payload) == record


def test_record_is_found_among_other_payloads():
    payloads = [{"source": "page", "data": {}}, _payload(_record())]
    assert CellRecord.from_payload(find_payload(payloads)) == _record()
    assert find_payload([{"source": "page"}]) is None
    assert find_payload(None) is None


def test_other_versions_are_refused():
    payload = _payload(_record()) | {"version": 2}
    with pytest.raises(ValueError, match="version"):
        CellRecord.from_payload(payload)
    assert find_payload([payload]) is payload  # found: it says it is repro's
    assert parse_records({3: payload}) == {}  # and left out where records are parsed


def test_unknown_keys_are_ignored():
    payload = _payload(_record()) | {"future": 1}
    assert CellRecord.from_payload(payload) == _record()


def test_stored_records_parse_without_their_source_key():
    stored = {k: v for k, v in _payload(_record()).items() if k != "source"}
    assert parse_records({4: stored}, stored=True) == {4: _record()}
    assert parse_records({4: stored}) == {}  # a reply's payload must say it is repro's
    assert parse_records({1: {"version": 1}, 2: "junk"}, stored=True) == {}


def test_records_without_digests_key_are_of_the_first_kind():
    payload = _payload(_record())
    assert payload["digests"] == DIGESTS
    del payload["digests"]
    assert CellRecord.from_payload(payload).digests == 1
