"""Fast WordPiece tokenisation with windows: texts → token-id sequences of at most `window` tokens.

Shared by training and inference so the model sees exactly the same ids in both. The tokenizer's
own padding and truncation are switched off: padding happens per batch (batching.py) and long
texts are split into overlapping chunks here instead of being cut, so a 10-page filing is read
in full.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer

from marketpulse.core.errors import ModelError


@dataclass(frozen=True, slots=True)
class Chunk:
    """One window of one text: `text_index` says which input text it came from."""

    text_index: int
    ids: list[int]


class WindowTokenizer:
    """Wraps a `tokenizers.Tokenizer`; splits texts longer than `window` tokens into chunks."""

    def __init__(self, tokenizer: Tokenizer, window: int, stride: int | None = None) -> None:
        if window < 8:
            raise ModelError(f"window of {window} tokens is too small")
        tokenizer.no_padding()
        tokenizer.no_truncation()
        self._tok = tokenizer
        self.window = window
        # Overlap a quarter window so a sentence cut at a boundary is seen whole in one chunk.
        self.stride = stride if stride is not None else max(1, (window - 2) * 3 // 4)
        self.cls_id = self.special_id("[CLS]")
        self.sep_id = self.special_id("[SEP]")

    @classmethod
    def from_file(cls, path: Path, window: int) -> WindowTokenizer:
        try:
            return cls(Tokenizer.from_file(str(path)), window)
        except Exception as exc:  # noqa: BLE001 - tokenizers raises plain Exception subclasses
            raise ModelError(f"cannot load tokenizer {path}: {exc}") from exc

    def special_id(self, token: str) -> int:
        token_id = self._tok.token_to_id(token)
        if token_id is None:
            raise ModelError(f"tokenizer has no {token} token")
        return token_id

    def encode(self, texts: Sequence[str]) -> list[Chunk]:
        """Chunks of all texts, in text order; every text yields at least one chunk."""
        encodings = self._tok.encode_batch(list(texts), add_special_tokens=False)
        chunks: list[Chunk] = []
        for index, enc in enumerate(encodings):
            chunks.extend(Chunk(index, ids) for ids in self._windows(enc.ids))
        return chunks

    def encode_truncated(self, texts: Sequence[str]) -> list[list[int]]:
        """First window of each text only: what training uses (labels are per sentence)."""
        body = self.window - 2
        encodings = self._tok.encode_batch(list(texts), add_special_tokens=False)
        return [[self.cls_id, *enc.ids[:body], self.sep_id] for enc in encodings]

    def _windows(self, ids: list[int]) -> list[list[int]]:
        body = self.window - 2
        if len(ids) <= body:
            return [[self.cls_id, *ids, self.sep_id]]
        starts = list(range(0, len(ids) - body, self.stride)) + [len(ids) - body]
        return [[self.cls_id, *ids[s : s + body], self.sep_id] for s in starts]
