"""`shoprec search`: keyword search over the workspace's catalogue, with filters, sorting and facets."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import click

from shoprec.cli import run_options, workspace_option
from shoprec.search.sorts import SORTS

# The index and the engine (pandas, tantivy) are imported where they run, so that `search --help`
# does not wait for them.
if TYPE_CHECKING:
    from shoprec.search.results import SearchFilters, SearchResult

FACETS_SHOWN = 5  # values per facet in the text output


@click.command("search")
@run_options
@workspace_option
@click.argument("query", nargs=-1)
@click.option("--user", "user_id", help="The shopper's id, for personalised order (see the note it prints).")
@click.option("--k", default=10, show_default=True, type=click.IntRange(1, 1000), help="Items per page.")
@click.option("--page", default=1, show_default=True, type=click.IntRange(min=1), help="Which page (from 1).")
@click.option("--category", help="Only this category and its descendants, e.g. 'Electronics > Audio'.")
@click.option("--brand", help="Only this brand (case ignored).")
@click.option("--price-min", type=float, help="Lowest price.")
@click.option("--price-max", type=float, help="Highest price.")
@click.option("--in-stock", is_flag=True, help="Only items in stock.")
@click.option("--sort", type=click.Choice(SORTS), default="relevance", show_default=True,
              help="Order; an empty query sorts by popularity unless told otherwise.")
@click.option("--suggest", is_flag=True, help="Print autocomplete suggestions for QUERY as typed so far instead.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def command(workspace: Path, query: tuple[str, ...], user_id: str | None, k: int, page: int, category: str | None,
            brand: str | None, price_min: float | None, price_max: float | None, in_stock: bool, sort: str,
            suggest: bool, as_json: bool) -> None:
    """Search the catalogue for QUERY (put it after `--` if it starts with a dash; none: browse).

    Builds the search index on first use and refreshes it when the catalogue changed.
    """
    text = " ".join(query)
    if suggest:
        _print_suggestions(workspace, text, k, as_json)
        return
    from shoprec.search.lexical import LexicalIndex
    from shoprec.search.results import SearchFilters

    filters = SearchFilters(category=category, brand=brand, price_min=price_min, price_max=price_max,
                            in_stock=True if in_stock else None)
    index = LexicalIndex.open_or_build(workspace)
    result = index.search(text, k, offset=(page - 1) * k, filters=filters, sort=sort)
    if user_id is not None:
        result = _personalise(result, user_id, workspace, text, filters, sort, (page - 1) * k, k)
    if as_json:
        items = [asdict(hit) for hit in result.hits]
        click.echo(json.dumps({"total": result.total, "items": items, "facets": result.facets,
                               "relaxed": result.relaxed}, indent=2, ensure_ascii=False))
        return
    _print_result(text, result, page, k)


def _personalise(result: SearchResult, user_id: str, workspace: Path, text: str, filters: SearchFilters, sort: str,
                 offset: int, k: int) -> SearchResult:
    # The top results re-ranked by the shopper's taste (the current bundle, their history as
    # stored now) and the query's past clicks: shoprec.search.personalise, through the engine.
    if not text.strip() or sort != "relevance":
        click.echo("note: only a relevance-ordered search with a query is personalised", err=True)
        return result
    from shoprec.search.engine import SearchEngine

    engine = SearchEngine.open(workspace, use_semantic=False)
    personal = engine.search(text, mode="lexical", k=k, offset=offset, filters=filters, user_id=user_id)
    for notice in engine.notices:
        click.echo(f"note: {notice}", err=True)
    return personal


def _print_result(text: str, result: SearchResult, page: int, k: int) -> None:
    pages = max(1, -(-result.total // k))
    label = f'"{text}"' if text.strip() else "all items"
    click.echo(f"{label}: {result.total:,} items (page {page} of {pages})")
    if result.relaxed:
        click.echo("  no item matches every word; showing items matching any of them")
    for rank, hit in enumerate(result.hits, start=(page - 1) * k + 1):
        click.echo(f"{rank:>4}. {hit.item_id:<14} {hit.score:9.3f}  {hit.title or ''}")
    for name, counts in result.facets.items():
        if counts:
            shown = ", ".join(f"{value} ({n:,})" for value, n in list(counts.items())[:FACETS_SHOWN])
            click.echo(f"  {name}: {shown}{', ...' if len(counts) > FACETS_SHOWN else ''}")


def _print_suggestions(workspace: Path, text: str, k: int, as_json: bool) -> None:
    from shoprec.search.autocomplete import Autocomplete

    suggestions = Autocomplete.from_store(workspace).suggest(text, min(k, 100))
    if as_json:
        click.echo(json.dumps({"prefix": text, "suggestions": suggestions}, indent=2, ensure_ascii=False))
        return
    for suggestion in suggestions:
        click.echo(f"{suggestion['kind']:<9} {suggestion['text']}")
