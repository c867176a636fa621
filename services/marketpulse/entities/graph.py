"""The entity knowledge graph: companies, their tickers over time, exchanges, sectors, aliases.

Built at start-up from the shipped reference files in `data/` (S&P 500 constituents: GICS sector and
sub-industry; SEC company tickers: every registrant, its exchange; our own former-listings and brand
lists). Edges are plain dictionaries: company → sector → sub-industry → peers.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path

from marketpulse.entities.aliases import display_name

DATA_DIR = Path(__file__).parent / "data"
# The SEC list is ordered by market value; its first rows are the names newsrooms write about most.
WELL_KNOWN_RANK = 1500


@dataclass(frozen=True)
class FormerTicker:
    ticker: str
    until: date  # first day the company no longer traded under it


@dataclass
class Company:
    key: str  # "cik:320193", or "former:ATVI" for a company known only from the former-listings file
    name: str | None  # common name ("AbbVie", "3M") where the S&P list gives one, else the SEC name
    ticker: str  # current primary ticker (first share class in the SEC list)
    tickers: list[str] = field(default_factory=list)
    exchange: str | None = None
    sector: str | None = None
    sub_industry: str | None = None
    headquarters: str | None = None
    cik: int | None = None
    sp500: bool = False
    rank: int = 1_000_000  # position in the SEC list (≈ market value order)
    listed_until: date | None = None  # delisted companies
    former: list[FormerTicker] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)  # curated aliases (brands, former names)
    legal_name: str | None = None  # EDGAR conformed name

    @property
    def well_known(self) -> bool:
        return self.sp500 or self.rank < WELL_KNOWN_RANK

    def ticker_at(self, when: date | None) -> str:
        """The symbol the company traded under on `when` (today when None)."""
        if when is not None:
            for former in sorted(self.former, key=lambda f: f.until):
                if when < former.until:
                    return former.ticker
        return self.ticker

    def to_dict(self) -> dict[str, object]:
        return {
            "ticker": self.ticker, "name": self.name, "tickers": self.tickers, "exchange": self.exchange,
            "sector": self.sector, "sub_industry": self.sub_industry, "cik": self.cik, "sp500": self.sp500,
            "listed_until": self.listed_until.isoformat() if self.listed_until else None,
            "former_tickers": [{"ticker": f.ticker, "until": f.until.isoformat()} for f in self.former],
        }


def normalise_ticker(symbol: str) -> str:
    """One spelling for share classes: BRK.B / BRK/B / brk-b → BRK-B (the SEC form)."""
    return symbol.strip().lstrip("$").upper().replace(".", "-").replace("/", "-")


class KnowledgeGraph:
    """Companies indexed by key, ticker (time-aware), sector and sub-industry."""

    def __init__(self, companies: list[Company]) -> None:
        self.companies = {c.key: c for c in companies}
        self._by_ticker: dict[str, list[tuple[Company, date | None]]] = defaultdict(list)
        self._by_sector: dict[str, list[Company]] = defaultdict(list)
        self._by_sub_industry: dict[str, list[Company]] = defaultdict(list)
        for company in companies:
            for symbol in company.tickers:
                self._by_ticker[symbol].append((company, company.listed_until))
            for former in company.former:
                self._by_ticker[former.ticker].append((company, former.until))
            if company.sector:
                self._by_sector[company.sector].append(company)
            if company.sub_industry:
                self._by_sub_industry[company.sub_industry].append(company)

    def __len__(self) -> int:
        return len(self.companies)

    def tickers(self) -> set[str]:
        return set(self._by_ticker)

    def company(self, ticker: str, at: date | None = None) -> Company | None:
        """Who traded as `ticker` on `at` (today when None): a retired symbol resolves to its old owner
        for earlier dates, and a reused one to the new owner afterwards."""
        holders = self._by_ticker.get(normalise_ticker(ticker))
        if not holders:
            return None
        if at is not None:
            dated = [(c, until) for c, until in holders if until is not None and at < until]
            if dated:
                return min(dated, key=lambda h: h[1])[0]
        current = [c for c, until in holders if until is None]
        if current:
            return min(current, key=lambda c: c.rank)
        return max(holders, key=lambda h: h[1])[0]

    def sectors(self) -> dict[str, int]:
        return {name: len(members) for name, members in sorted(self._by_sector.items())}

    def sector_members(self, sector: str) -> list[Company]:
        return sorted(self._by_sector.get(sector, []), key=lambda c: c.rank)

    def peers(self, ticker: str, limit: int = 10) -> list[Company]:
        """Same GICS sub-industry first, then the rest of the sector; largest first."""
        company = self.company(ticker)
        if company is None:
            return []
        same = [c for c in self._by_sub_industry.get(company.sub_industry or "", []) if c is not company]
        wider = [c for c in self._by_sector.get(company.sector or "", []) if c is not company and c not in same]
        ordered = sorted(same, key=lambda c: c.rank) + sorted(wider, key=lambda c: c.rank)
        return ordered[:limit]

    def exchanges(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for company in self.companies.values():
            counts[company.exchange or "unknown"] += 1
        return dict(sorted(counts.items()))


# --- building -------------------------------------------------------------------------------------


def _sec_companies(path: Path) -> dict[int, Company]:
    data = json.loads(path.read_text(encoding="utf-8"))
    fields = data["fields"]
    by_cik: dict[int, Company] = {}
    for rank, values in enumerate(data["data"]):
        row = dict(zip(fields, values, strict=True))
        cik, symbol = int(row["cik"]), normalise_ticker(row["ticker"])
        company = by_cik.get(cik)
        if company is None:
            by_cik[cik] = Company(key=f"cik:{cik}", name=display_name(row["name"]), ticker=symbol,
                                  tickers=[symbol], exchange=row["exchange"], cik=cik, rank=rank,
                                  legal_name=row["name"])
        elif symbol not in company.tickers:
            company.tickers.append(symbol)
    return by_cik


def _add_sp500(path: Path, by_cik: dict[int, Company], by_ticker: dict[str, Company]) -> None:
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            symbol = normalise_ticker(row["Symbol"])
            company = by_ticker.get(symbol) or by_cik.get(int(row["CIK"] or 0))
            if company is None:
                company = Company(key=f"sp500:{symbol}", name=row["Security"], ticker=symbol, tickers=[symbol])
                by_ticker[symbol] = company
            company.sp500 = True
            company.name = row["Security"]  # the short common name ("3M", "AbbVie")
            company.sector = row["GICS Sector"] or None
            company.sub_industry = row["GICS Sub-Industry"] or None
            company.headquarters = row["Headquarters Location"] or None


def _add_former(path: Path, by_ticker: dict[str, Company], extra: list[Company]) -> None:
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            symbol = normalise_ticker(row["ticker"])
            until = date.fromisoformat(row["listed_until"]) if row["listed_until"] else None
            aliases = [a for a in row["aliases"].split(";") if a]
            successor = by_ticker.get(normalise_ticker(row["successor"])) if row["successor"] else None
            if successor is not None and until is not None:
                successor.former.append(FormerTicker(symbol, until))
                successor.aliases.extend(a for a in aliases if a not in successor.aliases)
                continue
            company = Company(key=f"former:{symbol}", name=row["name"], ticker=symbol, tickers=[symbol],
                              exchange=row["exchange"] or None, sector=row["sector"] or None,
                              listed_until=until, aliases=aliases, rank=WELL_KNOWN_RANK - 1)
            extra.append(company)


def _add_brands(path: Path, by_ticker: dict[str, Company]) -> None:
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            company = by_ticker.get(normalise_ticker(row["ticker"]))
            if company is not None and row["alias"] not in company.aliases:
                company.aliases.append(row["alias"])


def build_graph(data_dir: Path = DATA_DIR) -> KnowledgeGraph:
    by_cik = _sec_companies(data_dir / "sec_company_tickers_exchange.json")
    by_ticker = {symbol: c for c in by_cik.values() for symbol in c.tickers}
    _add_sp500(data_dir / "sp500_constituents.csv", by_cik, by_ticker)
    companies = list({id(c): c for c in by_ticker.values()}.values())
    extra: list[Company] = []
    _add_former(data_dir / "former_listings.csv", by_ticker, extra)
    _add_brands(data_dir / "brand_aliases.csv", by_ticker)
    return KnowledgeGraph(companies + extra)


@cache
def default_graph() -> KnowledgeGraph:
    """The graph over the shipped reference data, built once per process (~0.2 s)."""
    return build_graph()
