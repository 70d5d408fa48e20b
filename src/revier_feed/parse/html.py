"""News listing pages -> RawItem, using the CSS selectors an admin wrote in the YAML.

A selector ``sel@attr`` takes an attribute of the first match instead of its text; ``@attr``
takes an attribute of the item element itself.
"""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

from bs4 import BeautifulSoup, Tag
from soupsieve import SelectorSyntaxError

from ..exceptions import ParseError
from ..models import ErrorKind, FetchResult, HtmlSelectors, ParsedDocument, RawItem
from .dates import parse_date

_ATTR = re.compile(r"^(?P<css>.*?)@(?P<attr>[A-Za-z_:][-A-Za-z0-9_:.]*)$")
_CHARSET = re.compile(r"charset=[\"']?([-\w.:]+)", re.IGNORECASE)


def parse_html(
    source_id: str,
    selectors: HtmlSelectors,
    fetched: FetchResult,
    now: datetime,
    tz: ZoneInfo,
) -> ParsedDocument:
    """Scrape the items of a listing page.

    Raises:
        ParseError: the item selector matches nothing (the layout probably changed), or a
            selector is invalid, or no matched item has a title.
    """
    charset = _CHARSET.search(fetched.headers.get("content-type", ""))
    try:
        soup = BeautifulSoup(
            fetched.content, "lxml", from_encoding=charset.group(1) if charset else None
        )
    except Exception as e:
        raise ParseError(
            source_id,
            kind=ErrorKind.PARSE,
            message=f"the HTML parser failed: {type(e).__name__}: {e}",
        ) from e
    base_tag = soup.find("base", href=True)
    base = (
        urljoin(fetched.url, str(base_tag["href"])) if isinstance(base_tag, Tag) else fetched.url
    )
    try:
        matches = soup.select(selectors.item)
    except SelectorSyntaxError as e:
        raise ParseError(
            source_id,
            kind=ErrorKind.PARSE,
            message=f"invalid item selector {selectors.item!r}: {e}",
        ) from None
    if not matches:
        raise ParseError(
            source_id,
            kind=ErrorKind.EMPTY,
            message=f"the item selector {selectors.item!r} matched nothing on the page; "
            "the site's layout may have changed (try `revier-feed sources test`)",
        )
    items: list[RawItem] = []
    warnings: list[str] = []
    for index, element in enumerate(matches):
        try:
            item = _item(element, selectors, base, now, tz)
        except SelectorSyntaxError as e:
            raise ParseError(
                source_id, kind=ErrorKind.PARSE, message=f"invalid selector: {e}"
            ) from None
        if item is None:
            warnings.append(f"item {index + 1} skipped: no title at {selectors.title!r}")
            continue
        if selectors.date and item.published is None:
            warnings.append(f"item {index + 1}: no readable date in {item.published_text!r}")
        items.append(item)
    if not items:
        raise ParseError(
            source_id,
            kind=ErrorKind.EMPTY,
            message=f"{len(matches)} items matched, but none has a title at "
            f"{selectors.title!r}; the site's layout may have changed",
        )
    title_tag = soup.find("title")
    return ParsedDocument(
        items=tuple(items),
        warnings=tuple(warnings),
        title=title_tag.get_text(" ", strip=True) if title_tag else None,
    )


def _item(
    element: Tag, selectors: HtmlSelectors, base: str, now: datetime, tz: ZoneInfo
) -> RawItem | None:
    title = _text(element, selectors.title)
    if not title:
        return None
    link = _value(element, selectors.link) if selectors.link else _first_link(element, selectors)
    date_text = None
    published = None
    if selectors.date:
        date_text = _date_text(element, selectors.date)
        published = parse_date(date_text, now, tz)
    teaser = ""
    if selectors.teaser:
        teaser = _html(element, selectors.teaser)
    image = _value(element, selectors.image) if selectors.image else None
    return RawItem(
        title=title,
        link=urljoin(base, link) if link else None,
        summary_html=teaser,
        published=published,
        published_text=date_text,
        image=urljoin(base, image) if image else None,
    )


def _split(selector: str) -> tuple[str, str | None]:
    match = _ATTR.match(selector.strip())
    if match:
        return match["css"].strip(), match["attr"]
    return selector.strip(), None


def _find(element: Tag, css: str) -> Tag | None:
    return element if not css else element.select_one(css)


def _value(element: Tag, selector: str) -> str | None:
    css, attr = _split(selector)
    found = _find(element, css)
    if found is None:
        return None
    if attr:
        value = found.get(attr)
        if isinstance(value, list):
            value = " ".join(value)
        return value.strip() if value else None
    return found.get_text(" ", strip=True) or None


def _text(element: Tag, selector: str) -> str:
    return _value(element, selector) or ""


def _html(element: Tag, selector: str) -> str:
    css, attr = _split(selector)
    if attr:
        return _value(element, selector) or ""
    found = _find(element, css)
    return found.decode_contents() if found is not None else ""


def _date_text(element: Tag, selector: str) -> str | None:
    css, attr = _split(selector)
    found = _find(element, css)
    if found is None:
        return None
    if attr:
        return _value(element, selector)
    # A <time datetime="..."> is exact; prefer it over the words around it.
    time_tag = found if found.name == "time" else found.find("time")
    if isinstance(time_tag, Tag) and time_tag.get("datetime"):
        return str(time_tag["datetime"])
    return found.get_text(" ", strip=True) or None


def _first_link(element: Tag, selectors: HtmlSelectors) -> str | None:
    title_css, _ = _split(selectors.title)
    for scope in (_find(element, title_css), element):
        if scope is None:
            continue
        if scope.name == "a" and scope.get("href"):
            return str(scope["href"])
        anchor = scope.find("a", href=True)
        if isinstance(anchor, Tag):
            return str(anchor["href"])
    return None
