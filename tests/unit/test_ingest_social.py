"""StockTwits and Reddit records (API JSON shapes and the dataset CSVs) → documents."""

from __future__ import annotations

import io
import json

import httpx
import pytest

from marketpulse.core.messages import DeadLetter, RawDocument
from marketpulse.core.paths import shared_datasets_dir
from marketpulse.ingest.documents import default_linker
from marketpulse.ingest.social import SocialParser, SocialSource, flatten

STOCKTWITS_API = {
    "response": {"status": 200},
    "messages": [
        {"id": 472206234, "body": "$AAPL breaking out, Apple &amp; $MSFT next &#39;cause earnings",
         "created_at": "2022-07-18T00:28:39Z", "user": {"id": 1, "username": "trader1"},
         "symbols": [{"id": 686, "symbol": "AAPL"}, {"id": 2735, "symbol": "MSFT"}],
         "entities": {"sentiment": {"basic": "Bullish"}}, "likes": {"total": 3}},
        {"id": 472206235, "body": "$ETH.X dumping, $BTC.X too", "created_at": "2022-07-18T00:29:00Z",
         "user": {"id": 2, "username": "trader2"}, "symbols": [{"symbol": "ETH.X"}],
         "entities": {"sentiment": {"basic": "Bearish"}}},
        {"id": 472206236, "body": "no tag here $TSLA", "created_at": "2022-07-18T00:30:00Z",
         "user": {"username": "t3"}, "entities": {"sentiment": None}},
    ],
}

REDDIT_THREAD = [
    {"kind": "Listing", "data": {"children": [
        {"kind": "t3", "data": {"id": "s9i9bw", "name": "t3_s9i9bw", "title": "GME and AMC DD",
                                "selftext": "Long GME, the CEO is great &amp; so is the US",
                                "created_utc": 1642792067.0,
                                "author": "ape", "subreddit": "wallstreetbets", "score": 42,
                                "permalink": "/r/wallstreetbets/comments/s9i9bw/gme/"}}]}},
    {"kind": "Listing", "data": {"children": [
        {"kind": "t1", "data": {"id": "c1", "name": "t1_c1", "body": "Tesla is overvalued", "created_utc": 1642792100,
                                "author": "bear", "subreddit": "wallstreetbets", "parent_id": "t3_s9i9bw",
                                "replies": {"kind": "Listing", "data": {"children": [
                                    {"kind": "t1", "data": {"id": "c2", "body": "[deleted]", "created_utc": 1642792200,
                                                            "author": "[deleted]", "parent_id": "t1_c1"}},
                                    {"kind": "more", "data": {"count": 5}}]}}}}]}},
]


def _docs(items):
    items = list(items)
    return [i for i in items if isinstance(i, RawDocument)], [i for i in items if isinstance(i, DeadLetter)]


def test_stocktwits_api_messages_keep_the_users_tag_and_symbols():
    parser = SocialParser(linker=default_linker())
    docs, dead = _docs(parser.documents(flatten(STOCKTWITS_API)))
    assert dead == [] and len(docs) == 3
    first = docs[0]
    assert first.source == "stocktwits" and first.source_kind.value == "social"
    assert first.source_meta["user_sentiment"] == "bullish" and first.source_meta["likes"] == 3
    assert first.text == "$AAPL breaking out, Apple & $MSFT next 'cause earnings"  # API text is HTML-escaped
    assert [e.ticker for e in first.entities][:2] == ["AAPL", "MSFT"]
    assert first.kafka_key() == b"AAPL"
    assert first.author == "trader1" and first.url == "https://stocktwits.com/message/472206234"
    assert docs[1].source_meta["user_sentiment"] == "bearish"
    assert docs[1].entities == []  # $ETH.X is StockTwits crypto, not an equity
    assert "user_sentiment" not in docs[2].source_meta
    assert [e.ticker for e in docs[2].entities] == ["TSLA"]


def test_reddit_thread_posts_and_nested_comments():
    docs, dead = _docs(SocialParser(linker=default_linker()).documents(flatten(REDDIT_THREAD)))
    assert [d.source_meta["reddit_kind"] for d in docs] == ["post", "comment"]
    post = docs[0]
    assert post.title == "GME and AMC DD" and post.url.endswith("/comments/s9i9bw/gme/")
    assert {e.ticker for e in post.entities} >= {"GME", "AMC"}
    assert not {e.ticker for e in post.entities} & {"CEO", "US", "DD"}
    assert post.published_at.isoformat() == "2022-01-21T19:07:47+00:00"
    assert docs[1].source_meta["parent_id"] == "t3_s9i9bw"
    assert [d.reason.value for d in dead] == ["empty_text"]  # the deleted reply: set aside, not lost


def test_garbage_records_become_dead_letters():
    parser = SocialParser()
    docs, dead = _docs(parser.documents([{"foo": 1}, {"_invalid": 5}]))
    assert docs == [] and [d.reason.value for d in dead] == ["invalid_value", "not_an_object"]


def test_stdin_json_lines(monkeypatch):
    lines = "\n".join(json.dumps(m) for m in STOCKTWITS_API["messages"]) + "\nnot json\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(lines))
    docs, dead = _docs(SocialSource("-").poll())
    assert len(docs) == 3 and [d.reason.value for d in dead] == ["not_an_object"]


def test_http_source_emits_only_new_messages_on_each_poll():
    pages = [STOCKTWITS_API, {"messages": STOCKTWITS_API["messages"][1:] + [
        {"id": 9, "body": "$NVDA", "created_at": "2022-07-18T01:00:00Z", "user": {"username": "u"}}]}]
    calls = []

    def handler(request):
        calls.append(request)
        return httpx.Response(200, json=pages[min(len(calls) - 1, 1)])

    source = SocialSource("https://api.stocktwits.com/api/2/streams/symbol/AAPL.json", "stocktwits",
                          client=httpx.Client(transport=httpx.MockTransport(handler)))
    first, _ = _docs(source.poll())
    second, _ = _docs(source.poll())
    assert len(first) == 3 and [d.text for d in second] == ["$NVDA"]


DATASETS = shared_datasets_dir()


@pytest.mark.skipif(not (DATASETS / "stocktwits_crypto_stream_2022").is_dir(), reason="shared datasets absent")
def test_stocktwits_dataset_csv():
    docs, dead = _docs(SocialSource(str(DATASETS / "stocktwits_crypto_stream_2022/message.csv")).poll())
    assert len(docs) == 14_423 and dead == []  # 577 repeated message ids emitted once
    tags = [d.source_meta.get("user_sentiment") for d in docs]
    assert tags.count("bullish") > 5000 and tags.count("bearish") > 1700


@pytest.mark.skipif(not (DATASETS / "reddit_wsb_posts").is_dir(), reason="shared datasets absent")
def test_reddit_dataset_csvs():
    posts, dead = _docs(SocialSource(str(DATASETS / "reddit_wsb_posts/reddit_wsb_2022-01.csv"), "reddit").poll())
    assert len(posts) == 1892 and dead == []
    comments, dead = _docs(SocialSource(str(DATASETS / "reddit_investing_stocks_2024/reddit_comments.csv")).poll())
    assert len(comments) + len(dead) == 5000
    assert {d.reason.value for d in dead} == {"empty_text"}
