"""Alerts: sentiment-shift and event detection per ticker and sector, lifecycle, sinks.

    scored documents ─► AlertEngine.observe ─► Alert messages ─► AlertSink.emit
                         ├ ShiftDetector (ticker)   EWMA z-score, CUSUM, volume gate
                         ├ ShiftDetector (sector)
                         ├ EventTrigger             event type ≥ threshold, watched tickers
                         └ Lifecycle                open → cooldown → resolved, deterministic ids
    sinks: store (alerts table) · alerts topic · webhooks through a durable outbox · Prometheus

Runners use `AlertRuntime` (runtime.py): start (restore or rebuild), process(batch), close.
"""

from marketpulse.alerts.engine import AlertEngine
from marketpulse.alerts.errors import AlertError, DeliveryFailed
from marketpulse.alerts.recovery import MemoryHistory, StoreHistory, catch_up, rebuild
from marketpulse.alerts.runtime import AlertRuntime
from marketpulse.alerts.settings import AlertSettings, SectorSignalSettings, TickerSignalSettings, WebhookSettings
from marketpulse.alerts.signals import Crossing, Detector, DocRef, ScriptedDetector, ShiftDetector
from marketpulse.alerts.sinks import AlertSink, DurableNotifier, Notifier, Outbox, build_sink, kafka_publisher
from marketpulse.alerts.webhook import WebhookNotifier, sign, verify

__all__ = [
    "AlertEngine", "AlertError", "AlertRuntime", "AlertSettings", "AlertSink", "Crossing", "DeliveryFailed",
    "Detector", "DocRef", "DurableNotifier", "MemoryHistory", "Notifier", "Outbox", "ScriptedDetector",
    "SectorSignalSettings", "ShiftDetector", "StoreHistory", "TickerSignalSettings", "WebhookNotifier",
    "WebhookSettings", "build_sink", "catch_up", "kafka_publisher", "rebuild", "sign", "verify",
]
