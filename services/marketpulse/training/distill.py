"""Soft targets for knowledge distillation: the teachers' averaged probabilities on unlabelled text.

On SENTiVENT dev (evaluate.cross_validated_event_f1), three runs of the 1.2.0 recipe scored 0.532,
0.543 and 0.548 alone and 0.560 as a probability ensemble. The ensemble costs three forward passes;
distillation asks one model to reproduce it on text nobody labelled. With 12,000 headlines it did
not (0.531; the model card has the run), so it is a recipe option, off in the shipped recipe.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from marketpulse.core.errors import ModelError
from marketpulse.training.data import normalise, read_unlabelled
from marketpulse.training.recipe import Distillation


def unlabelled_texts(root: Path, distill: Distillation, banned: Iterable[str], seed: int) -> list[str]:
    """Up to max_texts distinct texts from the sources, none equal (normalised) to a banned one:
    text that is scored anywhere is never a distillation target, even without its label."""
    seen = {normalise(t) for t in banned}
    texts = []
    for src in distill.sources:
        for text in read_unlabelled(root, src):
            key = normalise(text)
            if key and key not in seen:
                seen.add(key)
                texts.append(text)
    if not texts:
        raise ModelError("distillation sources gave no usable text")
    random.Random(f"{seed}:distill").shuffle(texts)
    return texts[: distill.max_texts]


def ensemble_targets(predictions: Iterable[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """[n, 3 + 18]: the teachers' mean sentiment probabilities, then their mean event probabilities.
    predictions: each teacher's (sentiment probs, event probs) on the same texts."""
    total, count = None, 0
    for sent, events in predictions:
        both = np.hstack([sent, events]).astype(np.float64)
        if total is not None and both.shape != total.shape:
            raise ModelError(f"teachers scored different texts: {both.shape} vs {total.shape}")
        total, count = both if total is None else total + both, count + 1
    if total is None:
        raise ModelError("distillation needs at least one teacher")
    return (total / count).astype(np.float32)
