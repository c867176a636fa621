"""Knowledge graph and entity linker."""

from __future__ import annotations

from datetime import date

import pytest

from marketpulse.core.errors import ConfigError
from marketpulse.entities import EntityLinker, default_graph, normalise_ticker
from marketpulse.entities.aliases import name_forms, short_form
from marketpulse.entities.stopwords import load_shared_stopwords


@pytest.fixture(scope="module")
def linker() -> EntityLinker:
    return EntityLinker()


def _tickers(linker, text, on=None, social=False):
    return [m.ticker for m in linker.link(text, on, social)]


def test_graph_company_sector_peers():
    graph = default_graph()
    apple = graph.company("AAPL")
    assert apple.name == "Apple Inc." and apple.sector == "Information Technology" and apple.exchange == "Nasdaq"
    peers = graph.peers("AAPL", 3)
    assert peers and all(p.sub_industry == apple.sub_industry for p in peers)
    assert graph.company("BRK.B").ticker == "BRK-B" == normalise_ticker("brk/b")
    assert graph.company("GOOG") is graph.company("GOOGL")  # share classes are one company
    assert len(graph) > 7000 and len(graph.sectors()) == 11


def test_tickers_resolve_by_date():
    graph = default_graph()
    assert graph.company("ACAT", date(2015, 1, 1)).name == "Arctic Cat Inc."
    assert graph.company("ACAT").name != "Arctic Cat Inc."  # the symbol was reused
    barrick = graph.company("ABX", date(2015, 1, 1))
    assert barrick is graph.company("B") and barrick.ticker_at(date(2015, 1, 1)) == "ABX"
    assert graph.company("GOLD", date(2013, 6, 1)).name.startswith("Randgold")
    assert graph.company("FB", date(2020, 1, 1)).ticker == "META"


def test_name_forms_and_short_forms():
    assert name_forms("Meta Platforms, Inc.")[-1] == "Meta Platforms"
    assert name_forms("AMAZON COM INC")[-1] == "AMAZON"
    assert name_forms("Estée Lauder Companies (The)")[-1] == "Estee Lauder"
    assert short_form("Agilent Technologies") == "Agilent"
    assert short_form("Advance Auto Parts") is None  # "Advance" is an ordinary word
    assert short_form("Target Corporation") is None


def test_cashtags_tickers_and_names_with_spans(linker):
    text = "Apple (AAPL) and $TSLA rally; NASDAQ:JD up, Microsoft flat"
    mentions = linker.link(text)
    got = {m.ticker: (m.method, text[m.start:m.end]) for m in mentions}
    assert got["TSLA"] == ("cashtag", "$TSLA")
    assert got["JD"] == ("ticker", "JD")
    assert got["MSFT"] == ("alias", "Microsoft")
    assert "AAPL" in got and "NDAQ" not in got  # the exchange prefix is not Nasdaq Inc.
    assert mentions[0].ticker == "TSLA"  # strongest first: the primary entity, the Kafka key
    assert all(0 < m.confidence <= 1 for m in mentions)


def test_stop_words_and_common_words_are_not_linked(linker):
    assert _tickers(linker, "The US CEO says AI and EPS matter for the IPO") == []
    assert _tickers(linker, "Goldman Lowers Price Target On Advance Auto Parts") == ["GS", "AAP"]
    assert _tickers(linker, "A Peek Into The Markets: Stocks Rise") == []
    assert "AB" not in _tickers(linker, "AB InBev raises prices")


def test_bare_tickers_need_context(linker):
    assert _tickers(linker, "Stocks To Watch For May 13 (A, JWN, NVDA, YUM)", date(2011, 5, 13))[:1] == ["A"]
    assert set(_tickers(linker, "Market Update: BKNG, CMI, F, MSI")) == {"BKNG", "CMI", "F", "MSI"}
    assert _tickers(linker, "GME and AMC squeeze again", social=True) == ["GME", "AMC"]
    assert _tickers(linker, "Regeneron Gets CRL; TRC Capital Offer") == ["REGN"]  # acronyms in news
    assert _tickers(linker, "BULLS ARE BACK AND GME IS FLYING") == []  # all caps: every word looks like a ticker


def test_crypto_cashtags_are_not_equities(linker):
    assert _tickers(linker, "$ETH.X and $BTC.X pump") == []


def test_longest_alias_wins_and_dates_pick_the_symbol(linker):
    assert "AAPL" not in _tickers(linker, "Apple Hospitality REIT raises dividend")
    assert _tickers(linker, "Barrick Gold lifts output", date(2015, 3, 1)) == ["ABX"]
    assert _tickers(linker, "Facebook faces fine", date(2019, 7, 1)) == ["FB"]
    assert _tickers(linker, "Facebook faces fine") == ["META"]


def test_shared_stopword_list_is_optional(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_shared_stopwords(tmp_path / "missing.json")


def test_delisted_companies_only_link_while_listed(linker):
    assert _tickers(linker, "Yahoo buys Tumblr", date(2013, 5, 20)) == ["YHOO"]
    assert _tickers(linker, "Yahoo Finance interview", date(2022, 1, 21)) == []


def test_unknown_cashtags_are_kept_with_less_confidence(linker):
    mentions = linker.link("$AMRS squeeze, $USD weak")
    assert [(m.ticker, m.name, m.confidence) for m in mentions] == [("AMRS", None, 0.75)]
