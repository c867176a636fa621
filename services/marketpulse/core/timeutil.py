"""Time is always timezone-aware UTC inside marketpulse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# Older than this is not financial news we can act on; it is a parsing accident (epoch 0, year 1).
EARLIEST_PLAUSIBLE = datetime(1990, 1, 1, tzinfo=UTC)
# Publishers' clocks drift and time zones get mislabelled; more than this ahead is wrong.
MAX_FUTURE_SKEW = timedelta(hours=26)


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_utc(value: datetime) -> datetime:
    """Convert an aware datetime to UTC; naive datetimes are a programming error."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime: timestamps must carry a time zone")
    return value.astimezone(UTC)


def plausibility_problem(published_at: datetime, now: datetime | None = None) -> str | None:
    """Why a publication time cannot be right, or None when it is plausible."""
    now = now or utcnow()
    if published_at < EARLIEST_PLAUSIBLE:
        return f"published_at {published_at.isoformat()} is before {EARLIEST_PLAUSIBLE.year}"
    if published_at > now + MAX_FUTURE_SKEW:
        return f"published_at {published_at.isoformat()} is in the future"
    return None
