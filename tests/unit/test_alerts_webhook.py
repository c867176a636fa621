"""Webhooks: a real HTTP receiver verifies the signature; a failing one gets retries; nothing is lost."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from marketpulse.alerts import metrics
from marketpulse.alerts.errors import DeliveryFailed
from marketpulse.alerts.sinks import AlertSink, DurableNotifier, Outbox, topic_message
from marketpulse.alerts.testing import MemoryNotifier
from marketpulse.alerts.webhook import DELIVERY, SIGNATURE, TIMESTAMP, WebhookNotifier, sign, slack_body, verify
from marketpulse.core.messages import Alert, AlertDocument
from marketpulse.store.memory import MemoryStore

SECRET = b"s3cret-key"
T = datetime(2024, 5, 1, 13, 30, tzinfo=UTC)


def alert(state: str = "open", alert_id: str = "a1") -> Alert:
    return Alert(
        alert_id=alert_id, rule="sentiment_shift", entity="AAPL", entity_kind="ticker", state=state,
        severity="critical", opened_at=T, updated_at=T, event_time=T, direction="negative",
        summary="AAPL sentiment fell: z=-6.1", values={"z": -6.1, "ewma": -0.7},
        documents=[AlertDocument(doc_id="d1", title="Apple sued", url="https://news.example/d1",
                                 sentiment_score=-0.9, published_at=T)],
    )


class Receiver:
    """A webhook receiver on 127.0.0.1 that checks the signature like a customer would."""

    def __init__(self, fail_first: int = 0, status: int = 503) -> None:
        self.fail_first, self.status = fail_first, status
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                ok = verify(SECRET, dict(self.headers), body)
                receiver.requests.append({"headers": dict(self.headers), "body": body, "verified": ok})
                failing = len(receiver.requests) <= receiver.fail_first
                self.send_response(401 if not ok else receiver.status if failing else 204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def accepted(self) -> list[dict]:
        return [r for r in self.requests if r["verified"]]


def test_signature_covers_body_and_timestamp():
    body, ts = b'{"a":1}', str(int(time.time()))
    headers = {TIMESTAMP: ts, SIGNATURE: sign(SECRET, ts, body)}
    assert verify(SECRET, headers, body)
    assert not verify(SECRET, headers, b'{"a":2}')  # tampered body
    assert not verify(b"other", headers, body)  # wrong key
    assert not verify(SECRET, headers | {TIMESTAMP: str(int(ts) - 1)}, body)  # timestamp swapped
    assert not verify(SECRET, headers, body, now=int(ts) + 3600)  # a replay an hour later


def test_receiver_verifies_a_signed_alert():
    with Receiver() as receiver:
        notifier = WebhookNotifier(receiver.url, SECRET)
        notifier.send(alert())
    (req,) = receiver.requests
    assert req["verified"]
    assert Alert.model_validate_json(req["body"]) == alert()
    assert req["headers"][SIGNATURE].startswith("sha256=") and len(req["headers"][DELIVERY]) == 32


def test_failing_receiver_gets_retries_with_backoff_and_the_alert_arrives():
    sleeps: list[float] = []
    with Receiver(fail_first=2) as receiver:
        WebhookNotifier(receiver.url, SECRET, backoff_initial_s=0.5, sleep=sleeps.append).send(alert())
    assert len(receiver.requests) == 3 and len(receiver.accepted) == 3
    assert len({r["headers"][DELIVERY] for r in receiver.requests}) == 1  # one message, retried
    assert 0.4 <= sleeps[0] <= 0.6 and 0.8 <= sleeps[1] <= 1.2  # exponential, with jitter


def test_a_4xx_is_not_retried():
    with Receiver(fail_first=99, status=400) as receiver:
        with pytest.raises(DeliveryFailed) as info:
            WebhookNotifier(receiver.url, SECRET, sleep=lambda s: None).send(alert())
    assert len(receiver.requests) == 1 and not info.value.retryable


def test_receiver_down_alert_waits_in_outbox_across_a_restart(tmp_path):
    path = tmp_path / "outbox.json"
    with Receiver(fail_first=10**6, status=500) as down:
        notifier = WebhookNotifier(down.url, SECRET, max_attempts=3, sleep=lambda s: None)
        durable = DurableNotifier(notifier, Outbox(path), background=False)
        durable.submit([alert()])
        assert durable.deliver_due() == 0
    assert len(down.requests) == 3
    assert json.loads(path.read_text())["pending"][0]["alert"]["alert_id"] == "a1"  # persisted, not lost

    with Receiver() as up:  # the process restarts; the receiver is back
        notifier = WebhookNotifier(up.url, SECRET, sleep=lambda s: None)
        durable = DurableNotifier(notifier, Outbox(path), background=False)
        assert durable.deliver_due() == 1
        durable.submit([alert()])  # the same message again (a replayed batch): not sent twice
        durable.deliver_due()
    assert len(up.accepted) == 1 and Alert.model_validate_json(up.accepted[0]["body"]).alert_id == "a1"
    assert json.loads(path.read_text())["pending"] == []


def test_background_delivery_retries_until_delivered():
    fake = MemoryNotifier()
    fake.fail_next = 2
    durable = DurableNotifier(fake, Outbox(None), backoff_initial_s=0.01, backoff_max_s=0.02)
    try:
        durable.submit([alert(), alert("resolved")])
        assert durable.flush(timeout_s=5)
    finally:
        durable.close()
    assert [a.state for a in fake.sent] == ["open", "resolved"] and fake.attempts == 4


def test_outbox_is_bounded_and_says_what_it_dropped():
    outbox = Outbox(None, capacity=2)
    before = metrics.DELIVERIES.labels("outbox", "dropped")._value.get()
    outbox.put([alert(alert_id=f"a{i}") for i in range(3)])
    assert len(outbox) == 2
    assert metrics.DELIVERIES.labels("outbox", "dropped")._value.get() == before + 1


def test_sink_fans_out_to_store_topic_and_notifiers():
    store, published, fake = MemoryStore(), [], MemoryNotifier()
    durable = DurableNotifier(fake, Outbox(None), background=False)
    sink = AlertSink(store, lambda k, v: published.append((k, v)), [durable])
    sink.emit([alert()])
    sink.emit([alert()])  # re-emitted after a retry: idempotent everywhere that is keyed
    durable.deliver_due()
    assert list(store.alerts) == ["a1"]
    assert published[0] == topic_message(alert()) and published[0][0] == b"a1"
    assert len(fake.sent) == 1


def test_slack_body_links_the_documents():
    body = json.loads(slack_body(alert()))
    assert "AAPL" in body["text"] and "CRITICAL" in body["text"]
    assert "<https://news.example/d1|Apple sued>" in json.dumps(body["blocks"])


def test_metric_labels_are_bounded():
    assert set(metrics.ALERTS._labelnames) == {"rule", "entity_kind", "severity", "state"}
    assert set(metrics.DELIVERIES._labelnames) == {"sink", "outcome"}
