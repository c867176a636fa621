"""File replay: JSONL or CSV rows → raw documents on Kafka, in timestamp order, at N× real time.

A column mapping says which column feeds which document field; presets cover the shared datasets.
Rows that cannot become a document are sent to the dead-letter topic with the reason.
Rows that describe the same document (one story filed under two tickers) become one document
carrying both entities, so a replay produces exactly one message per distinct document.
"""

from __future__ import annotations

import csv
import gzip
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError
from tqdm import tqdm

from marketpulse.core.errors import InvalidDocument
from marketpulse.core.messages import DeadLetter, DeadLetterReason, EntityMention, RawDocument, SourceKind
from marketpulse.core.timeutil import utcnow
from marketpulse.ingest.documents import with_linked_entities
from marketpulse.ingest.normalize import clean_text, parse_timestamp, stable_doc_id
from marketpulse.ingest.sink import DocumentSink

log = logging.getLogger(__name__)

# Document fields a column can feed. `tickers` takes one ticker or a list (JSON list or "A,B").
MAPPABLE = ("id", "text", "title", "url", "author", "published_at", "tickers", "language")


@dataclass(frozen=True)
class Mapping:
    """How the rows of one file become documents."""

    source: str
    kind: SourceKind
    columns: dict[str, str]  # document field -> column name
    timezone: str = "UTC"  # for naive timestamps
    meta_columns: tuple[str, ...] = ()  # copied into source_meta

    def __post_init__(self) -> None:
        unknown = set(self.columns) - set(MAPPABLE)
        if unknown:
            raise ValueError(f"unknown document field(s) in mapping: {sorted(unknown)}; use {MAPPABLE}")
        if "text" not in self.columns:
            raise ValueError("the mapping needs a column for 'text'")
        if "published_at" not in self.columns:
            raise ValueError("the mapping needs a column for 'published_at'")


PRESETS: dict[str, Mapping] = {
    "finviz": Mapping(
        source="finviz", kind=SourceKind.NEWS,
        columns={"id": "link", "text": "title", "title": "title", "url": "link",
                 "published_at": "datetime", "tickers": "ticker"},
        timezone="America/New_York", meta_columns=("source",),
    ),
    "benzinga": Mapping(
        source="benzinga", kind=SourceKind.NEWS,
        columns={"text": "title", "title": "title", "published_at": "date", "tickers": "stock"},
    ),
    "stocknet": Mapping(
        source="stocknet", kind=SourceKind.SOCIAL,
        columns={"id": "id", "text": "text", "published_at": "created_at", "tickers": "cashtags",
                 "language": "lang"},
        meta_columns=("user_id", "is_retweet"),
    ),
    "stocktwits": Mapping(
        source="stocktwits", kind=SourceKind.SOCIAL,
        columns={"id": "message_id", "text": "body", "published_at": "created_at", "author": "username"},
        meta_columns=("tag", "likes", "platform"),
    ),
}


@dataclass
class ReplayReport:
    rows: int = 0
    documents: int = 0
    merged: int = 0  # rows folded into a document seen earlier in the file
    dead_letters: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _open_text(path: Path, **kwargs: Any) -> IO[str]:
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace", **kwargs)
    return path.open(encoding="utf-8", errors="replace", **kwargs)


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, str]]:
    """(line or row number, row or None when unreadable, raw text) for .jsonl/.json/.csv, optionally .gz."""
    suffix = Path(path.name.removesuffix(".gz")).suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        with _open_text(path) as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    yield number, None, line
                    continue
                yield number, row if isinstance(row, dict) else None, line
    else:
        with _open_text(path, newline="") as fh:
            for number, row in enumerate(csv.DictReader(fh), 2):
                yield number, row, json.dumps(row, default=str)


_TICKER = re.compile(r"^[A-Z0-9][A-Z0-9.\-]{0,15}$")


def _tickers(value: Any) -> list[str]:
    """Tickers from one ticker, a JSON list or "A,B"; tags that cannot be tickers ("ND_F") are left out."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = json.loads(value) if value.startswith("[") else value.split(",")
    items = value if isinstance(value, list) else [value]
    cleaned = (str(t).strip().lstrip("$").upper() for t in items)
    return list(dict.fromkeys(t for t in cleaned if _TICKER.match(t)))


def _document(row: dict[str, Any], mapping: Mapping, ingested_at: datetime) -> RawDocument:
    """One row → a validated document; raises InvalidDocument with the reason."""
    get = {name: row.get(column) for name, column in mapping.columns.items()}
    text = clean_text(str(get.get("text") or ""))
    if not text:
        raise InvalidDocument(DeadLetterReason.EMPTY_TEXT, f"column {mapping.columns['text']!r} is empty")
    published_at = parse_timestamp(get.get("published_at"), mapping.timezone)
    key = get.get("id") or get.get("url") or f"{text}|{published_at.isoformat()}"
    entities = [EntityMention(ticker=t, confidence=1.0, method="source") for t in _tickers(get.get("tickers"))]
    meta = {c: row.get(c) for c in mapping.meta_columns if row.get(c) not in (None, "")}
    try:
        return RawDocument(
            id=stable_doc_id(mapping.source, str(key)),
            source=mapping.source,
            source_kind=mapping.kind,
            url=get.get("url") or None,
            title=clean_text(str(get["title"])) if get.get("title") else None,
            text=text,
            author=str(get["author"]) if get.get("author") else None,
            published_at=published_at,
            ingested_at=ingested_at,
            language=str(get["language"])[:8] if get.get("language") else None,
            entities=entities,
            source_meta=meta,
        )
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        too_long = first["type"] == "string_too_long"
        reason = DeadLetterReason.TEXT_TOO_LARGE if too_long else DeadLetterReason.INVALID_VALUE
        raise InvalidDocument(reason, f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from exc


def _merge(first: RawDocument, other: RawDocument) -> RawDocument:
    known = {e.ticker for e in first.entities}
    extra = [e for e in other.entities if e.ticker not in known]
    return first.model_copy(update={"entities": [*first.entities, *extra]}) if extra else first


def load_documents(
    path: Path, mapping: Mapping, report: ReplayReport, on_dead_letter: Callable[[DeadLetter], None]
) -> list[RawDocument]:
    """Read, validate and merge the whole file, sorted by publication time (stable for ties)."""
    ingested_at = utcnow()
    by_id: dict[str, RawDocument] = {}
    for number, row, raw in read_rows(path):
        report.rows += 1
        try:
            if row is None:
                raise InvalidDocument(DeadLetterReason.NOT_JSON, f"line {number} is not a JSON object")
            doc = _document(row, mapping, ingested_at)
        except InvalidDocument as exc:
            report.dead_letters[exc.reason] = report.dead_letters.get(exc.reason, 0) + 1
            on_dead_letter(DeadLetter.build(stage="ingest", reason=exc.reason,
                                            detail=f"{path.name}:{number}: {exc.detail}", payload=raw))
            continue
        if doc.id in by_id:
            report.merged += 1
            by_id[doc.id] = _merge(by_id[doc.id], doc)
        else:
            by_id[doc.id] = doc
    return sorted(by_id.values(), key=lambda d: d.published_at)


def paced(docs: list[RawDocument], speed: float, sleep: Callable[[float], None] = time.sleep) -> Iterable[RawDocument]:
    """Yield documents keeping their publication-time gaps divided by `speed` (0 = no waiting)."""
    if speed <= 0 or not docs:
        yield from docs
        return
    stream_start = docs[0].published_at
    wall_start = time.monotonic()
    for doc in docs:
        due = (doc.published_at - stream_start).total_seconds() / speed
        ahead = due - (time.monotonic() - wall_start)
        if ahead > 0:
            sleep(ahead)
        yield doc


def replay(
    path: Path, mapping: Mapping, sink: DocumentSink, speed: float = 0.0, limit: int | None = None,
    progress: bool = True, flush_every: int = 5000,
    linker: Callable[[str, datetime, bool], list[EntityMention]] | None = None,
) -> ReplayReport:
    """`linker` (optional, e.g. marketpulse.ingest.documents.default_linker()) adds the entities found
    in the text after the ones the file's ticker column gave."""
    report = ReplayReport()
    started = time.monotonic()
    docs = load_documents(path, mapping, report, sink.send_dead_letter)
    if limit is not None:
        docs = docs[:limit]
    for n, doc in enumerate(tqdm(paced(docs, speed), total=len(docs), unit="doc", disable=not progress,
                                 desc=f"replay {path.name}"), 1):
        if linker is not None:
            doc = with_linked_entities(doc, linker)
        sink.send(doc)
        report.documents += 1
        if n % flush_every == 0:
            sink.flush()
    sink.flush()
    report.seconds = time.monotonic() - started
    return report
