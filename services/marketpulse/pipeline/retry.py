"""Back-off for store writes: keep the batch, wait, try again; never drop it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from marketpulse.core.errors import StoreError, StoreUnavailable
from marketpulse.core.metrics import STORE_AVAILABLE, STORE_RETRIES

log = logging.getLogger(__name__)


def backoff_delays(initial_s: float, max_s: float):
    """initial, 2×initial, 4×initial, … capped at max_s, forever."""
    delay = initial_s
    while True:
        yield delay
        delay = min(delay * 2, max_s)


async def until_stored(write: Callable[[], None], initial_s: float, max_s: float, run=None) -> int:
    """Run the blocking `write` (in `run`, e.g. an executor) until it succeeds; returns retries used.

    While this waits, the caller consumes nothing more, so memory stays bounded by one batch and
    the broker pauses delivery; the event loop stays free, so the consumer keeps heartbeating.
    A refusal that is not a connection problem (a server shutting down answers with errors too) is
    retried as well but logged as an error: dropping the batch would lose data, crashing the agent
    would stop the stream; waiting keeps both, and `marketpulse_store_available` shows it.
    """
    run = run or (lambda fn: asyncio.get_running_loop().run_in_executor(None, fn))
    retries = 0
    for delay in backoff_delays(initial_s, max_s):
        try:
            await run(write)
        except StoreError as exc:
            retries += 1
            STORE_AVAILABLE.set(0)
            STORE_RETRIES.inc()
            level = logging.WARNING if isinstance(exc, StoreUnavailable) else logging.ERROR
            log.log(level, "store unavailable (%s); retry %d in %.1fs", exc, retries, delay)
            await asyncio.sleep(delay)
            continue
        STORE_AVAILABLE.set(1)
        return retries
    raise AssertionError("unreachable: backoff_delays is infinite")
