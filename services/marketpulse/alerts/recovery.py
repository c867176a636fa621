"""Engine state across restarts: a snapshot file, and catch-up / rebuild from the store.

The store is written before offsets are committed, so the `scores` table holds every document
the engine may have seen. Two ways back after a restart:

- `load_snapshot` + `catch_up(engine, history, since=snapshot saved_at)`: the snapshot carries
  the detector state, the open alerts and the recent document ids; the documents scored after
  it are replayed (those already seen are skipped), exactly.
- `rebuild(history, lookback_s)` when there is no snapshot: replay the last `lookback_s` of event
  time into a fresh engine and adopt the alerts the store holds open, so an alert open before the
  restart resolves after it instead of opening twice.

Both return the alert messages the store does not have yet (lost in the crash), for the caller to
send; messages the store already holds are not repeated.

SQL is in the subset shared by ClickHouse 18.16 and chDB: FINAL, no window functions, no CTEs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from marketpulse.alerts.engine import AlertEngine
from marketpulse.core.messages import Alert, AlertDocument, ScoredDocument
from marketpulse.core.timeutil import utcnow
from marketpulse.store.base import Store
from marketpulse.store.rows import ALERT_COLUMNS, SCORE_COLUMNS

REPLAY_CHUNK = 2000


class History(Protocol):
    """What recovery reads from the store."""

    def scores(self, *, scored_since: datetime | None = None,
               published_since: datetime | None = None) -> Iterator[ScoredDocument]: ...

    def latest_published(self) -> datetime | None: ...

    def alerts(self, ids: Iterable[str] | None = None, open_only: bool = False) -> list[Alert]: ...


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _naive(value: datetime) -> datetime:
    return _utc(value).replace(tzinfo=None)


def _enum(value: Any, names: dict[int, str]) -> str:
    return names[value] if isinstance(value, int) else str(value)


class StoreHistory:
    """History over any Store that answers SQL (ClickHouse server, chDB)."""

    def __init__(self, store: Store, model: tuple[str, str] | None = None) -> None:
        self.store = store
        self.model = model  # (model_name, model_version); None = every model, latest score per doc

    def scores(self, *, scored_since=None, published_since=None) -> Iterator[ScoredDocument]:
        where, params = ["1 = 1"], {}
        if scored_since is not None:
            where.append("scored_at >= %(scored_since)s")
            params["scored_since"] = _naive(scored_since)
        if published_since is not None:
            where.append("published_at >= %(published_since)s")
            params["published_since"] = _naive(published_since)
        if self.model is not None:
            where.append("model_name = %(model_name)s AND model_version = %(model_version)s")
            params |= {"model_name": self.model[0], "model_version": self.model[1]}
        sql = (f"SELECT {', '.join(SCORE_COLUMNS)} FROM scores FINAL WHERE {' AND '.join(where)} "
               "ORDER BY published_at, doc_id, scored_at")
        latest: dict[str, ScoredDocument] = {}
        for row in self.store.query(sql, params):
            doc = _scored_from_row(row)
            latest[doc.doc_id] = doc  # ordered by scored_at last: the newest verdict wins
        return iter(sorted(latest.values(), key=lambda d: (d.published_at, d.doc_id)))

    def latest_published(self) -> datetime | None:
        rows = self.store.query("SELECT count(), max(published_at) FROM scores")
        return _utc(rows[0][1]) if rows and rows[0][0] else None

    def alerts(self, ids=None, open_only=False) -> list[Alert]:
        where, params = ["1 = 1"], {}
        if ids is not None:
            ids = list(ids)
            if not ids:
                return []
            where.append("alert_id IN %(ids)s")
            params["ids"] = tuple(ids)
        if open_only:
            where.append("state = 'open'")
        sql = f"SELECT {', '.join(ALERT_COLUMNS)} FROM alerts FINAL WHERE {' AND '.join(where)} ORDER BY alert_id"
        return [_alert_from_row(r) for r in self.store.query(sql, params)]


def _scored_from_row(r: tuple) -> ScoredDocument:
    (doc_id, model_name, model_version, source, source_kind, tickers, url, title, published_at, ingested_at,
     scored_at, sentiment, p_neg, p_neu, p_pos, score, events, event_types, event_probs) = r
    return ScoredDocument(
        doc_id=doc_id, source=source, source_kind=_enum(source_kind, {1: "news", 2: "social"}), url=url or None,
        title=title or None, published_at=_utc(published_at), ingested_at=_utc(ingested_at),
        scored_at=_utc(scored_at), entities=list(tickers), model_name=model_name, model_version=model_version,
        sentiment=_enum(sentiment, {-1: "negative", 0: "neutral", 1: "positive"}),
        sentiment_scores={"negative": float(p_neg), "neutral": float(p_neu), "positive": float(p_pos)},
        sentiment_score=max(-1.0, min(1.0, float(score))), events=list(events),
        event_scores={t: float(p) for t, p in zip(event_types, event_probs, strict=True)},
    )


def _alert_from_row(r: tuple) -> Alert:
    (alert_id, rule, entity, kind, state, severity, direction, opened_at, updated_at, event_time, summary,
     names, values, documents) = r
    return Alert(
        alert_id=alert_id, rule=rule, entity=entity, entity_kind=_enum(kind, {1: "ticker", 2: "sector"}),
        state=_enum(state, {1: "open", 2: "resolved"}),
        severity=_enum(severity, {1: "info", 2: "warning", 3: "critical"}),
        direction=_enum(direction, {0: "none", 1: "negative", 2: "positive"}), opened_at=_utc(opened_at),
        updated_at=_utc(updated_at), event_time=_utc(event_time), summary=summary,
        values=dict(zip(names, map(float, values), strict=True)),
        documents=[AlertDocument.model_validate(d) for d in json.loads(documents or "[]")],
    )


class MemoryHistory:
    """History over the in-memory store of the unit tests."""

    def __init__(self, store) -> None:  # marketpulse.store.memory.MemoryStore
        self.store = store

    def scores(self, *, scored_since=None, published_since=None) -> Iterator[ScoredDocument]:
        docs = [d for d in self.store.scores.values()
                if (scored_since is None or d.scored_at >= scored_since)
                and (published_since is None or d.published_at >= published_since)]
        return iter(sorted(docs, key=lambda d: (d.published_at, d.doc_id)))

    def latest_published(self) -> datetime | None:
        return max((d.published_at for d in self.store.scores.values()), default=None)

    def alerts(self, ids=None, open_only=False) -> list[Alert]:
        chosen = self.store.alerts.values() if ids is None else [
            self.store.alerts[i] for i in ids if i in self.store.alerts]
        return [a for a in chosen if not open_only or a.state == "open"]


def _replay(engine: AlertEngine, docs: Iterator[ScoredDocument], sector_of=None) -> list[Alert]:
    out, chunk = [], []
    for doc in docs:
        chunk.append(doc)
        if len(chunk) >= REPLAY_CHUNK:
            out += engine.observe(chunk, sector_of)
            chunk = []
    return out + engine.observe(chunk, sector_of)


def _not_stored(messages: list[Alert], history: History, newer_than: datetime | None = None) -> list[Alert]:
    """The messages whose (state, severity) the store does not hold yet, in order."""
    stored = {a.alert_id: a for a in history.alerts(ids={m.alert_id for m in messages})}
    final = {m.alert_id: m for m in messages}
    out = []
    for m in messages:
        s = stored.get(m.alert_id)
        if s is None:
            if newer_than is None or m.event_time > newer_than:
                out.append(m)
        elif (s.state, s.severity) != (final[m.alert_id].state, final[m.alert_id].severity) and \
                m.updated_at > s.updated_at:
            out.append(m)
    return out


def catch_up(engine: AlertEngine, history: History, since: datetime, margin_s: float = 300.0,
             sector_of=None) -> list[Alert]:
    """Replay documents scored since `since` (minus a margin for clock skew) that the engine has
    not seen; return the resulting alert messages the store does not have yet."""
    docs = history.scores(scored_since=since - timedelta(seconds=margin_s))
    return _not_stored(_replay(engine, (d for d in docs if not engine.seen(d.doc_id)), sector_of), history)


def rebuild(history: History, lookback_s: float, sector_of=None, **engine_kwargs) -> tuple[AlertEngine, list[Alert]]:
    """A fresh engine warmed on the last `lookback_s` of the scores table, holding the store's open
    alerts; plus the messages to send (state changes the store misses)."""
    engine = AlertEngine(sector_of=sector_of, **engine_kwargs)
    latest = history.latest_published()
    if latest is None:
        return engine, []
    replayed = _replay(engine, history.scores(published_since=latest - timedelta(seconds=lookback_s)), sector_of)
    stored_open = history.alerts(open_only=True)
    horizon = max((a.updated_at for a in history.alerts()), default=None) if replayed else None
    pending = _not_stored(replayed, history, newer_than=horizon)
    for alert in stored_open:
        key = f"{alert.rule}|{alert.entity_kind}|{alert.entity}"
        live = engine.lifecycle.active.get(key)
        if live is not None and live.alert.alert_id != alert.alert_id:
            engine.lifecycle.active.pop(key)  # the store's alert is the one users know: keep it
            engine.lifecycle.adopt(alert, live.cooldown_s)
            engine.lifecycle.active[key].last_cross_t = max(live.last_cross_t, alert.event_time.timestamp())
        elif live is None and not any(m.alert_id == alert.alert_id for m in replayed):
            engine.lifecycle.adopt(alert, _cooldown(engine, alert))
    engine.lifecycle._recompute_deadline()
    return engine, pending


def _cooldown(engine: AlertEngine, alert: Alert) -> float:
    if alert.rule.startswith("event:"):
        return engine.settings.event_cooldown_s
    return engine.params[alert.entity_kind].cooldown_s


def save_snapshot(engine: AlertEngine, path: Path, now: datetime | None = None,
                  unsent: Sequence[Alert] = ()) -> None:
    """Write atomically (temp file + rename): a crash mid-write leaves the previous snapshot.
    `unsent`: alert messages produced but not yet taken by the sinks, restored with the state."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = engine.snapshot() | {"saved_at": (now or utcnow()).isoformat(),
                                "unsent": [a.model_dump(mode="json") for a in unsent]}
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, separators=(",", ":")))
    os.replace(tmp, path)


def load_snapshot(path: Path, **engine_kwargs) -> tuple[AlertEngine, datetime, list[Alert]] | None:
    """(engine, saved_at, unsent alert messages) from the snapshot file, or None when there is none."""
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    unsent = [Alert.model_validate(a) for a in data.get("unsent", [])]
    return AlertEngine.restore(data, **engine_kwargs), datetime.fromisoformat(data["saved_at"]), unsent
