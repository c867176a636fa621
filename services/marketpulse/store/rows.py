"""Message models → table rows, shared by the ClickHouse-server and chDB stores."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from marketpulse.core.messages import Alert, DeadLetter, RawDocument, ScoredDocument

DOCUMENT_COLUMNS = (
    "doc_id", "source", "source_kind", "url", "title", "text", "author", "language", "tickers",
    "entity_confidence", "source_meta", "published_at", "ingested_at",
)
SCORE_COLUMNS = (
    "doc_id", "model_name", "model_version", "source", "source_kind", "tickers", "url", "title",
    "published_at", "ingested_at", "scored_at", "sentiment", "p_negative", "p_neutral", "p_positive",
    "sentiment_score", "events", "event_types", "event_probs",
)
ALERT_COLUMNS = (
    "alert_id", "rule", "entity", "entity_kind", "state", "severity", "direction", "opened_at",
    "updated_at", "event_time", "summary", "value_names", "value_values", "documents",
)
DEAD_LETTER_COLUMNS = (
    "id", "stage", "reason", "detail", "payload", "payload_bytes", "kafka_topic", "kafka_partition",
    "kafka_offset", "received_at",
)

# Enum8 values as ints: clickhouse-driver with types_check=True wants them that way.
SOURCE_KIND = {"news": 1, "social": 2}
SENTIMENT = {"negative": -1, "neutral": 0, "positive": 1}
ENTITY_KIND = {"ticker": 1, "sector": 2}
ALERT_STATE = {"open": 1, "resolved": 2}
SEVERITY = {"info": 1, "warning": 2, "critical": 3}
DIRECTION = {"none": 0, "negative": 1, "positive": 2}


def _naive_utc(value: datetime) -> datetime:
    # The columns are DateTime('UTC'); the driver reads naive values in the column's zone.
    return value.replace(tzinfo=None)


def document_row(doc: RawDocument) -> tuple:
    return (
        doc.id, doc.source, SOURCE_KIND[doc.source_kind.value], doc.url or "", doc.title or "", doc.text,
        doc.author or "", doc.language or "", [e.ticker for e in doc.entities],
        [float(e.confidence) for e in doc.entities], json.dumps(doc.source_meta, default=str),
        _naive_utc(doc.published_at), _naive_utc(doc.ingested_at),
    )


def score_row(s: ScoredDocument) -> tuple:
    types = list(s.event_scores)
    return (
        s.doc_id, s.model_name, s.model_version, s.source, SOURCE_KIND[s.source_kind.value], s.entities,
        s.url or "", s.title or "", _naive_utc(s.published_at), _naive_utc(s.ingested_at),
        _naive_utc(s.scored_at), SENTIMENT[s.sentiment], s.sentiment_scores["negative"],
        s.sentiment_scores["neutral"], s.sentiment_scores["positive"], s.sentiment_score, s.events, types,
        [float(s.event_scores[t]) for t in types],
    )


def alert_row(a: Alert) -> tuple:
    return (
        a.alert_id, a.rule, a.entity, ENTITY_KIND[a.entity_kind], ALERT_STATE[a.state], SEVERITY[a.severity],
        DIRECTION[a.direction], _naive_utc(a.opened_at), _naive_utc(a.updated_at), _naive_utc(a.event_time),
        a.summary, list(a.values), [float(v) for v in a.values.values()],
        json.dumps([d.model_dump(mode="json") for d in a.documents]),
    )


def dead_letter_row(d: DeadLetter) -> tuple:
    return (
        d.id, d.stage, d.reason.value, d.detail, d.payload, d.payload_bytes, d.topic or "",
        -1 if d.partition is None else d.partition, -1 if d.offset is None else d.offset,
        _naive_utc(d.received_at),
    )


class TableWriter:
    """The Store's write methods in terms of one `_insert`: the stores differ only in how they insert."""

    def _insert(self, table: str, columns: Sequence[str], data: list[tuple]) -> None:
        raise NotImplementedError

    def write_documents(self, docs: Sequence[RawDocument]) -> None:
        self._insert("documents", DOCUMENT_COLUMNS, [document_row(d) for d in docs])

    def write_scores(self, scored: Sequence[ScoredDocument]) -> None:
        self._insert("scores", SCORE_COLUMNS, [score_row(s) for s in scored])

    def write_alerts(self, alerts: Sequence[Alert]) -> None:
        self._insert("alerts", ALERT_COLUMNS, [alert_row(a) for a in alerts])

    def write_dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        self._insert("dead_letters", DEAD_LETTER_COLUMNS, [dead_letter_row(d) for d in letters])
