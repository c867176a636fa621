"""The transport-agnostic pipeline over in-memory fakes."""

from __future__ import annotations

import asyncio
import json

from marketpulse.inference.fake import FakeClassifier
from marketpulse.pipeline.core import Incoming, Pipeline
from marketpulse.pipeline.retry import backoff_delays, until_stored
from marketpulse.store.memory import MemoryStore


def message(i: int, text: str = "Nvidia rises on record earnings", **extra) -> Incoming:
    doc = {"id": f"t:{i}", "source": "t", "source_kind": "news", "text": text, "entities": [{"ticker": "NVDA"}],
           "published_at": "2024-05-31T12:00:00Z", "ingested_at": "2024-05-31T12:00:01Z"} | extra
    return Incoming(json.dumps(doc).encode(), topic="mp.raw.news", partition=0, offset=i)


def test_valid_and_bad_records_are_separated_with_reasons():
    store = MemoryStore()
    pipeline = Pipeline(store)
    batch = pipeline.prepare([message(1), Incoming(b"{", "mp.raw.news", 0, 2), message(3, text="")])
    pipeline.commit(batch)
    assert list(store.documents) == ["t:1"]
    assert [(d.reason.value, d.offset) for d in batch.dead_letters] == [("not_json", 2), ("empty_text", 3)]
    assert batch.scored == []


def test_classified_batch_carries_model_and_scores():
    store = MemoryStore()
    pipeline = Pipeline(store, FakeClassifier(name="fake", version="7"))
    batch = pipeline.prepare([message(1), message(2, text="Nvidia falls after lawsuit")])
    pipeline.commit(batch)
    by_id = {s.doc_id: s for s in store.scores.values()}
    assert by_id["t:1"].sentiment == "positive" and by_id["t:1"].model_version == "7"
    assert by_id["t:2"].sentiment == "negative" and "Legal" in by_id["t:2"].events
    assert by_id["t:2"].entities == ["NVDA"]


def test_duplicate_inside_a_batch_is_classified_once():
    classifier = FakeClassifier()
    batch = Pipeline(MemoryStore(), classifier).prepare([message(1), message(1)])
    assert classifier.calls == [1] and len(batch.scored) == 1


def test_one_failing_text_becomes_a_dead_letter_not_a_lost_batch():
    pipeline = Pipeline(MemoryStore(), FakeClassifier(fail_on="poison"))
    batch = pipeline.prepare([message(1), message(2, text="poison pill"), message(3)])
    assert [s.doc_id for s in batch.scored] == ["t:1", "t:3"]
    assert [d.id for d in batch.documents] == ["t:1", "t:3"]
    assert [(d.stage, d.reason.value) for d in batch.dead_letters] == [("classify", "classify_failed")]


def test_commit_is_retried_until_the_store_is_back():
    store = MemoryStore()
    pipeline = Pipeline(store)
    batch = pipeline.prepare([message(1)])
    store.fail_next = 3

    async def run_inline(fn):
        fn()

    retries = asyncio.run(until_stored(lambda: pipeline.commit(batch), 0.001, 0.002, run=run_inline))
    assert retries == 3 and list(store.documents) == ["t:1"]


def test_backoff_doubles_and_caps():
    delays = backoff_delays(0.5, 3.0)
    assert [next(delays) for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


