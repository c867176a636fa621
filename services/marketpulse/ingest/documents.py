"""Turning a source's fields into a validated RawDocument, or a DeadLetter saying why not.

Every source goes through `DocumentFactory.build`: text clean-up, timestamp parsing and plausibility
(future or absurd dates are rejected with a reason), language, stable id, entity linking.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from marketpulse.core.errors import InvalidDocument
from marketpulse.core.messages import (
    MAX_TEXT_CHARS,
    DeadLetter,
    DeadLetterReason,
    EntityMention,
    RawDocument,
    SourceKind,
)
from marketpulse.core.timeutil import plausibility_problem, utcnow
from marketpulse.ingest.language import detect_language
from marketpulse.ingest.normalize import clean_text, parse_timestamp, stable_doc_id

# (text, published_at, social) → mentions; `social` lets bare symbols of small companies count.
Linker = Callable[[str, datetime, bool], list[EntityMention]]


class DocumentFactory:
    """Builds documents for one source; `linker` (text, published_at) → mentions, or None."""

    def __init__(self, source: str, kind: SourceKind, linker: Linker | None = None, default_tz: str = "UTC",
                 now: Callable[[], datetime] = utcnow) -> None:
        self.source = source
        self.kind = kind
        self.linker = linker
        self.default_tz = default_tz
        self.now = now

    def build(self, *, key: str | None, text: str | None, published_at: object, payload: Any,
              title: str | None = None, url: str | None = None, author: str | None = None,
              language: str | None = None, tickers: Iterable[str] = (), meta: Mapping[str, Any] | None = None,
              source: str | None = None) -> RawDocument | DeadLetter:
        try:
            return self._build(key, text, published_at, title, url, author, language, tickers, meta, source)
        except InvalidDocument as exc:
            raw = payload if isinstance(payload, bytes | str) else json.dumps(payload, default=str)
            return DeadLetter.build(stage="ingest", reason=exc.reason, detail=f"{source or self.source}: "
                                    f"{exc.detail}", payload=raw)

    def _build(self, key, text, published_at, title, url, author, language, tickers, meta, source) -> RawDocument:
        source = source or self.source
        title = clean_text(title) if title else None
        body = clean_text(text) if text else ""
        body = body or title or ""
        if not body:
            raise InvalidDocument(DeadLetterReason.EMPTY_TEXT, "no text and no title")
        if len(body) > MAX_TEXT_CHARS:
            raise InvalidDocument(DeadLetterReason.TEXT_TOO_LARGE, f"text has {len(body)} characters")
        when = parse_timestamp(published_at, self.default_tz)
        now = self.now()
        problem = plausibility_problem(when, now)
        if problem:
            raise InvalidDocument(DeadLetterReason.IMPLAUSIBLE_TIMESTAMP, problem)
        entities = self._entities(body, when, tickers)
        try:
            return RawDocument(
                id=stable_doc_id(source, key or url or f"{body}|{when.isoformat()}"),
                source=source, source_kind=self.kind, url=url or None, title=title, text=body,
                author=author or None, published_at=when, ingested_at=now,
                language=(language or detect_language(body))[:8], entities=entities,
                source_meta={k: v for k, v in (meta or {}).items() if v not in (None, "")},
            )
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            raise InvalidDocument(DeadLetterReason.INVALID_VALUE,
                                  f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from exc

    def _entities(self, text: str, when: datetime, tickers: Iterable[str]) -> list[EntityMention]:
        given = []
        for t in tickers:
            symbol = str(t).strip().lstrip("$").upper().replace("/", "-")
            if symbol and not symbol.endswith(".X"):
                try:
                    given.append(EntityMention(ticker=symbol, confidence=1.0, method="source"))
                except ValidationError:
                    continue
        known = {m.ticker for m in given}
        social = self.kind is SourceKind.SOCIAL
        linked = [m for m in self.linker(text, when, social) if m.ticker not in known] if self.linker else []
        return given + linked


def with_linked_entities(doc: RawDocument, linker: Linker) -> RawDocument:
    """The document with the linker's entities appended after the ones it already carries."""
    known = {e.ticker for e in doc.entities}
    social = doc.source_kind is SourceKind.SOCIAL
    extra = [m for m in linker(doc.text, doc.published_at, social) if m.ticker not in known]
    return doc.model_copy(update={"entities": [*doc.entities, *extra]}) if extra else doc


def default_linker(min_confidence: float = 0.7) -> Linker:
    """The shared entity linker (knowledge graph built once per process)."""
    from marketpulse.entities import EntityLinker

    linker = EntityLinker(min_confidence=min_confidence)
    return linker.link
