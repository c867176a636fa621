"""A Classifier over a training checkpoint (models/<name>/build/checkpoint.pt), for `bench alerts`
before the ONNX model is exported. Needs the `train` extra (torch, transformers)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from marketpulse.core.messages import EVENT_TYPES
from marketpulse.inference.base import Prediction

_MAX_LEN = 64  # the sentiment head's training length; tweets and headlines fit


class CheckpointClassifier:
    def __init__(self, model_dir: Path, threads: int = 2) -> None:
        import torch

        from marketpulse.inference.tokenize import WindowTokenizer
        from marketpulse.training.model import base_model_dir, load_trained
        from marketpulse.training.recipe import load_recipe

        torch.set_num_threads(threads)
        recipe = load_recipe(model_dir / "recipe.json")
        build = model_dir / "build"
        self.name, self.version = recipe.name, f"{recipe.version}-checkpoint"
        self._torch = torch
        self._model = load_trained(recipe, build)
        self._tok = WindowTokenizer.from_file(base_model_dir(recipe.base_model) / "tokenizer.json", _MAX_LEN)
        self._thresholds = np.array(json.loads((build / "thresholds.json").read_text()))

    def warmup(self) -> None:
        self.classify(["warmup"])

    def classify(self, texts: Sequence[str]) -> list[Prediction]:
        seqs = self._tok.encode_truncated(texts)
        ids = np.zeros((len(seqs), max(map(len, seqs))), dtype=np.int64)
        for i, s in enumerate(seqs):
            ids[i, :len(s)] = s
        with self._torch.inference_mode():
            ids_t = self._torch.from_numpy(ids)
            sent, events = self._model(ids_t, (ids_t != 0).long())
        sent = self._torch.softmax(sent, -1).numpy()
        events = self._torch.sigmoid(events).numpy()
        return [self._prediction(p, e) for p, e in zip(sent, events, strict=True)]

    def _prediction(self, p: np.ndarray, e: np.ndarray) -> Prediction:
        scores = {"negative": float(p[0]), "neutral": float(p[1]), "positive": float(p[2])}
        event_scores = {t: float(v) for t, v in zip(EVENT_TYPES, e, strict=True)}
        fired = [t for t, v, h in zip(EVENT_TYPES, e, self._thresholds, strict=True) if v >= h]
        return Prediction(max(scores, key=scores.__getitem__), scores, scores["positive"] - scores["negative"],
                          fired, event_scores)
