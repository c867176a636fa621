"""Length-grouped batches padded per batch: headlines of 15 tokens never pay for a 128-token pad.

Sorting by length before cutting batches keeps padding small; each batch remembers the
positions of its rows so results go back to input order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Batch:
    rows: np.ndarray  # positions of these sequences in the caller's list
    input_ids: np.ndarray  # int64 [batch, padded_len]
    attention_mask: np.ndarray  # int64 [batch, padded_len]


def pad(
    sequences: Sequence[Sequence[int]], pad_id: int = 0, rows: int = 0, width: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad to the longest sequence of this batch, or to `width` if wider; add all-pad rows up
    to `rows`. A padding row keeps its first position unmasked, so no row is fully masked (an edge
    case attention kernels need not handle); its outputs are dropped anyway."""
    width = max(width, *(len(s) for s in sequences))
    n = max(rows, len(sequences))
    ids = np.full((n, width), pad_id, dtype=np.int64)
    mask = np.zeros((n, width), dtype=np.int64)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
    mask[len(sequences) :, 0] = 1
    return ids, mask


# What one more session.run costs, in padded tokens' worth of compute (measured with the int8
# model on 2 cores: splitting 2,000 sorted headlines into batches of 8 instead of 32 cost 1.5 ms
# per extra call, about 32 tokens at ~50 us a token). Padding cheaper than this is worth keeping.
CALL_COST_TOKENS = 32


def _cuts(lengths: Sequence[int], max_batch: int, max_tokens: int, call_cost: int) -> list[int]:
    """Where to cut the sorted `lengths` so that sum(call_cost + rows * width) is least.

    Dynamic programme over end positions: best[j] is the cost of the first j rows. A batch ending
    at row j is as wide as row j-1 (rows are sorted), so only its row count varies.
    """
    n = len(lengths)
    width = np.asarray(lengths, dtype=np.int64)
    best = np.zeros(n + 1, dtype=np.int64)
    start = np.zeros(n + 1, dtype=np.int64)
    for j in range(1, n + 1):
        # At most max_batch rows, and at most max_tokens padded tokens unless it is a single row.
        rows = np.arange(1, min(max_batch, max(1, max_tokens // width[j - 1]), j) + 1)
        cost = best[j - rows] + call_cost + rows * width[j - 1]
        k = int(np.argmin(cost))
        best[j], start[j] = cost[k], j - rows[k]
    cuts, j = [], n
    while j > 0:
        cuts.append(j)
        j = int(start[j])
    return cuts[::-1]


@dataclass(frozen=True, slots=True)
class ShapePolicy:
    """How batches are cut and padded for one kind of device.

    call_cost: what one more session.run costs, in padded tokens' worth of compute.
    width_multiple, pow2_rows: pad each batch up to one of a bounded set of shapes, so that every
    shape can be paid for once, at warmup, instead of on live traffic.
    """

    call_cost: int = CALL_COST_TOKENS
    width_multiple: int = 1
    pow2_rows: bool = False

    def padded(self, rows: int, width: int) -> tuple[int, int]:
        if self.pow2_rows:
            rows = 1 << (rows - 1).bit_length()
        return rows, -(-width // self.width_multiple) * self.width_multiple

    def warmup_shapes(self, max_rows: int, max_width: int) -> list[tuple[int, int]]:
        """Every (rows, width) a batch of up to `max_rows` x `max_width` can be padded to; empty
        when the shapes are not bounded (exact rows, or exact widths)."""
        if not self.pow2_rows or self.width_multiple == 1:
            return []
        top_rows, top_width = self.padded(max_rows, max_width)
        widths = range(self.width_multiple, top_width + 1, self.width_multiple)
        return [(1 << k, w) for k in range(top_rows.bit_length()) for w in widths]


# On 2 CPU cores compute dominates: exact shapes, padding traded against the cost of a call.
CPU_SHAPES = ShapePolicy()
# On a GPU a call costs about a millisecond of launches whatever its size, and the first run of
# each new input shape costs 50-70 ms more (measured on an H100 with onnxruntime-gpu 1.31, with
# or without the fused attention kernels): one call per caller batch, and few shapes, warmed up.
GPU_SHAPES = ShapePolicy(call_cost=1 << 20, width_multiple=16, pow2_rows=True)


def length_batches(
    sequences: Sequence[Sequence[int]], max_batch: int, max_tokens: int, pad_id: int = 0,
    shapes: ShapePolicy = CPU_SHAPES,
) -> Iterator[Batch]:
    """Batches of similar length; each holds at most `max_batch` rows and `max_tokens` padded tokens
    (before the policy's own padding).

    The cut points balance padding against the fixed cost of a call: 2,000 sorted headlines still
    go in full batches of 32, but a caller's unsorted batch of 32 headlines is run as a few
    narrower batches instead of one padded to its longest row (measured on the CPU: 1.5x the
    throughput). `Batch.rows` lists the real rows; any padding rows follow them.
    """
    order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
    start = 0
    for end in _cuts([len(sequences[i]) for i in order], max_batch, max_tokens, shapes.call_cost):
        rows = np.asarray(order[start:end], dtype=np.int64)
        batch = [sequences[i] for i in rows]
        n_rows, width = shapes.padded(len(batch), max(len(s) for s in batch))
        ids, mask = pad(batch, pad_id, n_rows, width)
        yield Batch(rows, ids, mask)
        start = end
