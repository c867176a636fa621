"""Alerts: sentiment-shift and event detection per ticker and sector, lifecycle, sinks.

    scored documents ─► AlertEngine.observe ─► Alert messages ─► AlertSink.emit
                         ├ ShiftDetector (ticker)   EWMA z-score, CUSUM, volume gate
                         ├ ShiftDetector (sector)
                         ├ EventTrigger             event type ≥ threshold, watched tickers
                         └ Lifecycle                open → cooldown → resolved, deterministic ids
    sinks: store (alerts table) · alerts topic · webhooks through a durable outbox · Prometheus

Runners use `AlertRuntime` (runtime.py): start (restore or rebuild), process(batch), close.
"""

from importlib import import_module

# Public name -> module. Loaded on first use, so importing the settings (core.settings does, for
# `marketpulse config show`) does not pull in httpx, the store or Prometheus.
_WHERE = {
    "AlertEngine": "engine", "AlertError": "errors", "DeliveryFailed": "errors", "MemoryHistory": "recovery",
    "StoreHistory": "recovery", "catch_up": "recovery", "rebuild": "recovery", "AlertRuntime": "runtime",
    "AlertSettings": "settings", "SectorSignalSettings": "settings", "TickerSignalSettings": "settings",
    "WebhookSettings": "settings", "Crossing": "signals", "Detector": "signals", "DocRef": "signals",
    "ScriptedDetector": "signals", "ShiftDetector": "signals", "AlertSink": "sinks", "DurableNotifier": "sinks",
    "Notifier": "sinks", "Outbox": "sinks", "build_sink": "sinks", "kafka_publisher": "sinks",
    "WebhookNotifier": "webhook", "sign": "webhook", "verify": "webhook",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'marketpulse.alerts' has no attribute {name!r}")
    return getattr(import_module(f"marketpulse.alerts.{_WHERE[name]}"), name)
