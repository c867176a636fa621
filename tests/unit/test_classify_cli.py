"""`marketpulse classify`: the file contract, including what happens to bad lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from marketpulse.cli import app
from marketpulse.core.messages import EVENT_TYPES
from marketpulse.inference.bundle import default_model_dir
from marketpulse.inference.classify_file import classify_file
from marketpulse.inference.fake import FakeClassifier

needs_model = pytest.mark.skipif(
    not (default_model_dir() / "labels.json").is_file(), reason="shipped model not present"
)


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_bad_lines_are_reported_with_their_number_and_skipped(tmp_path: Path) -> None:
    src = _write(tmp_path / "in.jsonl", [
        json.dumps({"id": "a", "text": "Apple beats estimates", "source": "x"}),
        "{not json",
        json.dumps({"id": "b"}),
        json.dumps({"id": "c", "text": "Intel cuts jobs"}),
    ])
    errors: list[str] = []
    skipped = classify_file(FakeClassifier(), src, tmp_path / "out.jsonl", errors.append)
    assert skipped == 2
    assert [e.split(":")[1] for e in errors] == ["2", "3"]
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [o["id"] for o in out] == ["a", "c"]


@needs_model
def test_classify_cli_writes_contract_and_exits_1_on_a_bad_line(tmp_path: Path) -> None:
    src = _write(tmp_path / "in.jsonl", [
        json.dumps({"id": "1", "text": "Tesla shares plunge after a recall"}),
        json.dumps({"id": "2", "text": ""}),
        json.dumps({"id": "3", "text": "Netflix to acquire a game studio", "extra": 1}),
    ])
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["classify", str(src), "-o", str(out)])
    assert result.exit_code == 1
    assert ":2:" in result.stderr and "no text" in result.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["1", "3"]
    for r in rows:
        assert set(r) == {"id", "sentiment", "sentiment_scores", "sentiment_score", "events", "event_scores"}
        assert set(r["event_scores"]) == set(EVENT_TYPES)


@needs_model
def test_classify_cli_exits_0_when_all_lines_are_good(tmp_path: Path) -> None:
    src = _write(tmp_path / "in.jsonl", [json.dumps({"id": "1", "text": "Fed holds rates steady"})])
    result = CliRunner().invoke(app, ["classify", str(src), "-o", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 0, result.stderr
