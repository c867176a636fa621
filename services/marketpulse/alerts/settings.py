"""Alert settings, read from MARKETPULSE_ALERTS_* variables (same conventions as core/settings.py).

Signal parameters are per entity class: `TickerSignalSettings` (MARKETPULSE_ALERTS_TICKER_*) and
`SectorSignalSettings` (MARKETPULSE_ALERTS_SECTOR_*) share one field list with different defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _config(prefix: str) -> SettingsConfigDict:
    # As core.settings._config; not imported from there, so core.settings can list these classes.
    return SettingsConfigDict(env_prefix=f"MARKETPULSE_{prefix}", frozen=True, extra="ignore")


class _SignalFields(BaseSettings):
    """The shift detector of one entity class. Times are event (stream) time, in seconds."""

    short_half_life_s: float = Field(120.0, gt=0, description="half-life of the short confidence-weighted EWMA")
    window_s: float = Field(600.0, gt=0, description="short window: volume gate, docs per minute, top documents")
    baseline_half_life_s: float = Field(3 * 86400.0, gt=0, description="half-life of the baseline mean/variance")
    prior_weight: float = Field(8.0, ge=0, description="pseudo-documents of the class-wide prior in each baseline")
    prior_min_docs: int = Field(50, ge=0, description="documents the class-wide prior needs before any alert")
    min_docs: int = Field(3, ge=1, description="minimum-volume gate: documents in the short window")
    z_open: float = Field(3.5, gt=0, description="|z| of the short EWMA against the baseline that opens an alert")
    z_critical: float = Field(6.0, gt=0, description="|z| at which the alert is critical")
    z_resolve: float = Field(2.0, ge=0, description="|z| above which an open alert is kept alive (hysteresis)")
    sigma_floor: float = Field(0.25, gt=0, description="smallest baseline standard deviation used")
    polar_cut: float = Field(0.3, gt=0, le=1, description="|score| from which a document counts as positive/negative")
    volume_z_open: float = Field(
        3.0, gt=0, description="directional volume z (Poisson) that opens an alert with the tone's support")
    volume_mu_floor: float = Field(1.0, gt=0, description="least expected documents per window in the volume test")
    volume_z_support: float = Field(
        1.0, ge=0, description="|z| of the tone that a directional volume spike needs to open an alert")
    cusum_k: float = Field(0.5, ge=0, description="CUSUM slack per document, in baseline standard deviations")
    cusum_h: float = Field(15.0, gt=0, description="CUSUM decision level for slow drift")
    cooldown_s: float = Field(3600.0, ge=0, description="event time without a crossing before an alert resolves")
    max_recent: int = Field(32, ge=1, description="recent documents kept per entity for explanations")


class TickerSignalSettings(_SignalFields):
    model_config = _config("ALERTS_TICKER_")


class SectorSignalSettings(_SignalFields):
    model_config = _config("ALERTS_SECTOR_")

    min_docs: int = Field(6, ge=1, description="minimum-volume gate: documents in the short window")
    z_open: float = Field(5.0, gt=0, description="|z| of the short EWMA against the baseline that opens an alert")
    z_critical: float = Field(8.0, gt=0, description="|z| at which the alert is critical")
    volume_z_open: float = Field(
        5.0, gt=0, description="directional volume z (Poisson) that opens an alert with the tone's support")


class AlertSettings(BaseSettings):
    model_config = _config("ALERTS_")

    enabled: bool = Field(True, description="run the alert engine in the pipeline")
    max_entities_per_doc: int = Field(
        5, ge=1, description="a document naming more tickers than this is a list, not news: no signal update"
    )
    event_rules: str = Field(
        "Legal,Merger/Acquisition,Rating:negative,Dividend:negative",
        description="event triggers: TYPE or TYPE:negative|positive, comma-separated",
    )
    event_threshold: float = Field(
        0.8, ge=0, le=1, description="probability floor of an event alert, on top of the model's per-type detection"
    )
    event_critical: float = Field(0.95, ge=0, le=1, description="probability of a negative event that is critical")
    event_watchlist: str = Field("", description="tickers watched for event triggers, comma-separated; empty = all")
    event_cooldown_s: float = Field(6 * 3600.0, ge=0, description="event alerts for one ticker merge within this")
    seen_capacity: int = Field(50_000, ge=1, description="recent document ids remembered to ignore re-deliveries")
    top_documents: int = Field(5, ge=1, description="documents listed in an alert's explanation")
    snapshot_path: Path = Field(Path(".marketpulse/alerts/state.json"), description="engine snapshot file")
    snapshot_every_s: float = Field(30.0, ge=0, description="wall seconds between snapshots; 0 = every batch")
    rebuild_lookback_s: float = Field(
        7 * 86400.0, gt=0, description="event time replayed from the scores table when no snapshot exists"
    )

    def parsed_event_rules(self) -> list[tuple[str, str | None]]:
        rules = []
        for item in filter(None, (p.strip() for p in self.event_rules.split(","))):
            kind, _, polarity = item.partition(":")
            rules.append((kind.strip(), polarity.strip() or None))
        return rules

    def watchlist(self) -> frozenset[str]:
        return frozenset(t.strip().upper() for t in self.event_watchlist.split(",") if t.strip())


class WebhookSettings(BaseSettings):
    model_config = _config("ALERTS_WEBHOOK_")

    urls: str = Field("", description="webhook URLs, comma-separated; empty = no webhook")
    secret: SecretStr = Field(SecretStr(""), description="HMAC-SHA256 key for the X-Marketpulse-Signature header")
    body: Literal["json", "slack"] = Field("json", description="body format: the alert JSON or a Slack message")
    timeout_s: float = Field(5.0, gt=0, description="HTTP timeout per attempt")
    max_attempts: int = Field(4, ge=1, description="attempts per delivery round before the alert waits in the outbox")
    backoff_initial_s: float = Field(0.5, gt=0, description="first retry delay; doubles per attempt")
    backoff_max_s: float = Field(60.0, gt=0, description="longest retry delay")
    outbox_path: Path = Field(Path(".marketpulse/alerts/outbox.json"), description="undelivered alerts, persisted")
    outbox_capacity: int = Field(10_000, ge=1, description="most undelivered alerts kept; beyond, oldest dropped")

    def url_list(self) -> list[str]:
        return [u.strip() for u in self.urls.split(",") if u.strip()]
