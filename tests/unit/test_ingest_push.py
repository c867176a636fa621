"""POST /ingest against an in-memory sink: auth, validation reasons, size limits, back-pressure."""

from __future__ import annotations

import asyncio
import json

from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from marketpulse.ingest.push import PushServer
from marketpulse.ingest.settings import HttpPushSettings
from marketpulse.ingest.sink import MemorySink

TOKEN = "s3cret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DOC = {"text": "Apple beats estimates", "published_at": "2024-05-31T10:00:00Z", "id": "n1", "tickers": ["AAPL"]}


def _settings(**kw) -> HttpPushSettings:
    return HttpPushSettings(token=SecretStr(TOKEN), **{"max_body_bytes": 64 * 1024, "max_batch": 50, **kw})


def _run(server: PushServer, scenario):
    async def main():
        async with TestClient(TestServer(server.app())) as client:
            return await scenario(client)

    return asyncio.run(main())


def test_accepted_documents_reach_the_sink():
    sink = MemorySink()
    server = PushServer(_settings(), sink)

    async def scenario(client):
        one = await client.post("/ingest", json=DOC, headers=AUTH)
        batch = await client.post("/ingest", json={"documents": [{**DOC, "id": f"b{i}"} for i in range(10)]},
                                  headers=AUTH)
        return one.status, await one.json(), batch.status, await batch.json()

    status, body, batch_status, batch_body = _run(server, scenario)
    assert (status, body["accepted"], batch_status, batch_body["accepted"]) == (202, 1, 202, 10)
    assert len(sink.documents) == 11  # the sender drained the queue on shutdown
    assert sink.documents[0].kafka_key() == b"AAPL" and sink.documents[0].source == "push"
    assert sink.flushes >= 1


def test_missing_or_wrong_token_is_401():
    server = PushServer(_settings(), MemorySink())

    async def scenario(client):
        none = await client.post("/ingest", json=DOC)
        wrong = await client.post("/ingest", json=DOC, headers={"Authorization": "Bearer nope"})
        return none.status, wrong.status

    assert _run(server, scenario) == (401, 401)


def test_invalid_input_is_400_with_the_reason_and_nothing_is_queued():
    sink = MemorySink()
    server = PushServer(_settings(), sink)
    cases = {
        "not json": b"{nope",
        "no text": json.dumps({"title": "x"}).encode(),
        "future": json.dumps({**DOC, "published_at": "2999-01-01T00:00:00Z"}).encode(),
        "mixed batch": json.dumps([DOC, {"text": "  "}, 7]).encode(),
        "empty": b"[]",
        "bad kind": json.dumps({**DOC, "kind": "video"}).encode(),
        "bad source": json.dumps({**DOC, "source": "Über source!" * 10}).encode(),
    }

    async def scenario(client):
        out = {}
        for name, body in cases.items():
            response = await client.post("/ingest", data=body, headers={**AUTH, "Content-Type": "application/json"})
            out[name] = (response.status, await response.json())
        return out

    out = _run(server, scenario)
    assert {name: status for name, (status, _) in out.items()} == dict.fromkeys(cases, 400)
    assert out["not json"][1]["error"] == "not_json"
    assert out["no text"][1]["rejected"][0]["reason"] == "missing_field"
    assert out["future"][1]["rejected"][0]["reason"] == "implausible_timestamp"
    mixed = out["mixed batch"][1]["rejected"]
    assert [(r["index"], r["reason"]) for r in mixed] == [(1, "empty_text"), (2, "not_an_object")]
    assert sink.documents == []


def test_oversized_body_and_batch_are_413():
    server = PushServer(_settings(max_body_bytes=2048, max_batch=5), MemorySink())

    async def scenario(client):
        big = await client.post("/ingest", json={**DOC, "text": "x" * 5000}, headers=AUTH)
        many = await client.post("/ingest", json=[DOC] * 6, headers=AUTH)
        return big.status, (await big.json())["error"], many.status, (await many.json())["error"]

    assert _run(server, scenario) == (413, "too_large", 413, "too_many")


def test_full_queue_answers_429_with_retry_after():
    server = PushServer(_settings(queue_size=5, retry_after_s=2), MemorySink())
    server.start_sender = lambda: None  # a stalled producer: nothing drains the queue

    async def scenario(client):
        first = await client.post("/ingest", json=[{**DOC, "id": str(i)} for i in range(4)], headers=AUTH)
        second = await client.post("/ingest", json=[{**DOC, "id": f"x{i}"} for i in range(2)], headers=AUTH)
        return first.status, second.status, second.headers.get("Retry-After")

    assert _run(server, scenario) == (202, 429, "2")


def test_health():
    server = PushServer(_settings(), MemorySink())

    async def scenario(client):
        response = await client.get("/healthz")
        return response.status, await response.json()

    assert _run(server, scenario) == (200, {"status": "ok", "queued": 0})
