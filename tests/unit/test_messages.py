"""Raw message validation: each kind of bad input gets its own reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from marketpulse.core.errors import InvalidDocument
from marketpulse.core.messages import DeadLetter, DeadLetterReason, parse_raw_document

NOW = datetime(2024, 6, 1, tzinfo=UTC)
GOOD = {"id": "x:1", "source": "x", "source_kind": "news", "text": "Nvidia rises",
        "published_at": "2024-05-31T12:00:00Z", "ingested_at": "2024-05-31T12:00:01Z"}


def reason(payload) -> str:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    with pytest.raises(InvalidDocument) as info:
        parse_raw_document(raw, NOW)
    return info.value.reason


def test_good_document_is_parsed_in_utc():
    doc = parse_raw_document(json.dumps(GOOD | {"published_at": "2024-05-31T08:00:00-04:00"}), NOW)
    assert doc.published_at == datetime(2024, 5, 31, 12, tzinfo=UTC)
    assert doc.kafka_key() == b"x"


@pytest.mark.parametrize(("payload", "expected"), [
    (b"not json at all", DeadLetterReason.NOT_JSON),
    (b"\xff\xfe\x00garbage", DeadLetterReason.NOT_JSON),
    ([1, 2, 3], DeadLetterReason.NOT_AN_OBJECT),
    ({k: v for k, v in GOOD.items() if k != "text"}, DeadLetterReason.MISSING_FIELD),
    (GOOD | {"text": "  \n "}, DeadLetterReason.EMPTY_TEXT),
    (GOOD | {"text": "x" * 1_000_000}, DeadLetterReason.TEXT_TOO_LARGE),
    (GOOD | {"published_at": "last tuesday"}, DeadLetterReason.BAD_TIMESTAMP),
    (GOOD | {"published_at": "2024-05-31T12:00:00"}, DeadLetterReason.BAD_TIMESTAMP),
    (GOOD | {"published_at": "1970-01-01T00:00:00Z"}, DeadLetterReason.IMPLAUSIBLE_TIMESTAMP),
    (GOOD | {"published_at": "2031-01-01T00:00:00Z"}, DeadLetterReason.IMPLAUSIBLE_TIMESTAMP),
    (GOOD | {"text": 42}, DeadLetterReason.WRONG_TYPE),
    (GOOD | {"entities": "AAPL"}, DeadLetterReason.WRONG_TYPE),
    (GOOD | {"source_kind": "fax"}, DeadLetterReason.INVALID_VALUE),
])
def test_bad_input_reasons(payload, expected):
    assert reason(payload) == expected


def test_dead_letter_truncates_payload_and_keeps_size():
    letter = DeadLetter.build(stage="validate", reason="text_too_large", detail="big", payload=b"x" * 1_000_000,
                              topic="t", partition=1, offset=2)
    assert letter.payload_bytes == 1_000_000
    assert len(letter.payload) == 16_384


def test_dead_letter_id_is_stable_for_a_redelivered_record():
    def at(offset: int) -> DeadLetter:
        return DeadLetter.build(stage="validate", reason="not_json", detail="d", payload=b"p", topic="t",
                                partition=0, offset=offset)

    a, b, c = at(5), at(5), at(6)
    assert a.id == b.id != c.id
