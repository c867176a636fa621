"""RSS/Atom poller on the seven real feed files: counts, lenient decoding, polls, restarts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from marketpulse.core.messages import DeadLetter, RawDocument
from marketpulse.core.paths import shared_datasets_dir
from marketpulse.ingest.dedup import NearDuplicateFilter
from marketpulse.ingest.producer import DeliveryError
from marketpulse.ingest.rss import FeedState, RssSource, decode_feed, parse_feed, state_file
from marketpulse.ingest.sink import MemorySink
from marketpulse.ingest.source import publish, run_forever

FEEDS = shared_datasets_dir() / "rss_feeds_real"
COUNTS = {
    "yahoo_finance_rssindex_2018-09-20.xml": 50,
    "cnbc_finance_10000664_poll1_2019-07-23.xml": 30,
    "cnbc_finance_10000664_poll2_2019-07-24.xml": 30,
    "cnbc_finance_10000664_poll3_2019-07-29.xml": 30,
    "wsj_worldnews_2021-10-17.xml": 6,
    "sec_edgar_xbrlrss-2014-01_partial_MODIFIED.xml": 157,
    "yahoo_news_2021-10-03.xml": 50,
}
CNBC = [FEEDS / f"cnbc_finance_10000664_poll{i}_2019-07-{d}.xml" for i, d in ((1, 23), (2, 24), (3, 29))]
URL = "https://www.cnbc.com/id/10000664/device/rss/rss.html"

pytestmark = pytest.mark.skipif(not FEEDS.is_dir(), reason=f"shared RSS files not at {FEEDS}")


def _split(items):
    items = list(items)
    docs = [i for i in items if isinstance(i, RawDocument)]
    return docs, [i for i in items if isinstance(i, DeadLetter)]


@pytest.mark.parametrize("name,count", sorted(COUNTS.items()))
def test_every_real_feed_parses_with_its_item_count(name, count):
    docs, dead = _split(RssSource([str(FEEDS / name)], FeedState(None)).poll())
    assert len(docs) == count
    assert dead == []
    assert len({d.id for d in docs}) == count
    assert all(d.published_at.tzinfo is not None and d.text.strip() for d in docs)


def test_wrongly_declared_utf8_feed_yields_correct_curly_quotes():
    docs, _ = _split(RssSource([str(FEEDS / "yahoo_news_2021-10-03.xml")], FeedState(None)).poll())
    titles = [d.title for d in docs]
    assert "\u2018He grabs me and freakin\u2019 kisses me\u2019: WyCo GOP vice chair accuses JoCo GOP chair" in titles
    assert any("It\u2019s time to shut it down" in t for t in titles)
    assert not any("\ufffd" in (d.title or "") + d.text for d in docs)


def test_decoding_keeps_valid_utf8_and_reads_stray_bytes_as_cp1252():
    raw = '<?xml version="1.0" encoding="UTF-8"?><a>Estée </a>'.encode() + b"\x91quoted\x92"
    assert decode_feed(raw).endswith("<a>Est\u00e9e </a>\u2018quoted\u2019")


def test_real_timestamp_shapes_become_utc():
    def first(name):
        docs, _ = _split(RssSource([str(FEEDS / name)], FeedState(None)).poll())
        return docs[0].published_at

    assert first(CNBC[2].name) == datetime(2019, 7, 29, 13, 55, tzinfo=UTC)  # "Mon, 29 Jul 2019 13:55 GMT"
    assert first("sec_edgar_xbrlrss-2014-01_partial_MODIFIED.xml") == datetime(2014, 1, 31, 22, 29, 45, tzinfo=UTC)
    assert first("yahoo_news_2021-10-03.xml") == datetime(2021, 10, 2, 14, 22, 43, tzinfo=UTC)
    assert first("wsj_worldnews_2021-10-17.xml") == datetime(2021, 10, 17, 2, 30, tzinfo=UTC)


def test_html_in_descriptions_is_stripped():
    docs, _ = _split(RssSource([str(FEEDS / "yahoo_finance_rssindex_2018-09-20.xml")], FeedState(None)).poll())
    assert not any("<" in d.text or "&lt;" in d.text or "&#039;" in d.text for d in docs)


class Publisher:
    """A feed URL whose content changes between polls, with ETag support, as an httpx transport."""

    def __init__(self, bodies: list[bytes]) -> None:
        self.bodies = bodies
        self.current = 0
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        etag = f'"v{self.current}"'
        if request.headers.get("If-None-Match") == etag:
            return httpx.Response(304)
        return httpx.Response(200, content=self.bodies[self.current], headers={"ETag": etag})


def _source(publisher: Publisher, state: FeedState) -> RssSource:
    return RssSource([URL], state, client=httpx.Client(transport=httpx.MockTransport(publisher)))


def test_three_successive_cnbc_polls_emit_each_item_once(tmp_path):
    publisher = Publisher([p.read_bytes() for p in CNBC])
    state = FeedState(tmp_path / "state.json")
    source, sink = _source(publisher, state), MemorySink()
    per_poll = []
    for poll in range(3):
        publisher.current = poll
        report = publish(source.poll(), sink, "rss")
        source.commit()
        per_poll.append(report.documents)
    assert per_poll == [30, 12, 30]  # polls 1 and 2 share 18 items, poll 3 shares none
    assert len(sink.documents) == len({d.id for d in sink.documents}) == 72


def test_unchanged_feed_is_not_downloaded_again(tmp_path):
    publisher = Publisher([CNBC[0].read_bytes()])
    source, sink = _source(publisher, FeedState(tmp_path / "s.json")), MemorySink()
    publish(source.poll(), sink, "rss")
    source.commit()
    assert publish(source.poll(), sink, "rss").documents == 0
    assert publisher.requests[-1].headers["If-None-Match"] == '"v0"'
    assert len(sink.documents) == 30


def test_restart_does_not_re_emit_but_a_crash_before_commit_does(tmp_path):
    path = state_file(tmp_path, [URL])
    body = [CNBC[0].read_bytes()]
    crashed = _source(Publisher(body), FeedState(path))
    assert len(list(crashed.poll())) == 30  # no commit: nothing recorded as delivered
    first = _source(Publisher(body), FeedState(path))
    run_forever(first, MemorySink(), 0, stop=__import__("threading").Event(), once=True)
    assert path.is_file()
    restarted = _source(Publisher(body), FeedState(path))
    assert list(restarted.poll()) == []


def test_broken_feed_becomes_a_dead_letter_not_an_exception(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"\x00\x01 this is not a feed")
    docs, dead = _split(RssSource([str(bad)], FeedState(None)).poll())
    assert docs == [] and len(dead) == 1 and dead[0].reason.value == "invalid_value"


def test_unreachable_feed_is_skipped_and_others_still_polled(tmp_path):
    def down(request):
        raise httpx.ConnectError("refused", request=request)

    source = RssSource(["https://down.example/rss", str(CNBC[0])], FeedState(None),
                       client=httpx.Client(transport=httpx.MockTransport(down)))
    docs, dead = _split(source.poll())
    assert len(docs) == 30 and dead == []


def test_same_story_in_two_feeds_is_suppressed_as_near_duplicate():
    parsed = parse_feed(CNBC[0].read_bytes())
    assert len(parsed.entries) == 30
    dedup, sink = NearDuplicateFilter(), MemorySink()
    source = RssSource([str(CNBC[0]), str(CNBC[1])], FeedState(None))
    report = publish(source.poll(), sink, "rss", dedup)
    # As separate feeds the 18 shared items have different ids: the near-dup filter catches them.
    assert report.documents == 42 and report.duplicates == 18


def test_state_file_is_per_feed_set(tmp_path):
    assert state_file(tmp_path, ["a", "b"]) == state_file(tmp_path, ["b", "a"]) != state_file(tmp_path, ["a"])
    assert isinstance(state_file(tmp_path, ["a"]), Path)


class FailingSink(MemorySink):
    def __init__(self) -> None:
        super().__init__()
        self.fail = True

    def flush(self, timeout_s=None):
        if self.fail:
            raise DeliveryError("broker down")


def test_failed_delivery_is_not_recorded_as_seen_and_is_resent(tmp_path):
    import threading

    path = tmp_path / "s.json"
    source = _source(Publisher([CNBC[0].read_bytes()]), FeedState(path))
    sink = FailingSink()
    run_forever(source, sink, 0, threading.Event(), once=True)
    assert not path.exists()  # nothing committed
    sink.fail = False
    report = run_forever(_source(Publisher([CNBC[0].read_bytes()]), FeedState(path)), sink, 0,
                         threading.Event(), once=True)
    assert report.documents == 30 and path.is_file()
