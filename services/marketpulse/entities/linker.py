"""Entity linker: which companies a text is about, each with a confidence and the span that says so.

Three kinds of evidence, strongest first:
- cashtags ($AAPL, $BRK.B): explicit; StockTwits crypto symbols ($ETH.X) are not equities and are skipped;
- bare tickers: an upper-case token that is a listed symbol. After an exchange prefix ("NASDAQ: JD")
  or in parentheses ("Micron (MU)") it is near-certain; alone it needs ≥2 letters, no stop word and
  a text that is not all upper case;
- names and aliases: a token trie over the short forms of company names, curated brands and former
  names; longest match wins, so "Apple Hospitality" is not Apple.
One mention per company (the strongest); mentions are ordered by confidence, then position, so the
first is the primary entity and becomes the Kafka key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from marketpulse.core.messages import EntityMention
from marketpulse.entities.aliases import (
    NOT_ALIASES,
    alias_keys,
    fold,
    is_weak,
    match_key,
    name_forms,
    short_form,
    tokens,
)
from marketpulse.entities.graph import Company, KnowledgeGraph, default_graph, normalise_ticker
from marketpulse.entities.stopwords import STOPWORDS

_CASHTAG = re.compile(r"(?<![\w$])\$([A-Za-z][A-Za-z0-9]{0,5}(?:[./-][A-Za-z]{1,2})?)(?![\w$])")
_EXCHANGE_PREFIX = re.compile(
    r"(?:NYSE(?:\s?American|\s?Arca|\s?MKT)?|NASDAQ(?:GS|GM|CM)?|Nasdaq|AMEX|NYSEAMERICAN|NYSEARCA|OTC(?:QX|QB)?"
    r"|CBOE|BATS|TSX|LSE)\s*:\s*$"
)
_TICKER_SHAPE = re.compile(r"^[A-Z][A-Z0-9]{0,4}(?:[./-][A-Z])?$")
# A run of three or more symbols separated by commas: "(ED, NLY, A, FB)", "Market Update: BKNG, CMI, F".
_TICKER_LIST = re.compile(r"\b[A-Z][A-Z0-9./-]{0,6}(?:\s*(?:,|&|\band\b)\s*[A-Z][A-Z0-9./-]{0,6}\b){2,}"
                          r"|(?<=\()[A-Z][A-Z0-9./-]{0,6}(?:\s*,\s*[A-Z][A-Z0-9./-]{0,6})+(?=\))")
_LISTED = frozenset({"Nasdaq", "NYSE", "CBOE", "NYSE American"})
_END = "\x00"

CONFIDENCE = {
    "cashtag": 0.99, "cashtag_unknown": 0.75, "ticker_exchange": 0.97, "ticker_parens": 0.93, "ticker_list": 0.9,
    "ticker_bare": 0.8, "ticker_bare_short": 0.65, "alias_curated": 0.95, "alias_full": 0.9,
    "alias_full_minor": 0.8, "alias_short": 0.85, "alias_single_minor": 0.65, "alias_ambiguous": 0.55,
}


@dataclass(frozen=True)
class _Entry:
    company_key: str
    confidence: float
    priority: int  # lower wins a collision between companies claiming the same alias


def _alias_candidates(company: Company) -> list[tuple[str, float, int]]:
    """(alias, confidence, priority) for one company."""
    found: list[tuple[str, float, int]] = [(a, CONFIDENCE["alias_curated"], 0) for a in company.aliases]
    known = company.well_known
    names = [company.name] + ([company.legal_name] if company.legal_name else [])
    for name in names:
        for form in name_forms(name):
            keys = alias_keys(form)
            if not keys or (is_weak(keys) and not company.sp500):
                continue
            if len(keys) == 1 and (len(keys[0]) < 4 or is_weak(keys)):
                continue
            if len(keys) == 1 and not known:
                found.append((form, CONFIDENCE["alias_single_minor"], 3))
            else:
                found.append((form, CONFIDENCE["alias_full" if known else "alias_full_minor"], 1 if known else 3))
        first = short_form(name) if company.sp500 else None
        if first:
            found.append((first, CONFIDENCE["alias_short"], 2))
    return found


def _build_trie(graph: KnowledgeGraph) -> dict:
    claims: dict[tuple[str, ...], list[tuple[_Entry, int]]] = {}
    for company in graph.companies.values():
        for alias, confidence, priority in _alias_candidates(company):
            keys = alias_keys(alias)
            if keys and not (len(keys) == 1 and keys[0] in NOT_ALIASES):
                claims.setdefault(keys, []).append((_Entry(company.key, confidence, priority), company.rank))
    trie: dict = {}
    for keys, entries in claims.items():
        winner = _resolve(entries)
        if winner is None:
            continue
        node = trie
        for key in keys:
            node = node.setdefault(key, {})
        node[_END] = winner
    return trie


def _resolve(entries: list[tuple[_Entry, int]]) -> _Entry | None:
    """The company an alias means: best priority, then rank. When two well-known companies claim the
    same short form ("Constellation": Brands or Energy) the larger takes it at the lowest confidence."""
    by_company: dict[str, tuple[_Entry, int]] = {}
    for entry, rank in entries:
        held = by_company.get(entry.company_key)
        if held is None or (entry.priority, -entry.confidence) < (held[0].priority, -held[0].confidence):
            by_company[entry.company_key] = (entry, rank)
    ranked = sorted(by_company.values(), key=lambda e: (e[0].priority, e[1]))
    best = ranked[0][0]
    if len(ranked) > 1 and ranked[1][0].priority == best.priority and best.priority <= 2:
        return _Entry(best.company_key, CONFIDENCE["alias_ambiguous"], best.priority)
    return best


def _shouting(toks: list[tuple[str, int, int]]) -> bool:
    """An all-caps text: every upper-case word looks like a ticker there, so bare ones are not linked."""
    words = [t for t, _, _ in toks if len(t) >= 4 and t.isalpha()]
    return len(words) >= 3 and sum(w.isupper() for w in words) >= 0.8 * len(words)


class EntityLinker:
    """Links company mentions in text to tickers via the knowledge graph."""

    def __init__(self, graph: KnowledgeGraph | None = None, stopwords: frozenset[str] = STOPWORDS,
                 min_confidence: float = 0.7) -> None:
        self.graph = graph or default_graph()
        self.stopwords = stopwords
        self.min_confidence = min_confidence
        self._trie = _build_trie(self.graph)

    def link(self, text: str, at: datetime | date | None = None, social: bool = False) -> list[EntityMention]:
        """Entities in `text`, strongest first. `at` (publication time) resolves reused tickers.
        `social`: posts write bare upper-case symbols by convention ("GME and AMC"), so a bare symbol
        of a little-known company counts there; in news it is as often an acronym ("CRL", "TRC")."""
        day = at.date() if isinstance(at, datetime) else at
        today = day or date.today()  # noqa: DTZ011 - a calendar day, compared with listing dates
        found: dict[str, tuple[float, int, int, str, Company]] = {}

        def add(company: Company | None, confidence: float, start: int, end: int, method: str) -> None:
            if company is None or confidence < self.min_confidence:
                return
            if company.listed_until is not None and today >= company.listed_until:
                return  # "Yahoo" in 2022 names no listed company any more
            held = found.get(company.key)
            if held is None or confidence > held[0]:
                found[company.key] = (confidence, start, end, method, company)

        self._cashtags(text, day, add)
        toks = tokens(text)
        covered = self._aliases(toks, add)
        listed = self._ticker_lists(text, day)
        self._bare_tickers(text, [t for t in toks if t[1] not in covered], day, listed, add, social)
        ordered = sorted(found.values(), key=lambda f: (-f[0], f[1]))
        return [
            EntityMention(ticker=company.ticker_at(day), name=company.name, confidence=round(conf, 3),
                          start=start, end=end, method=method)
            for conf, start, end, method, company in ordered
        ]

    def _cashtags(self, text, day, add) -> None:
        for match in _CASHTAG.finditer(text):
            symbol = match.group(1).upper()
            if symbol.endswith((".X", "-X")):  # StockTwits crypto: $ETH.X is Ether, not an equity
                continue
            company = self.graph.company(symbol, day)
            if company is None and symbol.isalpha() and len(symbol) <= 5 and symbol not in self.stopwords:
                # An explicit symbol the graph does not know (an ETF, a delisting): keep it, less sure.
                company = Company(key=f"symbol:{symbol}", name=None, ticker=symbol, tickers=[symbol])
                add(company, CONFIDENCE["cashtag_unknown"], match.start(), match.end(), "cashtag")
                continue
            add(company, CONFIDENCE["cashtag"], match.start(), match.end(), "cashtag")

    def _ticker_lists(self, text: str, day: date | None) -> set[int]:
        """Start offsets of symbols standing in a list that is mostly known tickers."""
        starts: set[int] = set()
        for run in _TICKER_LIST.finditer(text):
            items = [(m.group(0), run.start() + m.start()) for m in re.finditer(r"[A-Z][A-Z0-9./-]*", run.group(0))]
            known = [start for sym, start in items if self.graph.company(normalise_ticker(sym), day)]
            in_parens = run.start() > 0 and text[run.start() - 1] == "("
            if len(known) >= (1 if in_parens else 2) and len(known) >= (0.4 if in_parens else 0.5) * len(items):
                starts.update(known)
        return starts

    def _bare_tickers(self, text, toks, day, listed, add, social=False) -> None:
        shouting = _shouting(toks)
        for token, start, end in toks:
            if not _TICKER_SHAPE.match(token) or (start > 0 and text[start - 1] == "$"):
                continue
            company = self.graph.company(normalise_ticker(token), day)
            if company is None:
                continue
            before, after = text[max(0, start - 16):start], text[end:end + 1]
            if _EXCHANGE_PREFIX.search(before):
                add(company, CONFIDENCE["ticker_exchange"], start, end, "ticker")
            elif start in listed and (len(token) == 1 or token not in self.stopwords):
                add(company, CONFIDENCE["ticker_list"], start, end, "ticker")
            elif token in self.stopwords or len(token) == 1:
                continue
            elif before.endswith("(") and after == ")":
                add(company, CONFIDENCE["ticker_parens"], start, end, "ticker")
            elif not shouting and (company.exchange in _LISTED or company.listed_until is not None):
                # A bare symbol of a little-known company is more often an acronym ("MRAM", "TRC").
                known = company.well_known or social
                kind = "ticker_bare" if len(token) >= (3 if known else 4) else "ticker_bare_short"
                add(company, CONFIDENCE[kind], start, end, "ticker")

    def _aliases(self, toks, add) -> set[int]:
        """Link name matches; return the start offsets of the tokens they cover ("AB InBev" is not AB)."""
        folded = [fold(t) for t, _, _ in toks]
        keys = [(match_key(f), match_key(f, possessive=True)) for f in folded]
        covered: set[int] = set()
        i = 0
        while i < len(toks):
            node, j, hit = self._trie, i, None
            while j < len(toks) and (keys[j][0] in node or keys[j][1] in node):
                node = node[keys[j][0]] if keys[j][0] in node else node[keys[j][1]]
                j += 1
                if _END in node:
                    hit = (j, node[_END])
            first = toks[i][0]
            if hit and (first[0].isupper() or first[0].isdigit()):
                end, entry = hit
                add(self.graph.companies[entry.company_key], entry.confidence, toks[i][1], toks[end - 1][2], "alias")
                covered.update(t[1] for t in toks[i:end])
                i = end
            else:
                i += 1
        return covered
