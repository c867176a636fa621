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


def pad(sequences: Sequence[Sequence[int]], pad_id: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad to the longest sequence of this batch only."""
    width = max(len(s) for s in sequences)
    ids = np.full((len(sequences), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(sequences), width), dtype=np.int64)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
    return ids, mask


def length_batches(
    sequences: Sequence[Sequence[int]], max_batch: int, max_tokens: int, pad_id: int = 0
) -> Iterator[Batch]:
    """Batches of similar length; each holds at most `max_batch` rows and `max_tokens` padded tokens."""
    order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
    start = 0
    while start < len(order):
        end = start + 1
        # Rows come sorted, so the padded width of [start, end) is the length of row end-1.
        while end < len(order) and end - start < max_batch:
            if (end - start + 1) * len(sequences[order[end]]) > max_tokens:
                break
            end += 1
        rows = np.asarray(order[start:end], dtype=np.int64)
        ids, mask = pad([sequences[i] for i in rows], pad_id)
        yield Batch(rows, ids, mask)
        start = end
