"""Normalisation for every source: timestamps, plausibility, HTML, language, near-duplicates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from marketpulse.core.errors import InvalidDocument
from marketpulse.core.messages import DeadLetter, RawDocument, SourceKind
from marketpulse.ingest.dedup import NearDuplicateFilter
from marketpulse.ingest.documents import DocumentFactory
from marketpulse.ingest.language import detect_language
from marketpulse.ingest.normalize import clean_text, parse_timestamp

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("value,tz,expected", [
    ("Mon, 29 Jul 2019 13:55 GMT", "UTC", datetime(2019, 7, 29, 13, 55, tzinfo=UTC)),  # CNBC, no seconds
    ("Fri, 31 Jan 2014 17:29:45 EST", "UTC", datetime(2014, 1, 31, 22, 29, 45, tzinfo=UTC)),  # SEC
    ("Thu, 20 Sep 2018 11:41:02 -0400", "UTC", datetime(2018, 9, 20, 15, 41, 2, tzinfo=UTC)),  # Yahoo
    ("2021-10-02T14:22:43Z", "UTC", datetime(2021, 10, 2, 14, 22, 43, tzinfo=UTC)),  # ISO in RSS
    ("2020-06-05 10:30:00-04:00", "UTC", datetime(2020, 6, 5, 14, 30, tzinfo=UTC)),  # Benzinga
    ("2023-06-01 10:20:00", "America/New_York", datetime(2023, 6, 1, 14, 20, tzinfo=UTC)),  # FinViz
    (1642792067, "UTC", datetime(2022, 1, 21, 19, 7, 47, tzinfo=UTC)),  # Reddit epoch
    ("1642792067.0", "UTC", datetime(2022, 1, 21, 19, 7, 47, tzinfo=UTC)),
    (1642792067000, "UTC", datetime(2022, 1, 21, 19, 7, 47, tzinfo=UTC)),  # milliseconds
    ("Feb-02-22 10:20AM", "America/New_York", datetime(2022, 2, 2, 15, 20, tzinfo=UTC)),  # FinViz page
    ("Mon Jul 29 13:55:00 +0000 2019", "UTC", datetime(2019, 7, 29, 13, 55, tzinfo=UTC)),  # Twitter API
    ("2022-07-18T00:28:39.000Z", "UTC", datetime(2022, 7, 18, 0, 28, 39, tzinfo=UTC)),
    ("2020-06-05 10:30:00 UTC", "America/New_York", datetime(2020, 6, 5, 10, 30, tzinfo=UTC)),
    ("June 5, 2020", "UTC", datetime(2020, 6, 5, tzinfo=UTC)),
    ("2020/06/05 10:30", "UTC", datetime(2020, 6, 5, 10, 30, tzinfo=UTC)),
    ("29.07.2019 13:55", "Europe/Berlin", datetime(2019, 7, 29, 11, 55, tzinfo=UTC)),
])
def test_real_timestamp_formats_to_utc(value, tz, expected):
    assert parse_timestamp(value, tz) == expected


def test_unparseable_timestamp_has_a_reason():
    with pytest.raises(InvalidDocument) as err:
        parse_timestamp("yesterday-ish")
    assert err.value.reason == "bad_timestamp"


def _factory(**kw):
    return DocumentFactory("test", SourceKind.NEWS, now=lambda: NOW, **kw)


@pytest.mark.parametrize("when,reason", [
    (NOW + timedelta(days=3), "implausible_timestamp"),  # future
    ("1970-01-01T00:00:00Z", "implausible_timestamp"),  # epoch zero: a parsing accident
    ("0001-01-01T00:00:00Z", "implausible_timestamp"),
    ("not a date", "bad_timestamp"),
])
def test_future_or_absurd_dates_are_dead_letters_with_a_reason(when, reason):
    out = _factory().build(key="k", text="Apple beats estimates", published_at=when, payload={"t": 1})
    assert isinstance(out, DeadLetter)
    assert out.reason.value == reason and out.stage == "ingest" and "test" in out.detail


def test_document_is_cleaned_identified_and_tagged():
    doc = _factory().build(key="guid-1", title="<b>Apple</b> &amp; Co", text="<p>Shares rose&nbsp;3% on  the news</p>",
                           published_at="2024-05-31T10:00:00Z", payload={})
    assert isinstance(doc, RawDocument)
    assert doc.title == "Apple & Co" and doc.text == "Shares rose 3% on the news"
    assert doc.language == "en"
    again = _factory().build(key="guid-1", text="different text", published_at="2024-05-31T10:00:00Z", payload={})
    assert again.id == doc.id  # id comes from source + key, stable across polls


def test_empty_text_is_a_dead_letter():
    out = _factory().build(key="k", text="<p> </p>", published_at=NOW, payload="x")
    assert isinstance(out, DeadLetter) and out.reason.value == "empty_text"


def test_clean_text_normalises_unicode_and_whitespace():
    assert clean_text("ﬁnance\u00a0news\n\n<br/>today") == "finance news today"


@pytest.mark.parametrize("text,lang", [
    ("Apple shares rise after the company beats estimates for the quarter", "en"),
    ("Las acciones de la empresa suben por los resultados del trimestre", "es"),
    ("Die Aktie der Firma steigt nach den Zahlen für das Quartal", "de"),
    ("Les actions de la société montent après les résultats du trimestre", "fr"),
    ("As ações da empresa sobem com os resultados do trimestre e não caem", "pt"),
    ("Le azioni della società salgono per i risultati del trimestre", "it"),
    ("Saham perusahaan naik karena laporan keuangan yang kuat dan ini akan", "id"),
    ("NVDA", "und"),
])
def test_language_detection(text, lang):
    assert detect_language(text) == lang


def _doc(title: str, minutes: int, source: str = "a", key: str | None = None) -> RawDocument:
    factory = DocumentFactory(source, SourceKind.NEWS, now=lambda: NOW)
    return factory.build(key=key or title + source, title=title, text=title,
                         published_at=NOW - timedelta(hours=2) + timedelta(minutes=minutes), payload={})


def test_same_story_from_two_sources_is_suppressed_within_the_window():
    dedup = NearDuplicateFilter(window_s=3600)
    assert not dedup.seen(_doc("Apple beats earnings estimates as iPhone sales jump", 0, "reuters"))
    assert dedup.seen(_doc("UPDATE: Apple beats earnings estimates as iPhone sales jump", 5, "cnbc"))
    assert not dedup.seen(_doc("Microsoft misses revenue estimates as cloud growth slows", 6, "cnbc"))
    assert not dedup.seen(_doc("Apple beats earnings estimates as iPhone sales jump", 200, "wsj"))  # outside window
    assert dedup.suppressed == 1


def test_dedup_memory_is_bounded():
    dedup = NearDuplicateFilter(window_s=10**6, max_items=100)
    for i in range(500):
        dedup.seen(_doc(f"Company number {i} reports record quarterly results today", 0, key=str(i)))
    assert len(dedup._items) == 100
    assert sum(len(b) for band in dedup._bands for b in band.values()) == 400  # 4 bands x 100
