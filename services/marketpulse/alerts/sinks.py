"""Where alerts go: the store's alerts table, the alerts topic, notifiers (webhooks) via an outbox.

`AlertSink.emit(alerts)` fans one batch of alert messages out, in this order:
1. `store.write_alerts` (keyed by alert id: idempotent; StoreUnavailable propagates so the caller
   backs off and calls `emit` again, like `Pipeline.commit`);
2. `publish(key, value)` per message to the alerts topic (key = alert id);
3. every `DurableNotifier.submit`: the messages are written to its outbox file *before* any HTTP
   attempt and leave it only once the receiver said 2xx. A background thread delivers with
   exponential backoff, forever; a restart resumes from the file. Message ids already delivered or
   queued are skipped, so calling `emit` twice with the same alerts sends each webhook once.
   The outbox is bounded (`outbox_capacity`): past it the oldest message is dropped, counted in
   marketpulse_alert_deliveries_total{outcome="dropped"} and logged, never silently.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from marketpulse.alerts import metrics
from marketpulse.alerts.errors import DeliveryFailed
from marketpulse.alerts.webhook import delivery_id
from marketpulse.core.messages import Alert
from marketpulse.store.base import Store

log = logging.getLogger(__name__)

Publish = Callable[[bytes, bytes], None]
_DELIVERED_MEMORY = 10_000


class Notifier(Protocol):
    name: str

    def send(self, alert: Alert) -> None:
        """Deliver one alert or raise DeliveryFailed."""


def topic_message(alert: Alert) -> tuple[bytes, bytes]:
    """(key, value) of an alert on the alerts topic; schemas/alert.schema.json is the value."""
    return alert.alert_id.encode(), alert.model_dump_json().encode()


class Outbox:
    """Messages waiting for one notifier, kept in a JSON file rewritten atomically on change."""

    def __init__(self, path: Path | None, capacity: int = 10_000) -> None:
        self.path, self.capacity = path, capacity
        self.lock = threading.RLock()
        self.pending: OrderedDict[str, dict] = OrderedDict()  # delivery id -> {alert, attempts, next_at}
        self.delivered: OrderedDict[str, None] = OrderedDict()
        if path is not None and path.exists():
            data = json.loads(path.read_text())
            self.pending = OrderedDict((e["id"], e) for e in data["pending"])
            self.delivered = OrderedDict.fromkeys(data["delivered"])
        metrics.OUTBOX_SIZE.set(len(self.pending))

    def put(self, alerts: Sequence[Alert]) -> int:
        with self.lock:
            added = 0
            for alert in alerts:
                ident = delivery_id(alert)
                if ident in self.pending or ident in self.delivered:
                    continue
                self.pending[ident] = {"id": ident, "alert": alert.model_dump(mode="json"), "attempts": 0,
                                       "next_at": 0.0}
                added += 1
                if len(self.pending) > self.capacity:
                    dropped, _ = self.pending.popitem(last=False)
                    metrics.DELIVERIES.labels("outbox", "dropped").inc()
                    log.error("alert outbox full (%d): dropped the oldest message %s", self.capacity, dropped)
            if added:
                self._save()
            return added

    def due(self, now: float) -> list[dict]:
        with self.lock:
            return [e for e in self.pending.values() if e["next_at"] <= now]

    def done(self, ident: str, save: bool = True) -> None:
        with self.lock:
            self.pending.pop(ident, None)
            self.delivered[ident] = None
            while len(self.delivered) > _DELIVERED_MEMORY:
                self.delivered.popitem(last=False)
            if save:
                self._save()

    def retry_later(self, ident: str, next_at: float, save: bool = True) -> None:
        with self.lock:
            if ident in self.pending:
                self.pending[ident]["attempts"] += 1
                self.pending[ident]["next_at"] = next_at
                if save:
                    self._save()

    def save(self) -> None:
        with self.lock:
            self._save()

    def __len__(self) -> int:
        return len(self.pending)

    def _save(self) -> None:
        metrics.OUTBOX_SIZE.set(len(self.pending))
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        tmp.write_text(json.dumps({"pending": list(self.pending.values()), "delivered": list(self.delivered)}))
        os.replace(tmp, self.path)


class DurableNotifier:
    """A notifier behind an outbox, delivered from a background thread (never blocks the pipeline)."""

    def __init__(self, notifier: Notifier, outbox: Outbox, backoff_initial_s: float = 1.0,
                 backoff_max_s: float = 300.0, clock: Callable[[], float] = time.monotonic,
                 background: bool = True) -> None:
        self.notifier, self.outbox, self.clock = notifier, outbox, clock
        self.backoff_initial_s, self.backoff_max_s = backoff_initial_s, backoff_max_s
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread = None
        for entry in self.outbox.pending.values():
            entry["next_at"] = 0.0  # monotonic clocks restart with the process: retry now
        if background:
            self._thread = threading.Thread(target=self._run, name=f"mp-{notifier.name}", daemon=True)
            self._thread.start()

    def submit(self, alerts: Sequence[Alert]) -> None:
        if self.outbox.put(alerts):
            self._wake.set()

    def deliver_due(self, save_every: int = 50) -> int:
        """One pass over the messages due now; returns how many were delivered. The outbox file is
        rewritten every `save_every` outcomes, not after each: draining a backlog stays linear (a
        crash mid-pass re-sends at most that many, with the same delivery ids)."""
        delivered = changed = 0
        for entry in self.outbox.due(self.clock()):
            try:
                self.notifier.send(Alert.model_validate(entry["alert"]))
            except DeliveryFailed as exc:
                delay = min(self.backoff_initial_s * 2 ** entry["attempts"], self.backoff_max_s)
                log.warning("%s: alert message %s not delivered (%s); next try in %.0fs",
                            self.notifier.name, entry["id"], exc.detail, delay)
                self.outbox.retry_later(entry["id"], self.clock() + delay, save=False)
            else:
                self.outbox.done(entry["id"], save=False)
                delivered += 1
            changed += 1
            if changed % save_every == 0:
                self.outbox.save()
        if changed:
            self.outbox.save()
        return delivered

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until the outbox is empty (or the timeout); True when it is."""
        deadline = time.monotonic() + timeout_s
        while len(self.outbox) and time.monotonic() < deadline:
            if self._thread is None:
                self.deliver_due()
            self._wake.set()
            time.sleep(0.02)
        return not len(self.outbox)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.deliver_due()
            except Exception:  # noqa: BLE001 - the delivery thread must outlive one bad message
                log.exception("%s: delivery pass failed", self.notifier.name)
            next_at = min((e["next_at"] for e in self.outbox.due(float("inf"))), default=None)
            wait = 1.0 if next_at is None else max(0.0, min(1.0, next_at - self.clock()))
            self._wake.wait(wait)
            self._wake.clear()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


class AlertSink:
    """Fan-out of alert messages to the store, the alerts topic and the notifiers."""

    def __init__(self, store: Store | None = None, publish: Publish | None = None,
                 notifiers: Sequence[DurableNotifier] = ()) -> None:
        self.store, self.publish, self.notifiers = store, publish, list(notifiers)

    def emit(self, alerts: Sequence[Alert]) -> None:
        if not alerts:
            return
        if self.store is not None:
            self.store.write_alerts(alerts)
            metrics.DELIVERIES.labels("store", "ok").inc(len(alerts))
        if self.publish is not None:
            for alert in alerts:
                self.publish(*topic_message(alert))
            metrics.DELIVERIES.labels("topic", "ok").inc(len(alerts))
        for notifier in self.notifiers:
            notifier.submit(alerts)

    def close(self) -> None:
        for notifier in self.notifiers:
            notifier.close()


def kafka_publisher(bootstrap_servers: str, topic: str, client_id: str = "marketpulse-alerts") -> Publish:
    """A kafka-python producer as a `publish` callable (acks=all, flushed per message)."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap_servers.split(","), acks="all", client_id=client_id)

    def publish(key: bytes, value: bytes) -> None:
        producer.send(topic, key=key, value=value).get(timeout=30)

    return publish


def build_sink(webhook, store: Store | None = None, publish: Publish | None = None) -> AlertSink:
    """AlertSink from WebhookSettings: one durable webhook notifier per URL, each with its own outbox."""
    from marketpulse.alerts.webhook import WebhookNotifier

    notifiers = []
    for url in webhook.url_list():
        notifier = WebhookNotifier(url, webhook.secret.get_secret_value(), webhook.body, webhook.timeout_s,
                                   webhook.max_attempts, webhook.backoff_initial_s, webhook.backoff_max_s)
        tag = hashlib.sha256(url.encode()).hexdigest()[:10]  # one outbox per URL, stable across reorderings
        path = webhook.outbox_path.with_name(f"{webhook.outbox_path.stem}-{tag}{webhook.outbox_path.suffix}")
        notifiers.append(DurableNotifier(notifier, Outbox(path, webhook.outbox_capacity),
                                         webhook.backoff_initial_s, webhook.backoff_max_s))
    return AlertSink(store, publish, notifiers)
