"""File replay with the optional entity linker: linked entities follow the file's own tickers."""

from __future__ import annotations

from marketpulse.ingest.documents import default_linker
from marketpulse.ingest.replay import PRESETS, replay
from marketpulse.ingest.sink import MemorySink

CSV = """ticker,datetime,title,link,source
NVDA,2023-05-31 09:00:00,"Nvidia and Microsoft lead, $AMD lags",https://n.example/2,Zacks
"""


def test_replay_adds_linked_entities_after_the_filed_ticker(tmp_path):
    path = tmp_path / "news.csv"
    path.write_text(CSV)
    plain, linked = MemorySink(), MemorySink()
    replay(path, PRESETS["finviz"], plain, progress=False)
    replay(path, PRESETS["finviz"], linked, progress=False, linker=default_linker())
    assert [e.ticker for e in plain.documents[0].entities] == ["NVDA"]
    entities = linked.documents[0].entities
    assert [e.ticker for e in entities] == ["NVDA", "AMD", "MSFT"]
    assert entities[0].method == "source" and {e.method for e in entities[1:]} == {"cashtag", "alias"}
    assert linked.documents[0].kafka_key() == b"NVDA"
