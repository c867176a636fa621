"""HTTP push: POST /ingest with one JSON document, a list, or {"documents": [...]}.

    202  accepted: {"accepted": n, "ids": [...]}; queued for Kafka
    400  invalid input, with the reason per rejected document; nothing of that request is queued
    401  missing or wrong token (Authorization: Bearer <token>)
    413  body larger than max_body_bytes, or more than max_batch documents
    429  the queue in front of the producer is full; Retry-After says when to try again
A request is all-or-nothing so a client can fix and resend it as a whole (ids are stable, so a
resend of accepted documents is harmless). A bounded queue decouples HTTP from Kafka: a slow broker
turns into 429s, not into unbounded memory. One thread drains it into the DocumentSink.

Document fields: text (required), title, url, author, published_at (default: now), id, source,
kind (news|social, default news), tickers, language, meta.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import queue
import re
import threading
from typing import Any

from aiohttp import web

from marketpulse.core.messages import DeadLetter, RawDocument, SourceKind
from marketpulse.core.timeutil import utcnow
from marketpulse.ingest.dedup import NearDuplicateFilter
from marketpulse.ingest.documents import DocumentFactory, Linker
from marketpulse.ingest.metrics import PUSH_QUEUE_DEPTH, PUSH_REQUESTS
from marketpulse.ingest.settings import HttpPushSettings
from marketpulse.ingest.sink import DocumentSink
from marketpulse.ingest.source import publish

log = logging.getLogger(__name__)
_SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9._:-]{0,63}$")


def _problem(status: int, error: str, detail: str, **extra: Any) -> web.Response:
    PUSH_REQUESTS.labels(str(status)).inc()
    return web.json_response({"error": error, "detail": detail, **extra}, status=status)


class PushServer:
    def __init__(self, settings: HttpPushSettings, sink: DocumentSink, linker: Linker | None = None,
                 dedup: NearDuplicateFilter | None = None, flush_interval_s: float = 0.2) -> None:
        self.settings = settings
        self.sink = sink
        self.linker = linker
        self.dedup = dedup
        self.flush_interval_s = flush_interval_s
        self.queue: queue.Queue[RawDocument] = queue.Queue(maxsize=settings.queue_size)
        self._factories: dict[tuple[str, SourceKind], DocumentFactory] = {}
        self._stop = threading.Event()
        self._sender: threading.Thread | None = None
        self.delivery_errors = 0

    # --- HTTP ---------------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.settings.max_body_bytes)
        app.router.add_post("/ingest", self.handle_ingest)
        app.router.add_get("/healthz", self.handle_health)
        app.on_startup.append(self._on_startup)
        app.on_cleanup.append(self._on_cleanup)
        return app

    async def handle_health(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "queued": self.queue.qsize()})

    async def handle_ingest(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return _problem(401, "unauthorized", "send Authorization: Bearer <token>")
        if (request.content_length or 0) > self.settings.max_body_bytes:
            return _problem(413, "too_large", f"body over {self.settings.max_body_bytes} bytes")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _problem(413, "too_large", f"body over {self.settings.max_body_bytes} bytes")
        items, error = self._items(body)
        if error:
            return error
        docs, rejected = self._documents(items)
        if rejected:
            return _problem(400, "invalid_document", f"{len(rejected)} of {len(items)} documents invalid",
                            rejected=rejected)
        if self.queue.maxsize - self.queue.qsize() < len(docs):
            PUSH_REQUESTS.labels("429").inc()
            return web.json_response({"error": "overloaded", "detail": "ingest queue is full"}, status=429,
                                     headers={"Retry-After": str(self.settings.retry_after_s)})
        for doc in docs:  # no await in between: the capacity check above still holds
            self.queue.put_nowait(doc)
        PUSH_QUEUE_DEPTH.set(self.queue.qsize())
        PUSH_REQUESTS.labels("202").inc()
        return web.json_response({"accepted": len(docs), "ids": [d.id for d in docs]}, status=202)

    def _authorised(self, request: web.Request) -> bool:
        expected = self.settings.token.get_secret_value()
        header = request.headers.get("Authorization", "")
        given = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())

    def _items(self, body: bytes) -> tuple[list[Any], web.Response | None]:
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return [], _problem(400, "not_json", f"body is not JSON: {exc}")
        if isinstance(data, dict) and isinstance(data.get("documents"), list):
            data = data["documents"]
        items = data if isinstance(data, list) else [data]
        if not items:
            return [], _problem(400, "empty", "no documents in the request")
        if len(items) > self.settings.max_batch:
            return [], _problem(413, "too_many", f"{len(items)} documents; at most {self.settings.max_batch}")
        return items, None

    def _documents(self, items: list[Any]) -> tuple[list[RawDocument], list[dict[str, Any]]]:
        docs, rejected = [], []
        for index, item in enumerate(items):
            result = self._document(item)
            if isinstance(result, DeadLetter):
                rejected.append({"index": index, "reason": result.reason.value, "detail": result.detail})
            else:
                docs.append(result)
        return docs, rejected

    def _document(self, item: Any) -> RawDocument | DeadLetter:
        if not isinstance(item, dict):
            return DeadLetter.build(stage="ingest", reason="not_an_object", detail="a document must be an object",
                                    payload=json.dumps(item, default=str))
        if not isinstance(item.get("text"), str) or not isinstance(item.get("title", ""), str | None):
            return DeadLetter.build(stage="ingest", reason="missing_field" if "text" not in item else "wrong_type",
                                    detail="text (a string) is required", payload=json.dumps(item, default=str))
        try:
            kind = SourceKind(item.get("kind") or "news")
        except ValueError:
            return DeadLetter.build(stage="ingest", reason="invalid_value", detail="kind must be news or social",
                                    payload=json.dumps(item, default=str))
        source = str(item.get("source") or self.settings.source)
        if not _SOURCE_NAME.match(source):
            return DeadLetter.build(stage="ingest", reason="invalid_value", payload=json.dumps(item, default=str),
                                    detail="source must match [a-z0-9][a-z0-9._:-]{0,63}")
        factory = self._factories.get((source, kind))
        if factory is None:
            factory = self._factories[(source, kind)] = DocumentFactory(source, kind, self.linker)
        tickers = item.get("tickers") or []
        meta = item.get("meta") if isinstance(item.get("meta"), dict) else {}
        return factory.build(
            key=str(item["id"]) if item.get("id") not in (None, "") else None, text=item["text"],
            title=item.get("title"), url=item.get("url"), author=item.get("author"),
            published_at=item.get("published_at") or utcnow(), language=item.get("language"),
            tickers=tickers if isinstance(tickers, list) else [tickers], meta=meta, payload=item,
        )

    # --- queue → sink -------------------------------------------------------------------------------

    async def _on_startup(self, _app: web.Application) -> None:
        self.start_sender()

    async def _on_cleanup(self, _app: web.Application) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.stop_sender)

    def start_sender(self) -> None:
        self._stop.clear()
        self._sender = threading.Thread(target=self._drain, name="push-sender", daemon=True)
        self._sender.start()

    def stop_sender(self, timeout_s: float = 30.0) -> None:
        self._stop.set()
        if self._sender is not None:
            self._sender.join(timeout_s)

    def _drain(self) -> None:
        while not (self._stop.is_set() and self.queue.empty()):
            batch = self._take(512)
            if batch:
                publish(batch, self.sink, "push", self.dedup)
            if not batch or self.queue.empty():
                self._flush()
        self._flush()

    def _take(self, most: int) -> list[RawDocument]:
        try:
            batch = [self.queue.get(timeout=self.flush_interval_s)]
        except queue.Empty:
            return []
        while len(batch) < most:
            try:
                batch.append(self.queue.get_nowait())
            except queue.Empty:
                break
        PUSH_QUEUE_DEPTH.set(self.queue.qsize())
        return batch

    def _flush(self) -> None:
        try:
            self.sink.flush()
        except Exception as exc:  # noqa: BLE001 - delivery errors are counted by the sink; keep serving
            self.delivery_errors += 1
            log.error("push: delivery failed: %s", exc)
