"""Webhook notifier: JSON (or a Slack-compatible body), HMAC-SHA256 signed, retried with backoff.

Every request carries
    X-Marketpulse-Timestamp: <unix seconds>
    X-Marketpulse-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>
    X-Marketpulse-Delivery:  <id of this alert message: same on every retry and every re-send>
The timestamp is inside the MAC, so a receiver that rejects old timestamps (`verify`, 5 min by
default) cannot be replayed; the delivery id lets it drop a message it already has.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import time
from collections.abc import Callable, Mapping

import httpx

from marketpulse.alerts import metrics
from marketpulse.alerts.errors import DeliveryFailed
from marketpulse.core.messages import Alert

log = logging.getLogger(__name__)

SIGNATURE = "X-Marketpulse-Signature"
TIMESTAMP = "X-Marketpulse-Timestamp"
DELIVERY = "X-Marketpulse-Delivery"
# 408/425/429 and 5xx may succeed later; any other 4xx will not, so retrying it is pointless.
_RETRYABLE = {408, 425, 429}
_EMOJI = {"critical": ":red_circle:", "warning": ":large_orange_circle:", "info": ":large_blue_circle:"}


def delivery_id(alert: Alert) -> str:
    key = f"{alert.alert_id}|{alert.state}|{alert.severity}|{alert.updated_at.isoformat()}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(secret: bytes, headers: Mapping[str, str], body: bytes, tolerance_s: float = 300.0,
           now: float | None = None) -> bool:
    """What a receiver does: recompute the MAC over the raw body, compare in constant time,
    and refuse a timestamp too far from its clock."""
    lower = {k.lower(): v for k, v in headers.items()}
    timestamp, signature = lower.get(TIMESTAMP.lower(), ""), lower.get(SIGNATURE.lower(), "")
    try:
        skew = abs((now if now is not None else time.time()) - int(timestamp))
    except ValueError:
        return False
    return skew <= tolerance_s and hmac.compare_digest(sign(secret, timestamp, body), signature)


def json_body(alert: Alert) -> bytes:
    return alert.model_dump_json().encode()


def slack_body(alert: Alert) -> bytes:
    """A Slack incoming-webhook message (`text` + blocks); links to the top documents."""
    head = f"{_EMOJI[alert.severity]} *{alert.severity.upper()}* {alert.rule} · {alert.entity} · {alert.state}"
    lines = [f"• <{d.url}|{(d.title or d.doc_id)[:80]}> ({d.sentiment_score:+.2f})" if d.url
             else f"• {(d.title or d.doc_id)[:80]} ({d.sentiment_score:+.2f})" for d in alert.documents]
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": f"{head}\n{alert.summary}"}}]
    if lines:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text":
                   f"alert {alert.alert_id} · event time {alert.event_time.isoformat()}"}]})
    return json.dumps({"text": f"{head}: {alert.summary}", "blocks": blocks}).encode()


class WebhookNotifier:
    """POST one alert; retry transient failures with exponential backoff, then raise DeliveryFailed."""

    def __init__(self, url: str, secret: str | bytes, body: str = "json", timeout_s: float = 5.0,
                 max_attempts: int = 4, backoff_initial_s: float = 0.5, backoff_max_s: float = 60.0,
                 client: httpx.Client | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time) -> None:
        self.url = url
        self.secret = secret.encode() if isinstance(secret, str) else secret
        self.render = slack_body if body == "slack" else json_body
        self.max_attempts = max_attempts
        self.backoff_initial_s, self.backoff_max_s = backoff_initial_s, backoff_max_s
        self.client = client or httpx.Client(timeout=timeout_s)
        self.sleep, self.clock = sleep, clock
        self.name = f"webhook:{httpx.URL(url).host}"

    def send(self, alert: Alert) -> None:
        body = self.render(alert)
        delay = self.backoff_initial_s
        for attempt in range(1, self.max_attempts + 1):
            try:
                self._post(body, delivery_id(alert))
                metrics.DELIVERIES.labels("webhook", "ok").inc()
                return
            except DeliveryFailed as exc:
                if not exc.retryable or attempt == self.max_attempts:
                    metrics.DELIVERIES.labels("webhook", "failed").inc()
                    raise
                metrics.DELIVERIES.labels("webhook", "retry").inc()
                log.warning("webhook %s attempt %d failed (%s); retry in %.1fs", self.url, attempt, exc.detail, delay)
                self.sleep(delay * random.uniform(0.8, 1.2))  # jitter: retries from many workers spread out
                delay = min(delay * 2, self.backoff_max_s)

    def _post(self, body: bytes, delivery: str) -> None:
        timestamp = str(int(self.clock()))
        headers = {"Content-Type": "application/json", TIMESTAMP: timestamp, DELIVERY: delivery,
                   SIGNATURE: sign(self.secret, timestamp, body), "User-Agent": "marketpulse-alerts"}
        try:
            response = self.client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryFailed(self.url, f"{type(exc).__name__}: {exc}") from exc
        if response.status_code >= 300:
            retryable = response.status_code >= 500 or response.status_code in _RETRYABLE
            raise DeliveryFailed(self.url, f"HTTP {response.status_code}", retryable=retryable)

    def close(self) -> None:
        self.client.close()
