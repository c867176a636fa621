"""Pipeline core: a batch of raw messages → documents, scores and dead letters → the store.

Knows nothing of Faust or Kafka: the stream worker and the embedded runner are thin adapters.
`prepare` is CPU work (decode, validate, classify) and never raises for bad records: they become
dead letters. `commit` is the idempotent store write; it raises StoreUnavailable so the adapter
can back off and retry without redoing the inference.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from marketpulse.core.errors import InvalidDocument
from marketpulse.core.messages import DeadLetter, DeadLetterReason, RawDocument, ScoredDocument, parse_raw_document
from marketpulse.core.metrics import (
    BATCH_SIZE,
    DEAD_LETTERS,
    INFERENCE_SECONDS,
    INGEST_TO_STORED_SECONDS,
    PUBLISHED_TO_STORED_SECONDS,
)
from marketpulse.core.timeutil import utcnow
from marketpulse.inference.base import Classifier, Prediction
from marketpulse.store.base import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Incoming:
    """One message as the transport delivered it; where it came from goes into dead letters."""

    payload: bytes
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None


@dataclass
class Batch:
    documents: list[RawDocument] = field(default_factory=list)
    scored: list[ScoredDocument] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)


class Pipeline:
    def __init__(
        self, store: Store, classifier: Classifier | None = None, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.store = store
        self.classifier = classifier
        self.clock = clock

    def prepare(self, messages: Sequence[Incoming]) -> Batch:
        BATCH_SIZE.observe(len(messages))
        batch = Batch()
        by_id: dict[str, RawDocument] = {}
        now = self.clock()
        for message in messages:
            try:
                doc = parse_raw_document(message.payload, now)
            except InvalidDocument as exc:
                batch.dead_letters.append(self._dead_letter(message, "validate", exc.reason, exc.detail))
                continue
            by_id[doc.id] = doc  # a re-delivered duplicate inside one batch is classified once
        batch.documents = list(by_id.values())
        if self.classifier is not None and batch.documents:
            batch.scored = self._classify(batch)
        for letter in batch.dead_letters:
            DEAD_LETTERS.labels(letter.stage, letter.reason.value).inc()
        return batch

    def commit(self, batch: Batch) -> None:
        """Write the batch; safe to call again after a failure (every write is keyed)."""
        self.store.write_documents(batch.documents)
        if batch.scored:
            self.store.write_scores(batch.scored)
        stored_at = self.clock()
        for doc in batch.documents:
            INGEST_TO_STORED_SECONDS.observe(max(0.0, (stored_at - doc.ingested_at).total_seconds()))
            PUBLISHED_TO_STORED_SECONDS.observe(max(0.0, (stored_at - doc.published_at).total_seconds()))

    def _classify(self, batch: Batch) -> list[ScoredDocument]:
        assert self.classifier is not None
        docs = batch.documents
        started = time.perf_counter()
        try:
            predictions = self.classifier.classify([d.text for d in docs])
            INFERENCE_SECONDS.observe(time.perf_counter() - started)
        except Exception:  # noqa: BLE001 - isolate the record that broke the batch, below
            log.exception("classifying a batch of %d failed; retrying one by one", len(docs))
            return self._classify_one_by_one(batch)
        scored_at = self.clock()
        return [self._scored(d, p, scored_at) for d, p in zip(docs, predictions, strict=True)]

    def _classify_one_by_one(self, batch: Batch) -> list[ScoredDocument]:
        assert self.classifier is not None
        kept, scored = [], []
        for doc in batch.documents:
            try:
                (prediction,) = self.classifier.classify([doc.text])
            except Exception as exc:  # noqa: BLE001 - one bad text must not stop the stream
                batch.dead_letters.append(
                    DeadLetter.build(stage="classify", reason=DeadLetterReason.CLASSIFY_FAILED,
                                     detail=f"{type(exc).__name__}: {exc}", payload=doc.model_dump_json())
                )
                continue
            kept.append(doc)
            scored.append(self._scored(doc, prediction, self.clock()))
        batch.documents = kept
        return scored

    def _scored(self, doc: RawDocument, p: Prediction, scored_at: datetime) -> ScoredDocument:
        assert self.classifier is not None
        return ScoredDocument(
            doc_id=doc.id, source=doc.source, source_kind=doc.source_kind, url=doc.url, title=doc.title,
            published_at=doc.published_at, ingested_at=doc.ingested_at, scored_at=scored_at,
            entities=[e.ticker for e in doc.entities], model_name=self.classifier.name,
            model_version=self.classifier.version, sentiment=p.sentiment,
            sentiment_scores=p.sentiment_scores, sentiment_score=max(-1.0, min(1.0, p.sentiment_score)),
            events=p.events, event_scores=p.event_scores,
        )

    @staticmethod
    def _dead_letter(message: Incoming, stage: str, reason: str, detail: str) -> DeadLetter:
        return DeadLetter.build(stage=stage, reason=reason, detail=detail, payload=message.payload,
                                topic=message.topic, partition=message.partition, offset=message.offset)
