"""The message models and the published JSON Schemas in schemas/ must agree."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import jsonschema
import pytest

from marketpulse.core.messages import (
    EVENT_TYPES,
    Alert,
    AlertDocument,
    DeadLetter,
    DeadLetterReason,
    EntityMention,
    RawDocument,
    ScoredDocument,
)
from marketpulse.core.paths import schemas_dir

T = datetime(2024, 5, 1, 13, 30, tzinfo=UTC)


def schema(name: str) -> dict:
    return json.loads((schemas_dir() / f"{name}.schema.json").read_text())


def raw() -> RawDocument:
    return RawDocument(
        id="finviz:abc", source="finviz", source_kind="news", url="https://example.com/a", title="Apple beats",
        text="Apple beats estimates", author=None, published_at=T, ingested_at=T, language="en",
        entities=[EntityMention(ticker="AAPL", name="Apple Inc.", confidence=0.97, start=0, end=5, method="alias")],
        source_meta={"publisher": "Reuters"},
    )


def scored() -> ScoredDocument:
    return ScoredDocument(
        doc_id="finviz:abc", source="finviz", source_kind="news", published_at=T, ingested_at=T, scored_at=T,
        entities=["AAPL"], model_name="m", model_version="1", sentiment="positive",
        sentiment_scores={"negative": 0.1, "neutral": 0.2, "positive": 0.7}, sentiment_score=0.6,
        events=["FinancialReport"], event_scores={t: 0.1 for t in EVENT_TYPES},
    )


def alert() -> Alert:
    return Alert(
        alert_id="a1", rule="sentiment_shift", entity="AAPL", entity_kind="ticker", state="open",
        severity="warning", opened_at=T, updated_at=T, event_time=T, direction="negative",
        summary="AAPL sentiment fell", values={"z": -4.2},
        documents=[AlertDocument(doc_id="d", title="t", url=None, sentiment_score=-0.9, published_at=T)],
    )


def dead_letter() -> DeadLetter:
    return DeadLetter.build(stage="validate", reason=DeadLetterReason.NOT_JSON, detail="x", payload=b"{oops",
                            topic="mp.raw.news", partition=0, offset=7)


CASES = [("raw_document", RawDocument, raw), ("scored_document", ScoredDocument, scored),
         ("alert", Alert, alert), ("dead_letter", DeadLetter, dead_letter)]


@pytest.mark.parametrize(("name", "model", "example"), CASES)
def test_model_output_validates_against_schema(name, model, example):
    jsonschema.validate(json.loads(example().model_dump_json()), schema(name),
                        format_checker=jsonschema.FormatChecker())


@pytest.mark.parametrize(("name", "model", "example"), CASES)
def test_schema_and_model_have_the_same_fields(name, model, example):
    s = schema(name)
    assert set(s["properties"]) == set(model.model_fields)
    assert set(s["required"]) == {n for n, f in model.model_fields.items() if f.is_required()}


@pytest.mark.parametrize(("name", "model", "example"), CASES)
def test_both_reject_an_unknown_field(name, model, example):
    data = json.loads(example().model_dump_json()) | {"surprise": 1}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema(name))
    with pytest.raises(ValueError):
        model.model_validate(data)


def test_both_reject_a_naive_timestamp_and_blank_text():
    data = json.loads(raw().model_dump_json())
    for bad in ({"published_at": "2024-05-01T13:30:00"}, {"text": "   "}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(data | bad, schema("raw_document"))
        with pytest.raises(ValueError):
            RawDocument.model_validate(data | bad)


def test_dead_letter_reasons_match_schema_enum():
    assert schema("dead_letter")["properties"]["reason"]["enum"] == [r.value for r in DeadLetterReason]
