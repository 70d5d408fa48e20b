"""Items of a site's JSON: the API its pages' scripts read (WordPress's REST API, a
headless CMS), or the data a page carries for its script (Next.js's ``__NEXT_DATA__``),
found by dot paths (as FreshRSS's "JSON + dot notation" feeds are).

A path names keys from the document down, with list positions as numbers:
``data.news``, ``title.rendered``, ``media.0.url`` or ``media[0].url``; ``.`` is the whole
document. A list met on the way is gone through, every element: ``tags.name`` of an item
whose ``tags`` is a list of objects is every tag's name.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from ..exceptions import EmptyListing, ParseError
from ..models import ErrorKind, FetchResult, JsonPaths, ParsedDocument, RawItem
from . import MAX_ITEMS
from .dates import EARLIEST, moves_with_now, parse_date
from .jsonfeed import absolute_url, plain_text, read_json, text_of

if TYPE_CHECKING:
    from bs4 import BeautifulSoup

_STEP = re.compile(r"([^.\[\]\s]+)|\[(\d+)\]")
#: Values taken at most from one path in one item (a path through long lists).
_MOST_VALUES = 100
#: A listing of fewer items says nothing about a path that found nothing in any.
_DRIFT_ITEMS = 3
#: Seconds since 1970 up to this are seconds; beyond, milliseconds (JavaScript's).
_SECONDS_UP_TO = 10**11


def parse_json_items(
    source_id: str, paths: JsonPaths, fetched: FetchResult, now: datetime, tz: ZoneInfo
) -> ParsedDocument:
    """The items ``paths`` find in ``fetched``'s JSON (or in its ``<script>`` that
    ``paths.script`` selects, on an HTML page).

    Raises:
        ParseError: not JSON, the script not on the page, or no list of items at
            ``paths.items`` (kind ``empty``: the API changed), or none with a title.
    """
    warnings: list[str] = []
    data = _data(source_id, paths, fetched, warnings)
    found = _at(data, paths.items) if paths.items != "." else [data]
    # Lists only: an object there is no list of items (an error page's {"error": …}).
    entries = [
        e for value in found if isinstance(value, list) for e in value if isinstance(e, dict)
    ]
    if not entries:
        raise EmptyListing(
            source_id,
            kind=ErrorKind.EMPTY,
            message=f"no list of objects at the items path {paths.items!r} (the site's JSON "
            "may have changed; try `revier-feed sources test`)",
        )
    if len(entries) > MAX_ITEMS:
        # Read no further than what is kept: an API's whole archive in one answer.
        warnings.append(
            f"{fetched.url} lists {len(entries):,} items; only the first {MAX_ITEMS:,} are read"
        )
        entries = entries[:MAX_ITEMS]
    items: list[RawItem] = []
    undated: list[str] = []
    for index, entry in enumerate(entries):
        item = _item(entry, paths, fetched.url, now, tz)
        if item is None:
            warnings.append(f"item {index + 1} skipped: no title at {paths.title!r}")
            continue
        if paths.date and item.published is None:
            said = (
                f"no readable date in {item.published_text!r}"
                if item.published_text
                else (f"no date at {paths.date!r}")
            )
            undated.append(f"{item.title[:60]!r}: {said}")
        items.append(item)
    if not items:
        raise ParseError(
            source_id,
            kind=ErrorKind.EMPTY,
            message=f"{len(entries)} items at {paths.items!r}, but none has a title at "
            f"{paths.title!r}; the site's JSON may have changed",
        )
    empty = _found_nothing(items, paths)
    if empty:
        named = ", ".join(f"{field} ({getattr(paths, field)!r})" for field in empty)
        warnings.append(
            f"the paths {named} found nothing in any of the {len(items)} items: the site's "
            "JSON may have changed, or a path is wrong"
        )
    # Those whose values a changed API would wipe keep what the items had (as a listing's
    # drifted selectors do); not every field: an author path wrong from the start would
    # hold back every correction of the source's items.
    drifted = tuple(field for field in empty if field in _KEPT_WHEN_DRIFTED)
    return ParsedDocument(
        items=tuple(items),
        warnings=tuple(warnings),
        drifted=drifted,
        drifted_items=tuple(range(len(items))) if drifted else (),
        # Without their links they would be stored anew under keys of their text.
        held_items=tuple(range(len(items))) if "link" in drifted else (),
        undated=tuple(undated),
    )


def _data(source_id: str, paths: JsonPaths, fetched: FetchResult, warnings: list[str]) -> Any:
    """The JSON value of the document, or of its page's script ``paths.script``."""
    if not paths.script:
        try:
            return read_json(source_id, fetched, warnings, "JSON")
        except ParseError:
            if fetched.content.lstrip()[:1] == b"<":  # a page where the JSON was
                from .html import make_soup

                _raise_for_wall(source_id, make_soup(source_id, fetched), fetched, "JSON")
            raise
    # Only here: a page is parsed as HTML (bs4) for its script.
    from .html import BAD_SELECTOR, make_soup

    soup = make_soup(source_id, fetched)
    try:
        script = soup.select_one(paths.script)
    except BAD_SELECTOR as e:
        raise ParseError(
            source_id, kind=ErrorKind.PARSE, message=f"invalid script selector: {e}"
        ) from None
    if script is None:
        _raise_for_wall(source_id, soup, fetched, f"a page with the script {paths.script!r}")
        raise EmptyListing(
            source_id,
            kind=ErrorKind.EMPTY,
            message=f"the script selector {paths.script!r} matched nothing on the page (the "
            "site's page may have changed; try `revier-feed sources test`)",
        )
    text = script.get_text().strip()
    # A page writes its data as HTML's comment ("<!--{…}-->") or CDATA for old browsers.
    text = re.sub(r"^(?:<!--|//\s*<!\[CDATA\[)|(?:-->|//\s*\]\]>)$", "", text).strip()
    content = FetchResult(fetched.url, fetched.status_code, {}, text.encode())
    return read_json(source_id, content, warnings, "JSON in the page's script")


def _raise_for_wall(
    source_id: str, soup: BeautifulSoup, fetched: FetchResult, expected: str
) -> None:
    """Raise the error of a page that stands in for the site (a bot check, a maintenance
    notice, a consent page, one a script fills), where ``expected`` was."""
    from .walls import stand_in

    wall = stand_in(soup, fetched.content)
    if wall is not None:
        raise ParseError(
            source_id,
            kind=wall.kind or ErrorKind.PARSE,
            message=f"where {expected} was expected, got {wall.what}; {wall.hint}",
        )


def _steps(path: str) -> tuple[str | int, ...]:
    """A dot path's keys and list positions: ``media[0].url`` is ``("media", 0, "url")``;
    a key of digits (``media.0``) stays text, a position in a list, a key ("01") in an
    object."""
    taken: list[str | int] = []
    for part in path.split("."):
        for key, position in _STEP.findall(part):
            taken.append(key if key else int(position))
    return tuple(taken)


def _at(data: Any, path: str) -> list[Any]:
    """Every value at ``path`` in ``data``: a list met on the way is gone through (not
    where the path names a position in it)."""
    values = [data]
    for step in _steps(path):
        reached: list[Any] = []
        for value in values:
            position = step if isinstance(step, int) else int(step) if step.isdecimal() else None
            if isinstance(value, list) and position is not None:
                if position < len(value):
                    reached.append(value[position])
            elif isinstance(value, list):
                # Lists in lists too (WordPress's terms: a list of lists of terms).
                elements = _flat(value)
                reached.extend(e[step] for e in elements if isinstance(e, dict) and step in e)
            elif isinstance(value, dict) and str(step) in value:
                reached.append(value[str(step)])
        values = reached[: _MOST_VALUES * 10]
    return values


def _flat(value: list[Any]) -> list[Any]:
    """The elements of a list, those of lists in it in their place (bounded)."""
    flat: list[Any] = []
    pending = list(reversed(value[: _MOST_VALUES * 10]))
    while pending and len(flat) < _MOST_VALUES * 10:
        element = pending.pop()
        if isinstance(element, list):
            pending.extend(reversed(element[: _MOST_VALUES * 10]))
        else:
            flat.append(element)
    return flat


def _scalars(data: Any, path: str | None) -> list[str]:
    """The texts at ``path`` (numbers written out; objects, booleans and nulls passed over),
    a list's elements each."""
    if not path:
        return []
    found: list[str] = []
    for value in _at(data, path):
        for v in _flat(value) if isinstance(value, list) else [value]:
            if isinstance(v, str) and v.strip():
                found.append(text_of(v))
            elif isinstance(v, int | float) and not isinstance(v, bool):
                found.append(str(v))
            if len(found) >= _MOST_VALUES:
                return found
    return found


def _first(data: Any, path: str | None) -> str | None:
    found = _scalars(data, path)
    return found[0] if found else None


def _item(
    entry: dict[str, Any], paths: JsonPaths, base: str, now: datetime, tz: ZoneInfo
) -> RawItem | None:
    """The item ``entry`` is, or None without a title."""
    title = _first(entry, paths.title)
    if not title:
        return None
    published, published_text = _date(entry, paths.date, now, tz)
    author = _first(entry, paths.author)
    return RawItem(
        # Text, read as HTML next (references read: WordPress's "rendered" titles have
        # them, "&#8211;"; "a<b" stays).
        title=plain_text(" ".join(title.split())),
        link=absolute_url(base, _first(entry, paths.link)),
        guid=_first(entry, paths.id),
        summary_html=_first(entry, paths.teaser) or "",
        content_html=_first(entry, paths.content) or "",
        author=plain_text(author) if author else None,
        published=published,
        published_text=published_text,
        # "vor 2 Stunden" is another moment at every reading, the item the same.
        date_moves=moves_with_now(published_text),
        categories=tuple(plain_text(c) for c in _scalars(entry, paths.categories)),
        image=absolute_url(base, _first(entry, paths.image)),
    )


def _date(
    entry: dict[str, Any], path: str | None, now: datetime, tz: ZoneInfo
) -> tuple[datetime | None, str | None]:
    """The item's date: text as dates are read ("2021-06-10T12:00:00+02:00", "10. Juni
    2021"), or seconds (milliseconds, as JavaScript counts) since 1970."""
    if not path:
        return None, None
    for value in _at(entry, path):
        if isinstance(value, str) and _EPOCH.fullmatch(value.strip()):
            value = int(value.strip())  # as PHP and TYPO3 write them: "1623319200"
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = value / 1000 if abs(value) > _SECONDS_UP_TO else value
            try:
                moment = datetime.fromtimestamp(seconds, UTC)
            except (OverflowError, OSError, ValueError):
                return None, str(value)
            return (moment if moment >= EARLIEST else None), str(value)
        if isinstance(value, str) and value.strip():
            text = text_of(value).strip()
            return parse_date(text, now, tz), text[:100]
    return None, None


#: Seconds (9 or 10 digits) or milliseconds (12 or 13) since 1970 written as text.
_EPOCH = re.compile(r"\d{9,10}|\d{12,13}")


#: The fields whose stored values a path that found nothing keeps (an html source's too).
_KEPT_WHEN_DRIFTED = frozenset({"link", "teaser", "date"})


def _found_nothing(items: list[RawItem], paths: JsonPaths) -> tuple[str, ...]:
    """The paths that found nothing in any item of a list long enough to tell (a wrong
    path is said, as a listing's selector that matches nothing is)."""
    if len(items) < _DRIFT_ITEMS:
        return ()
    fields = (
        ("link", paths.link, all(item.link is None for item in items)),
        ("teaser", paths.teaser, all(not item.summary_html for item in items)),
        ("date", paths.date, all(item.published_text is None for item in items)),
        ("content", paths.content, all(not item.content_html for item in items)),
        ("image", paths.image, all(item.image is None for item in items)),
        ("id", paths.id, all(item.guid is None for item in items)),
        ("author", paths.author, all(item.author is None for item in items)),
        ("categories", paths.categories, all(not item.categories for item in items)),
    )
    return tuple(name for name, path, none in fields if path and none)
