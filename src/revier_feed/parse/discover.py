"""Find what a URL offers as a source: feeds it links to, or selectors for its listing."""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import soupsieve
from bs4 import BeautifulSoup, Tag
from bs4.element import NavigableString
from soupsieve import SelectorSyntaxError

from .._utils import join_url, site_of
from ..exceptions import ParseError
from ..models import Discovery, FeedLink, FetchResult, HtmlSelectors
from .dates import parse_date
from .feed import parse_feed
from .html import SCOPE, base_url, class_words, make_soup
from .jsonfeed import looks_like_json_feed, parse_json_feed
from .walls import stand_in

_FEED_TYPES = {
    "application/rss+xml": "rss",
    "application/rdf+xml": "rss",
    "application/atom+xml": "atom",
    "application/feed+json": "json",
    "application/json": "json",
}
#: Media types of any XML document, which older sites gave their feeds' links.
_XML_TYPES = frozenset({"text/xml", "application/xml"})
#: Media types of web pages: a ``rel="feed"`` link to one is an IndieWeb h-feed page.
_PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml"})
#: Words of a link's address that name a feed ("/presse/rss.xml", "/feed/", "?type=rss").
_FEED_WORDS = frozenset({"rss", "rss2", "atom", "rdf", "feed", "feeds", "newsfeed", "rssfeed"})
#: Words of a link's text that name a feed ("RSS-Feed", "Newsfeed abonnieren").
_FEED_TEXT = re.compile(r"\b(?:rss|atom|news-?feed|feed)\b", re.IGNORECASE)
#: TYPO3's news extension serves a listing's RSS as the page with this page type
#: (9818 in current versions, 100 in older ones).
_TYPO3_FEED_TYPES = ("9818", "100")
#: The addresses many sites serve their feed at without linking it (as Miniflux tries
#: them; Drupal's front-page feed is /rss.xml).
_USUAL_FEEDS = ("/feed/", "/rss.xml", "/feed.xml", "/atom.xml", "/index.xml")
#: The links of a page that may lead to a feed, at most (the caller tries fewer: those it
#: has not tried yet).
MAX_FEED_LINKS = 50
_CHROME = ["script", "style", "noscript", "nav", "header", "footer", "aside", "form"]
_HEADINGS = ["h1", "h2", "h3", "h4", "h5", "h6"]
#: A listing needs at least this many look-alike entries to be recognised as one.
MIN_ENTRIES = 3
#: The most repeated kinds of entries tried as the listing's items, at most.
MAX_CANDIDATES = 20
#: An element with this many elements inside is no date.
_DATE_TAGS = 6
#: An entry's headline link is among its first links.
_FIRST_LINKS = 3


def discover(fetched: FetchResult, now: datetime, tz: ZoneInfo, guess: bool = True) -> Discovery:
    """Whether ``fetched`` is a feed; else the feeds its head names, the addresses worth
    trying as feeds if none of those is one, and (with ``guess``) a selector guess."""
    feed_title = _feed_title(fetched, now, tz)
    if feed_title is not None:
        return Discovery(
            url=fetched.url,
            title=feed_title or None,
            is_feed=True,
            feed_type=_feed_type(fetched),
        )
    if fetched.content.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        # A site's API, as a script-filled page reads it: no page to guess selectors on.
        return Discovery(
            url=fetched.url,
            title=None,
            is_feed=False,
            stand_in="JSON that is no JSON Feed; read it as a `kind: json` source with the "
            'paths of its items (docs/config.md, "Sources that are JSON"; try them with '
            "`sources test --url URL --json items=… --json title=…`)",
        )
    soup = make_soup("discover", fetched)
    # Before the guess takes elements out; said where no feed and no guess come of it.
    wall = stand_in(soup, fetched.content)
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else None
    # Relative links resolve against <base href> where the page has one (as browsers do).
    base = base_url(soup, fetched.url)
    # The feeds the head names, and what else to try if none of them is one (a TYPO3
    # site's feed page type that serves the page itself).
    feeds = _advertised(soup, base)
    feed_links = tuple(_feed_links(soup, base, fetched.url))
    selectors = None
    if guess:
        # Before the guess takes the page's navigation out: pagers are often a <nav>.
        next_page = _next_selector(soup, base, fetched.url)
        selectors = _guess_selectors(soup, now, tz)
        if selectors is not None and next_page is not None:
            selectors = dataclasses.replace(selectors, next=next_page)
    return Discovery(
        url=fetched.url,
        title=title,
        is_feed=False,
        feeds=feeds,
        feed_links=feed_links,
        usual_feeds=tuple(_usual_feeds(soup, fetched.url)),
        selectors=selectors,
        stand_in=f"{wall.what}; {wall.hint}" if wall is not None else None,
    )


def _advertised(soup: BeautifulSoup, base: str) -> tuple[FeedLink, ...]:
    """The feeds the page names in its ``<link>`` elements, read as Firefox read them: a
    ``rel`` of "alternate" with a feed's media type (its case, blanks and parameters such
    as "; charset=UTF-8" aside), or of "feed" with any type but a web page's."""
    feeds: dict[str, FeedLink] = {}
    for link in soup.find_all("link", href=True):
        rel = {r.lower() for r in link.get_attribute_list("rel") if isinstance(r, str)}
        media = str(link.get("type", "")).partition(";")[0].strip().lower()
        href = str(link["href"]).strip()
        if not href or href.startswith("#") or not rel & {"alternate", "feed"}:
            continue  # an empty address is the page itself
        kind = _FEED_TYPES.get(media)
        named = f"{href} {link.get('title', '')}".lower()
        if media == "application/json" and "feed" not in named:
            continue  # WordPress links each page's REST resource so: no feed
        if kind is None and media in _XML_TYPES and _FEED_WORDS & set(re.split(r"\W+", named)):
            kind = "rss"  # older sites' "text/xml" titled "RSS"; what it is, a fetch tells
        if kind is None and "feed" in rel and media not in _PAGE_TYPES:
            kind = "atom" if "atom" in href.lower() else "rss"
        url = join_url(base, href)
        if kind is not None and url not in feeds:
            title = str(link.get("title")) if link.get("title") else None
            feeds[url] = FeedLink(url=url, type=kind, title=title)
    return tuple(feeds.values())


def _feed_links(soup: BeautifulSoup, base: str, page_url: str) -> list[str]:
    """Links of the page on its own site that may lead to a feed: by their address first
    ("/presse/rss.xml"), then by their text ("RSS-Feed"), which often leads to a page
    listing the site's feeds. ``base``: what relative links resolve against."""
    site = _site(page_url)
    by_address: list[str] = []
    by_text: list[str] = []
    for link in soup.find_all("a", href=True):
        url = join_url(base, str(link["href"]))
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or site is None or _site(url) != site:
            continue
        url = urlunsplit(parts._replace(fragment=""))
        words = set(re.split(r"[^a-z0-9]+", f"{parts.path} {parts.query}".lower()))
        typed = str(link.get("type", "")).lower() in _FEED_TYPES
        label = " ".join(
            (
                link.get_text(" ", strip=True),
                str(link.get("title", "")),
                str(link.get("aria-label", "")),
            )
        )
        if typed or (words & _FEED_WORDS and "sitemap" not in words) or _typo3_feed(parts.query):
            by_address.append(url)
        elif _FEED_TEXT.search(label):
            by_text.append(url)
    return list(dict.fromkeys(by_address + by_text))[:MAX_FEED_LINKS]


def _typo3_feed(query: str) -> bool:
    return any(f"type={page_type}" in query.split("&") for page_type in _TYPO3_FEED_TYPES)


def _usual_feeds(soup: BeautifulSoup, base: str) -> list[str]:
    """Where the page's CMS serves a feed without linking it, then the usual feed
    addresses of any site."""
    page = urlsplit(base)
    urls = []
    if _made_with(soup, "typo3"):
        query = [p for p in page.query.split("&") if p and not p.startswith("type=")]
        for page_type in _TYPO3_FEED_TYPES:
            urls.append(
                urlunsplit(
                    page._replace(query="&".join([*query, f"type={page_type}"]), fragment="")
                )
            )
    if _made_with(soup, "joomla"):
        urls.append(urlunsplit(page._replace(query="format=feed&type=rss", fragment="")))
    urls.extend(
        urlunsplit(page._replace(path=path, query="", fragment="")) for path in _USUAL_FEEDS
    )
    return list(dict.fromkeys(u for u in urls if u != base))


def _made_with(soup: BeautifulSoup, cms: str) -> bool:
    """Whether the page says it was made with ``cms`` (its generator meta tag)."""
    generator = soup.find("meta", attrs={"name": re.compile("^generator$", re.IGNORECASE)})
    return isinstance(generator, Tag) and cms in str(generator.get("content", "")).lower()


def _site(url: str) -> str | None:
    """The site of ``url`` as followed links are compared (IDNA host, another port another
    site; see ``site_of``), without "www.": a site's feed may be served from either."""
    site = site_of(url)
    return site.removeprefix("www.") if site else None


def _feed_type(fetched: FetchResult) -> str:
    """The feed's kind by its document's first element: "json", "atom" or "rss"."""
    if looks_like_json_feed(fetched):
        return "json"
    head = fetched.content[:4096].lower()
    root = re.search(rb"<(?![?!])(?:[a-z0-9_-]+:)?([a-z]+)", head)
    return "atom" if root and root.group(1) == b"feed" else "rss"


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
        # An entry's own <header> holds its headline (WordPress's "entry-header").
        if not (tag.name in ("header", "footer") and tag.find_parent("article")):
            tag.decompose()
    signatures: Counter[str] = Counter()
    examples: dict[str, list[Tag]] = {}
    matched: dict[str, set[int]] = {}  #: the elements of each signature, by id()
    nested: set[str] = set()  #: signatures whose elements hold others of theirs
    tables = _table_marks(body)
    for element in body.find_all(True):
        if not _looks_like_entry(element):
            continue
        # Every class counts, not only the first: WordPress starts each entry's classes
        # with its own ("post-123 post type-post"), so no first class repeated.
        for signature in _entry_signatures(element, tables):
            signatures[signature] += 1
            found = examples.setdefault(signature, [])
            if len(found) < _EXAMPLES:
                found.append(element)
            # Elements come in document order: an element's wrappers came before it.
            owners = matched.setdefault(signature, set())
            if signature not in nested and any(id(a) in owners for a in element.parents):
                nested.add(signature)
            owners.add(id(element))
    # Most repeated first; <article> and headings break ties, as they mark real entries. A
    # signature of wrappers and entries alike comes last (Joomla's "div.clearfix" around
    # a row of entries and on each of them): each wrapper is an item without a title.
    ranked = sorted(
        (s for s, n in signatures.items() if n >= MIN_ENTRIES),
        key=lambda s: (
            s not in nested,
            signatures[s],
            s.startswith("article"),
            examples[s][0].find(_HEADINGS) is not None,
        ),
        reverse=True,
    )
    # One signature for one set of entries ("article.post", "article.type-post", … name
    # the same ones).
    seen: set[tuple[int, int]] = set()
    candidates = []
    for signature in ranked:
        entries = (id(examples[signature][0]), signatures[signature])
        if entries not in seen:
            seen.add(entries)
            candidates.append(signature)
    candidates = candidates[:MAX_CANDIDATES]
    # Not the page's menu or footer outside <nav> and <footer> (what a page whose news a
    # script fills in offers instead: an admin was printed a guess of "Impressum").
    candidates = [s for s in candidates if not _in(examples[s][0], _CHROME_WORDS)]
    dates = {s: _common_date_selector(examples[s], now, tz) for s in candidates}
    # Entries with a date before those without: a menu has none; and anything before a box
    # of events or of the most read beside the news (sorted stably).
    candidates.sort(
        key=lambda s: (not _in(examples[s][0], _BOX_WORDS), dates[s] is not None), reverse=True
    )
    # A <dl> of dated news ranks with entries that have dates: before a menu.
    definitions = _guess_definition_list(body, now, tz)
    for signature in candidates:
        if definitions is not None and definitions.date and dates[signature] is None:
            return definitions
        example = examples[signature][0]
        selectors = HtmlSelectors(
            item=signature,
            title=_title_selector(example),
            date=dates[signature],
            teaser=_teaser_selector(example),
            image=_image_selector(examples[signature]),
        )
        if _yields_titles(body, selectors):
            return selectors
    return definitions


def _guess_definition_list(body: Tag, now: datetime, tz: ZoneInfo) -> HtmlSelectors | None:
    """Selectors for a ``<dl>`` of news: each date in a ``<dt>``, the headline's link in the
    ``<dd>`` after it (read with ``item_until_next``); None if the page has no such list."""
    for listing in body.find_all("dl"):
        terms = listing.find_all("dt", recursive=False)
        entries = [
            (term, text)
            for term in terms
            if isinstance(text := term.find_next_sibling(), Tag) and text.name == "dd"
        ]
        headlined = [
            (term, text)
            for term, text in entries
            if any(
                len(link.get_text(" ", strip=True)) >= 15
                for link in text.find_all("a", href=True, limit=_FIRST_LINKS)
            )
        ]
        if len(headlined) < MIN_ENTRIES:
            continue
        term, text = headlined[0]
        heading = text.find(_HEADINGS)
        return HtmlSelectors(
            item=f"{_list_selector(listing)} dt",
            title=f"dd {heading.name} a" if isinstance(heading, Tag) else "dd a",
            date="dt" if _names_date(term, now, tz) else None,
            teaser="dd p" if text.find("p") is not None else None,
            item_until_next=True,
        )
    return None


def _list_selector(listing: Tag) -> str:
    """``listing`` (a ``<dl>``) by a class of its own, else inside the nearest element with
    an id or a class: "dl" alone also took a sidebar's list of phone numbers."""
    own = _signatures(listing)[0]
    if "." in own:
        return own
    for ancestor in listing.parents:
        if not isinstance(ancestor, Tag) or ancestor.name in ("body", "html", "[document]"):
            break
        name = ancestor.get("id")
        if isinstance(name, str) and name.strip():
            return f"#{soupsieve.escape(name.strip())} dl"
        marked = _signatures(ancestor)[0]
        if "." in marked:
            return f"{marked} dl"
    return "dl"


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


#: Words of class names and ids around entries that are the page's chrome or its most
#: read, never the list an admin asks for.
_CHROME_WORDS = frozenset(
    {"footer", "fuss", "fusszeile", "navigation", "navi", "nav", "menu", "menue", "megamenu"}
    | {"breadcrumb", "quicklinks", "metanav", "servicenavigation"}
    | {"mostread", "meistgelesen", "popular", "beliebt"}
)
#: ... and boxes beside the news, which come after it: a sidebar, events (where an events
#: page is the source, they are all there is).
_BOX_WORDS = frozenset(
    {"sidebar", "marginal", "randspalte", "termine", "termin", "events", "event"}
    | {"veranstaltungen", "veranstaltung", "kalender", "calendar"}
)


#: How far up from an entry its box is looked for: a page's wrappers ("site has-sidebar",
#: "menu-open" on the body's first <div>) say nothing about its lists.
_BOX_DEPTH = 3
#: First and last words of a class that says how the page is laid out or what state it is
#: in ("has-sidebar", "nav-open").
_STATE_WORDS = frozenset({"has", "with", "no", "without", "is", "js", "show", "hide"})
_STATE_ENDINGS = frozenset({"open", "closed", "active", "visible", "hidden", "expanded"})


def _in(element: Tag, words: frozenset[str]) -> bool:
    """Whether ``element`` or one of the few elements around it has a class or id of one
    of ``words`` ("sidebar-right", "eventItem", "footer-links")."""
    for tag in (element, *itertools.islice(element.parents, _BOX_DEPTH)):
        if tag.name in ("body", "html", "[document]"):
            return False
        names = [str(c) for c in tag.get_attribute_list("class") if c]
        if tag.get("id"):
            names.append(str(tag["id"]))
        for name in names:
            split = class_words(name)
            if (
                split
                and split[0] not in _STATE_WORDS
                and split[-1] not in _STATE_ENDINGS
                and not words.isdisjoint(split)
            ):
                return True
    return False


def _looks_like_entry(element: Tag) -> bool:
    if element.name == "a":
        # A card that is one link around picture, date and headline ("a.card" in layout
        # columns that have no name of their own).
        return (
            bool(element.get("class"))
            and element.get("href") is not None
            and element.find(_HEADINGS) is not None
            and len(element.get_text(" ", strip=True)) >= 15
        )
    if element.name not in ("article", "li", "div", "section", "tr"):
        return False
    if element.name == "tr" and element.find("table") is not None:
        return False  # a row that lays out the page around a table
    # Without a class, only a plain <li> of a list with a class or id of its own
    # ("ul.news-list > li").
    if (
        element.name not in ("article", "tr")
        and not element.get("class")
        and (element.name != "li" or _list_mark(element.parent) is None)
    ):
        return False
    # A link with a headline's length among the first few: the first is often the picture's
    # (TYPO3's news). Only a few: an unclosed entry holds every one after it.
    links = element.find_all("a", href=True, limit=_FIRST_LINKS)
    return any(len(link.get_text(" ", strip=True)) >= 15 for link in links)


#: Entries of a signature whose date fields are looked at: the first may differ from the
#: rest (a menu's row in a table of news).
_EXAMPLES = 5


def _common_date_selector(examples: list[Tag], now: datetime, tz: ZoneInfo) -> str | None:
    """The date selector most of ``examples`` give, if any gives one."""
    found = Counter(
        selector for e in examples if (selector := _date_selector(e, now, tz)) is not None
    )
    return found.most_common(1)[0][0] if found else None


def _table_marks(body: Tag) -> dict[int, str]:
    """A selector for each table of the page that names it alone, by id(): its id, a class,
    or an attribute value no other table has (hand-written pages: the news table's
    `border="1"` beside a layout table's `border="0"`)."""
    all_tables = [t for t in body.find_all("table") if isinstance(t, Tag)]
    marks: dict[int, str] = {}
    for table in all_tables:
        name = table.get("id")
        if isinstance(name, str) and name.strip():
            marks[id(table)] = f"#{soupsieve.escape(name.strip())}"
            continue
        classes = [c for c in table.get_attribute_list("class") if isinstance(c, str) and c]
        if classes:
            marks[id(table)] = f"table.{soupsieve.escape(classes[0])}"
            continue
        for attribute, value in table.attrs.items():
            if not isinstance(value, str) or not value or len(value) > 40 or '"' in value:
                continue
            if sum(1 for t in all_tables if t.get(attribute) == value) == 1:
                marks[id(table)] = f'table[{attribute}="{value}"]'
                break
    return marks


def _entry_signatures(element: Tag, tables: dict[int, str]) -> list[str]:
    """The signatures of an entry: a table's row without a class by its table (a page's
    layout or menu table has rows too) and only with cells (the head's row of <th>s was an
    item without a title on every fetch)."""
    if element.name == "tr" and not element.get("class"):
        table = element.find_parent("table")
        mark = tables.get(id(table)) if table is not None else None
        return [f"{mark} tr:has(> td)" if mark else "tr:has(> td)"]
    return _signatures(element)


def _signatures(element: Tag) -> list[str]:
    """The selectors that name ``element`` by its tag and one class each (or its tag), and
    by its schema.org ``itemprop`` ("blogPost": Joomla's entries, whatever their class)."""
    itemprop = element.get("itemprop")
    if isinstance(itemprop, str) and re.fullmatch(r"[A-Za-z]{3,40}", itemprop):
        return [*_signatures_by_class(element), f'{element.name}[itemprop="{itemprop}"]']
    return _signatures_by_class(element)


def _signatures_by_class(element: Tag) -> list[str]:
    classes = [c for c in element.get_attribute_list("class") if isinstance(c, str) and c]
    # Classes that only lay out a page (Bootstrap's, Joomla's "clearfix") name its header,
    # rows and footer as well as entries: more of them than of the entries.
    named = [c for c in dict.fromkeys(classes) if not _LAYOUT_CLASS.fullmatch(c)]
    if not named:
        parent = element.parent
        if element.name == "li" and (mark := _list_mark(parent)) is not None:
            return [f"{mark} > li"]
        if classes and element.name not in ("article", "tr"):
            # A bare "div" would name every box of the page; Bootstrap's "div.row" entries
            # are named by the box around them, if it has a name of its own.
            mark = _box_mark(parent) if element.name != "li" else None
            return [f"{mark} > {element.name}.{soupsieve.escape(classes[0])}"] if mark else []
        return [str(element.name)]
    # Escaped: utility classes such as "md:w-1/2" are no valid CSS as they stand.
    return [f"{element.name}.{soupsieve.escape(c)}" for c in named]


#: Classes of layout frameworks that say nothing about what an element holds.
_LAYOUT_CLASS = re.compile(
    r"clearfix|cf|clear|group|row(?:-fluid)?|container(?:-fluid)?|span\d{1,2}"
    r"|col(?:-(?:xs|sm|md|lg|xl|xxl))?(?:-\d{1,2})?|pull-(?:left|right)|float-(?:left|right)"
)


def _list_mark(parent: Tag | None) -> str | None:
    """A ``<ul>`` or ``<ol>`` by its id or first class, or else by the named box it is the
    child of ("div.news-box > ul": hand-made pages class the box, not the list)."""
    if parent is None or parent.name not in ("ul", "ol"):
        return None
    name = parent.get("id")
    if isinstance(name, str) and name.strip():
        return f"#{soupsieve.escape(name.strip())}"
    classes = [c for c in parent.get_attribute_list("class") if isinstance(c, str) and c]
    if classes:
        return f"{parent.name}.{soupsieve.escape(classes[0])}"
    box = parent.parent
    if box is None:
        return None
    lists = box.find_all(("ul", "ol"), recursive=False)
    if sum(1 for found in lists if not found.get("class") and not found.get("id")) != 1:
        return None  # another list without a name beside it (an archive's) would be items
    mark = _box_mark(box)
    if mark is None:
        return None
    # Not the pager's (ul.pagination) beside it.
    return f"{mark} > {parent.name}" + (":not([class])" if len(lists) > 1 else "")


def _box_mark(parent: Tag | None) -> str | None:
    """A box (``div``, ``section``, ``main``) by its id or first class that is not a layout
    framework's, if it has either."""
    if parent is None or parent.name not in ("div", "section", "main"):
        return None
    name = parent.get("id")
    if isinstance(name, str) and name.strip():
        return f"#{soupsieve.escape(name.strip())}"
    classes = [c for c in parent.get_attribute_list("class") if isinstance(c, str) and c]
    named = [c for c in classes if not _LAYOUT_CLASS.fullmatch(c)]
    return f"{parent.name}.{soupsieve.escape(named[0])}" if named else None


def _selector_for(example: Tag, element: Tag, around: bool = False) -> str | None:
    """A selector that finds ``element`` first within ``example`` (a field of an entry):
    by a class of its own, or its tag alone, or its tag without a class (GSB's teaser is
    the <p> after the <p class="docData">), or its place among its siblings; with
    ``around``, else by a class of an element around it ("div.views-field-title a")."""
    options = [*_signatures(element), str(element.name), f"{element.name}:not([class])"]
    siblings = (element.parent or example).find_all(element.name, recursive=False)
    # By identity: bs4 compares tags by their content, and siblings may look alike.
    place = next((i for i, sibling in enumerate(siblings) if sibling is element), None)
    if place is not None:
        options.append(f"{element.name}:nth-of-type({place + 1})")
    if around:
        for ancestor in element.parents:
            if ancestor is example or not isinstance(ancestor, Tag):
                break
            options += [f"{m} {element.name}" for m in _signatures(ancestor) if "." in m]
    return _first_finding(example, element, options)


def _first_finding(example: Tag, element: Tag, options: list[str]) -> str | None:
    """The first of ``options`` that finds ``element`` first within ``example``."""
    for selector in options:
        try:
            if example.select_one(selector) is element:
                return selector
        except (SelectorSyntaxError, NotImplementedError):
            continue
    return None


def _date_selector(example: Tag, now: datetime, tz: ZoneInfo) -> str | None:
    times = [t for t in example.find_all("time") if isinstance(t, Tag)]
    if times:
        # The publication's, not a "last modified" one before it (WordPress themes such as
        # GeneratePress write <time class="updated"> first): old posts edited yesterday
        # were announced as news.
        chosen = next((t for t in times if _marks(t, _PUBLISHED)), None) or next(
            (t for t in times if not _marks(t, _MODIFIED)), times[0]
        )
        if chosen is times[0]:
            return "time"
        itemprop = chosen.get("itemprop")
        options = [f'time[itemprop="{itemprop}"]'] if isinstance(itemprop, str) else []
        # None if no selector finds it first: better no date than that of a change.
        return _first_finding(example, chosen, options) or _selector_for(example, chosen, True)
    found = next(
        (
            e
            for e in example.find_all(True)
            if (not _in_headline(e) or _beside_title_in_link(e)) and _names_date(e, now, tz)
        ),
        None,
    )
    if found is None:
        # A date written bare in the entry, beside its link ("<li>10.11.2026 – <a>…</a>").
        own = " ".join(str(n) for n in example.children if type(n) is NavigableString)
        own = " ".join(own.split())
        if 6 <= len(own) <= _BARE_DATE_TEXT and parse_date(own, now, tz) is not None:
            return SCOPE
        return None
    # The innermost element with the date (a small one: _names_date): GSB's "<span
    # class="date"><span>Datum </span>25.11.2026</span>" has it only with its child's text.
    while inner := next((e for e in found.find_all(True) if _names_date(e, now, tz)), None):
        found = inner
    return _selector_for(example, found)


#: An entry's own text longer than this is no bare date beside its link.
_BARE_DATE_TEXT = 60


#: Class words and itemprops of a publication date, and of a date of the last change.
_PUBLISHED = ("published", "datepublished", "entry-date", "pubdate")
_MODIFIED = ("updated", "modified", "datemodified", "changed")


def _marks(element: Tag, words: tuple[str, ...]) -> bool:
    names = [str(c).lower() for c in element.get_attribute_list("class") if c]
    names.append(str(element.get("itemprop", "")).lower())
    return any(name in words for name in names)


def _title_selector(example: Tag) -> str:
    """How an entry's headline is found: its heading, else its first link with a
    headline's length (the first link is often a picture's: Drupal's image field), by
    that link's own selector or by an element around it with a class."""
    heading = example.find(_HEADINGS)
    if isinstance(heading, Tag):
        return _selector_for(example, heading) or "a"
    # A card's headline in an element of its own inside one link around the card (its
    # text and its teaser's were the title).
    named = next(
        (
            e
            for e in example.find_all(["div", "span", "p", "strong"])
            if any(_TITLE_CLASS.search(str(c)) for c in e.get_attribute_list("class") if c)
            and len(e.get_text(" ", strip=True)) >= 15
        ),
        None,
    )
    if isinstance(named, Tag) and (chosen := _selector_for(example, named)):
        return chosen
    link = next(
        (
            a
            for a in example.find_all("a", href=True, limit=_FIRST_LINKS)
            if len(a.get_text(" ", strip=True)) >= 15
        ),
        None,
    )
    if not isinstance(link, Tag):
        return "a"
    return _selector_for(example, link, True) or "a"


#: Class words of an element that holds a headline, and of one that holds its kicker.
_TITLE_CLASS = re.compile(r"(?<!sub)title|headline|heading", re.IGNORECASE)
_HEADLINE_CLASS = re.compile(r"title|headline|heading|kicker|dachzeile", re.IGNORECASE)


def _beside_title_in_link(element: Tag) -> bool:
    """Whether ``element`` is an element of its own inside the headline's link, beside its
    title ("<a><span class="date">10.11.2026</span> Kreistag …</a>"): a date field the
    title is read without."""
    link = element.find_parent("a")
    if link is None or element.name in _HEADINGS:
        return False
    own = len(element.get_text(" ", strip=True))
    return len(link.get_text(" ", strip=True)) - own >= 15


def _in_headline(element: Tag) -> bool:
    """Whether ``element`` is (in) a heading or a link: a headline such as "Ferienprogramm
    im Juli 2021" names a date, but is no date field. Not a link around a whole teaser, its
    heading, date and text (Sitepark's, whose dates were not found)."""
    if element.name in _HEADINGS or element.find_parent(_HEADINGS) is not None:
        return True
    # A card's headline in a <div> ("card-title", "teaser__headline").
    if any(_HEADLINE_CLASS.search(str(c)) for c in element.get_attribute_list("class") if c):
        return True
    link = element if element.name == "a" else element.find_parent("a")
    return link is not None and link.find([*_HEADINGS, "p", "div"]) is None


def _names_date(element: Tag, now: datetime, tz: ZoneInfo) -> bool:
    # A date is a small element: the text of large ones (an unclosed entry holding all
    # that follow it) is not taken, which made guessing quadratic in the page's size.
    if len(element.find_all(True, limit=_DATE_TAGS)) >= _DATE_TAGS:
        return False
    text = element.get_text(" ", strip=True)
    return 6 <= len(text) <= 40 and parse_date(text, now, tz) is not None


def _teaser_selector(example: Tag) -> str | None:
    for paragraph in example.find_all(["p", "div"]):
        if len(paragraph.get_text(" ", strip=True)) < 40 or paragraph.find(_HEADINGS):
            continue
        # Not the headline's own field (Drupal's views put title and teaser in the same
        # kind of <div class="views-field">: the teaser was the title).
        if any(len(link.get_text(strip=True)) >= 15 for link in paragraph.find_all("a")):
            continue
        return _selector_for(example, paragraph)
    return None


def _image_selector(examples: list[Tag]) -> str | None:
    """An ``image`` selector (``img@src``; a picture a script loads has its address there
    once the page is read) for the entries' pictures, which many listings have for some
    entries only: none was ever guessed, so none was collected. Icons (a PDF's, a
    calendar's) are no picture, nor is a selector that finds one in another entry."""
    for example in examples:
        for img in example.find_all("img"):
            if not _is_picture(img):
                continue
            selector = _selector_for(example, img)
            found = [entry.select_one(selector) for entry in examples] if selector else []
            if not selector or any(f is not None and not _is_picture(f) for f in found):
                return None
            return f"{selector}@src"
    return None


def _is_picture(img: Tag) -> bool:
    """Whether ``img`` shows a picture, not an icon."""
    names = " ".join([*img.get_attribute_list("class"), str(img.get("src", ""))]).lower()
    sizes = (img.get("width"), img.get("height"))
    return not (
        _ICON.search(names)
        or not str(img.get("src", "")).strip()
        or any(isinstance(n, str) and n.isdigit() and int(n) <= _ICON_PIXELS for n in sizes)
    )


#: Words of an icon's class or file name.
_ICON = re.compile(r"icon|spacer|pixel|blank|pdf|logo|arrow|pfeil")
#: Pictures this small or smaller are icons.
_ICON_PIXELS = 48


#: What the link to a listing's next page says, as a whole ("Weiter »", "nächste Seite",
#: "Nächste 10 Meldungen", "»", WordPress's "← Ältere Beiträge"); not "Weiterlesen".
_NEXT_TEXT = re.compile(
    r"[←‹«<\s]*(?:weiter|vor|vorwärts|(?:nächste|naechste)(?:\s+seite|\s+\d+\s+\w+)?"
    r"|zur\s+nächsten\s+seite|next(?:\s+page)?|(?:ältere|aeltere)\s+\w+)?[\s›»>]*",
    re.IGNORECASE,
)
#: What only a link to a next page says, also outside a pager.
_PAGE_WORDS = re.compile(
    r"[←‹«<\s]*(?:(?:zur\s+)?(?:nächste|naechste)n?\s+seite|next\s+page"
    r"|(?:ältere|aeltere)\s+(?:beiträge|einträge))[\s›»>]*",
    re.IGNORECASE,
)
#: What a link's title or label says of the next page ("Zur nächsten Seite").
_NEXT_TITLE = re.compile(
    r"(?:nächste|naechste|next)\s+seite|next\s+page|\bweiter\b|^next$", re.IGNORECASE
)
#: Class words of the next page's link or of what holds it: "next", TYPO3's "li.next",
#: Joomla's "pagination-next", Drupal's "pager__item--next", GSB's "forward"; the word at
#: the end ("next-events" is a box of events).
_NEXT = ("next", "forward", "weiter", "naechste")
_NEXT_CLASS = re.compile(rf"(?:^|[-_])(?:{'|'.join(_NEXT)})$")
#: Class or id words of a pager ("pagination", "pager", "f3-widget-paginator", "navIndex",
#: WordPress's "nav-links" and "nav-previous"); not "page" ("#page" is a whole page).
_PAGER_CLASS = re.compile(
    r"paginat|pager|paging|pagebrowse|page-?nav|browse|blaetter|navindex|nav-links"
    r"|nav-below|nav-previous|^pages$",
    re.IGNORECASE,
)
#: Class words of the current page in a pager, whose next sibling is the next page.
_CURRENT_CLASS = re.compile(r"^(?:current|active|is-active|selected|act|cur)$", re.IGNORECASE)


def _next_selector(soup: BeautifulSoup, base: str, page_url: str) -> str | None:
    """A ``next`` selector for the link to the listing's next page, in a pager: by
    ``rel="next"`` or a class of the link or of what holds it, then by its title or its
    words, then as the link after the current page's number; outside a pager only a link
    that is marked so and says so ("Weiter »" of ``a.next``); last the head's ``<link
    rel="next">``. None without one: a calendar's "next month", a box of "next-events", a
    "Nächster Artikel" or every entry's "weiter »" are no next page of the listing."""
    here = urlsplit(page_url)._replace(fragment="").geturl()

    def target(link: Tag) -> str | None:
        href = link.get("href")
        if not isinstance(href, str) or not href.strip() or href.strip().startswith("#"):
            return None
        url = urlsplit(join_url(base, href))._replace(fragment="")
        if url.scheme not in ("http", "https") or url.hostname != urlsplit(page_url).hostname:
            return None
        return None if url.geturl() == here else url.geturl()

    def finds(selector: str, url: str) -> bool:
        try:
            found = soup.select_one(selector)
        except (SelectorSyntaxError, NotImplementedError):
            return False
        return found is not None and target(found) == url

    links = [a for a in soup.find_all("a", href=True) if isinstance(a, Tag)]
    by_text: dict[str, set[str]] = {}
    for link in links:
        if (url := target(link)) is not None:
            by_text.setdefault(" ".join(link.get_text(" ").split()).lower(), set()).add(url)
    ranked: list[tuple[int, int, str]] = []  #: (rank, place on the page, selector)
    for place, link in enumerate(links):
        url = target(link)
        if url is None:
            continue
        text = " ".join(link.get_text(" ").split())
        words = text.strip("←‹«<›»> ")
        pager = _pager_mark(link)
        # Words, or a forward arrow alone ("«" alone is the page before).
        says = bool(text and _NEXT_TEXT.fullmatch(text)) and bool(
            words or not set(text) & set("←‹«<")
        )
        marked = []  #: (selector, whether it is a class of the link's own that says "next")
        if "next" in [str(r).lower() for r in link.get_attribute_list("rel") if r]:
            marked.append(('a[rel~="next"]', True))
        for holder in (link, link.parent):
            if not isinstance(holder, Tag):
                continue
            for name in holder.get_attribute_list("class"):
                if isinstance(name, str) and _NEXT_CLASS.search(name.lower()):
                    mark = f"{holder.name}.{soupsieve.escape(name)}"
                    own = holder is link and name.lower() in _NEXT
                    marked.append((mark if holder is link else f"{mark} a", own))
        options: list[tuple[int, str]] = []
        if pager:
            options += [(0, option) for option, _ in marked]
        elif says and words:
            # Outside a pager, a link of its own class that says so in words: "a.next", not
            # a "slider-next", nor a calendar's "»" to the next month.
            options += [(4, option) for option, own in marked if own]
        # As the page writes it (a non-breaking space is no space to the selector); not
        # words several links say ("weiter »" under each teaser).
        said = link.get_text().strip()
        alone = len(by_text.get(text.lower(), ())) == 1 and not set(said) & set('"\\\n')
        if not pager and alone and _PAGE_WORDS.fullmatch(text) and isinstance(link.parent, Tag):
            # A hand-written page's "nächste Seite >>" in a paragraph of its own (as a
            # child of its paragraph, not a headline's link that says so too).
            options.append((5, f'{link.parent.name} > a:-soup-contains("{said}")'))
        if pager:
            scope = f"{pager} "
            titled = next(
                (
                    (attribute, value)
                    for attribute in ("title", "aria-label")
                    if isinstance(value := link.get(attribute), str) and _NEXT_TITLE.search(value)
                ),
                None,
            )
            if titled is not None and '"' not in titled[1]:
                options.append((1, f'{scope}a[{titled[0]}="{titled[1]}"]'))
            if says and alone:
                # An arrow alone ("»") may be the last page's: after the current page's link.
                rank = 1 if words else 3
                options.append((rank, f'{scope}a:-soup-contains("{said}")'))
        chosen = next(((rank, o) for rank, o in options if finds(o, url)), None)
        if chosen is not None:
            ranked.append((chosen[0], place, chosen[1]))
    if all(rank > 2 for rank, _, _ in ranked) and (after := _after_current(soup, target, finds)):
        ranked.append((2, 0, after))
    if ranked:
        return min(ranked)[2]
    head = soup.find("link", rel="next")
    if isinstance(head, Tag) and (url := target(head)) and finds('link[rel~="next"]', url):
        return 'link[rel~="next"]'
    return None


def _after_current(
    soup: BeautifulSoup,
    target: Callable[[Tag], str | None],
    finds: Callable[[str, str], bool],
) -> str | None:
    """In a pager of page numbers alone, the link after the current page's
    (``li.current + li a``, WordPress's ``span.current + a``, GSB's ``strong``)."""
    for current in soup.find_all(["li", "span", "strong", "b", "em"]):
        if not isinstance(current, Tag) or current.find("a") is not None:
            continue
        pager = _pager_mark(current)
        if pager is None:
            continue
        sibling = current.find_next_sibling()
        link = sibling if sibling is None or sibling.name == "a" else sibling.find("a")
        if not isinstance(link, Tag) or not isinstance(sibling, Tag):
            continue
        url = target(link)
        if url is None:
            continue
        names = [str(c) for c in current.get_attribute_list("class") if c]
        marks = [f"{current.name}.{soupsieve.escape(c)}" for c in names if _CURRENT_CLASS.match(c)]
        if current.get("aria-current"):
            marks.append(f"{current.name}[aria-current]")
        if current.name in ("strong", "b") and not names:
            marks.append(current.name)
        after = "a" if sibling.name == "a" else f"{sibling.name} a"
        for mark in marks:
            selector = f"{pager} {mark} + {after}"
            if finds(selector, url):
                return selector
    return None


def _pager_mark(element: Tag) -> str | None:
    """A selector of the pager around ``element`` by its id or a class, if it is in one."""
    for ancestor in element.parents:
        if not isinstance(ancestor, Tag) or ancestor.name in ("body", "html", "[document]"):
            return None
        name = ancestor.get("id")
        if isinstance(name, str) and _PAGER_CLASS.search(name):
            return f"#{soupsieve.escape(name.strip())}"
        for word in ancestor.get_attribute_list("class"):
            if isinstance(word, str) and _PAGER_CLASS.search(word):
                return f"{ancestor.name}.{soupsieve.escape(word)}"
    return None
