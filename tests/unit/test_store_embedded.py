"""The embedded chDB store runs the same migrations and keeps writes idempotent."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from marketpulse.core.messages import EVENT_TYPES, DeadLetter, EntityMention, RawDocument, ScoredDocument
from marketpulse.store.embedded import ChdbStore

T = datetime(2024, 5, 1, 14, 30, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = ChdbStore(tmp_path_factory.mktemp("chdb"))
    store.migrate()
    yield store
    store.close()


def doc(i: int, tickers=("AAPL",)) -> RawDocument:
    return RawDocument(id=f"d{i}", source="test", source_kind="news", text=f"text {i} it's", title=None,
                       published_at=T, ingested_at=T, entities=[EntityMention(ticker=t) for t in tickers])


def scored(i: int, score: float, tickers=("AAPL",)) -> ScoredDocument:
    label = "positive" if score > 0 else "negative"
    return ScoredDocument(
        doc_id=f"d{i}", source="test", source_kind="news", published_at=T, ingested_at=T, scored_at=T,
        entities=list(tickers), model_name="m", model_version="1", sentiment=label,
        sentiment_scores={"negative": max(0, -score), "neutral": 0.0, "positive": max(0, score)},
        sentiment_score=score, events=[], event_scores={t: 0.0 for t in EVENT_TYPES},
    )


def test_migrate_is_idempotent(store):
    assert store.migrate() == []
    assert store.query("SELECT count() FROM schema_migrations")[0][0] == 5


def test_documents_written_twice_are_one_row_after_final(store):
    store.write_documents([doc(1), doc(2)])
    store.write_documents([doc(1)])
    assert store.query("SELECT count() FROM documents FINAL")[0][0] == 2
    row = store.query("SELECT doc_id, published_at, tickers FROM documents FINAL WHERE doc_id = %(id)s",
                      {"id": "d1"})
    assert row == [("d1", T.replace(microsecond=0), ["AAPL"])]


def test_rollup_counts_distinct_documents_per_ticker_minute(store):
    store.write_scores([scored(1, 0.8), scored(2, -0.4, ("AAPL", "MSFT"))])
    store.write_scores([scored(1, 0.8)])  # a re-delivery
    rows = store.query(
        "SELECT ticker, uniqExactMerge(docs), sumMerge(negatives) FROM entity_sentiment_1m "
        "GROUP BY ticker ORDER BY ticker")
    assert rows == [("AAPL", 2, 1), ("MSFT", 1, 1)]


def test_dead_letters_round_trip(store):
    letter = DeadLetter.build(stage="validate", reason="not_json", detail="bad", payload=b"{", topic="t",
                              partition=1, offset=9)
    store.write_dead_letters([letter, letter])
    assert store.query("SELECT reason, kafka_offset FROM dead_letters FINAL") == [("not_json", 9)]
