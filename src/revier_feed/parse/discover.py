"""Find what a URL offers as a source: feeds it links to, or selectors for its listing."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

import soupsieve
from bs4 import BeautifulSoup, Tag
from soupsieve import SelectorSyntaxError

from ..exceptions import ParseError
from ..models import Discovery, FeedLink, FetchResult, HtmlSelectors
from .dates import parse_date
from .feed import parse_feed
from .html import make_soup
from .jsonfeed import looks_like_json_feed, parse_json_feed

_FEED_TYPES = {
    "application/rss+xml": "rss",
    "application/atom+xml": "atom",
    "application/feed+json": "json",
    "application/json": "json",
}
_CHROME = ["script", "style", "noscript", "nav", "header", "footer", "aside", "form"]
_HEADINGS = ["h1", "h2", "h3", "h4", "h5", "h6"]
#: A listing needs at least this many look-alike entries to be recognised as one.
MIN_ENTRIES = 3
#: The most repeated kinds of entries tried as the listing's items, at most.
MAX_CANDIDATES = 20


def discover(fetched: FetchResult, now: datetime, tz: ZoneInfo) -> Discovery:
    """Whether ``fetched`` is a feed; else the feeds it links to and a selector guess."""
    feed_title = _feed_title(fetched, now, tz)
    if feed_title is not None:
        return Discovery(url=fetched.url, title=feed_title or None, is_feed=True)
    soup = make_soup("discover", fetched)
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else None
    feeds = []
    for link in soup.find_all("link", href=True):
        rel = [r.lower() for r in link.get_attribute_list("rel") if isinstance(r, str)]
        kind = _FEED_TYPES.get(str(link.get("type", "")).lower())
        if "alternate" in rel and kind:
            feeds.append(
                FeedLink(
                    url=urljoin(fetched.url, str(link["href"])),
                    type=kind,
                    title=str(link.get("title")) if link.get("title") else None,
                )
            )
    return Discovery(
        url=fetched.url,
        title=title,
        is_feed=False,
        feeds=tuple(feeds),
        selectors=None if feeds else _guess_selectors(soup, now, tz),
    )


def _feed_title(fetched: FetchResult, now: datetime, tz: ZoneInfo) -> str | None:
    """The feed's title ("" if it has none) when the document is a feed, else None."""
    try:
        if looks_like_json_feed(fetched):
            document = parse_json_feed("discover", fetched, now, tz)
        else:
            document = parse_feed("discover", fetched, now, tz)
    except ParseError:
        return None
    return document.title or ""


def _guess_selectors(soup: BeautifulSoup, now: datetime, tz: ZoneInfo) -> HtmlSelectors | None:
    body = soup.body or soup
    for tag in body.find_all(_CHROME):
        tag.decompose()
    signatures: Counter[str] = Counter()
    examples: dict[str, Tag] = {}
    for element in body.find_all(True):
        if not _looks_like_entry(element):
            continue
        signature = _signature(element)
        signatures[signature] += 1
        examples.setdefault(signature, element)
    candidates = [(n, s) for s, n in signatures.items() if n >= MIN_ENTRIES]
    # Most repeated wins; <article> and headings break ties, as they mark real entries.
    candidates.sort(
        key=lambda c: (
            c[0],
            c[1].startswith("article"),
            examples[c[1]].find(_HEADINGS) is not None,
        ),
        reverse=True,
    )
    for _, signature in candidates[:MAX_CANDIDATES]:
        example = examples[signature]
        selectors = HtmlSelectors(
            item=signature,
            title=_child_selector(example.find(_HEADINGS)) or "a",
            date=_date_selector(example, now, tz),
            teaser=_teaser_selector(example),
        )
        if _yields_titles(body, selectors):
            return selectors
    return None


def _yields_titles(body: Tag, selectors: HtmlSelectors) -> bool:
    """Whether the guess finds entries with titles, checked on the page already parsed
    (parsing the page again for every guess made a large page take minutes)."""
    try:
        entries = body.select(selectors.item, limit=MIN_ENTRIES * 4)
        return any(_has_text(entry, selectors.title) for entry in entries)
    except (SelectorSyntaxError, NotImplementedError):
        return False


def _has_text(entry: Tag, selector: str) -> bool:
    found = entry.select_one(selector)
    return found is not None and bool(found.get_text(strip=True))


def _looks_like_entry(element: Tag) -> bool:
    if element.name not in ("article", "li", "div", "section", "tr"):
        return False
    if element.name != "article" and not element.get("class"):
        return False
    link = element.find("a", href=True)
    return isinstance(link, Tag) and len(link.get_text(" ", strip=True)) >= 15


def _signature(element: Tag) -> str:
    classes = element.get_attribute_list("class")
    first = classes[0] if classes and isinstance(classes[0], str) else None
    # Escaped: utility classes such as "md:w-1/2" are no valid CSS as they stand.
    return f"{element.name}.{soupsieve.escape(first)}" if first else str(element.name)


def _child_selector(element: Tag | None) -> str | None:
    return _signature(element) if isinstance(element, Tag) else None


def _date_selector(example: Tag, now: datetime, tz: ZoneInfo) -> str | None:
    time_tag = example.find("time")
    if isinstance(time_tag, Tag):
        return "time"
    for element in example.find_all(True):
        text = element.get_text(" ", strip=True)
        if 6 <= len(text) <= 40 and not element.find(True) and parse_date(text, now, tz):
            return _signature(element)
    return None


def _teaser_selector(example: Tag) -> str | None:
    for paragraph in example.find_all(["p", "div"]):
        if len(paragraph.get_text(" ", strip=True)) >= 40 and not paragraph.find(_HEADINGS):
            return _signature(paragraph)
    return None
