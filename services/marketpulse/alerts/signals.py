"""Sentiment-shift detection per entity, in event time.

For each entity (a ticker or a sector) and each document about it, in published order:

- short signal: confidence-weighted EWMA of the sentiment score (half-life `short_half_life_s`);
- baseline: confidence-weighted EWMA mean and variance over days (`baseline_half_life_s`) of the
  documents *before* the short window (a document joins it when it leaves the window, so a burst
  cannot dilute its own reference), blended with a class-wide prior worth `prior_weight`
  documents, so a thin ticker has a usable baseline;
- z-score of the short EWMA against the baseline, with the standard error of a weighted mean
  (sigma * sqrt(sum w^2) / sum w): five agreeing documents weigh more than one;
- CUSUM of the standardised, confidence-weighted residuals, for slow drift;
- volume: documents in the last `window_s` (the minimum-volume gate) and per minute, short and baseline.

"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from statistics import NormalDist
from typing import Protocol

from marketpulse.alerts.settings import _SignalFields

SHIFT = "sentiment_shift"
DRIFT = "sentiment_drift"
LN2 = math.log(2.0)
_NORMAL = NormalDist()


@dataclass(frozen=True, slots=True)
class DocRef:
    """What an alert's explanation needs of a document."""

    doc_id: str
    t: float
    score: float
    weight: float
    title: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Crossing:
    """A signal beyond its threshold. `opens` is False for a value only past the keep-alive level."""

    rule: str
    direction: str  # negative | positive
    t: float
    severity: str  # info | warning | critical
    opens: bool
    values: dict[str, float]
    documents: tuple[DocRef, ...] = ()


class Detector(Protocol):
    def update(self, entity: str, t: float, score: float, weight: float, doc: DocRef) -> Crossing | None: ...

    def snapshot(self) -> dict: ...

    def restore(self, data: dict) -> None: ...


@dataclass(slots=True)
class _Moments:
    """Exponentially decayed weighted sums in event time."""

    t: float | None = None  # None until the first document (JSON has no -inf)
    w: float = 0.0  # sum of weights
    ws: float = 0.0  # sum of w * s
    wss: float = 0.0  # sum of w * s^2
    ww: float = 0.0  # sum of w^2 (effective sample size of the short mean)
    n: float = 0.0  # decayed document count (volume)
    pos: float = 0.0  # decayed count of positive documents (score >= polar cut)
    neg: float = 0.0  # decayed count of negative documents (score <= -polar cut)

    def decay_to(self, t: float, half_life: float) -> None:
        if self.t is None:
            self.t = t
        elif t > self.t:
            a = 0.5 ** ((t - self.t) / half_life)
            self.w, self.ws, self.wss, self.ww, self.n, self.pos, self.neg = (
                a * self.w, a * self.ws, a * self.wss, a * self.ww, a * self.n, a * self.pos, a * self.neg)
            self.t = t

    def add(self, s: float, w: float, polar_cut: float = 1.0) -> None:
        self.w += w
        self.ws += w * s
        self.wss += w * s * s
        self.ww += w * w
        self.n += 1.0
        self.pos += s >= polar_cut
        self.neg += s <= -polar_cut

    def mean(self) -> float:
        return self.ws / self.w if self.w > 0 else 0.0


@dataclass(slots=True)
class EntityState:
    short: _Moments = field(default_factory=_Moments)
    base: _Moments = field(default_factory=_Moments)
    cusum_pos: float = 0.0
    cusum_neg: float = 0.0
    recent: deque = field(default_factory=deque)  # DocRef, oldest first
    since: float | None = None  # event time of the entity's first document

    def to_dict(self) -> dict:
        return {"short": asdict(self.short), "base": asdict(self.base), "cusum_pos": self.cusum_pos,
                "cusum_neg": self.cusum_neg, "recent": [asdict(d) for d in self.recent], "since": self.since}

    @classmethod
    def from_dict(cls, data: dict) -> EntityState:
        return cls(_Moments(**data["short"]), _Moments(**data["base"]), data["cusum_pos"], data["cusum_neg"],
                   deque(DocRef(**d) for d in data["recent"]), data.get("since"))


class ShiftDetector:
    """EWMA z-score + CUSUM per entity of one class, with a class-wide prior baseline."""

    def __init__(self, params: _SignalFields, top_documents: int = 5) -> None:
        self.p = params
        self.top_documents = top_documents
        self.states: dict[str, EntityState] = {}
        self.prior = _Moments()
        # Optional probe, called (entity, t, z, ewma, baseline mean, baseline std) on every update:
        # the bench plots a ticker's signal with it.
        self.on_update: Callable[[str, float, float, float, float, float], None] | None = None

    def baseline(self, st: EntityState, t: float | None = None) -> tuple[float, float, float]:
        """(mean, standard deviation, weight) of the entity's baseline blended with the class prior."""
        pw = self.p.prior_weight if self.prior.w > 0 else 0.0
        pm = self.prior.mean()
        pvar = max(self.prior.wss / self.prior.w - pm * pm, 0.0) if self.prior.w > 0 else 0.0
        b = st.base
        a = 0.5 ** ((t - b.t) / self.p.baseline_half_life_s) if t is not None and b.t is not None and t > b.t else 1.0
        n = a * b.w + pw
        if n <= 0:
            return 0.0, self.p.sigma_floor, 0.0
        mean = (a * b.ws + pw * pm) / n
        second = (a * b.wss + pw * (pvar + pm * pm)) / n
        return mean, max(math.sqrt(max(second - mean * mean, 0.0)), self.p.sigma_floor), n

    def update(self, entity: str, t: float, score: float, weight: float, doc: DocRef) -> Crossing | None:
        p = self.p
        st = self.states.get(entity)
        if st is None:
            st = self.states[entity] = EntityState()
        t = max(t, st.short.t if st.short.t is not None else t)  # a late document counts at the entity's time
        if st.since is None:
            st.since = t
        st.short.decay_to(t, p.short_half_life_s)
        st.short.add(score, weight)
        st.recent.append(replace(doc, t=t, score=score, weight=weight))
        while st.recent and (st.recent[0].t < t - p.window_s or len(st.recent) > p.max_recent):
            old = st.recent.popleft()  # leaves the short window: now it is history
            st.base.decay_to(old.t, p.baseline_half_life_s)
            st.base.add(old.score, old.weight, p.polar_cut)

        mean, sigma, _ = self.baseline(st, t)
        se = sigma * math.sqrt(st.short.ww) / st.short.w if st.short.w > 0 else math.inf
        z = (st.short.mean() - mean) / se if se > 0 else 0.0
        residual = weight * max(-4.0, min(4.0, (score - mean) / sigma))
        st.cusum_pos = max(0.0, st.cusum_pos + residual - p.cusum_k)
        st.cusum_neg = max(0.0, st.cusum_neg - residual - p.cusum_k)
        crossing = self._crossing(st, t, z, mean, sigma)
        if self.on_update is not None:
            self.on_update(entity, t, z, st.short.mean(), mean, sigma)

        self.prior.decay_to(t, p.baseline_half_life_s)  # never moves back in time
        self.prior.add(score, weight)
        return crossing

    def _crossing(self, st: EntityState, t: float, z: float, mean: float, sigma: float) -> Crossing | None:
        p = self.p
        if self.prior.n < p.prior_min_docs:
            return None
        values = self._values(st, z, mean, sigma)
        if len(st.recent) >= p.min_docs and abs(z) >= min(p.z_resolve, p.volume_z_support):  # volume gate
            crossing = self._shift(st, t, z, mean, sigma, values)
            if crossing is not None:
                return crossing
        if max(st.cusum_pos, st.cusum_neg) >= p.cusum_h:
            direction = "negative" if st.cusum_neg >= st.cusum_pos else "positive"
            st.cusum_pos = st.cusum_neg = 0.0
            return Crossing(DRIFT, direction, t, "info", True, values, self._top(st, mean, sigma, direction))
        return None

    def _shift(self, st: EntityState, t: float, z: float, mean: float, sigma: float,
               values: dict[str, float]) -> Crossing | None:
        """Opens on |z| >= z_open, or on a directional volume spike while the tone moved that way
        (|z| >= volume_z_support); keeps an open alert alive while |z| >= z_resolve."""
        p = self.p
        direction = "negative" if z < 0 else "positive"
        volume_z, k, expected = self.volume_z(st, t, direction)
        values |= {"volume_z": round(volume_z, 3), "volume_z_open": p.volume_z_open,
                   "docs_in_direction": float(k), "expected_in_direction": round(expected, 4)}
        opens = abs(z) >= p.z_open or (
            abs(z) >= p.volume_z_support and volume_z >= p.volume_z_open and k >= p.min_docs)
        if not opens and abs(z) < p.z_resolve:
            return None
        if opens:  # the shift explains the drift too: one alert, not two
            st.cusum_pos = st.cusum_neg = 0.0
        severity = "critical" if abs(z) >= p.z_critical else "warning"
        return Crossing(SHIFT, direction, t, severity, opens, values, self._top(st, mean, sigma, direction))

    def volume_z(self, st: EntityState, t: float, direction: str) -> tuple[float, int, float]:
        """Directional volume: documents of that polarity in the window against the Poisson
        expectation from the entity's baseline rate of such documents. (z, count, expected)"""
        p = self.p
        sign = -1.0 if direction == "negative" else 1.0
        k = sum(1 for d in st.recent if sign * d.score >= p.polar_cut)
        b = st.base
        decay = 0.5 ** ((t - b.t) / p.baseline_half_life_s) if b.t is not None and t > b.t else 1.0
        count = decay * (b.neg if direction == "negative" else b.pos)
        # An exponential window only `age` long holds tau * (1 - e^(-age/tau)) seconds of history.
        tau = p.baseline_half_life_s / LN2
        history = tau * (1.0 - math.exp(-max(t - p.window_s - (st.since or t), 0.0) / tau))
        rate = count / history if history > 0 else 0.0
        expected = max(rate * p.window_s, p.volume_mu_floor)
        return _poisson_z(k, expected), k, expected

    def _values(self, st: EntityState, z: float, mean: float, sigma: float) -> dict[str, float]:
        p = self.p
        base_rate = st.base.n / (p.baseline_half_life_s / LN2) * 60.0  # decayed count / tau = rate
        return {
            "z": round(z, 3), "z_open": p.z_open, "ewma": round(st.short.mean(), 4),
            "baseline_mean": round(mean, 4), "baseline_std": round(sigma, 4),
            "docs_in_window": float(len(st.recent)), "window_s": p.window_s,
            "docs_per_min": round(len(st.recent) / (p.window_s / 60.0), 4),
            "baseline_docs_per_min": round(base_rate, 5),
            "cusum_pos": round(st.cusum_pos, 3), "cusum_neg": round(st.cusum_neg, 3), "cusum_h": p.cusum_h,
        }

    def _top(self, st: EntityState, mean: float, sigma: float, direction: str) -> tuple[DocRef, ...]:
        """The recent documents that pushed the signal this way (by more than half a sigma), strongest first."""
        sign = -1.0 if direction == "negative" else 1.0
        pushing = [d for d in st.recent if sign * (d.score - mean) > 0.5 * sigma]
        pushing.sort(key=lambda d: (-d.weight * abs(d.score - mean), d.doc_id))
        return tuple(pushing[: self.top_documents])

    def snapshot(self) -> dict:
        return {"prior": asdict(self.prior), "states": {e: s.to_dict() for e, s in self.states.items()}}

    def restore(self, data: dict) -> None:
        self.prior = _Moments(**data["prior"])
        self.states = {e: EntityState.from_dict(s) for e, s in data["states"].items()}


def _poisson_z(k: int, mu: float) -> float:
    """P(X >= k) for X ~ Poisson(mu), as a one-sided normal z (0 when k <= mu)."""
    if k <= mu:
        return 0.0
    term = cdf = math.exp(-mu)
    for i in range(1, k):
        term *= mu / i
        cdf += term
    tail = max(1.0 - cdf, 1e-300)
    return -_NORMAL.inv_cdf(tail) if tail < 0.5 else 0.0


class ScriptedDetector:
    """In-memory fake: returns the crossings it was given for (entity, doc_id), records every call."""

    def __init__(self, script: dict[tuple[str, str], Crossing] | None = None) -> None:
        self.script = dict(script or {})
        self.calls: list[tuple[str, float, float, float, str]] = []

    def update(self, entity: str, t: float, score: float, weight: float, doc: DocRef) -> Crossing | None:
        self.calls.append((entity, t, score, weight, doc.doc_id))
        return self.script.get((entity, doc.doc_id))

    def snapshot(self) -> dict:
        return {"calls": [list(c) for c in self.calls]}

    def restore(self, data: dict) -> None:
        self.calls = [tuple(c) for c in data["calls"]]
