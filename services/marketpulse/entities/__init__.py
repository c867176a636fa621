"""Entity knowledge graph (companies, tickers over time, sectors, aliases) and the entity linker."""

from marketpulse.entities.graph import Company, KnowledgeGraph, build_graph, default_graph, normalise_ticker
from marketpulse.entities.linker import EntityLinker

__all__ = ["Company", "EntityLinker", "KnowledgeGraph", "build_graph", "default_graph", "normalise_ticker"]
