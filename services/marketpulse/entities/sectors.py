"""ticker → GICS sector, from the knowledge graph, memoised: the alert engine asks per document."""

from __future__ import annotations

import functools
from collections.abc import Callable


def sector_lookup() -> Callable[[str], str | None]:
    from marketpulse.entities.graph import default_graph

    graph = default_graph()

    @functools.lru_cache(maxsize=50_000)
    def sector_of(ticker: str) -> str | None:
        company = graph.company(ticker)
        return company.sector if company else None

    return sector_of
