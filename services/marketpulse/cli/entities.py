"""`marketpulse entities ...`: the knowledge graph and the entity linker."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import typer

app = typer.Typer(help="Entity knowledge graph and linker.", no_args_is_help=True)


@app.command("lookup")
def lookup_command(
    text: Annotated[str, typer.Argument(help="text to link, or a ticker")],
    on: Annotated[str | None, typer.Option(help="date YYYY-MM-DD the text is from (resolves reused tickers)")] = None,
    min_confidence: Annotated[float, typer.Option(help="drop weaker mentions")] = 0.7,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Link the companies in TEXT; each with ticker, confidence, method and span."""
    from marketpulse.entities import EntityLinker

    linker = EntityLinker(min_confidence=min_confidence)
    day = date.fromisoformat(on) if on else None
    mentions = linker.link(text, day)
    if as_json:
        typer.echo(json.dumps([m.model_dump() for m in mentions], indent=2))
        return
    if not mentions:
        typer.echo("no entities")
    for m in mentions:
        company = linker.graph.company(m.ticker, day)
        sector = f"  [{company.sector} / {company.sub_industry}]" if company and company.sector else ""
        name = m.name or "(symbol not in the graph)"
        typer.echo(f"{m.ticker:<7} {m.confidence:.2f}  {m.method:<8} {text[m.start:m.end]!r} → {name}{sector}")


@app.command("show")
def show_command(
    ticker: Annotated[str, typer.Argument(help="ticker, e.g. AAPL or BRK.B")],
    on: Annotated[str | None, typer.Option(help="date YYYY-MM-DD (who held the ticker then)")] = None,
    peers: Annotated[int, typer.Option(help="how many peers to list")] = 8,
) -> None:
    """A company, its sector and sub-industry, and its peers (company → sector → peers)."""
    from marketpulse.entities import default_graph

    graph = default_graph()
    company = graph.company(ticker, date.fromisoformat(on) if on else None)
    if company is None:
        typer.echo(f"unknown ticker {ticker!r}", err=True)
        raise typer.Exit(1)
    out = company.to_dict()
    out["peers"] = [f"{p.ticker} {p.name}" for p in graph.peers(company.ticker, peers)]
    typer.echo(json.dumps(out, indent=2))


@app.command("stats")
def stats_command() -> None:
    """Size of the graph: companies, tickers, exchanges, sectors."""
    from marketpulse.entities import default_graph

    graph = default_graph()
    typer.echo(f"{len(graph)} companies, {len(graph.tickers())} tickers")
    typer.echo("exchanges: " + ", ".join(f"{k} {v}" for k, v in graph.exchanges().items()))
    typer.echo("sectors:   " + ", ".join(f"{k} {v}" for k, v in graph.sectors().items()))


EVALUATE_HELP = (
    "Precision and recall of linking the ticker each real headline was filed under. Rows are grouped "
    "by headline; a headline's gold set is every ticker it was filed under.\n\n"
    "RECALL: of the (headline, filed ticker) pairs where the headline names that company, the share the "
    "linker finds. 'Names' is a loose test independent of the linker: the symbol as a word (a one-letter "
    "or stop-word symbol only as $A, (A) or in a list), or any distinctive word of the company's name "
    "(4+ letters, not a common or industry word) in any case. Round-ups and stories about other companies "
    "filed under a ticker are left out: no linker can find a company the text does not name. Recall over "
    "all pairs is printed too.\n\n"
    "PRECISION: on headlines that name exactly one company of the dataset's ticker universe, a filed one, "
    "the share of the universe entities the linker returns that are filed tickers (any other is a "
    "spurious link). Headlines naming several companies are filed under only some of them, so an unfiled "
    "but named company there cannot be judged. The strict closed-world figure (every universe entity on "
    "every headline; named-but-unfiled companies count as wrong) is printed as a lower bound; entities "
    "outside the universe are counted, not judged."
)


@app.command("evaluate", help=EVALUATE_HELP)
def evaluate_command(
    dataset: Annotated[list[str], typer.Option(help="finviz and/or benzinga")] = ["finviz", "benzinga"],  # noqa: B006
    examples: Annotated[int, typer.Option(help="print up to N misses and false links")] = 0,
) -> None:
    """Precision and recall of linking the ticker each real headline was filed under."""
    from marketpulse.entities import EntityLinker
    from marketpulse.entities.evaluate import evaluate

    linker = EntityLinker()
    for name in dataset:
        s = evaluate(name, linker, keep_examples=examples)
        typer.echo(
            f"{name:<9} headlines {s.headlines}  precision {s.precision:.4f} (on {s.judged_headlines} "
            f"single-company headlines, {s.predictions} entities)  recall {s.recall:.4f} (of {s.named_pairs} "
            f"named pairs)  | strict precision {s.precision_strict:.4f}  recall over all {s.pairs} pairs "
            f"{s.recall_all:.4f}  entities outside universe {s.outside_universe}"
        )
        for line in s.misses:
            typer.echo(f"  miss: {line}")
        for line in s.false_links:
            typer.echo(f"  false: {line}")
