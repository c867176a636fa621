"""Social posts: StockTwits messages and Reddit posts/comments, from a file, stdin or HTTP.

Accepted shapes (auto-detected per record):
- StockTwits API: a message {"id", "body", "created_at", "user": {"username"}, "symbols": [{"symbol"}],
  "entities": {"sentiment": {"basic": "Bullish"}}}, or the envelope {"messages": [...]};
  the dataset CSV rows (message_id/created_at/tag/username/body; StockEmotions id/date/ticker/senti_label/original).
- Reddit API: a thing {"kind": "t3"|"t1", "data": {...}}, a Listing, or the [post, comments] pair a
  thread's .json returns (nested replies included); the dataset CSV rows (TITLE/BODY/CREATED_UTC/ID,
  title/body/created/id).
The user's own bullish/bearish tag is kept as source_meta["user_sentiment"]; symbols the platform
attached become entities with method "source", ahead of what the linker finds in the text.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

from marketpulse.core.messages import DeadLetter, DeadLetterReason, RawDocument, SourceKind
from marketpulse.ingest.documents import DocumentFactory, Linker
from marketpulse.ingest.source import Source

_REMOVED = {"[deleted]", "[removed]"}


def _lower(record: dict[str, Any]) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in record.items()}


def flatten(obj: Any) -> Iterator[dict[str, Any]]:
    """Every post-like record inside an API response, a list, or a single record."""
    if isinstance(obj, list):
        for item in obj:
            yield from flatten(item)
    elif isinstance(obj, dict):
        if isinstance(obj.get("messages"), list):
            yield from flatten(obj["messages"])
        elif obj.get("kind") == "Listing":
            yield from flatten(obj.get("data", {}).get("children", []))
        elif obj.get("kind") in ("t1", "t3") and isinstance(obj.get("data"), dict):
            data = dict(obj["data"])
            replies = data.pop("replies", None)
            yield {**data, "_kind": obj["kind"]}
            if isinstance(replies, dict):
                yield from flatten(replies)
        elif obj.get("kind") == "more":
            return
        else:
            yield obj
    else:
        yield {"_invalid": obj}


def detect_platform(record: dict[str, Any]) -> str | None:
    keys = set(_lower(record))
    if record.get("_kind") or keys & {"subreddit", "selftext", "created_utc", "parent_post_id", "comms_num"}:
        return "reddit"
    if keys & {"message_id", "symbols", "senti_label"} or ("body" in keys and "user" in keys) \
            or ("tag" in keys and "body" in keys):
        return "stocktwits"
    return None


def _sentiment_tag(value: Any) -> str | None:
    text = str(value or "").strip().lower()
    return text if text in ("bullish", "bearish") else None


def stocktwits_fields(r: dict[str, Any]) -> dict[str, Any]:
    low = _lower(r)
    user = low.get("user") if isinstance(low.get("user"), dict) else {}
    entities = low.get("entities") if isinstance(low.get("entities"), dict) else {}
    sentiment = (entities.get("sentiment") or {}).get("basic") if isinstance(entities.get("sentiment"), dict) else None
    symbols = [s.get("symbol") for s in low.get("symbols") or [] if isinstance(s, dict) and s.get("symbol")]
    if low.get("ticker"):
        symbols.append(low["ticker"])
    tag = _sentiment_tag(sentiment or low.get("tag") or low.get("senti_label"))
    ident = low.get("id") if "message_id" not in low else low["message_id"]
    likes = low.get("likes")
    source = low.get("source") if isinstance(low.get("source"), dict) else {}
    has_message_id = ident not in (None, "") and ("message_id" in low or bool(user))
    return {
        "source": "stocktwits", "key": str(ident) if ident not in (None, "") else None,
        "text": low.get("body") or low.get("original"), "published_at": low.get("created_at") or low.get("date"),
        "author": user.get("username") or low.get("username"), "tickers": symbols,
        "url": f"https://stocktwits.com/message/{ident}" if has_message_id else None,
        "meta": {"user_sentiment": tag, "likes": likes.get("total") if isinstance(likes, dict) else likes,
                 "platform": low.get("platform") or source.get("title")},
    }


def reddit_fields(r: dict[str, Any]) -> dict[str, Any]:
    low = _lower(r)
    is_comment = low.get("_kind") == "t1" or ("title" not in low and "body" in low)
    title = None if is_comment else low.get("title")
    body = low.get("selftext") if "selftext" in low else low.get("body")
    body = None if str(body or "").strip() in _REMOVED else body
    created = low.get("created_utc") if low.get("created_utc") not in (None, "") else low.get("created")
    permalink = low.get("permalink")
    return {
        "source": "reddit", "key": str(low.get("name") or low.get("id") or "") or None, "title": title,
        "text": body if is_comment else "\n".join(t for t in (title, body) if t),
        "published_at": created, "author": None if low.get("author") in _REMOVED else low.get("author"),
        "url": f"https://www.reddit.com{permalink}" if permalink else (low.get("url") or None), "tickers": [],
        "meta": {"subreddit": low.get("subreddit"), "score": low.get("score"),
                 "reddit_kind": "comment" if is_comment else "post",
                 "parent_id": low.get("parent_id") or low.get("link_id") or low.get("parent_post_id")},
    }


class SocialParser:
    """Records → documents. `platform` forces stocktwits or reddit; None detects per record."""

    def __init__(self, platform: str | None = None, linker: Linker | None = None) -> None:
        self.platform = platform
        self._factories = {p: DocumentFactory(source=p, kind=SourceKind.SOCIAL, linker=linker)
                           for p in ("stocktwits", "reddit")}

    def documents(self, records: Iterable[dict[str, Any]]) -> Iterator[RawDocument | DeadLetter]:
        for record in records:
            yield self.document(record)

    def document(self, record: dict[str, Any]) -> RawDocument | DeadLetter:
        if "_invalid" in record:
            return DeadLetter.build(stage="ingest", reason=DeadLetterReason.NOT_AN_OBJECT,
                                    detail="social record is not an object", payload=json.dumps(record["_invalid"]))
        platform = self.platform or detect_platform(record)
        if platform not in self._factories:
            return DeadLetter.build(stage="ingest", reason=DeadLetterReason.INVALID_VALUE,
                                    detail="neither a StockTwits message nor a Reddit post/comment",
                                    payload=json.dumps(record, default=str))
        fields = stocktwits_fields(record) if platform == "stocktwits" else reddit_fields(record)
        fields.pop("source")
        return self._factories[platform].build(payload=record, **fields)


def read_records(location: str, client: httpx.Client | None = None) -> Iterator[dict[str, Any]]:
    """Records from a path (.json, .jsonl, .csv), "-" (stdin, JSON or JSON lines) or an http(s) URL."""
    if urlparse(location).scheme in ("http", "https"):
        response = (client or httpx.Client(timeout=20.0)).get(location)
        response.raise_for_status()
        yield from flatten(response.json())
        return
    if location == "-":
        yield from _parse_text(sys.stdin.read(), "-")
        return
    path = Path(location)
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8", errors="replace", newline="") as fh:
            yield from csv.DictReader(fh)
        return
    yield from _parse_text(path.read_text(encoding="utf-8", errors="replace"), location)


def _parse_text(text: str, where: str) -> Iterator[dict[str, Any]]:
    stripped = text.lstrip()
    if stripped.startswith("["):
        yield from flatten(json.loads(stripped))
        return
    if stripped.startswith("{"):
        try:
            yield from flatten(json.loads(stripped))
            return
        except json.JSONDecodeError:
            pass  # JSON lines
    for line in io.StringIO(text):
        if not line.strip():
            continue
        try:
            yield from flatten(json.loads(line))
        except json.JSONDecodeError:
            yield {"_invalid": line.strip()[:2000]}


class SocialSource(Source):
    """Reads one location per poll; with an HTTP URL, each poll re-reads it and emits only new ids."""

    def __init__(self, location: str, platform: str | None = None, linker: Linker | None = None,
                 client: httpx.Client | None = None) -> None:
        self.location = location
        self.name = platform or "social"
        self.parser = SocialParser(platform, linker)
        self._client = client
        self._seen: dict[str, None] = {}

    def poll(self) -> Iterator[RawDocument | DeadLetter]:
        for item in self.parser.documents(read_records(self.location, self._client)):
            if isinstance(item, RawDocument):
                if item.id in self._seen:
                    continue
                self._seen[item.id] = None
                if len(self._seen) > 100_000:
                    self._seen.pop(next(iter(self._seen)))
            yield item
