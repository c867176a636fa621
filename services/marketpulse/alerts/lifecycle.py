"""Alert lifecycle: open → cooldown → resolved, one live alert per (rule, entity).

- A crossing with `opens` opens an alert; its id hashes (rule, entity kind, entity, opening event
  time), so the same stream yields the same ids however it is batched or re-delivered.
- While open, every crossing in the same direction (keep-alive level included) restarts the
  cooldown; a message goes out only when the severity rises. No storm: one burst, one alert.
- Cooldown: `cooldown_s` of event time without a crossing resolves it, stamped at exactly
  last crossing + cooldown (not at the batch boundary), again for determinism.
- An opening crossing in the other direction resolves the live alert and opens a new one.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime

from marketpulse.alerts.signals import DRIFT, SHIFT, Crossing, DocRef
from marketpulse.core.messages import Alert, AlertDocument

_RANK = {"info": 0, "warning": 1, "critical": 2}


def ts(t: float) -> datetime:
    """Event time as a datetime, in whole seconds like the store's DateTime columns."""
    return datetime.fromtimestamp(math.floor(t), UTC)


def alert_id(rule: str, kind: str, entity: str, opened_t: float) -> str:
    key = f"{rule}|{kind}|{entity}|{ts(opened_t).isoformat()}"
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def summary(entity: str, c: Crossing) -> str:
    try:
        return _summary(entity, c)
    except KeyError:  # a detector that reports other values: say what it has
        values = ", ".join(f"{k}={v:g}" for k, v in c.values.items())
        return f"{entity}: {c.rule} {c.direction} ({values})"[:400]


def _summary(entity: str, c: Crossing) -> str:
    v = c.values
    if c.rule == SHIFT:
        verb = "fell" if c.direction == "negative" else "rose"
        return (f"{entity} sentiment {verb}: z={v['z']:+.1f} (EWMA {v['ewma']:+.2f} vs baseline "
                f"{v['baseline_mean']:+.2f}±{v['baseline_std']:.2f}) on {v['docs_in_window']:.0f} docs "
                f"in {v['window_s'] / 60:.0f} min")
    if c.rule == DRIFT:
        cusum = v["cusum_neg"] if c.direction == "negative" else v["cusum_pos"]
        return (f"{entity} sentiment drifting {c.direction}: CUSUM {cusum:.1f} ≥ {v['cusum_h']:.0f} "
                f"(EWMA {v['ewma']:+.2f} vs baseline {v['baseline_mean']:+.2f})")
    top = c.documents[0].title if c.documents and c.documents[0].title else ""
    event = c.rule.removeprefix("event:")
    return f"{entity}: {event} event, p={v.get('probability', 0):.2f} ({c.direction}) {top}"[:400]


def _documents(docs: tuple[DocRef, ...] | list[DocRef]) -> list[AlertDocument]:
    return [AlertDocument(doc_id=d.doc_id, title=d.title, url=d.url, sentiment_score=d.score, published_at=ts(d.t))
            for d in docs]


def _merge(new: list[AlertDocument], old: list[AlertDocument], limit: int) -> list[AlertDocument]:
    seen, out = set(), []
    for d in [*new, *old]:
        if d.doc_id not in seen:
            seen.add(d.doc_id)
            out.append(d)
    return out[:limit]


@dataclass(slots=True)
class Tracked:
    alert: Alert  # the last message sent for it
    last_cross_t: float
    cooldown_s: float

    @property
    def deadline(self) -> float:
        return self.last_cross_t + self.cooldown_s


class Lifecycle:
    def __init__(self, top_documents: int = 5) -> None:
        self.top_documents = top_documents
        self.active: dict[str, Tracked] = {}
        self.next_deadline = float("inf")

    def on_crossing(self, kind: str, entity: str, c: Crossing, cooldown_s: float) -> list[Alert]:
        key = f"{c.rule}|{kind}|{entity}"
        out: list[Alert] = []
        tracked = self.active.get(key)
        if tracked is not None and tracked.alert.direction != c.direction:
            if not c.opens:
                return out
            out.append(self._resolve(key, c.t))
            tracked = None
        if tracked is None:
            if c.opens:
                out.append(self._open(key, kind, entity, c, cooldown_s))
            return out
        tracked.last_cross_t = max(tracked.last_cross_t, c.t)
        if _RANK[c.severity] > _RANK[tracked.alert.severity]:
            docs = _merge(_documents(c.documents), tracked.alert.documents, self.top_documents)
            tracked.alert = tracked.alert.model_copy(update={
                "severity": c.severity, "updated_at": ts(c.t), "event_time": ts(c.t),
                "summary": summary(entity, c), "values": c.values, "documents": docs})
            out.append(tracked.alert)
        self._recompute_deadline()
        return out

    def expire(self, now: float) -> list[Alert]:
        """Resolve every alert whose cooldown ran out at or before event time `now`."""
        if now < self.next_deadline:
            return []
        due = sorted((tr.deadline, key) for key, tr in self.active.items() if tr.deadline <= now)
        return [self._resolve(key, deadline) for deadline, key in due]

    def _open(self, key: str, kind: str, entity: str, c: Crossing, cooldown_s: float) -> Alert:
        t = ts(c.t)
        alert = Alert(
            alert_id=alert_id(c.rule, kind, entity, c.t), rule=c.rule, entity=entity, entity_kind=kind,
            state="open", severity=c.severity, opened_at=t, updated_at=t, event_time=t, direction=c.direction,
            summary=summary(entity, c), values=c.values, documents=_documents(c.documents[: self.top_documents]),
        )
        self.active[key] = Tracked(alert, c.t, cooldown_s)
        self._recompute_deadline()
        return alert

    def _resolve(self, key: str, at: float) -> Alert:
        tracked = self.active.pop(key)
        t = ts(max(at, tracked.last_cross_t))
        self._recompute_deadline()
        return tracked.alert.model_copy(update={
            "state": "resolved", "updated_at": t, "event_time": t,
            "summary": f"resolved after {tracked.cooldown_s / 60:.0f} min quiet: {tracked.alert.summary}"[:500]})

    def _recompute_deadline(self) -> None:
        self.next_deadline = min((tr.deadline for tr in self.active.values()), default=float("inf"))

    def adopt(self, alert: Alert, cooldown_s: float) -> None:
        """Track an alert opened before this process started (read back from the store)."""
        key = f"{alert.rule}|{alert.entity_kind}|{alert.entity}"
        if key not in self.active and alert.state == "open":
            self.active[key] = Tracked(alert, alert.event_time.timestamp(), cooldown_s)
            self._recompute_deadline()

    def snapshot(self) -> dict:
        return {key: {"alert": tr.alert.model_dump(mode="json"), "last_cross_t": tr.last_cross_t,
                      "cooldown_s": tr.cooldown_s} for key, tr in self.active.items()}

    def restore(self, data: dict) -> None:
        self.active = {key: Tracked(Alert.model_validate(v["alert"]), v["last_cross_t"], v["cooldown_s"])
                       for key, v in data.items()}
        self._recompute_deadline()
