"""RSS/Atom poller: many feeds, conditional GET, per-feed state that survives restarts.

Per feed it keeps the ETag, Last-Modified and the ids of items already emitted (bounded, newest
kept) in one JSON file per feed set under the state directory, written atomically after the sink
flushed. A restart therefore emits nothing twice; a 304 costs one round trip and no parsing.
Feeds are URLs (http/https) or local files (tests, archives). Bytes are decoded leniently: a feed
that declares UTF-8 but holds Windows-1252 quotes keeps its valid UTF-8 and gets its stray bytes
read as cp1252, instead of failing at the first byte.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import feedparser
import httpx

from marketpulse.core.messages import DeadLetter, DeadLetterReason, RawDocument, SourceKind
from marketpulse.ingest.documents import DocumentFactory, Linker
from marketpulse.ingest.metrics import FEED_FETCHES
from marketpulse.ingest.source import Source

log = logging.getLogger(__name__)

_XML_DECL_ENCODING = re.compile(rb"^(<\?xml[^>]*?)\sencoding=[\"'][^\"']*[\"']", re.IGNORECASE)


def _cp1252_fallback(error: UnicodeDecodeError) -> tuple[str, int]:
    bad = error.object[error.start:error.end]
    return bad.decode("cp1252", errors="replace"), error.end


codecs.register_error("marketpulse-cp1252", _cp1252_fallback)


def decode_feed(raw: bytes) -> str:
    """Feed bytes → text: the declared encoding when it is not UTF-8, else UTF-8 with stray bytes read
    as Windows-1252 (the usual culprit: curly quotes pasted from Word)."""
    head = raw[:200].lower()
    declared = re.search(rb"encoding=[\"']([a-z0-9_\-]+)[\"']", head)
    encoding = declared.group(1).decode() if declared else "utf-8"
    if encoding.replace("_", "-") not in ("utf-8", "utf8"):
        try:
            return raw.decode(encoding, errors="replace")
        except LookupError:
            pass
    return raw.decode("utf-8", errors="marketpulse-cp1252")


def parse_feed(raw: bytes) -> feedparser.FeedParserDict:
    text = decode_feed(raw)
    # The text is already decoded: drop the declaration so the parser does not decode it again.
    encoded = _XML_DECL_ENCODING.sub(rb"\1", text.encode("utf-8"), count=1)
    return feedparser.parse(encoded, response_headers={"content-type": "application/xml; charset=utf-8"})


class FeedState:
    """ETag, Last-Modified and seen item ids per feed, in one JSON file, written atomically."""

    def __init__(self, path: Path | None, max_ids: int = 5000) -> None:
        self.path = path
        self.max_ids = max_ids
        self.feeds: dict[str, dict[str, Any]] = {}
        if path is not None and path.is_file():
            self.feeds = json.loads(path.read_text(encoding="utf-8")).get("feeds", {})

    def feed(self, url: str) -> dict[str, Any]:
        return self.feeds.setdefault(url, {"etag": None, "modified": None, "seen": []})

    def mark_seen(self, url: str, ids: list[str]) -> None:
        state = self.feed(url)
        known = set(state["seen"])
        state["seen"] = (state["seen"] + [i for i in ids if i not in known])[-self.max_ids:]

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"version": 1, "feeds": self.feeds}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)


def state_file(state_dir: Path, feeds: list[str]) -> Path:
    """One state file per feed set: the same list of feeds finds its state again after a restart."""
    digest = hashlib.sha1("\n".join(sorted(feeds)).encode()).hexdigest()[:12]
    return state_dir / f"feeds-{digest}.json"


class RssSource(Source):
    name = "rss"

    def __init__(self, feeds: list[str], state: FeedState, linker: Linker | None = None,
                 client: httpx.Client | None = None, user_agent: str = "marketpulse", timeout_s: float = 20.0) -> None:
        self.feeds = feeds
        self.state = state
        self.linker = linker
        self._client = client or httpx.Client(timeout=timeout_s, follow_redirects=True,
                                              headers={"User-Agent": user_agent})
        self._pending: dict[str, list[str]] = {}
        self._pending_headers: dict[str, tuple[str | None, str | None]] = {}

    def poll(self) -> Iterator[RawDocument | DeadLetter]:
        for url in self.feeds:
            yield from self._poll_feed(url)

    def commit(self) -> None:
        for url, ids in self._pending.items():
            self.state.mark_seen(url, ids)
        for url, (etag, modified) in self._pending_headers.items():
            self.state.feed(url).update(etag=etag, modified=modified)
        self._pending.clear()
        self._pending_headers.clear()
        self.state.save()

    def rollback(self) -> None:
        self._pending.clear()
        self._pending_headers.clear()

    def close(self) -> None:
        self._client.close()

    def _fetch(self, url: str) -> bytes | None:
        """The feed's bytes, or None when unchanged since the last poll (304)."""
        if not urlparse(url).scheme.startswith("http"):
            return Path(url.removeprefix("file://")).read_bytes()
        state = self.state.feed(url)
        headers = {}
        if state.get("etag"):
            headers["If-None-Match"] = state["etag"]
        if state.get("modified"):
            headers["If-Modified-Since"] = state["modified"]
        response = self._client.get(url, headers=headers)
        if response.status_code == 304:
            return None
        response.raise_for_status()
        self._pending_headers[url] = (response.headers.get("ETag"), response.headers.get("Last-Modified"))
        return response.content

    def _poll_feed(self, url: str) -> Iterator[RawDocument | DeadLetter]:
        try:
            raw = self._fetch(url)
        except (httpx.HTTPError, OSError) as exc:
            FEED_FETCHES.labels("error").inc()
            log.warning("feed %s: %s", url, exc)
            return
        if raw is None:
            FEED_FETCHES.labels("not_modified").inc()
            return
        FEED_FETCHES.labels("ok").inc()
        parsed = parse_feed(raw)
        if not parsed.entries and (parsed.bozo or not parsed.get("version")):
            why = parsed.get("bozo_exception") or "not RSS or Atom"
            yield DeadLetter.build(stage="ingest", reason=DeadLetterReason.INVALID_VALUE,
                                   detail=f"{url}: unparseable feed: {why}", payload=raw)
            return
        factory = DocumentFactory(source=self._source_name(url, parsed), kind=SourceKind.NEWS, linker=self.linker)
        seen = set(self.state.feed(url)["seen"]) | set(self._pending.get(url, []))
        for entry in parsed.entries:
            item_id = entry.get("id") or entry.get("link") or entry.get("title") or ""
            if not item_id or item_id in seen:
                continue
            seen.add(item_id)
            self._pending.setdefault(url, []).append(item_id)
            yield self._document(factory, entry, item_id)

    @staticmethod
    def _source_name(url: str, parsed: feedparser.FeedParserDict) -> str:
        link = parsed.feed.get("link") or url
        host = urlparse(link).netloc or Path(url).stem
        return f"rss:{host.removeprefix('www.')}"[:128]

    @staticmethod
    def _document(factory: DocumentFactory, entry: Any, item_id: str) -> RawDocument | DeadLetter:
        summary = entry.get("summary") or ""
        if not summary and entry.get("content"):
            summary = entry["content"][0].get("value", "")
        title = entry.get("title") or ""
        text = f"{title}\n{summary}" if summary and title else (summary or title)
        published = entry.get("published") or entry.get("updated") or entry.get("created")
        meta = {"feed_item_id": item_id, "categories": [t.get("term") for t in entry.get("tags", []) if t.get("term")]}
        payload = {"id": item_id, "title": title, "published": published, "link": entry.get("link")}
        return factory.build(key=item_id, text=text, title=title, url=(entry.get("link") or "").strip() or None,
                             author=entry.get("author"), published_at=published, meta=meta, payload=payload)
