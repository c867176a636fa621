"""Epoch plans: which examples, in which single-task batches, in which order.

Every batch holds one task only, so each batch's loss is one well-scaled term and each task
keeps its own max_len. Sentiment sources are drawn by recipe weight (a source-weighted sampler:
TFNS keeps its share however large the other sets are); within a task, batches are cut from
length-sorted pools so padding stays small. Both tasks' batches are then shuffled together, so
every stretch of training sees both tasks in proportion.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

_POOL_BATCHES = 20  # sort this many batches' worth of examples by length before cutting


@dataclass(frozen=True, slots=True)
class PlannedBatch:
    task: str  # "sentiment" | "events"
    indices: list[int]


class CyclingPool:
    """Draws from a list without replacement, reshuffling when it runs out."""

    def __init__(self, size: int, rng: random.Random) -> None:
        self._size, self._rng, self._order = size, rng, []

    def take(self, n: int) -> list[int]:
        out = []
        while len(out) < n:
            if not self._order:
                self._order = list(range(self._size))
                self._rng.shuffle(self._order)
            out.append(self._order.pop())
        return out


def quotas(weights: dict[str, float], total: int) -> dict[str, int]:
    norm = sum(weights.values())
    return {name: round(total * w / norm) for name, w in weights.items()}


def cut_batches(
    task: str, indices: list[int], lengths: Sequence[int], batch_size: int, rng: random.Random
) -> list[PlannedBatch]:
    rng.shuffle(indices)
    batches = []
    pool = batch_size * _POOL_BATCHES
    for start in range(0, len(indices), pool):
        chunk = sorted(indices[start : start + pool], key=lambda i: lengths[i])
        batches.extend(
            PlannedBatch(task, chunk[b : b + batch_size]) for b in range(0, len(chunk), batch_size)
        )
    return batches


def interleave(groups: list[list[PlannedBatch]], rng: random.Random) -> list[PlannedBatch]:
    plan = [b for group in groups for b in group]
    rng.shuffle(plan)
    return plan
