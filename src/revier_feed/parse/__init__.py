"""Turn a fetched document into raw items; dispatches on the source's kind and format."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from ..models import Article, Discovery, FetchResult, ParsedDocument, SourceKind, SourceSpec
from .dates import followed_date, parse_date
from .feed import parse_feed
from .jsonfeed import looks_like_json_feed, parse_json_feed

__all__ = ["article", "discover_page", "followed_date", "listing_pages", "parse", "parse_date"]


def parse(spec: SourceSpec, fetched: FetchResult, now: datetime, tz: ZoneInfo) -> ParsedDocument:
    """Items of ``fetched`` as ``spec`` says to read them (RSS, Atom and JSON Feed alike).

    Raises:
        ParseError: the document yielded no items it should have.
    """
    if spec.kind is SourceKind.HTML:
        from .html import parse_html  # bs4 is imported only where a listing is read

        assert spec.selectors is not None, "config validation guarantees selectors"
        return parse_html(spec.id, spec.selectors, fetched, now, tz)
    if looks_like_json_feed(fetched):
        return parse_json_feed(spec.id, fetched, now, tz)
    return parse_feed(spec.id, fetched, now, tz)


def listing_pages(pages: Sequence[ParsedDocument]) -> ParsedDocument:
    """A listing's pages (the first, then those its next links led to) as one document; see
    :func:`.html.combine_pages`."""
    from .html import combine_pages

    return combine_pages(pages)


def article(spec: SourceSpec, fetched: FetchResult, now: datetime, tz: ZoneInfo) -> Article:
    """Main text and date of an article page followed from ``spec``'s listing.

    Raises:
        ParseError: the page cannot be parsed.
    """
    from .article_page import parse_article

    content = spec.selectors.content if spec.selectors else None
    return parse_article(spec.id, fetched, content, now, tz)


def discover_page(
    fetched: FetchResult, now: datetime, tz: ZoneInfo, guess: bool = True
) -> Discovery:
    """What a fetched page offers as a source: it is a feed, or the feeds its head names,
    or the addresses to try as feeds and (with ``guess``) guessed listing selectors."""
    from .discover import discover

    return discover(fetched, now, tz, guess)
