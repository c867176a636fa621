"""Lanes: every batch runs exactly once, on whichever session is free, and errors come back."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from marketpulse.inference.batching import Batch
from marketpulse.inference.lanes import Lanes
from marketpulse.inference.providers import MAX_AUTO_LANES, split_threads


class SlowSession:
    """Stands in for an ORT session: sums the ids, sleeping like a kernel (which drops the GIL)."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.threads: set[str] = set()
        self.fail_on = fail_on

    def run(self, names, feeds):
        ids = feeds["input_ids"]
        if self.fail_on is not None and int(ids[0, 0]) == self.fail_on:
            raise RuntimeError(f"kernel failed on batch {self.fail_on}")
        self.threads.add(threading.current_thread().name)
        time.sleep(0.002)
        return [ids.sum(axis=1), ids.max(axis=1)]


def _batches(n: int) -> list[Batch]:
    return [Batch(np.array([i]), np.full((1, 3), i, dtype=np.int64), np.ones((1, 3), dtype=np.int64))
            for i in range(n)]


def test_each_batch_runs_once_and_keeps_its_outputs() -> None:
    sessions = [SlowSession() for _ in range(3)]
    lanes = Lanes(sessions)
    done = lanes.run(iter(_batches(40)))
    assert sorted(int(b.rows[0]) for b, _ in done) == list(range(40))
    assert all(int(out[0][0]) == 3 * int(b.rows[0]) for b, out in done)
    assert all(s.threads for s in sessions)  # every lane took work
    assert len({name for s in sessions for name in s.threads}) == 3  # on three different threads


def test_one_lane_runs_in_the_callers_thread() -> None:
    session = SlowSession()
    assert len(Lanes([session]).run(_batches(5))) == 5
    assert session.threads == {threading.current_thread().name}


def test_a_failing_batch_fails_the_call_and_the_lanes_stay_usable() -> None:
    lanes = Lanes([SlowSession(fail_on=7), SlowSession(fail_on=7)])
    with pytest.raises(RuntimeError, match="batch 7"):
        lanes.run(_batches(30))
    assert len(lanes.run(_batches(5))) == 5  # nothing left over in the queue from the failed call


def test_lanes_need_a_session() -> None:
    with pytest.raises(ValueError):
        Lanes([])


def test_auto_lanes_are_single_threaded_and_bounded() -> None:
    assert split_threads(2, 0) == (2, 1)
    assert split_threads(1, 0) == (1, 1)
    assert split_threads(16, 0) == (MAX_AUTO_LANES, 16 // MAX_AUTO_LANES)
    assert split_threads(8, 2) == (2, 4)
    assert split_threads(2, 4) == (4, 1)  # more lanes than threads: one thread each
