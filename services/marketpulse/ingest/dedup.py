"""Near-duplicate suppression: the same story from two polls, two feeds or two sources, once.

A 64-bit SimHash over word shingles of the normalised title (or the text's first 300 characters);
two documents within `window_s` whose hashes differ in at most `max_distance` bits are the same
story. Four 16-bit bands index the hashes (any two within 3 bits share a band), so a check costs a
few dictionary look-ups, not a scan. Memory is bounded by `max_items` (oldest forgotten first).

A suppressed duplicate is counted (metric), not dead-lettered: it is not bad input, and an exact
re-delivery of the same id is already idempotent downstream.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict, defaultdict
from datetime import datetime

from marketpulse.core.messages import RawDocument

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_BANDS = 4
_BAND_BITS = 64 // _BANDS
# Words that differ between two renderings of one headline without changing the story.
_NOISE = frozenset("a an the to of in on for and or by at as is are update updated exclusive breaking".split())


def fingerprint_text(doc: RawDocument) -> str:
    return (doc.title or doc.text[:300]).lower()


def simhash(text: str) -> int:
    words = [w for w in _WORD.findall(text.lower()) if w not in _NOISE]
    grams = [" ".join(words[i:i + 2]) for i in range(max(1, len(words) - 1))] if len(words) > 1 else words
    if not grams:
        return 0
    weights = [0] * 64
    for gram in grams:
        h = int.from_bytes(hashlib.blake2b(gram.encode(), digest_size=8).digest(), "big")
        for bit in range(64):
            weights[bit] += 1 if h >> bit & 1 else -1
    return sum(1 << bit for bit in range(64) if weights[bit] > 0)


class NearDuplicateFilter:
    """`seen(doc)` is True when a near-identical document passed within the window."""

    def __init__(self, window_s: float = 6 * 3600.0, max_items: int = 50_000, max_distance: int = 3,
                 min_words: int = 4) -> None:
        self.window_s = window_s
        self.max_items = max_items
        self.max_distance = max_distance
        self.min_words = min_words
        self._items: OrderedDict[str, tuple[int, datetime]] = OrderedDict()
        self._bands: list[dict[int, set[str]]] = [defaultdict(set) for _ in range(_BANDS)]
        self.suppressed = 0

    def seen(self, doc: RawDocument) -> bool:
        text = fingerprint_text(doc)
        if self.window_s <= 0 or len(_WORD.findall(text)) < self.min_words:
            return False  # too short to call two texts the same story ("Stocks rise")
        if doc.id in self._items:
            self.suppressed += 1
            return True
        value = simhash(text)
        for other_id in self._candidates(value):
            other_value, other_time = self._items[other_id]
            close_in_time = abs((doc.published_at - other_time).total_seconds()) <= self.window_s
            if close_in_time and (value ^ other_value).bit_count() <= self.max_distance:
                self.suppressed += 1
                return True
        self._remember(doc.id, value, doc.published_at)
        return False

    def _candidates(self, value: int) -> set[str]:
        found: set[str] = set()
        for band in range(_BANDS):
            found |= self._bands[band].get(self._band(value, band), set())
        return found

    @staticmethod
    def _band(value: int, band: int) -> int:
        return value >> (band * _BAND_BITS) & ((1 << _BAND_BITS) - 1)

    def _remember(self, doc_id: str, value: int, when: datetime) -> None:
        self._items[doc_id] = (value, when)
        for band in range(_BANDS):
            self._bands[band][self._band(value, band)].add(doc_id)
        while len(self._items) > self.max_items:
            old_id, (old_value, _) = self._items.popitem(last=False)
            for band in range(_BANDS):
                bucket = self._bands[band].get(self._band(old_value, band))
                if bucket is not None:
                    bucket.discard(old_id)
                    if not bucket:
                        del self._bands[band][self._band(old_value, band)]
