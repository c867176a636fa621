"""`marketpulse classify` core: JSONL of {"id", "text"} in, one prediction line per valid input out.

Bad lines are errors-as-data: reported with their line number and skipped, never fatal, so one
broken record does not lose a million good ones. Input is read in blocks so a large file streams.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

from marketpulse.inference.base import Classifier

_BLOCK = 2048  # lines per classify call: enough for length grouping, bounded memory


def parse_line(line: str) -> tuple[str, str] | str:
    """(id, text), or why the line is unusable."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return f"not JSON ({exc.msg})"
    if not isinstance(record, dict):
        return "not a JSON object"
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        return "no text"
    doc_id = record.get("id")
    if doc_id is None:
        return "no id"
    return str(doc_id), text


def _blocks(path: Path, err: Callable[[str], None], skipped: list[int]) -> Iterator[list[tuple[str, str]]]:
    block: list[tuple[str, str]] = []
    with path.open(encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            parsed = parse_line(line)
            if isinstance(parsed, str):
                err(f"{path}:{number}: skipped: {parsed}")
                skipped.append(number)
                continue
            block.append(parsed)
            if len(block) >= _BLOCK:
                yield block
                block = []
    if block:
        yield block


def classify_file(classifier: Classifier, src: Path, dst: Path, err: Callable[[str], None]) -> int:
    """Classify every valid line of `src` into `dst`, in input order; returns how many were skipped."""
    skipped: list[int] = []
    with dst.open("w", encoding="utf-8") as out:
        for block in _blocks(src, err, skipped):
            predictions = classifier.classify([text for _, text in block])
            for (doc_id, _), pred in zip(block, predictions, strict=True):
                out.write(json.dumps({"id": doc_id, **pred.as_dict()}, ensure_ascii=False) + "\n")
    return len(skipped)
