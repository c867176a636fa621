"""HTTP push into the real Kafka broker: 10,000 posts at concurrency 20 all land; bad input is refused."""

from __future__ import annotations

import asyncio
import threading
import time

import aiohttp
import pytest
from aiohttp import web
from kafka import KafkaConsumer, TopicPartition
from pydantic import SecretStr

from marketpulse.ingest.producer import KafkaDocumentSink
from marketpulse.ingest.push import PushServer
from marketpulse.ingest.settings import HttpPushSettings

TOKEN = "integration-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
POSTS = 10_000
CONCURRENCY = 20


class ServerThread:
    """The push server on its own event loop in a thread, as `marketpulse ingest http` runs it."""

    def __init__(self, server: PushServer) -> None:
        self.server = server
        self.loop = asyncio.new_event_loop()
        self.port: int | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.runner = web.AppRunner(self.server.app())
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self._ready.set()
        self.loop.run_forever()

    def __enter__(self) -> str:
        self._thread.start()
        assert self._ready.wait(30)
        return f"http://127.0.0.1:{self.port}/ingest"

    def __exit__(self, *exc) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(120)  # drains + flushes
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(30)


def _end_offsets(bootstrap: str, topic: str) -> int:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        return sum(consumer.end_offsets(partitions).values())
    finally:
        consumer.close()


async def _post_all(url: str) -> dict[int, int]:
    statuses: dict[int, int] = {}
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def post(session: aiohttp.ClientSession, i: int) -> None:
        doc = {"id": f"post-{i}", "text": f"Post number {i}: shares of Apple move on volume {i * 7}",
               "published_at": "2024-05-31T10:00:00Z", "source": "loadtest"}
        async with semaphore:
            while True:
                async with session.post(url, json=doc, headers=AUTH) as response:
                    if response.status != 429:  # back-pressure: honour Retry-After and resend
                        statuses[response.status] = statuses.get(response.status, 0) + 1
                        return
                    await asyncio.sleep(float(response.headers.get("Retry-After", "1")))

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as session:
        await asyncio.gather(*(post(session, i) for i in range(POSTS)))
    return statuses


async def _bad_requests(url: str) -> dict[str, tuple[int, dict]]:
    cases = {
        "oversized": ({"text": "x" * 300_000, "published_at": "2024-05-31T10:00:00Z"}, AUTH),
        "invalid": ([{"title": "no text"}, {"text": "ok", "published_at": "2999-01-01T00:00:00Z"}], AUTH),
        "no token": ({"text": "hello", "published_at": "2024-05-31T10:00:00Z"}, {}),
    }
    out = {}
    async with aiohttp.ClientSession() as session:
        for name, (body, headers) in cases.items():
            async with session.post(url, json=body, headers=headers) as response:
                out[name] = (response.status, await response.json())
        async with session.post(url, data=b"{not json", headers=AUTH) as response:
            out["not json"] = (response.status, await response.json())
    return out


@pytest.mark.slow
def test_ten_thousand_posts_at_concurrency_20_all_reach_kafka(kafka_settings):
    settings = HttpPushSettings(token=SecretStr(TOKEN), max_body_bytes=256 * 1024, queue_size=2000)
    sink = KafkaDocumentSink(kafka_settings, source="push")
    server = PushServer(settings, sink)  # no dedup: these posts are distinct on purpose
    started = time.monotonic()
    try:
        with ServerThread(server) as url:
            statuses = asyncio.run(_post_all(url))
            rejected = asyncio.run(_bad_requests(url))
    finally:
        sink.close()
    elapsed = time.monotonic() - started
    print(f"{POSTS} posts at concurrency {CONCURRENCY} in {elapsed:.1f}s ({POSTS / elapsed:.0f}/s)")
    assert statuses == {202: POSTS}
    assert server.delivery_errors == 0
    assert _end_offsets(kafka_settings.bootstrap_servers, kafka_settings.topic_news) == POSTS
    assert rejected["oversized"][0] == 413 and rejected["oversized"][1]["error"] == "too_large"
    assert rejected["invalid"][0] == 400
    assert [r["reason"] for r in rejected["invalid"][1]["rejected"]] == ["missing_field", "implausible_timestamp"]
    assert rejected["no token"][0] == 401
    assert rejected["not json"] == (400, rejected["not json"][1]) and rejected["not json"][1]["error"] == "not_json"
