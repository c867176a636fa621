"""Normalisation shared by every source: timestamps to UTC, text clean-up, stable document ids."""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

from marketpulse.core.errors import InvalidDocument
from marketpulse.core.messages import DeadLetterReason

_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def clean_text(value: str) -> str:
    """Strip HTML tags and entities, normalise unicode (NFKC) and collapse whitespace."""
    text = html.unescape(_TAG.sub(" ", value))
    text = unicodedata.normalize("NFKC", text)
    return _SPACE.sub(" ", text).strip()


def parse_timestamp(value: object, default_tz: str = "UTC") -> datetime:
    """Parse the timestamp shapes real feeds use into an aware UTC datetime.

    Accepts datetimes, epoch seconds or milliseconds (int, float or digit strings), ISO-8601 with or
    without offset ("Z" too), and RFC-822 dates as in RSS. Naive values are read in `default_tz`
    (FinViz prints US/Eastern wall-clock time without saying so).
    """
    parsed = _parse(value, default_tz)
    if parsed is None:
        raise InvalidDocument(DeadLetterReason.BAD_TIMESTAMP, f"unparseable timestamp {str(value)[:80]!r}")
    return parsed.astimezone(UTC)


def _parse(value: object, default_tz: str) -> datetime | None:
    if isinstance(value, datetime):
        return _localise(value, default_tz)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return _from_epoch(float(value))
    text = str(value).strip()
    if not text:
        return None
    if re.fullmatch(r"\d{9,13}(\.\d+)?", text):
        return _from_epoch(float(text))
    try:
        return _localise(datetime.fromisoformat(text.replace("Z", "+00:00")), default_tz)
    except ValueError:
        pass
    try:
        return _localise(parsedate_to_datetime(text), default_tz)
    except (TypeError, ValueError, IndexError):
        pass
    return _parse_other(text, default_tz)


# Shapes seen in scraped pages and CSV exports that neither ISO-8601 nor RFC-822 parsing takes.
_OTHER_FORMATS = (
    "%b-%d-%y %I:%M%p",  # FinViz "Feb-02-22 10:20AM"
    "%B %d, %Y %I:%M %p", "%b %d, %Y %I:%M %p", "%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y",
    "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d",
    "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y",
)
_UTC_SUFFIX = re.compile(r"\s+(?:UTC|GMT|Z)$", re.IGNORECASE)


def _parse_other(text: str, default_tz: str) -> datetime | None:
    stripped = _UTC_SUFFIX.sub("", text)
    tz = "UTC" if stripped != text else default_tz
    if stripped != text:
        try:
            return _localise(datetime.fromisoformat(stripped), tz)
        except ValueError:
            pass
    for fmt in _OTHER_FORMATS:
        try:
            return _localise(datetime.strptime(stripped, fmt), tz)  # noqa: DTZ007 - zone added right here
        except ValueError:
            continue
    return None


def _from_epoch(seconds: float) -> datetime | None:
    if seconds > 1e11:  # milliseconds
        seconds /= 1000.0
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _localise(value: datetime, default_tz: str) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=ZoneInfo(default_tz))
    return value


def stable_doc_id(source: str, key: str) -> str:
    """The same item from the same source always gets the same id, across polls and replays."""
    digest = hashlib.sha1(f"{source}\x1f{key}".encode()).hexdigest()[:20]
    return f"{source}:{digest}"
