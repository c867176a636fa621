"""File replay into an in-memory sink: mapping, merging, ordering, pacing, dead letters."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from marketpulse.ingest.replay import PRESETS, Mapping, ReplayReport, load_documents, paced, replay
from marketpulse.ingest.sink import MemorySink

CSV = """ticker,datetime,title,link,source
AAPL,2023-06-01 10:20:00,Apple and Microsoft rally,https://n.example/1,Reuters
MSFT,2023-06-01 10:20:00,Apple and Microsoft rally,https://n.example/1,Reuters
NVDA,2023-05-31 09:00:00,Nvidia hits record,https://n.example/2,Zacks
TSLA,2023-06-02 11:00:00,,https://n.example/3,Zacks
TSLA,not a date,Tesla recalls cars,https://n.example/4,Zacks
"""


def test_finviz_rows_become_sorted_merged_documents(tmp_path):
    path = tmp_path / "news.csv"
    path.write_text(CSV)
    sink = MemorySink()
    report = replay(path, PRESETS["finviz"], sink, progress=False)
    docs = sink.documents
    assert [d.url for d in docs] == ["https://n.example/2", "https://n.example/1"]
    assert [e.ticker for e in docs[1].entities] == ["AAPL", "MSFT"]
    # naive FinViz times are US/Eastern: 09:00 EDT is 13:00 UTC
    assert docs[0].published_at == datetime(2023, 5, 31, 13, 0, tzinfo=UTC)
    assert docs[0].source_meta == {"source": "Zacks"}
    assert (report.rows, report.documents, report.merged) == (5, 2, 1)
    assert sorted(d.reason.value for d in sink.dead_letters) == ["bad_timestamp", "empty_text"]
    assert all(d.stage == "ingest" for d in sink.dead_letters)


def test_same_file_twice_gives_the_same_ids(tmp_path):
    path = tmp_path / "news.csv"
    path.write_text(CSV)
    first, second = MemorySink(), MemorySink()
    replay(path, PRESETS["finviz"], first, progress=False)
    replay(path, PRESETS["finviz"], second, progress=False)
    assert [d.id for d in first.documents] == [d.id for d in second.documents]


def test_jsonl_with_custom_mapping_and_bad_lines(tmp_path):
    path = tmp_path / "posts.jsonl"
    rows = [{"pid": "1", "body": "$AMD to the moon", "ts": 1700000000, "tags": ["AMD"]},
            {"pid": "2", "body": "hello", "ts": "2023-11-14T22:13:20Z", "tags": "AMD,INTC"}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\nnot json\n[1,2]\n")
    mapping = Mapping(source="custom", kind="social",
                      columns={"id": "pid", "text": "body", "published_at": "ts", "tickers": "tags"})
    sink = MemorySink()
    replay(path, mapping, sink, progress=False)
    assert [d.source_meta for d in sink.documents] == [{}, {}]
    assert [[e.ticker for e in d.entities] for d in sink.documents] == [["AMD"], ["AMD", "INTC"]]
    assert [d.reason.value for d in sink.dead_letters] == ["not_json", "not_json"]


def test_pacing_sleeps_the_scaled_gaps(tmp_path):
    path = tmp_path / "news.csv"
    path.write_text(CSV)
    docs = load_documents(path, PRESETS["finviz"], ReplayReport(), lambda _letter: None)
    slept: list[float] = []
    assert list(paced(docs, speed=3600.0, sleep=slept.append)) == docs
    # 2023-05-31 13:00 → 2023-06-01 14:20 UTC is 25h20m; at 3600x that is ~25.3 s of waiting
    assert len(slept) == 1 and 25.0 < slept[0] < 25.4
