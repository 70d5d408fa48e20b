"""Turn a fetched document into raw items; dispatches on the source's kind and format."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from ..models import Article, Discovery, FetchResult, ParsedDocument, SourceKind, SourceSpec
from .dates import followed_date, parse_date
from .feed import parse_feed
from .jsonfeed import looks_like_json_feed, parse_json_feed
from .opml import read_opml

__all__ = [
    "article",
    "discover_page",
    "followed_date",
    "listing_pages",
    "parse",
    "parse_date",
    "read_opml",
]


#: The most items read from one document (a feed, a listing page); feeds list the newest
#: first. A site's whole archive in one feed, or 10 MB of empty items, would be normalized,
#: tagged, stored and placed into stories every time it changed.
MAX_ITEMS = 1000


def parse(spec: SourceSpec, fetched: FetchResult, now: datetime, tz: ZoneInfo) -> ParsedDocument:
    """Items of ``fetched`` as ``spec`` says to read them (RSS, Atom and JSON Feed alike),
    at most :data:`MAX_ITEMS` of them, without the elements its ``remove`` selects.

    Raises:
        ParseError: the document yielded no items it should have.
    """
    if spec.kind is SourceKind.HTML:
        from .html import parse_html  # bs4 is imported only where a listing is read

        assert spec.selectors is not None, "config validation guarantees selectors"
        return _at_most(
            parse_html(spec.id, spec.selectors, fetched, now, tz, spec.remove), fetched
        )
    if spec.kind is SourceKind.JSON:
        from .json_api import parse_json_items

        assert spec.json is not None, "config validation guarantees paths"
        document = _at_most(parse_json_items(spec.id, spec.json, fetched, now, tz), fetched)
        return _without_removed(spec, document) if spec.remove else document
    if looks_like_json_feed(fetched):
        document = _at_most(parse_json_feed(spec.id, fetched, now, tz), fetched)
    else:
        document = _at_most(parse_feed(spec.id, fetched, now, tz), fetched)
    return _without_removed(spec, document) if spec.remove else document


def _at_most(document: ParsedDocument, fetched: FetchResult) -> ParsedDocument:
    """``document`` with its first :data:`MAX_ITEMS` items."""
    if len(document.items) <= MAX_ITEMS:
        return document
    return replace(
        document,
        items=document.items[:MAX_ITEMS],
        warnings=(
            *document.warnings,
            f"{fetched.url} lists {len(document.items):,} items; only the first {MAX_ITEMS:,} "
            "are read",
        ),
        drifted_items=tuple(i for i in document.drifted_items if i < MAX_ITEMS),
        held_items=tuple(i for i in document.held_items if i < MAX_ITEMS),
    )


def _without_removed(spec: SourceSpec, document: ParsedDocument) -> ParsedDocument:
    """A feed's entries without the elements the source's ``remove`` selects."""
    from .html import without_elements  # bs4 is imported only where it is needed

    return replace(
        document,
        items=tuple(
            replace(
                item,
                summary_html=without_elements(spec.id, item.summary_html, spec.remove),
                content_html=without_elements(spec.id, item.content_html, spec.remove),
            )
            for item in document.items
        ),
    )


def listing_pages(pages: Sequence[ParsedDocument]) -> ParsedDocument:
    """A listing's pages (the first, then those its next links led to) as one document; see
    :func:`.html.combine_pages`."""
    from .html import combine_pages

    return combine_pages(pages)


def article(
    spec: SourceSpec,
    fetched: FetchResult,
    now: datetime,
    tz: ZoneInfo,
    titles: Sequence[str] = (),
) -> Article:
    """Main text and date of an article page followed from ``spec``'s listing, whose items
    linking it have ``titles`` (an article page names its item; a consent page does not).

    Raises:
        ParseError: the page cannot be parsed.
    """
    from .article_page import parse_article

    content = spec.selectors.content if spec.selectors else None
    files = spec.selectors.files if spec.selectors else None
    return parse_article(spec.id, fetched, content, now, tz, titles, spec.remove, files)


def discover_page(
    fetched: FetchResult, now: datetime, tz: ZoneInfo, guess: bool = True
) -> Discovery:
    """What a fetched page offers as a source: it is a feed, or the feeds its head names,
    or the addresses to try as feeds and (with ``guess``) guessed listing selectors."""
    from .discover import discover

    return discover(fetched, now, tz, guess)
