"""Alert metrics. Labels are bounded: rule (2 signal rules + the configured event types),
entity_kind, severity, state, sink, outcome — never a ticker, a sector or an alert id."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter, Gauge

from marketpulse.core.messages import Alert

ALERTS = Counter(
    "marketpulse_alerts_total", "Alert state changes emitted by the engine",
    ["rule", "entity_kind", "severity", "state"],
)
DOCUMENTS_OBSERVED = Counter("marketpulse_alert_documents_total", "Scored documents the alert engine processed")
DUPLICATES_IGNORED = Counter(
    "marketpulse_alert_duplicates_ignored_total", "Re-delivered documents the alert engine skipped"
)
DELIVERIES = Counter(
    "marketpulse_alert_deliveries_total", "Alert deliveries per sink and outcome (ok|retry|failed|dropped)",
    ["sink", "outcome"],
)
OUTBOX_SIZE = Gauge("marketpulse_alert_outbox_size", "Alerts waiting in the webhook outbox")


def count(alerts: Iterable[Alert]) -> None:
    for a in alerts:
        ALERTS.labels(a.rule, a.entity_kind, a.severity, a.state).inc()
