"""Message models: what travels on the topics and lands in the store.

The JSON Schemas in schemas/ are the published contract; tests/unit/test_contracts.py checks
that these models and those schemas agree in both directions.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from marketpulse.core.errors import InvalidDocument
from marketpulse.core.timeutil import plausibility_problem, to_utc, utcnow

# Long filings fit; a megabyte of "text" is an upload accident or an attack.
MAX_TEXT_CHARS = 100_000
# Dead letters keep enough of the payload to debug it, not the whole megabyte.
MAX_DEAD_LETTER_PAYLOAD = 16_384

SENTIMENT_LABELS: tuple[str, ...] = ("negative", "neutral", "positive")
EVENT_TYPES: tuple[str, ...] = (
    "CSR/Brand", "Deal", "Dividend", "Employment", "Expense", "Facility", "FinancialReport",
    "Financing", "Investment", "Legal", "Macroeconomics", "Merger/Acquisition", "Product/Service",
    "Profit/Loss", "Rating", "Revenue", "SalesVolume", "SecurityValue",
)

UtcDatetime = Annotated[datetime, AfterValidator(to_utc)]


class SourceKind(StrEnum):
    NEWS = "news"
    SOCIAL = "social"


class DeadLetterReason(StrEnum):
    """Why a record was set aside. A bounded set: it is a metrics label."""

    NOT_JSON = "not_json"
    NOT_AN_OBJECT = "not_an_object"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    EMPTY_TEXT = "empty_text"
    TEXT_TOO_LARGE = "text_too_large"
    BAD_TIMESTAMP = "bad_timestamp"
    IMPLAUSIBLE_TIMESTAMP = "implausible_timestamp"
    INVALID_VALUE = "invalid_value"
    CLASSIFY_FAILED = "classify_failed"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


class EntityMention(_Model):
    """A company the text is about, as found by the entity linker."""

    ticker: str = Field(min_length=1, max_length=16, pattern=r"^[A-Z0-9][A-Z0-9.\-]*$")
    name: str | None = None
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)
    start: int | None = Field(default=None, ge=0)
    end: int | None = Field(default=None, ge=0)
    method: str | None = Field(default=None, description="how it was linked: cashtag, ticker, alias, source")


class RawDocument(_Model):
    """A news article or social post, normalised, before classification."""

    id: str = Field(min_length=1, max_length=256)
    source: str = Field(min_length=1, max_length=128)
    source_kind: SourceKind
    url: str | None = None
    title: str | None = None
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    author: str | None = None
    published_at: UtcDatetime
    ingested_at: UtcDatetime
    language: str | None = Field(default=None, max_length=8)
    entities: list[EntityMention] = Field(default_factory=list)
    source_meta: dict[str, Any] = Field(default_factory=dict)

    @field_validator("text")
    @classmethod
    def _text_has_content(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text is blank")
        return value

    @property
    def primary_ticker(self) -> str | None:
        return self.entities[0].ticker if self.entities else None

    def kafka_key(self) -> bytes:
        """Primary entity keeps one company's stream on one partition; else the source."""
        return (self.primary_ticker or self.source).encode()


class ScoredDocument(_Model):
    """A document with the model's verdict, for the store and downstream consumers."""

    doc_id: str = Field(min_length=1, max_length=256)
    source: str
    source_kind: SourceKind
    url: str | None = None
    title: str | None = None
    published_at: UtcDatetime
    ingested_at: UtcDatetime
    scored_at: UtcDatetime
    entities: list[str] = Field(default_factory=list)
    model_name: str
    model_version: str
    sentiment: Literal["negative", "neutral", "positive"]
    sentiment_scores: dict[str, float]
    sentiment_score: float = Field(ge=-1.0, le=1.0)
    events: list[str] = Field(default_factory=list)
    event_scores: dict[str, float] = Field(default_factory=dict)


class AlertDocument(_Model):
    doc_id: str
    title: str | None = None
    url: str | None = None
    sentiment_score: float
    published_at: UtcDatetime


class Alert(_Model):
    """A sentiment shift or a market event worth a person's attention."""

    alert_id: str = Field(min_length=1)
    rule: str = Field(description="which detector raised it, e.g. sentiment_shift, event:Legal")
    entity: str
    entity_kind: Literal["ticker", "sector"]
    state: Literal["open", "resolved"]
    severity: Literal["info", "warning", "critical"]
    opened_at: UtcDatetime
    updated_at: UtcDatetime
    event_time: UtcDatetime
    direction: Literal["negative", "positive", "none"] = "none"
    summary: str
    values: dict[str, float] = Field(default_factory=dict)
    documents: list[AlertDocument] = Field(default_factory=list)


class DeadLetter(_Model):
    """A record that could not be processed, with why. Nothing is dropped silently."""

    id: str
    stage: Literal["ingest", "decode", "validate", "classify", "store"]
    reason: DeadLetterReason
    detail: str
    payload: str = Field(description="the offending record, truncated")
    payload_bytes: int = Field(ge=0)
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    received_at: UtcDatetime

    @classmethod
    def build(
        cls,
        *,
        stage: str,
        reason: DeadLetterReason | str,
        detail: str,
        payload: bytes | str,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
    ) -> DeadLetter:
        raw = payload.encode() if isinstance(payload, str) else payload
        # Same record at the same place → same id, so re-delivery does not duplicate it.
        where = f"{topic}:{partition}:{offset}" if offset is not None else ""
        ident = hashlib.sha1(where.encode() + b"|" + raw).hexdigest()
        return cls(
            id=ident,
            stage=stage,
            reason=DeadLetterReason(reason),
            detail=detail[:2000],
            payload=raw[:MAX_DEAD_LETTER_PAYLOAD].decode("utf-8", errors="replace"),
            payload_bytes=len(raw),
            topic=topic,
            partition=partition,
            offset=offset,
            received_at=utcnow(),
        )


def _reason_for(error: dict[str, Any]) -> DeadLetterReason:
    kind = error["type"]
    loc = error.get("loc", ())
    if kind == "missing":
        return DeadLetterReason.MISSING_FIELD
    if "published_at" in loc or "ingested_at" in loc:
        return DeadLetterReason.BAD_TIMESTAMP
    if "text" in loc:
        if kind == "string_too_long":
            return DeadLetterReason.TEXT_TOO_LARGE
        if kind in ("string_too_short", "value_error"):
            return DeadLetterReason.EMPTY_TEXT
    if kind.endswith("_type") or kind.endswith("_parsing") or kind == "model_type":
        return DeadLetterReason.WRONG_TYPE
    return DeadLetterReason.INVALID_VALUE


def parse_raw_document(payload: bytes | str, now: datetime | None = None) -> RawDocument:
    """Decode and validate one raw message, or raise InvalidDocument with a bounded reason."""
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidDocument(DeadLetterReason.NOT_JSON, str(exc)) from exc
    if not isinstance(data, dict):
        raise InvalidDocument(DeadLetterReason.NOT_AN_OBJECT, f"expected an object, got {type(data).__name__}")
    try:
        doc = RawDocument.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidDocument(_reason_for(first), f"{where}: {first['msg']}") from exc
    problem = plausibility_problem(doc.published_at, now)
    if problem:
        raise InvalidDocument(DeadLetterReason.IMPLAUSIBLE_TIMESTAMP, problem)
    return doc
