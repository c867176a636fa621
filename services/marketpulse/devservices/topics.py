"""Create Kafka topics with explicit partition counts (the broker never auto-creates them).

Uses aiokafka's admin client: kafka-python's admin describe calls are broken against recent
brokers, and Faust workers already run on aiokafka. Call `ensure_topics` from plain code and
`ensure_topics_async` from inside an event loop (a Faust worker, an async test).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping

from marketpulse.core.errors import ServiceError

_TOPIC_ALREADY_EXISTS = 36
_READY_TIMEOUT_S = 30.0


async def ensure_topics_async(
    bootstrap: str,
    names: Iterable[str],
    partitions: int,
    replication_factor: int = 1,
    configs: Mapping[str, str] | None = None,
) -> dict[str, int]:
    """Create the missing topics and wait until each has a leader for every partition.

    Returns {topic: partition count}. An existing topic keeps its partition count (shown in the result):
    changing it would move keys between partitions behind the consumers' back.
    """
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    wanted = sorted(set(names))
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
    await admin.start()
    try:
        new = [NewTopic(n, partitions, replication_factor, topic_configs=dict(configs or {})) for n in wanted]
        _raise_on_errors(await admin.create_topics(new))
        return await _wait_for_leaders(admin, wanted)
    finally:
        await admin.close()


def ensure_topics(
    bootstrap: str,
    names: Iterable[str],
    partitions: int,
    replication_factor: int = 1,
    configs: Mapping[str, str] | None = None,
) -> dict[str, int]:
    """Blocking form of `ensure_topics_async` for code that is not inside an event loop."""
    return asyncio.run(ensure_topics_async(bootstrap, names, partitions, replication_factor, configs))


async def delete_topics_async(bootstrap: str, names: Iterable[str]) -> None:
    """Delete topics, ignoring ones that do not exist (test clean-up)."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        doomed = [n for n in names if n in existing]
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()


def delete_topics(bootstrap: str, names: Iterable[str]) -> None:
    asyncio.run(delete_topics_async(bootstrap, list(names)))


def _raise_on_errors(response: object) -> None:
    failed = [
        f"{entry[0]}: error {entry[1]} {entry[2] if len(entry) > 2 else ''}".rstrip()
        for entry in getattr(response, "topic_errors", [])
        if entry[1] not in (0, _TOPIC_ALREADY_EXISTS)
    ]
    if failed:
        raise ServiceError("could not create topics: " + "; ".join(failed))


async def _wait_for_leaders(admin, names: list[str]) -> dict[str, int]:
    # A fresh topic is in the metadata a moment before its partitions have leaders; producing in
    # that window fails with NOT_LEADER / UNKNOWN_TOPIC, so callers get topics that are usable.
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while True:
        described = await admin.describe_topics(names)
        ready = {t["topic"]: len(t["partitions"]) for t in described if _has_leaders(t)}
        if len(ready) == len(names):
            return ready
        if time.monotonic() > deadline:
            missing = sorted(set(names) - set(ready))
            raise ServiceError(f"topics without leaders after {_READY_TIMEOUT_S:.0f} s: {missing}")
        await asyncio.sleep(0.1)


def _has_leaders(topic: Mapping) -> bool:
    partitions = topic.get("partitions") or []
    return topic.get("error_code") == 0 and bool(partitions) and all(p["leader"] >= 0 for p in partitions)
