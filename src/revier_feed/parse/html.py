"""News listing pages -> RawItem, using the CSS selectors an admin wrote in the YAML.

A selector ``sel@attr`` takes an attribute of the first match instead of its text; ``@attr``
takes an attribute of the item element itself.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from urllib.parse import urlsplit
from warnings import catch_warnings, simplefilter
from zoneinfo import ZoneInfo

from bs4 import BeautifulSoup, Tag, XMLParsedAsHTMLWarning
from bs4.element import NavigableString, PageElement
from soupsieve import SelectorSyntaxError

from .._utils import is_web_url, join_url, visible
from ..exceptions import EmptyListing, ParseError
from ..models import (
    FUTURE_TOLERANCE,
    Attachment,
    ErrorKind,
    FetchResult,
    HtmlSelectors,
    ParsedDocument,
    RawItem,
)
from .dates import moves_with_now, parse_date
from .encoding import decode_html_as, http_charset
from .walls import stand_in

# soupsieve raises NotImplementedError for valid CSS it does not support ("h2::text").
BAD_SELECTOR = (SelectorSyntaxError, NotImplementedError)
#: Reading a listing's items stops after this long, keeping those read (a warning says so).
ITEMS_TIME_LIMIT = 20.0
_ATTR = re.compile(r"(?P<css>.*?)@(?P<attr>[A-Za-z_:][-A-Za-z0-9_:.]*)\Z")


def parse_html(
    source_id: str,
    selectors: HtmlSelectors,
    fetched: FetchResult,
    now: datetime,
    tz: ZoneInfo,
    remove: Sequence[str] = (),
) -> ParsedDocument:
    """Scrape the items of a listing page, without the elements ``remove`` selects.

    Raises:
        ParseError: the item selector matches nothing (the layout probably changed), or a
            selector is invalid, or no matched item has a title.
    """
    soup = make_soup(source_id, fetched)
    base = base_url(soup, fetched.url)
    # Read before the items are detached: on a page with unclosed containers the next
    # page's link and everything else after the last item sit inside that item. And before
    # `remove`, which may take out the page's navigation with its next link.
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else None
    next_link = None
    if selectors.next:
        has_attribute = _ATTR.match(selectors.next.strip()) is not None
        next_selector = selectors.next if has_attribute else selectors.next + "@href"
        try:
            next_link = _value(soup, next_selector)
        except BAD_SELECTOR as e:
            raise ParseError(
                source_id, kind=ErrorKind.PARSE, message=f"invalid selector: {e}"
            ) from None
    try:
        # Whether the page has items before `remove`: if only after it has none, the
        # admin's selectors are at fault, not the site.
        listed = bool(remove) and soup.select_one(selectors.item) is not None
        remove_elements(source_id, soup, remove)
        matches: list[Tag] = list(soup.select(selectors.item))
    except BAD_SELECTOR as e:
        raise ParseError(
            source_id,
            kind=ErrorKind.PARSE,
            message=f"invalid item selector {selectors.item!r}: {e}",
        ) from None
    if not matches and listed:
        raise ParseError(
            source_id,
            kind=ErrorKind.PARSE,
            message=f"the source's remove takes out every item {selectors.item!r} matches; "
            "name only the clutter in remove (try `revier-feed sources test`)",
        )
    if not matches:
        _raise_for_no_listing(source_id, selectors.item, soup, fetched)
        raise EmptyListing(
            source_id,
            kind=ErrorKind.EMPTY,
            message=f"the item selector {selectors.item!r} matched nothing on the page; "
            "the site's layout may have changed (try `revier-feed sources test`)",
        )
    _detach_nested(matches)
    scopes = matches
    if selectors.item_until_next:
        pager = _find(soup, _split(selectors.next)[0]) if selectors.next else None
        scopes = _with_following(matches, soup, pager)
    items: list[RawItem] = []
    warnings: list[str] = []
    undated: list[tuple[RawItem, str]] = []
    ahead: list[str] = []
    linked_here = 0  #: items whose link is to the page itself ("#c101")
    give_up_at = time.monotonic() + ITEMS_TIME_LIMIT
    for index, element in enumerate(scopes):
        if items and time.monotonic() > give_up_at:
            warnings.append(
                f"kept the first {index} of {len(matches)} items: reading them took longer "
                f"than {ITEMS_TIME_LIMIT:.0f} s (a broken page, or an item selector that "
                "matches far too much)"
            )
            break
        try:
            found = _item(element, selectors, base, now, tz, soup.original_encoding)
        except BAD_SELECTOR as e:
            raise ParseError(
                source_id, kind=ErrorKind.PARSE, message=f"invalid selector: {e}"
            ) from None
        if found is None:
            # "Match", not "item": `sources test` numbers the items it lists, not the
            # matches, and an "item 4" there was another one.
            warnings.append(
                f"match {index + 1} of {selectors.item!r} skipped: no title at {selectors.title!r}"
            )
            continue
        item, here = found
        if soup.original_encoding != "utf-8":
            item = _sent_in(item, soup.original_encoding)
        linked_here += here
        if selectors.date and item.published is None:
            undated.append(
                (
                    item,
                    f"{_shown(item.title)}: no readable date in {item.published_text!r}"
                    if item.published_text
                    else f"{_shown(item.title)}: no date at {selectors.date!r}",
                )
            )
        elif item.published is not None and item.published > now + FUTURE_TOLERANCE:
            # Taken for the first-seen time: an event's date, or the site's error. Said
            # when tuning selectors only: an events listing would warn in every cycle.
            ahead.append(
                f"{_shown(item.title)}: dated {item.published_text!r}, more than a day "
                "ahead (an event's date?): dated when first seen"
            )
        items.append(item)
    if not items:
        raise ParseError(
            source_id,
            kind=ErrorKind.EMPTY,
            message=f"{len(matches)} items matched, but none has a title at "
            f"{selectors.title!r}; the site's layout may have changed",
        )
    next_url = _join(base, next_link) if next_link else None
    next_url = sent_as_browsers_send(next_url, soup.original_encoding)
    if next_link and next_url is None:
        warnings.append(f"the next page's link {next_link[:100]!r} is no URL; not followed")
    elif next_url and urlsplit(next_url).scheme.lower() not in ("http", "https"):
        warnings.append(
            f"the next page's link {visible(next_link or '')[:100]!r} is no web page (a "
            "script's button?); not followed: the `next` selector cannot page this listing"
        )
        next_url = None
    drifted = _drifted(items, selectors, linked_here)
    if drifted:
        warnings.append(_drift_warning(drifted, selectors, items))
    return ParsedDocument(
        items=tuple(items),
        warnings=tuple(warnings),
        title=title,
        next_url=next_url,
        drifted=drifted,
        drifted_items=tuple(range(len(items))) if drifted else (),
        held_items=tuple(range(len(items))) if _holds_new(drifted) else (),
        undated=_undated(undated, items),
        ahead=tuple(ahead),
    )


def combine_pages(pages: Sequence[ParsedDocument]) -> ParsedDocument:
    """A listing's pages, read in order, as one document (the first page's title, the last
    one's next link). A page whose teaser or date selector matched on none of its items
    holds back the updates of its own items only: one page of older entries in another
    layout held back those of all, the corrections of the newest included."""
    items: list[RawItem] = []
    drifted: dict[str, None] = {}
    drifted_items: list[int] = []
    held_items: list[int] = []
    for page in pages:
        drifted_items.extend(len(items) + index for index in page.drifted_items)
        held_items.extend(len(items) + index for index in page.held_items)
        drifted.update(dict.fromkeys(page.drifted))
        items.extend(page.items)
    return replace(
        pages[0],
        items=tuple(items),
        warnings=tuple(w for page in pages for w in page.warnings),
        next_url=pages[-1].next_url,
        drifted=tuple(drifted),
        drifted_items=tuple(drifted_items),
        held_items=tuple(held_items),
        undated=tuple(line for page in pages for line in page.undated),
        ahead=tuple(line for page in pages for line in page.ahead),
    )


def _drift_warning(drifted: Sequence[str], selectors: HtmlSelectors, items: list[RawItem]) -> str:
    found = []
    named = ", ".join(
        f"{name} selector {getattr(selectors, name)!r}" for name in drifted if name != "title"
    )
    if named:
        found.append(f"the {named} matched on none of the {len(items)} items")
    if "title" in drifted:
        title = html.unescape(items[0].title)
        found.append(
            f"the title selector {selectors.title!r} found the same title on all "
            f"{len(items)} items ({visible(title[:60])!r})"
        )
    held = "; new items are not collected" if _holds_new(drifted) else ""
    return (
        f"{' and '.join(found)}: the site's layout may have changed; stored items keep what "
        f"it found before{held} (check with `revier-feed sources test`)"
    )


def _undated(undated: list[tuple[RawItem, str]], items: list[RawItem]) -> tuple[str, ...]:
    """The lines of the items without a date, but not of an entry the page shows again
    with its date (a "top" box repeating the newest, undated): the two are one item."""
    dated = {(item.link, item.title) for item in items if item.published is not None}
    return tuple(line for item, line in undated if (item.link, item.title) not in dated)


def _detach_nested(matches: list[Tag]) -> None:
    """Take items that sit inside other items out of them.

    A listing whose CMS leaves its item containers unclosed nests every item in the one
    before; each item's selectors then searched all the items after it, and 10,000 items
    took minutes (quadratic) while every other source waited for the parser. Detached,
    each item holds only what is its own. Deepest first, so each one moves alone.
    """
    found = {id(element) for element in matches}
    nested = []
    for element in matches:
        parent = element.parent
        while parent is not None and id(parent) not in found:
            parent = parent.parent
        if parent is not None:
            nested.append(element)
    for element in reversed(nested):
        element.extract()


def _with_following(matches: list[Tag], soup: BeautifulSoup, pager: Tag | None) -> list[Tag]:
    """Each item together with what follows it up to the next item (``item_until_next``),
    in an element of its own (with the match's attributes, for ``@attr``).

    Listings without a container per item: a ``<dl>`` with each date in a ``<dt>`` and its
    text in the ``<dd>`` after it, or a page of headings each followed by paragraphs. A
    sibling that is an item or holds one ends the item, so every element of the page
    belongs to one item at most; so does the next page's link (``pager``) or what holds
    it, and, for the last item of a parent, an element of a kind no other item there has
    (a contact box, a footer after the last heading's paragraphs). An item's selectors
    then search that element, as they search an item's container, so ``p:first-of-type``
    is the item's first paragraph.
    """
    items = {id(element) for element in matches}
    ends: set[int] = set()  # what holds an item or the pager: no part of an item
    for element in [*matches, *([pager] if pager is not None else [])]:
        ends.add(id(element))
        parent = element.parent
        while parent is not None and id(parent) not in ends:
            ends.add(id(parent))
            parent = parent.parent
    groups: dict[int, list[PageElement]] = {}  # by the id of each match
    last_of: dict[int, Tag] = {}  # the last match in each parent
    kinds: dict[int, set[str]] = {}  # the kinds of element in each parent's other items
    for element in matches:
        parts: list[PageElement] = [element]
        sibling = element.next_sibling
        while sibling is not None and id(sibling) not in items and id(sibling) not in ends:
            parts.append(sibling)
            sibling = sibling.next_sibling
        groups[id(element)] = parts
        if element.parent is not None:
            parent_id = id(element.parent)
            if parent_id in last_of:
                before = groups[id(last_of[parent_id])]
                kinds.setdefault(parent_id, set()).update(
                    part.name for part in before if isinstance(part, Tag)
                )
            last_of[parent_id] = element
    for parent_id, last in last_of.items():
        if parent_id in kinds:
            parts = groups[id(last)]
            end = next(
                (
                    at
                    for at, part in enumerate(parts[1:], 1)
                    if isinstance(part, Tag) and part.name not in kinds[parent_id]
                ),
                len(parts),
            )
            groups[id(last)] = parts[:end]
    wrappers: dict[int, Tag] = {}
    for element in matches:
        wrapper = wrappers[id(element)] = soup.new_tag("div")
        wrapper.attrs = dict(element.attrs)
    parents = {id(m.parent): m.parent for m in matches if m.parent is not None}
    for parent in parents.values():
        _regroup(parent, groups, wrappers)
    for element in matches:
        if element.parent is None:  # detached (see _detach_nested): alone in its item
            wrappers[id(element)].append(element)
    return [wrappers[id(element)] for element in matches]


def _regroup(parent: Tag, groups: dict[int, list[PageElement]], wrappers: dict[int, Tag]) -> None:
    """Put ``parent``'s children that begin a group into their wrapper, with the rest of
    the group, all children at once: moving each (bs4 finds a child's place by scanning
    its parent's children) made a listing of 16,000 entries take 11 s."""
    children = list(parent.contents)
    # Taken out from the end, where removing one needs no search and no shift.
    for index in range(len(children) - 1, -1, -1):
        children[index].extract(_self_index=index)
    grouped = {id(part) for child in children for part in groups.get(id(child), ())}
    for child in children:
        parts = groups.get(id(child))
        if parts is not None:
            wrapper = wrappers[id(child)]
            parent.append(wrapper)
            for part in parts:
                wrapper.append(part)
        elif id(child) not in grouped:
            parent.append(child)


def _raise_for_no_listing(
    source_id: str, item_selector: str, soup: BeautifulSoup, fetched: FetchResult
) -> None:
    """Raise the error of a listing without items that is no listing: a feed, a bot
    check, a maintenance notice, a placeholder (then not ``empty``: its selectors are not
    at fault) or a page a script writes."""
    if _FEED_START.match(fetched.content, 0, 4096):
        raise ParseError(
            source_id,
            kind=ErrorKind.PARSE,
            message="got a feed where a listing page was expected: give the source "
            "`kind: feed` (without its html block), and its items are read from the feed",
        )
    wall = stand_in(soup, fetched.content)
    if wall is None:
        return
    message = (
        f"where the listing was expected (the item selector {item_selector!r} matched "
        f"nothing), got {wall.what}; {wall.hint}"
    )
    if wall.kind is None:
        raise EmptyListing(source_id, kind=ErrorKind.EMPTY, message=message)
    raise ParseError(source_id, kind=wall.kind, message=message)


#: The start of an RSS, Atom or RDF feed (a byte-order mark, the XML declaration,
#: comments and a stylesheet's processing instruction before it).
_FEED_START = re.compile(
    # Each comment taken whole and once ("(?>…)*+"): a comment running on over the next
    # one's end made a page of 30 comments take hours (found by a review, session 41).
    rb"(?:\xef\xbb\xbf)?\s*(?>(?:<\?xml[^<>]{0,500}>|<!--(?:(?!-->).){0,2000}-->)\s*)*+"
    rb"<(?:rss|feed|rdf:RDF)\b",
    re.DOTALL,
)


def make_soup(source_id: str, fetched: FetchResult) -> BeautifulSoup:
    """The parsed page, decoded with :func:`decode_html`.

    Raises:
        ParseError: the HTML parser failed on it.
    """
    declared = http_charset(fetched.headers.get("content-type", ""))
    text, codec = decode_html_as(fetched.content, declared, fetched.url)
    try:
        with catch_warnings():
            # A feed where a page was expected: said as such (see _raise_for_no_listing).
            simplefilter("ignore", XMLParsedAsHTMLWarning)
            soup = BeautifulSoup(text, "lxml")
    except Exception as e:  # the HTML parser's errors on hostile input vary
        raise ParseError(
            source_id,
            kind=ErrorKind.PARSE,
            message=f"the HTML parser failed: {type(e).__name__}: {e}",
        ) from e
    soup.original_encoding = codec  # as Beautiful Soup names it when it decodes a page
    _show_lazy_pictures(soup)
    return soup


def sent_as_browsers_send(url: str | None, codec: str | None) -> str | None:
    """``url`` found on a page read in ``codec``, its query as browsers send it: a page's
    links ask in the page's encoding (the WHATWG URL Standard), so on a windows-1252 page
    "?ort=Zörbig" asks for "Z%F6rbig", which a server reading UTF-8 would not have written
    (what the encoding has no character for goes as a reference, "&#8364;")."""
    if not url or url.isascii() or codec in (None, "utf-8"):
        return url
    scheme = _SCHEME.match(url)
    if scheme is not None and scheme[1].lower() not in _SPECIAL_SCHEMES:
        return url  # a "mailto:" link's subject goes in UTF-8 from any page
    address, hash_mark, fragment = url.partition("#")
    head, mark, query = address.partition("?")
    if not mark or query.isascii():
        return url
    sent = "".join(c if c.isascii() else _percent_encoded(c, codec) for c in query)
    return head + mark + sent + hash_mark + fragment


#: A URL's scheme, and the schemes whose queries browsers send in the page's encoding
#: (the URL Standard's special schemes; others' in UTF-8).
_SCHEME = re.compile(r"\s*([A-Za-z][A-Za-z0-9+.-]*):")
_SPECIAL_SCHEMES = frozenset({"http", "https", "ftp", "file", "ws", "wss"})


def _percent_encoded(character: str, codec: str) -> str:
    try:
        return "".join(f"%{byte:02X}" for byte in character.encode(codec))
    except UnicodeEncodeError:
        return f"%26%23{ord(character)}%3B"  # "&#321;", its digits as they are


def remove_elements(source_id: str, root: Tag, selectors: Sequence[str]) -> bool:
    """Take out of ``root`` every element the source's ``remove`` selectors match; whether
    any matched.

    Raises:
        ParseError: a selector soupsieve cannot run (``check`` compiled them already).
    """
    matches: list[Tag] = []
    for selector in selectors:  # one by one: joined, "div \\" would escape the comma
        try:
            matches.extend(root.select(selector))
        except BAD_SELECTOR as e:
            raise ParseError(
                source_id, kind=ErrorKind.PARSE, message=f"invalid remove {selector!r}: {e}"
            ) from None
    if not matches:
        return False
    # All children of a parent at once, from the end, where taking one out needs no search
    # (one by one, bs4 looks for each among its siblings: 32,000 took 24 s).
    by_parent: dict[int, tuple[Tag, set[int]]] = {}
    for element in matches:
        if element.parent is not None:
            by_parent.setdefault(id(element.parent), (element.parent, set()))[1].add(id(element))
    for parent, taken in by_parent.values():
        children = parent.contents
        for index in range(len(children) - 1, -1, -1):
            if id(children[index]) in taken:
                children[index].extract(_self_index=index)
    return True


def without_elements(source_id: str, fragment: str, selectors: Sequence[str]) -> str:
    """An entry's HTML without the elements the source's ``remove`` selectors match; as it
    was where none does (its fingerprint stays)."""
    if not selectors or "<" not in fragment:
        return fragment
    with catch_warnings():
        # An entry that begins "<?xml": read as the HTML it is meant to be.
        simplefilter("ignore", XMLParsedAsHTMLWarning)
        # Python's parser adds no <html> or <body>: text after a "</body>" stays in place.
        soup = BeautifulSoup(fragment, "html.parser")
    if not remove_elements(source_id, soup, selectors):
        return fragment
    return str(soup)


#: Attributes where lazy-loading scripts keep a picture's address until it is scrolled to.
_LAZY_SOURCES = (
    "data-src",
    "data-lazy-src",
    "data-original",
    "data-srcset",
    "data-lazy-srcset",
    "srcset",
)
#: What such scripts put into ``src`` meanwhile: an inline or a blank picture.
_PLACEHOLDER = re.compile(
    r"^\s*data:|blank\.gif|spacer\.gif|placeholder|lazy\.(?:gif|png|svg)", re.I
)


def _show_lazy_pictures(soup: BeautifulSoup) -> None:
    """Give pictures loaded lazily their real address (from ``data-src``, ``srcset`` or the
    ``<noscript>`` copy after them), as a browser shows them; remove those without any,
    which would be an empty box in a reader."""
    for image in soup.find_all("img"):
        source = image.get("src")
        if isinstance(source, str) and source.strip() and not _PLACEHOLDER.search(source):
            continue
        found = next(filter(None, (_lazy_url(image, name) for name in _LAZY_SOURCES)), None)
        if found is None:
            fallback = image.find_next_sibling()
            copy = fallback.find("img") if fallback and fallback.name == "noscript" else None
            found = _first_url(copy.get("src")) if copy else None
        if found is None:
            image.decompose()
        else:
            image["src"] = found


def _lazy_url(image: Tag, attribute: str) -> str | None:
    """The address a lazy-loading attribute holds: the first of a ``srcset``, the whole
    value of the others ("bilder/b2 sperrung.jpg" was cut at its blank)."""
    value = image.get(attribute)
    if "srcset" in attribute:
        return _first_url(value)
    if not isinstance(value, str) or not value.strip() or _PLACEHOLDER.search(value):
        return None
    return value.strip()


def _first_url(value: object) -> str | None:
    """The first address of a ``src`` or ``srcset`` value ("a.jpg 480w, b.jpg 800w"), unless
    it is a placeholder."""
    if not isinstance(value, str):
        return None
    # Candidates are separated by a comma and a blank; an address may hold commas itself.
    words = value.split()
    url = words[0].rstrip(",") if words else ""
    return url if url and not _PLACEHOLDER.search(url) else None


def _join(base: str, link: str) -> str | None:
    """``link`` made absolute against ``base``, or None where it is no URL ("http://[::1"):
    one such link of a page must not cost the others."""
    try:
        return join_url(base, link)
    except ValueError:
        return None


def _sent_in(item: RawItem, codec: str | None) -> RawItem:
    """``item`` with its link, picture and files as :func:`sent_as_browsers_send` has
    them."""
    return replace(
        item,
        link=sent_as_browsers_send(item.link, codec),
        image=sent_as_browsers_send(item.image, codec),
        attachments=files_sent_as_browsers_send(item.attachments, codec),
    )


def files_sent_as_browsers_send(
    files: tuple[Attachment, ...], codec: str | None
) -> tuple[Attachment, ...]:
    """``files`` with their addresses as :func:`sent_as_browsers_send` has them."""
    return tuple(replace(f, url=sent_as_browsers_send(f.url, codec) or f.url) for f in files)


def base_url(soup: BeautifulSoup, url: str) -> str:
    """What the page's relative links resolve against: its ``<base href>``, unless that is
    no web address (browsers pass over a ``javascript:`` one), else ``url``."""
    base_tag = soup.find("base", href=True)
    base = _join(url, str(base_tag["href"])) if isinstance(base_tag, Tag) else None
    return base if base and is_web_url(base) else url


def _shown(title: str) -> str:
    """An item's title as a warning names it."""
    return repr(title if len(title) <= 60 else title[:59] + "…")


#: A listing with at least this many items whose optional selector matched on none of
#: them has changed its layout (with fewer, the items may just have none).
DRIFT_ITEMS = 3


def _holds_new(drifted: Sequence[str]) -> bool:
    """Whether a page's new items are not collected (:attr:`ParsedDocument.held_items`)
    for its drifted fields: its titles or links, or both its teaser and date selectors
    (what a redesigned page's menu gives); not a teaser or a date alone (a page of older
    entries without teasers, a listing whose articles give the dates, a source that has
    only one of the two selectors)."""
    if "title" in drifted or "link" in drifted:
        return True
    return "teaser" in drifted and "date" in drifted


def _drifted(
    items: list[RawItem], selectors: HtmlSelectors, linked_here: int = 0
) -> tuple[str, ...]:
    """The fields whose selectors drifted on ``items``: the link, teaser and date selectors
    that matched on none of them, and the title selector if every item's title is one
    link text such as "Weiterlesen" (the link left where the headline's was; one title
    such as "Polizeibericht" on every item is a listing's way). ``linked_here``: items
    whose link selector found a link to the page itself (their anchor on a one-page
    listing), which they have not as their own."""
    if len(items) < DRIFT_ITEMS:
        return ()
    titles = {_words_of(item.title).casefold() for item in items}
    # Not the picture: many listings have one for few of their items.
    fields = (
        ("title", True, len(titles) == 1 and _READ_MORE.fullmatch(titles.pop()) is not None),
        ("link", selectors.link, not linked_here and all(item.link is None for item in items)),
        ("teaser", selectors.teaser, all(not item.summary_html for item in items)),
        ("date", selectors.date, all(item.published_text is None for item in items)),
    )
    return tuple(name for name, selector, none in fields if selector and none)


#: The text of a link to an article that is not its headline ("Weiterlesen »", "mehr…",
#: "Zum Artikel", "Read more").
_READ_MORE = re.compile(
    r"(?:(?:hier\s+)?weiter(?:\s*lesen)?|weiterlesen|(?:hier\s+)?mehr(?:\s+(?:lesen|"
    r"erfahren|dazu|infos?|informationen|anzeigen))?|lesen\s+sie\s+(?:mehr|weiter)|"
    r"weitere\s+informationen|details(?:\s+anzeigen)?|zu[mr]\s+(?:artikel|meldung|beitrag|"
    r"nachricht|pressemitteilung|veranstaltung)|(?:artikel|meldung|beitrag)\s+lesen|"
    r"read\s+more|learn\s+more|more|continue(?:\s+reading)?)",
    re.IGNORECASE,
)
_NOT_WORDS = re.compile(r"\W+")


def _words_of(text: str) -> str:
    """``text``'s words, one space apart ("Weiterlesen »" -> "Weiterlesen")."""
    return " ".join(_NOT_WORDS.sub(" ", html.unescape(text)).split())


def _item(
    element: Tag,
    selectors: HtmlSelectors,
    base: str,
    now: datetime,
    tz: ZoneInfo,
    codec: str | None = None,
) -> tuple[RawItem, bool] | None:
    """The item ``element`` shows (on a page in ``codec``), and whether its link is to the
    page itself; None without a title."""
    title = _title(element, selectors)
    if not title:
        return None
    link = _value(element, selectors.link) if selectors.link else _first_link(element, selectors)
    date_text = None
    published = None
    if selectors.date:
        date_text, published = _date(element, selectors.date, now, tz)
    # A link that is no URL stays as it is: normalizing drops it, and keeps the item.
    absolute = (_join(base, link) or link) if link else None
    here = absolute is not None and absolute.split("#")[0] == base.split("#")[0]
    if here:
        absolute = None  # "#" or the page itself: no article of its own
    teaser = ""
    if selectors.teaser:
        teaser = _teaser(element, selectors.teaser, base, absolute, codec)
    image = _value(element, selectors.image) if selectors.image else None
    if image and selectors.image and _split(selectors.image)[1] in _SRCSET:
        image = _first_url(image)  # "s480.jpg 480w, s800.jpg 800w": the first picture
    item = RawItem(
        # The title is the page's text; escaped, so that normalizing (which reads a raw
        # title as markup, as feeds write them) keeps what the page shows as text, such as
        # "<3" or a headline about a "<script>" tag, instead of taking it for tags.
        title=html.escape(title, quote=False),
        link=absolute,
        summary_html=teaser,
        published=published,
        published_text=date_text,
        date_moves=moves_with_now(date_text),
        image=(_join(base, image) or image) if image else None,
        attachments=files_in(element, selectors.files, base) if selectors.files else (),
    )
    return item, here


def _title(element: Tag, selectors: HtmlSelectors) -> str:
    """The item's title: the text at its selector, without a date its ``date`` selector
    finds inside it ("<a><span class="date">10.11.2026</span> Kreistag …</a>")."""
    title_css, title_attr = _split(selectors.title)
    if title_attr:
        return _text(element, selectors.title)
    headline = _find(element, title_css)
    if headline is None:
        return ""
    date_css, date_attr = _split(selectors.date) if selectors.date else ("", None)
    date = None if date_attr or not date_css or date_css == SCOPE else _find(headline, date_css)
    if date is None or date is not _find(element, date_css):
        return headline.get_text(" ", strip=True)
    pieces = (
        str(node)
        for node in headline.find_all(string=True)
        if type(node) is NavigableString and not any(p is date for p in node.parents)
    )
    return " ".join(" ".join(pieces).split()).strip(" –—-|:,")


#: Matches of a ``files`` selector read in one item or page: more are a page's error (its
#: whole archive of downloads), and normalizing keeps 20.
_FILE_MATCHES = 50


def files_in(element: Tag, selector: str, base: str) -> tuple[Attachment, ...]:
    """The files a ``files`` selector finds in ``element``: each match's attribute (with
    ``sel@attr``), else its link (the match's ``href``, or the first link inside it), named
    by its text ("Pressemitteilung als PDF"); made absolute against ``base``."""
    css, attr = _split(selector)
    matches = [element] if not css else element.select(css, limit=_FILE_MATCHES)
    found = []
    for match in matches:
        if attr:
            value = match.get(attr)
        else:
            link = match if match.name == "a" and match.get("href") else match.find("a", href=True)
            value = link.get("href") if isinstance(link, Tag) else None
        if isinstance(value, list):
            value = " ".join(value)
        if attr in _SRCSET:
            value = _first_url(value)
        if not value or not value.strip():
            continue
        url = _join(base, value.strip()) or value.strip()
        if url.split("#")[0] == base.split("#")[0]:
            continue  # "#", "": the page itself (a button's link), no file
        title = match.get_text(" ", strip=True)
        found.append(Attachment(url, "", None, html.escape(title, quote=False) or None))
    return tuple(found)


def _split(selector: str) -> tuple[str, str | None]:
    match = _ATTR.match(selector.strip())
    if match:
        return match["css"].strip(), match["attr"]
    return selector.strip(), None


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_CLASS_WORD_SEPARATORS = re.compile(r"[-_\s]+")


def class_words(name: str) -> list[str]:
    """The words of a class name or id, lower case: split at "-", "_" and camelCase
    ("news-teaser__title", "sectionRelated")."""
    return [w for w in _CLASS_WORD_SEPARATORS.split(_CAMEL.sub(" ", name).lower()) if w]


#: A ``date`` selector of the item's own text (its text outside its child elements).
SCOPE = ":scope"
#: What such text starts with to be a date: a number, or a short word and then one.
_STARTS_WITH_DATE = re.compile(r"\W*(?:\d|[^\W\d]{2,10}\.?,?\s+\d)")


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


def _teaser(element: Tag, selector: str, base: str, article: str | None, codec: str | None) -> str:
    """The teaser's markup (an attribute's value with ``sel@attr``), without its link to
    the ``article``, its links asking as a page in ``codec`` asks."""
    css, attr = _split(selector)
    if attr:
        return _value(element, selector) or ""
    found = _find(element, css)
    if not isinstance(found, Tag):
        return ""
    _without_read_more(found, base, article)
    absolutize(found, base, codec)
    return found.decode_contents()


#: Class words of a teaser's link to its article (WordPress's "more-link", whose text
#: also names the article: "Weiterlesen „Titel“").
_READ_MORE_CLASS = re.compile(r"(?:^|[-_])(?:more|weiterlesen)(?:$|[-_])|read-?more")


def _without_read_more(teaser: Tag, base: str, article: str | None) -> None:
    """Take a teaser's link to its own article out ("Weiterlesen", "mehr »", TYPO3's
    ``<a class="more">``, WordPress's ``more-link``): it stood at the end of every teaser
    in the feeds and digests. Only a link to the item's ``article`` that says so or is
    marked so, and only where it stands alone, on its own or at the teaser's end: "die
    <a>Details</a> zum Antrag" keeps its word, and a link elsewhere ("Weitere
    Informationen" to a registration) is content."""
    if article is None:
        return
    for link in teaser.find_all("a", href=True):
        if _join(base, str(link["href"])) != article:
            continue
        said = _words_of(link.get_text(" "))
        marked = any(
            _READ_MORE_CLASS.search(str(word).lower()) for word in link.get_attribute_list("class")
        )
        if not said or not (marked or _READ_MORE.fullmatch(said)):
            continue
        holder = link
        # The block that holds nothing else ('<p class="more"><a>…</a></p>') goes with it.
        while (
            isinstance(holder.parent, Tag)
            and holder.parent is not teaser
            and _words_of(holder.parent.get_text(" ")) == said
        ):
            holder = holder.parent
        if holder is link:
            ending = _words_of(teaser.get_text(" ")).split()[-len(said.split()) :]
            if ending != said.split():
                continue  # a word of the sentence
        holder.decompose()


def absolutize(element: Tag, base: str, codec: str | None = None) -> None:
    """Make links and images absolute against the page they were found on (not against the
    item's own link, which normalize would otherwise use), their queries as browsers send
    them from a page in ``codec`` (:func:`sent_as_browsers_send`)."""
    for child in element.find_all(["a", "img"]):
        for attribute in ("href", "src"):
            value = child.get(attribute)
            if isinstance(value, str):
                joined = sent_as_browsers_send(_join(base, value), codec)
                if joined is None:
                    del child[attribute]  # no URL: no link, but the text stays
                else:
                    child[attribute] = joined


#: Attributes that list pictures with their widths, not one address.
_SRCSET = frozenset({"srcset", "data-srcset", "data-lazy-srcset"})


_DAY_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date(
    element: Tag, selector: str, now: datetime, tz: ZoneInfo
) -> tuple[str | None, datetime | None]:
    """The date's text at ``selector``, and the moment it names (or None)."""
    css, attr = _split(selector)
    if css == SCOPE and not attr:
        # The item's own text, not its children's: a date written bare beside the link
        # ("<li>10.11.2026 – <a>…</a></li>"), which no selector names.
        pieces = (str(node) for node in element.children if type(node) is NavigableString)
        text = " ".join(" ".join(pieces).split()) or None
        if text is None or not _STARTS_WITH_DATE.match(text):
            # A date at the start ("10.11.2026 –", "Do., 10.11.", "Juni 2021"), not one in
            # a sentence beside the link ("– Bewerbungsschluss 15.01.2027").
            return text, None
        return text, parse_date(text, now, tz, without_year=True)
    found = _find(element, css)
    if found is None:
        return None, None
    if attr:
        # An attribute's date is a program's ("data-date"): written with its year.
        text = _value(element, selector)
        return text, parse_date(text, now, tz)
    text = found.get_text(" ", strip=True) or None
    # A <time datetime="..."> is exact; prefer it over the words around it, unless it is
    # a placeholder ("0000-00-00", the Unix epoch) beside a date the page shows.
    time_tag = found if found.name == "time" else found.find("time")
    if isinstance(time_tag, Tag) and time_tag.get("datetime"):
        exact = str(time_tag["datetime"])
        published = parse_date(exact, now, tz)
        shown = parse_date(text, now, tz, without_year=True) if text else None
        if shown is None:
            return exact, published
        if published is None or (
            _DAY_ONLY.fullmatch(exact.strip()) and _day_with_time(shown, published, tz)
        ):
            return text, shown
        return exact, published
    return text, parse_date(text, now, tz, without_year=True)


def _day_with_time(shown: datetime, day: datetime, tz: ZoneInfo) -> bool:
    """Whether the page shows the day of an attribute that names the day only, with its
    time ("10.06.2021, 14:30 Uhr" beside ``datetime="2021-06-10"``): the item was filed at
    midnight."""
    local = shown.astimezone(tz)
    return local.date() == day.astimezone(tz).date() and (local.hour, local.minute) != (0, 0)


def _first_link(element: Tag, selectors: HtmlSelectors) -> str | None:
    title_css, _ = _split(selectors.title)
    for scope in (_find(element, title_css), element):
        if scope is None:
            continue
        href = scope.get("href") if scope.name == "a" else None
        if href:
            return str(href)
        anchor = scope.find("a", href=True)
        if isinstance(anchor, Tag):
            return str(anchor["href"])
    return None
