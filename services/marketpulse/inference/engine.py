"""OnnxClassifier: the real Classifier: tokenise → batch → forward → aggregate, on ONNX Runtime.

Stages follow text-embeddings-inference: `_encode_pre` (tokenise and chunk), `_encode_core`
(only session.run), `_encode_post` (softmax/sigmoid, chunk aggregation, labels). No torch here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from marketpulse.core.messages import EVENT_TYPES, SENTIMENT_LABELS
from marketpulse.inference.base import Prediction
from marketpulse.inference.batching import CPU_SHAPES, GPU_SHAPES, Batch, ShapePolicy, length_batches
from marketpulse.inference.bundle import ModelBundle, default_model_dir
from marketpulse.inference.lanes import Lanes, run_one
from marketpulse.inference.providers import CUDA, create_sessions
from marketpulse.inference.tokenize import Chunk, WindowTokenizer

log = logging.getLogger(__name__)

_POSITIVE, _NEGATIVE = SENTIMENT_LABELS.index("positive"), SENTIMENT_LABELS.index("negative")
_WARMUP_TOKEN = 1000  # any in-vocabulary id: warmup runs are about shapes, not text
_WARMUP_WORDS = (4, 24, 120)  # one short, one headline-sized and one long batch of text


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class OnnxClassifier:
    """Classifier over an exported model folder. Thread-compatible, not thread-safe: one per worker
    (on the CPU it drives its own lanes, one session per core by default)."""

    def __init__(
        self,
        bundle: ModelBundle,
        provider: str = "auto",
        threads: int = 0,
        lanes: int = 0,
        max_batch_tokens: int = 8192,
        max_batch: int | None = None,
        onnx_file: Path | None = None,
        shapes: ShapePolicy | None = None,
    ) -> None:
        self.bundle = bundle
        self.name, self.version = bundle.name, bundle.version
        cpu_file = onnx_file or bundle.cpu_file
        sessions, self.placement = create_sessions(cpu_file, bundle.gpu_file, provider, threads, lanes)
        self._lanes = Lanes(sessions)
        self._tok = WindowTokenizer.from_file(bundle.tokenizer_file, bundle.window)
        self.max_batch_tokens = max_batch_tokens
        # Small CPU batches keep latency low at no throughput cost; a GPU wants many rows at once.
        self.max_batch = max_batch or (256 if self.placement.provider == CUDA else 32)
        self.shapes = shapes or (GPU_SHAPES if self.placement.provider == CUDA else CPU_SHAPES)

    def warmup(self) -> None:
        """First runs allocate buffers and pick kernels; pay that before real traffic: on a GPU for
        every shape the batches can take, on the CPU for a few shape classes."""
        t0 = time.perf_counter()
        for n_words in _WARMUP_WORDS:
            self.classify(["warm up the market model " * (n_words // 5 + 1)] * 8)
        # Each lane pays its own first run: every shape of a bounded policy (GPU), else one headline batch.
        shapes = self.shapes.warmup_shapes(self.max_batch, self.bundle.window) or [(8, 24)]
        for session in self._lanes.sessions:
            for rows, width in shapes:
                ids = np.full((rows, width), _WARMUP_TOKEN, dtype=np.int64)
                run_one(session, Batch(np.arange(rows), ids, np.ones_like(ids)))
        log.info("warmup %s on %s x %d lanes (%d shapes): %.0f ms", self.name, self.placement.provider,
                 len(self._lanes), len(shapes) + len(_WARMUP_WORDS), (time.perf_counter() - t0) * 1e3)

    def classify(self, texts: Sequence[str]) -> list[Prediction]:
        sentiment, events = self.score(texts)
        return [self._prediction(s, e) for s, e in zip(sentiment, events, strict=True)]

    def score(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Per text: sentiment probabilities [n, 3] and event probabilities [n, 18]."""
        if not texts:
            return np.zeros((0, len(SENTIMENT_LABELS))), np.zeros((0, len(EVENT_TYPES)))
        chunks = self._encode_pre(texts)
        sent_logits, event_logits = self._encode_core(chunks)
        return self._encode_post(chunks, len(texts), sent_logits, event_logits)

    def _encode_pre(self, texts: Sequence[str]) -> list[Chunk]:
        return self._tok.encode(texts)

    def _encode_core(self, chunks: list[Chunk]) -> tuple[np.ndarray, np.ndarray]:
        sent = np.empty((len(chunks), len(SENTIMENT_LABELS)), dtype=np.float32)
        events = np.empty((len(chunks), len(EVENT_TYPES)), dtype=np.float32)
        seqs = [c.ids for c in chunks]
        for batch, (s, e) in self._lanes.run(length_batches(seqs, self.max_batch, self.max_batch_tokens,
                                                             shapes=self.shapes)):
            n = len(batch.rows)  # any padding rows come last
            sent[batch.rows], events[batch.rows] = s[:n], e[:n]
        return sent, events

    def _encode_post(
        self, chunks: list[Chunk], n_texts: int, sent_logits: np.ndarray, event_logits: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        sent_p, event_p = _softmax(sent_logits), _sigmoid(event_logits)
        if len(chunks) == n_texts:  # the common case: nothing was split
            return sent_p, event_p
        owner = np.array([c.text_index for c in chunks])
        weight = np.array([len(c.ids) for c in chunks], dtype=np.float32)
        # Sentiment of a long text: token-weighted mean over its chunks. An event anywhere counts: max.
        sent = np.zeros((n_texts, sent_p.shape[1]), dtype=np.float32)
        np.add.at(sent, owner, sent_p * weight[:, None])
        sent /= np.bincount(owner, weights=weight, minlength=n_texts)[:, None]
        events = np.zeros((n_texts, event_p.shape[1]), dtype=np.float32)
        np.maximum.at(events, owner, event_p)
        return sent, events

    def _prediction(self, sent: np.ndarray, events: np.ndarray) -> Prediction:
        scores = {label: round(float(p), 6) for label, p in zip(SENTIMENT_LABELS, sent, strict=True)}
        event_scores = {t: round(float(p), 6) for t, p in zip(EVENT_TYPES, events, strict=True)}
        fired = [t for t, p, th in zip(EVENT_TYPES, events, self.bundle.thresholds, strict=True) if p >= th]
        return Prediction(
            sentiment=SENTIMENT_LABELS[int(np.argmax(sent))],
            sentiment_scores=scores,
            sentiment_score=round(float(sent[_POSITIVE] - sent[_NEGATIVE]), 6),
            events=fired,
            event_scores=event_scores,
        )


def load_classifier(model_dir: Path | None = None, settings: object | None = None) -> OnnxClassifier:
    """The shipped model by default; provider, threads, lanes and batch budget from ModelSettings."""
    from marketpulse.core.settings import ModelSettings

    cfg = settings if settings is not None else ModelSettings()
    root = model_dir or cfg.dir or default_model_dir()
    return OnnxClassifier(
        ModelBundle.load(Path(root)),
        provider=cfg.provider,
        threads=cfg.threads,
        lanes=cfg.lanes,
        max_batch_tokens=cfg.max_batch_tokens,
    )
