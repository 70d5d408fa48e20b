"""A followed article page -> its main text and its exact date.

Without a ``content`` selector the main text is found the way reading modes do
(Readability, Miniflux): what is navigation, a consent dialog, a share bar or a box of
other news is removed; the element holding the most paragraph text wins; and an article
the CMS renders as several blocks (TYPO3's lead, picture and text; GSB's abstract and text
sections; Drupal's paragraphs) is taken whole, from the element that marks the article
(``<article>``, ``<main>``, a schema.org Article) or from the winner's siblings that read
as part of it.
"""

from __future__ import annotations

import collections
import itertools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from bs4 import BeautifulSoup, Tag
from bs4.element import CData, NavigableString

from ..exceptions import ParseError
from ..german import fold, plain
from ..models import DATE_ONLY_TITLE, FUTURE_TOLERANCE, NO_TITLE, Article, ErrorKind, FetchResult
from .dates import parse_date
from .html import (
    BAD_SELECTOR,
    absolutize,
    base_url,
    class_words,
    files_in,
    files_sent_as_browsers_send,
    make_soup,
    remove_elements,
)
from .walls import TITLE_PARTS, Wall, consent_page_wall, wall_of

#: Elements that are never the article's text.
_BOILERPLATE_TAGS = ["nav", "header", "footer", "aside", "menu", "dialog"]
#: ARIA roles of the same.
_BOILERPLATE_ROLES = frozenset(
    {"navigation", "banner", "contentinfo", "complementary", "search", "dialog", "alertdialog"}
)
#: Words of class names and ids (split at "-", "_" and camelCase) that mark what is not the
#: article: a share bar ("shariff"), other news ("jp-relatedposts", "sectionRelated",
#: "news-backlink-wrap"), consent dialogs ("cookieman-modal", Borlabs' "_brlbs-…").
_BOILERPLATE_WORDS = frozenset(
    {
        "breadcrumb",
        "breadcrumbs",
        "comment",
        "comments",
        "consent",
        "modal",
        "nav",
        "navbar",
        "newsletter",
        "pager",
        "popup",
        "sidebar",
        "skip",
        "toolbar",
        # Drupal's and WordPress's keyword lists ("field--name-field-tags", "post-tags").
        "tags",
        "schlagworte",
        "schlagwoerter",
    }
)
_BOILERPLATE_PREFIXES = (
    "backlink",
    "pagenav",
    "pagination",
    "borlabs",
    "brlbs",
    "cookie",
    "related",
    "share",
    "shariff",
    "social",
    # Consent banners of German sites and tools ("dsgvo-hinweis", "privacy-layer", Klaro,
    # Complianz), shares and related posts in German ("teilen", "aehnliche-beitraege").
    "dsgvo",
    "privacy",
    "gdpr",
    "klaro",
    "cmplz",
    "teilen",
    "aehnliche",
    "verwandte",
)
_BOILERPLATE_PAIRS = frozenset(
    {
        ("more", "news"),
        ("teaser", "list"),
        ("article", "info"),
        # GSB's "backLink" ("Zurück zur Übersicht"), the camelCase of "backlink".
        ("back", "link"),
        # German: "mehr-news", "weitere-meldungen", "weitereArtikel" (other news).
        ("mehr", "news"),
        ("mehr", "meldungen"),
        ("weitere", "meldungen"),
        ("weitere", "news"),
        ("weitere", "artikel"),
        ("weitere", "nachrichten"),
        ("weitere", "beitraege"),
        ("artikel", "aktionen"),
    }
)
#: First words of a class that describes its element's layout ("has-sidebar"), not what
#: it is.
_MODIFIERS = frozenset({"has", "with", "no", "without", "content", "layout", "page"})
#: What an element that must never be removed holds: the article itself (Enfold puts
#: "sidebar_right" on the wrapper of <main>).
_ARTICLE_MARKS = "main, article, [role=main], [itemprop=articleBody]"
#: Elements whose text counts as the article's, when they hold no block element (a layout
#: table's cell holds the whole article, whose text would count twice; a <div> of text
#: with <br> only is a paragraph): kept with their own tag when an article is cut, ...
_STRONG_BLOCKS = frozenset({"p", "h2", "h3", "h4", "pre"})
#: ... or wrapped.
_WEAK_BLOCKS = frozenset({"li", "blockquote", "td", "dd", "div"})
_TEXT_BLOCKS = _STRONG_BLOCKS | _WEAK_BLOCKS
_BLOCKS = frozenset({*_TEXT_BLOCKS, "ul", "ol", "table", "section", "article", "h1", "h5", "h6"})
#: Elements that only lay a page out: the winner among them gives way to the one child
#: that holds nearly all of its text.
_LAYOUT = frozenset({"body", "table", "tbody", "tr"})
#: Elements shown as they are in the content (their own tags kept), not just their insides.
_KEEP_OWN_TAG = frozenset({"ul", "ol", "table", "blockquote", "pre", "p", "figure", "dl"})
#: schema.org types of an article's container (itemtype).
_ARTICLE_TYPE = re.compile(r"schema\.org/(?:\w*Article|BlogPosting|Report)\b", re.IGNORECASE)
#: A text block shorter than this says too little to count.
_MIN_BLOCK = 25
#: An article's text beyond this many characters of HTML is cut at a block boundary: a
#: 2 MB official gazette went whole into every feed that listed it.
MAX_CONTENT_CHARS = 60_000


def parse_article(
    source_id: str,
    fetched: FetchResult,
    content_selector: str | None,
    now: datetime,
    tz: ZoneInfo,
    titles: Sequence[str] = (),
    remove: Sequence[str] = (),
    files_selector: str | None = None,
) -> Article:
    """The main text, exact date and files of a followed article page, without the
    elements ``remove`` selects; ``titles`` are those of the listing's items that link it
    (none: not known).

    Raises:
        ParseError: the page cannot be parsed, or the content selector is invalid.
    """
    soup = make_soup(source_id, fetched)
    remove_elements(source_id, soup, remove)
    if _says_not_found(soup):
        return Article(content_html="", not_article="says it was not found (a removed article?)")
    # A bot check's, a maintenance notice's or a placeholder's text was taken for the
    # article, published and never read again. One that names its item is the article
    # ("Wartungsarbeiten an der Brücke"); where titles cannot tell (only a date), only a
    # firewall's own marks make a page one.
    wall = wall_of(soup, fetched.content)
    if wall is not None and (
        (named := _names_item(titles, soup)) is False or (named is None and wall.marked)
    ):
        return Article(content_html="", not_article=f"is {wall.what}")
    published = _article_date(soup, now, tz)
    # Before the forms and the furniture go: a download box may be either.
    files = files_in(soup, files_selector, base_url(soup, fetched.url)) if files_selector else ()
    # Asked as browsers ask them, as the listing's files are (one file, one address).
    files = files_sent_as_browsers_send(files, soup.original_encoding)
    password = _password_field(soup)
    # Where the password field is (its ancestors), before the forms go.
    around_password = {id(a) for a in password.parents} if password is not None else set()
    # Before the forms and the furniture go: a consent page's buttons are in them. A page
    # that names its item is an article, whatever else it shows.
    consent_controls = _consent_controls(soup)
    named = None
    if consent_controls:
        page_text = soup.get_text(" ")
        named = _names_item(titles, soup)
        # Two terms of consent, lest a report on a vote be one; one ("Wir verwenden
        # Cookies") where the page does not name its item at all.
        if named or len(_consent_words(page_text)) < (1 if named is False else 2):
            consent_controls = []
    for tag in soup(["script", "style", "noscript", "template", "iframe"]):
        tag.decompose()
    _remove_forms(soup)
    selected: list[Tag] = []
    if content_selector:
        try:
            selected = soup.select(content_selector, limit=_CONTENT_MATCHES)
        except BAD_SELECTOR as e:
            raise ParseError(
                source_id, kind=ErrorKind.PARSE, message=f"invalid content selector: {e}"
            ) from None
    # The item's own headline where the page has one (the first <h1> may be the site's
    # name, hidden for screen readers, or the section's "Pressemitteilungen").
    item_headline = _item_headline(soup, titles)
    first_headline = _headline(soup)
    headline = item_headline or first_headline
    page_title = soup.find("title")
    # The page's title and first headline, as the page names itself.
    heading = (page_title if isinstance(page_title, Tag) else None, first_headline)
    parts = _outer_matches(selected) if selected else _main_content(soup, headline)
    if (
        not selected
        and parts
        and titles
        and item_headline is None
        and (all(_is_overview(part) for part in parts) or _is_list_entry(parts[0]))
        and _names_item(titles, *heading) is False
    ):
        # The site's overview at the article's address (a moved article, a redirect to
        # the list), whose headline is not the item's: its teasers were the article.
        return Article(content_html="", not_article="is a list of other articles")
    text = sum(len(part.get_text(" ", strip=True)) for part in parts)
    # A page asking for a password with little else to read is a login page; an article
    # with a login box beside it is not, nor a short one under the item's headline with a
    # login box in a column of its own (a club's "Mitglieder-Login").
    beside = not any(id(part) in around_password for part in parts)
    login = (
        "asks for a login"
        if password is not None
        and text < _LOGIN_PAGE_TEXT
        and not (beside and titles and _names_item(titles, *heading))
        else None
    )
    # Titles known and not named (else no controls are left): the page may be all dialog.
    if consent_controls and _is_consent_page(parts, consent_controls, named is False):
        return Article(content_html="", not_article="is a cookie consent page")
    if not parts:
        return Article(content_html="", published=published, not_article=login, files=files)
    base = base_url(soup, fetched.url)
    for part in parts:
        _remove_page_links(part)
        absolutize(part, base, soup.original_encoding)
    html = _html_of(parts)
    return Article(content_html=html, published=published, not_article=login, files=files)


#: The whole text of a link (or of a block holding only such links) that belongs to the
#: page, not to the article: "« Zurück zur Übersicht", "Seite drucken", "Nach oben".
_PAGE_LINK = re.compile(
    r"[«‹<←\s]*(?:zurück(?:\s+zu[rm]?\s+(?:übersicht|liste|startseite|news|nachrichten|"
    r"pressemitteilungen|meldungen|aktuelles|vorherigen\s+seite|newsübersicht))?|"
    r"(?:seite\s+|artikel\s+)?drucken|druckansicht|druckversion|nach\s+oben|"
    r"zum\s+seitenanfang|seitenanfang|(?:seite\s+|artikel\s+)?(?:teilen|empfehlen)|"
    r"(?:per\s+)?e-?mail(?:\s+(?:senden|versenden))?|vorlesen|back(?:\s+to\s+\w+)?)"
    r"[»›>→\s]*",
    re.IGNORECASE,
)
#: Text longer than this is no page link.
_PAGE_LINK_TEXT = 40


def _remove_page_links(part: Tag) -> None:
    """Remove the page's own links from an article's text: back to the overview, print,
    share, "E-Mail" (left where no class names them as furniture, on GSB, Sitepark and
    hand-written pages)."""
    doomed: list[Tag] = []
    gone: set[int] = set()
    for element in part.find_all(_PAGE_LINK_BLOCKS):
        if not isinstance(element, Tag) or any(id(p) in gone for p in element.parents):
            continue
        text = element.get_text(" ", strip=True)
        if not text or len(text) > _PAGE_LINK_TEXT:
            continue
        links = [element] if element.name in ("a", "button") else []
        links += element.find_all(("a", "button"))
        if (
            links
            and all(_is_page_link(link) for link in links)
            and all(_PAGE_LINK.fullmatch(piece) for piece in _pieces(text))
            and _stands_alone(element, text)
        ):
            doomed.append(element)
            gone.add(id(element))
    for element in doomed:
        element.decompose()


_PAGE_LINK_BLOCKS = ("a", "button", "p", "div", "li", "span")
#: A link to a document ("Druckversion" of a PDF) is the article's.
_DOCUMENT = re.compile(r"\.(?:pdf|docx?|odt|xlsx?|ods|zip)(?:$|[?#])", re.IGNORECASE)


def _is_page_link(link: Tag) -> bool:
    """Whether a link may be the page's own: not one to write to someone (a ``mailto:``
    with an address; sharing by mail has none), nor one to a document."""
    href = str(link.get("href", ""))
    if href.lower().startswith("mailto:") and not href[7:].lstrip().startswith("?"):
        return False
    return not _DOCUMENT.search(href)


def _stands_alone(element: Tag, text: str) -> bool:
    """Whether ``element`` is all of the block it stands in: a link inside a sentence
    ("… per <a>E-Mail</a> oder telefonisch …") is part of the text."""
    block = element
    while block.name not in ("p", "li", "div", "td", "dd", "section", "article", "main"):
        parent = block.parent
        if not isinstance(parent, Tag):
            return True
        block = parent
    return block is element or block.get_text(" ", strip=True) == text


def _pieces(text: str) -> list[str]:
    """A block's text split where several page links stand side by side ("Drucken |
    E-Mail")."""
    return [piece for piece in re.split(r"\s*[|/·•]\s*|\s{2,}", text) if piece]


#: What an error page's title or headline is, or one of its parts between dashes, bars or
#: colons ("Fehler 404 – Seite nicht gefunden", "Page not found | Landkreis", "Die
#: angeforderte Seite existiert nicht"): a removed article answered with 200. The whole
#: part, so that a headline that only uses the words ("Bus 404: Fehler im Fahrplan
#: behoben", "Ursache des Brandes noch nicht gefunden") is not one.
_NOT_FOUND = re.compile(
    r"(?:(?:fehler|error|http)\s*)?404(?:\s*[-–:]?\s*(?:fehler|error|not\s+found|"
    r"(?:seite\s+)?nicht\s+gefunden))?|(?:fehler|error|page|seite)\s+not\s+found|"
    r"(?:oops\s+)?(?:page\s+)?not\s+found|fehlerseite|"
    # "Inhalt nicht gefunden" as it is: "Datenpanne: Inhalt wurde nicht gefunden" is news.
    r"inhalt\s+nicht\s+gefunden|"
    r"(?:die\s+|diese\s+|der\s+|dieser\s+|das\s+|dieses\s+)?"
    r"(?:angeforderte\s+|gesuchte\s+|aufgerufene\s+|gewünschte\s+)?"
    r"(?:seite|page|dokument|document|artikel|beitrag|meldung)\s+(?:wurde\s+)?"
    r"(?:leider\s+)?(?:nicht\s+gefunden|konnte\s+(?:leider\s+)?nicht\s+gefunden\s+werden|"
    r"not\s+(?:be\s+)?found|existiert\s+(?:leider\s+)?nicht(?:\s+mehr)?|"
    r"gibt\s+es\s+(?:leider\s+)?nicht(?:\s+mehr)?|"
    r"does\s+not\s+exist|(?:ist\s+)?(?:leider\s+)?nicht\s+(?:mehr\s+)?verfügbar)|"
    # A server's error shown at the article's address: "Ups, da ist etwas schiefgelaufen".
    r"(?:(?:ups|oops|hoppla),?\s+)?(?:da\s+)?ist\s+(?:leider\s+)?etwas\s+schief\s*gelaufen",
    re.IGNORECASE,
)
#: An error page says little; an article whose headline reads like one has its text.
_ERROR_PAGE_TEXT = 800


def _says_not_found(soup: BeautifulSoup) -> bool:
    """Whether the page's title or first headline says it is an error page, and it has
    little text in paragraphs."""
    title = soup.find("title")
    headline = soup.find("h1")
    if not any(
        isinstance(tag, Tag)
        and any(
            _NOT_FOUND.fullmatch(part.strip(" .!?")) is not None
            for part in TITLE_PARTS.split(tag.get_text(" ", strip=True)[:200])
        )
        for tag in (title, headline)
    ):
        return False
    text = 0
    for paragraph in soup.find_all("p", limit=100):
        # Not a cookie dialog's or the footer's: an error page has them like any other.
        if paragraph.find_parent(_BOILERPLATE_TAGS) or any(
            isinstance(a, Tag) and _is_boilerplate(a) for a in paragraph.parents
        ):
            continue
        text += len(paragraph.get_text(" ", strip=True))
        if text >= _ERROR_PAGE_TEXT:
            return False
    return True


#: Matches of a ``content`` selector taken, at most.
_CONTENT_MATCHES = 50


def _outer_matches(matches: list[Tag]) -> list[Tag]:
    """Every match of the ``content`` selector, in page order (GSB writes an article as
    several ``div.text``, as Miniflux's scraper rules take them all), each only once: not
    a match inside another."""
    chosen = {id(match) for match in matches}
    return [m for m in matches if not any(id(a) in chosen for a in m.parents)]


#: A page asking for a password with less text than this (in what would be its article)
#: is a login page (a short notice beside a login box is one too, rarely).
_LOGIN_PAGE_TEXT = 300


def _password_field(soup: BeautifulSoup) -> Tag | None:
    """The password field the page shows, if any: not one hidden until a script shows it,
    nor a login box in its header, navigation or sidebar."""
    fields = soup.find_all("input", attrs={"type": re.compile("^password$", re.I)}, limit=10)
    for field in fields:
        if isinstance(field, Tag) and not any(
            _hidden(ancestor)
            or ancestor.name in ("template", *_BOILERPLATE_TAGS)
            or _is_boilerplate(ancestor)
            for ancestor in field.parents
            if isinstance(ancestor, Tag)
        ):
            return field
    return None


#: The whole text of a button or link that gives consent (symbols and punctuation around
#: it aside): "Alle akzeptieren", "Cookies zulassen", "Allem zustimmen", "Ich bin
#: einverstanden", "Ja, ich stimme zu", "Zustimmen und weiter zum Artikel", "Alle Cookies
#: und Dienste akzeptieren", "Alle akzeptieren (empfohlen)", "Accept all cookies".
_ACCEPT = re.compile(
    r"(?:(?:ja|ok|okay|alles\s+klar)\W+)?"
    r"(?:(?:ich\s+(?:bin\s+)?)?einverstanden|ich\s+stimme\s+zu|ich\s+akzeptiere"
    r"|(?:(?:allem|allen|alle|alles)\s+)?(?:cookies\s+(?:und\s+dienste\s+)?)?"
    r"(?:zustimmen|akzeptieren|zulassen|annehmen|erlauben|einwilligen)"
    r"|(?:i\s+)?(?:accept|agree|allow)(?:\s+all)?(?:\s+cookies)?)"
    r"(?:\s*(?:und|and|&|\+)\s*\w+(?:\s+(?:zu[mr]?|to)\s+\w+)?)?"
    r"(?:\s*\(\w+\)?)?",
    re.IGNORECASE,
)
_AROUND_LABEL = re.compile(r"^\W+|\W+$")
#: Words only a consent notice uses together, and the purposes that IAB's Transparency
#: and Consent Framework makes every consent page list, in its German words. Not
#: "Zustimmung", "akzeptiert", "Ablehnung", "Widerruf" or "Datenschutz": a report on a
#: referendum or on the population register uses them, and such a report was taken for a
#: consent page (found by a review).
_CONSENT_TERMS = re.compile(
    r"cookie|einwillig|consent|tracking|drittanbieter|datenschutzeinstellung|privacy"
    r"|zielgruppenforschung|werbeleistung|standortdaten|personalisierte\s+(?:werbung|anzeigen)"
    r"|informationen\s+auf\s+(?:einem|ihrem)\s+(?:end)?ger(?:ä|ae)t",
    re.IGNORECASE,
)
#: Accepting controls looked at, at most (a consent page has a few), and how far up the
#: tree each is followed: a page of 100,000 nested elements took seconds per control.
_CONTROLS = 20
_CONTROL_DEPTH = 64
#: A text this long is an article, whatever it talks about.
_CONSENT_PAGE_TEXT = 15_000
#: What a page that does not name its item has left at most, when its consent dialog was
#: all of it: a footer's line.
_LEFT_OF_A_PAGE = 300


@dataclass(frozen=True, slots=True)
class _Control:
    """A button or link that accepts cookies, as the page had it before its furniture went."""

    shown: bool  #: part of the page itself, in no banner, dialog or navigation
    #: It and the elements around it (the nearest ones), held: the page's furniture is
    #: removed before the check, and ids of freed elements could be given again.
    around: tuple[Tag, ...]


def _consent_controls(soup: BeautifulSoup) -> list[_Control]:
    """The page's visible buttons and links that accept cookies."""
    found: list[_Control] = []
    for control in soup.find_all(["button", "a", "input"], limit=2000):
        if not isinstance(control, Tag):
            continue
        label = str(control.get("value", "")) if control.name == "input" else control.get_text(" ")
        if len(label) > 60 or not _ACCEPT.fullmatch(
            _AROUND_LABEL.sub("", " ".join(label.split()))
        ):
            continue
        around = [control, *itertools.islice(control.parents, _CONTROL_DEPTH)]
        if any(_hidden(a) or a.name in ("template", "noscript") for a in around):
            continue  # not shown: a script's fallback, or a dialog still closed
        shown = not any(a.name in _BOILERPLATE_TAGS or _is_boilerplate(a) for a in around)
        found.append(_Control(shown, tuple(around)))
        if len(found) == _CONTROLS:
            break
    return found


#: Words of a title that say what it is about: four letters or more (numbers such as a
#: year are on every page of a site).
_TITLE_WORD = re.compile(r"[^\W\d_]{4,}")


def _words_of(text: str) -> set[str]:
    """``text``'s title words as matched: composed, without soft hyphens, umlauts and case
    folded (a macOS page's decomposed "Grün" is the listing's "Grün")."""
    return set(_TITLE_WORD.findall(fold(plain(text))))


def _names_item(titles: Sequence[str], *parts: Tag | None) -> bool | None:
    """Whether ``parts`` (the page, or its title and headline, or a heading) name one of
    ``titles``: half of its words or more are in them (a headline is often shortened).
    None: no title has such words to judge by. It errs towards "names": an article lost
    weighs more than a consent page read, and a site's name in a consent page's footer may
    be half of a title."""
    # Not the stand-in for a missing title ("ohne" is on many pages), nor a date.
    known = [
        words
        for title in titles
        if title != NO_TITLE and not DATE_ONLY_TITLE.match(title) and (words := _words_of(title))
    ]
    if not known:
        return None
    on_page: set[str] = set()
    for part in parts:
        if part is None:
            continue
        on_page |= _words_of(part.get_text(" "))
        if part.find("wbr") is not None:
            # A word split with <wbr> ("Grünschnitt<wbr>sammelplätze") is one word, which
            # get_text writes as two (as the listing's title may have it: both count).
            on_page |= _words_of(_text_joined_at_breaks(part))
    return any(2 * len(words & on_page) >= len(words) for words in known)


def _text_joined_at_breaks(element: Tag) -> str:
    """``element``'s text with a blank at every element's edge but ``<wbr>``, in one walk
    (no recursion: a page may nest thousands of elements)."""
    pieces: list[str] = []
    for node in element.descendants:
        if type(node) in (NavigableString, CData):
            pieces.append(str(node))
        elif isinstance(node, Tag):
            pieces.append("" if node.name == "wbr" else " ")
    return "".join(pieces)


def consent_wall(soup: BeautifulSoup) -> Wall | None:
    """A page that shows the site only once cookies are accepted: a control accepting
    them in the page itself (not in a banner or dialog over the site's page, which most
    sites have), two terms of consent, little else to read (asked of a listing without
    its items and a feed that is none; an article page has its own, finer check)."""
    # Its title or headline says so: a short listing under a banner the class names do
    # not give away, or a page of proposals to "Zustimmen", is none (found by a review).
    names = (soup.find("title"), soup.find("h1"))
    if not any(isinstance(n, Tag) and _CONSENT_NAME.search(n.get_text(" ")) for n in names):
        return None
    if not any(control.shown for control in _consent_controls(soup)):
        return None
    if len(_consent_words(soup.get_text(" ")[:20_000])) < 2:
        return None
    return consent_page_wall(soup)


#: What a consent page's title or headline says ("Datenschutzeinstellungen", "Wir
#: respektieren Ihre Privatsphäre", "Cookie-Hinweis").
_CONSENT_NAME = re.compile(
    r"cookie|einwillig|consent|datenschutz|privatsphäre|privacy|zustimmung", re.IGNORECASE
)


def _consent_words(text: str) -> set[str]:
    return {m.group().lower() for m in _CONSENT_TERMS.finditer(text)}


def _is_consent_page(parts: list[Tag], controls: list[_Control], unnamed: bool) -> bool:
    """Whether the text found as the article is a consent page's: the page accepts cookies
    with a control that is part of the page, or that sits in what was found (a consent
    page marking its own form as one), and half of the text or more is in blocks that talk
    of cookies and consent; or, ``unnamed`` (the page names none of its items' known
    titles), next to nothing is left once dialogs and banners are gone.

    A consent banner beside an article is marked as one and apart from it, and a video's
    consent box in an article is a part of its text, not most of it."""
    # What was found and what holds it (a consent page's text beside its cookie table).
    scope = {id(p): p for p in parts}
    for part in parts:
        if part.parent is not None and part.parent.name not in ("body", "html", "[document]"):
            scope[id(part.parent)] = part.parent
    text = " ".join(p.get_text(" ", strip=True) for p in parts)
    if unnamed and len(text) < _LEFT_OF_A_PAGE:
        # A page that does not name its item, with an accepting button and next to nothing
        # left once dialogs and banners are gone: the consent page was one of them (a
        # wall marked `cookie-wall` left its footer as the "article").
        return True
    if not any(c.shown or any(id(a) in scope for a in c.around) for c in controls):
        return False
    if len(text) >= _CONSENT_PAGE_TEXT:
        return False
    words = set().union(*(_consent_words(element.get_text(" ")) for element in scope.values()))
    if len(words) < (1 if unnamed else 2):
        return False
    # Its text by units: a block, or the table or list holding it (a cookie table's cells
    # name no cookie, its head does).
    found = {id(p) for p in parts}
    units: dict[int, Tag] = {}
    for block in _blocks_in(parts):
        unit = block
        for ancestor in (block, *itertools.islice(block.parents, _CONTROL_DEPTH)):
            if ancestor.name in ("table", "ul", "ol", "dl"):
                unit = ancestor
            if id(ancestor) in found:
                break
        units[id(unit)] = unit
    about_consent = sum(
        len(t)
        for u in units.values()
        if not any(id(a) in units for a in itertools.islice(u.parents, _CONTROL_DEPTH))
        and _CONSENT_TERMS.search(t := u.get_text(" ", strip=True))
    )
    return about_consent >= 0.5 * len(text)


def _remove_forms(soup: BeautifulSoup) -> None:
    """Remove forms (search, newsletter, contact), but not one that holds the page: ASP.NET
    WebForms put the whole body into ``<form id="aspnetForm">``. Only the outermost forms
    are judged (each looks at its own subtree once)."""
    body = soup.body or soup
    page = len(body.get_text(" ", strip=True))
    for form in _outermost(body, "form"):
        text = len(form.get_text(" ", strip=True))
        if form.select_one(_ARTICLE_MARKS) is None and text * 2 < page:
            form.decompose()


def _outermost(root: Tag, name: str) -> list[Tag]:
    """The ``name`` elements under ``root`` that are inside no other one, in page order."""
    found: list[Tag] = []
    stack = [c for c in reversed(root.contents) if isinstance(c, Tag)]
    while stack:
        tag = stack.pop()
        if tag.name == name:
            found.append(tag)
        else:
            stack.extend(c for c in reversed(tag.contents) if isinstance(c, Tag))
    return found


def _main_content(soup: BeautifulSoup, headline: Tag | None) -> list[Tag]:
    """The elements that hold the article's text, in page order; empty if none does.

    Every pass over the tree is linear in its size: a page of thousands of nested elements
    (an unclosed <div> each) took minutes when each element looked at its subtree."""
    body = soup.body or soup
    _strip_furniture(body)
    elements: list[Tag] = body.find_all(True)
    own: dict[int, float] = {}  #: by id(): a text block's counted length
    score: dict[int, float] = {}  #: by id(): text counted for the element (Readability)
    inside: dict[int, float] = {}  #: by id(): all block text inside the element
    holds_block: set[int] = set()  #: ids of elements with a block element inside
    for element in reversed(elements):  # children before their parents
        key = id(element)
        # A block inside a block (invalid HTML lxml keeps: an <h2> in an <h2>) counts as
        # the inner one only: its text counted again at every level was quadratic.
        if key not in holds_block and element.name in _TEXT_BLOCKS:
            length = _block_length(element)
            if length:
                own[key] = length
        total = inside.get(key, 0.0) + own.get(key, 0.0)
        inside[key] = total
        parent = element.parent
        if isinstance(parent, Tag):
            inside[id(parent)] = inside.get(id(parent), 0.0) + total
            if element.name in _BLOCKS or key in holds_block:
                holds_block.add(id(parent))
    for element in elements:
        length = own.get(id(element), 0.0)
        if not length:
            continue
        # Readability's rule: a paragraph counts fully for its parent and half for the
        # grandparent, so the container of the article text wins over the whole page.
        parent = element.parent
        grandparent = parent.parent if parent is not None else None
        for ancestor, share in ((parent, 1.0), (grandparent, 0.5)):
            if isinstance(ancestor, Tag):
                score[id(ancestor)] = score.get(id(ancestor), 0.0) + share * length
    candidates = [e for e in elements if id(e) in score]
    if isinstance(body, Tag) and body.name == "body" and id(body) in score:
        candidates.append(body)
    if not candidates:
        return []
    top = max(candidates, key=lambda e: score[id(e)])
    if headline is not None and headline.decomposed:
        headline = None  # in what was stripped as furniture
    headed = _headline_block(headline, top, inside) if headline is not None else None
    if (
        headed is not None
        # Not where both are in one article (Drupal's node: the headline and lead in its
        # header, the text after it), nor where the headline heads no more than its date.
        and not _in_one_article(headed, top)
        and _text_beside_date(headed) >= _MIN_BLOCK
        and (
            # Teasers beside an element that marks the article; else headlines that are
            # links (not bold links or links in sentences, which an article's text has).
            (_is_teaser_box(top) if _marks_article(headed) else _headed_links(top) >= 2)
            or inside.get(id(headed), 0.0) >= 0.5 * inside.get(id(top), 0.0)
        )
    ):
        # A box beside the page's headline has more text (a short notice above four
        # teasers of other news, or beside the council's next meetings): the article is
        # what the headline heads, and nothing beside it.
        found = _container(headed, inside.get(id(headed), 0.0), inside) or headed
        for heading in found.find_all("h1"):
            heading.decompose()  # the item's title, shown above the text anyway
        return [found]
    while top.name in _LAYOUT:
        # A layout table's row (the menu's cell beside the article's) or the page's body
        # around one element of text: that element is the article, not its neighbours.
        most = 0.9 * inside.get(id(top), 0.0)
        child = next(
            (
                c
                for c in top.children
                if isinstance(c, Tag) and most and inside.get(id(c), 0.0) >= most
            ),
            None,
        )
        if child is None:
            break
        top = child
    # Each paragraph in wrappers of its own (Drupal's Paragraphs, TYPO3's content
    # elements): the article's parts are the outermost wrapper's siblings.
    anchor = top
    while (
        isinstance(anchor.parent, Tag)
        and anchor.parent.name not in ("body", "html", "[document]")
        and _wraps_only(anchor.parent, anchor)
    ):
        anchor = anchor.parent
    if not _has_look_alikes(anchor):
        # Not a wrapper of one paragraph among others like it, but a layout column: its
        # neighbour is the sidebar's.
        anchor = top
    parts = _with_siblings(anchor, inside, headline)
    container = _container(top, sum(inside.get(id(p), 0.0) for p in parts), inside)
    if container is not None:
        for heading in container.find_all("h1"):
            heading.decompose()  # the item's title, shown above the text anyway
        return [container]
    return parts


#: A full date in a line: "12.03.2026", "12. März 2026".
_FULL_DATE = re.compile(
    r"\b(?:\d{1,2}\.\s*(?:\d{1,2}\.\s*\d{2,4}|[^\W\d]+\.?\s+\d{4})"
    # or the month first, as some themes write it: "Juni 10, 2021"
    r"|(?i:jan|feb|mär|mar|apr|mai|may|jun|jul|aug|sep|okt|oct|nov|dez|dec)[^\W\d]*\.?"
    r"\s+\d{1,2},\s*\d{4})\b"
)
#: Words beside its date in a date line at most ("Veröffentlicht am … von Pressestelle").
_DATELINE_WORDS = 5


def _is_dateline(element: Tag) -> bool:
    """A date line between the headline and the text ("Veröffentlicht am 12. März 2026 von
    Pressestelle"): no lead, which says more than where its date is ("Anträge können bis
    zum 18. Dezember 2026 gestellt werden")."""
    time_tag = element.find("time")
    text = element.get_text(" ", strip=True)
    if isinstance(time_tag, Tag):
        text = text.replace(time_tag.get_text(" ", strip=True), " ")
    elif (found := _FULL_DATE.search(text)) is not None:
        text = text[: found.start()] + text[found.end() :]
    else:
        return False
    return len(text.split()) <= _DATELINE_WORDS


def _has_look_alikes(element: Tag) -> bool:
    """Whether ``element`` has a sibling of its tag and classes (Drupal's ``field__item``s,
    one paragraph in each)."""
    parent = element.parent
    if not isinstance(parent, Tag):
        return False
    kind = tuple(element.get_attribute_list("class"))
    return any(
        sibling is not element and tuple(sibling.get_attribute_list("class")) == kind
        for sibling in parent.find_all(element.name, recursive=False)
    )


def _wraps_only(parent: Tag, child: Tag) -> bool:
    """Whether ``child`` is all there is to read in ``parent`` (a wrapper around it)."""
    return not any(
        node is not child
        and (node.get_text(strip=True) if isinstance(node, Tag) else str(node).strip())
        for node in parent.children
    )


def _article_around(element: Tag) -> Tag | None:
    """The nearest element at or around ``element`` that marks an article, if any."""
    for tag in (element, *element.parents):
        if tag.name in ("body", "html", "[document]"):
            return None
        if _marks_article(tag):
            return tag
    return None


def _in_one_article(one: Tag, other: Tag) -> bool:
    """Whether both are in the same element that marks an article."""
    around = _article_around(one)
    return around is not None and around is _article_around(other)


def _text_beside_date(element: Tag) -> int:
    """The length of ``element``'s text blocks but its date lines."""
    return sum(
        len(block.get_text(" ", strip=True))
        for block in _blocks_in([element])
        if not _is_dateline(block)
    )


def _headline_block(headline: Tag, top: Tag, inside: dict[int, float]) -> Tag | None:
    """What the page's headline heads, if it is apart from ``top``: the outermost element
    around it that marks an article, else the nearest with text of its own; None if that
    holds ``top`` too, or is ``top``."""
    around = [p for p in headline.parents if p.name not in ("body", "html", "[document]")]
    holds_top = {id(p) for p in (top, *top.parents)}
    marked = [p for p in around if _marks_article(p) and id(p) not in holds_top]
    found = marked[-1] if marked else None
    if found is None:
        found = next((p for p in around if inside.get(id(p), 0.0) >= _MIN_BLOCK), None)
        if found is None or id(found) in holds_top:
            return None
    return found if inside.get(id(found), 0.0) >= _MIN_BLOCK else None


@dataclass(slots=True)
class _TeaserLinks:
    """The places (not anchors on the page) an element links to, by how it links them."""

    headed: set[str]  #: by a link in a heading, or a heading in a link
    bold: set[str]  #: by a link in bold with a headline's length
    long: set[str]  #: by a link with a headline's length
    linked: int  #: the characters of the long links' texts


def _teaser_links(element: Tag) -> _TeaserLinks:
    found = _TeaserLinks(set(), set(), set(), 0)
    for link in element.find_all("a", href=True, limit=200):
        if not isinstance(link, Tag) or str(link["href"]).startswith("#"):
            continue
        href = str(link["href"])
        title = link.get_text(" ", strip=True)
        if link.find(_HEADINGS) is not None or link.find_parent(_HEADINGS) is not None:
            found.headed.add(href)
        if len(title) >= 15:
            found.long.add(href)
            found.linked += len(title)
            # A title in bold, not a word of the text stressed ("<b><a>hier</a></b>").
            if link.find_parent(("strong", "b")) is not None:
                found.bold.add(href)
    return found


def _is_teaser_box(element: Tag, links: _TeaserLinks | None = None) -> bool:
    """Whether ``element`` holds teasers of other articles: two or more headlines that
    are links (a link in a heading or in bold, a heading in a link), or two or more links
    with a headline's length whose text is a good part of all (an article's body has a
    few links in its sentences)."""
    links = links or _teaser_links(element)
    if len(links.headed | links.bold) >= 2:
        return True
    text = len(element.get_text(" ", strip=True))
    return len(links.long) >= 2 and links.linked >= _TEASER_LINK_SHARE * text


#: Headlines that are links in what was found, from which it is an overview of articles.
_OVERVIEW_TEASERS = 3


def _is_overview(element: Tag) -> bool:
    """Whether ``element`` is a list of teasers: a teaser box that links three places or
    more by a headline or a headline's length (an article with two bold download links is
    none)."""
    links = _teaser_links(element)
    return _is_teaser_box(element, links) and (
        len(links.long) >= _OVERVIEW_TEASERS or len(links.headed) >= _OVERVIEW_TEASERS
    )


def _headed_links(element: Tag) -> int:
    """How many places ``element``'s headlines link to."""
    return len(_teaser_links(element).headed)


def _is_list_entry(element: Tag) -> bool:
    """Whether ``element`` is one entry of a list of others like it (TYPO3's list of
    ``div.article`` teasers): two or more siblings of its tag and classes, each with a
    headline that is a link."""
    parent = element.parent
    if not isinstance(parent, Tag):
        return False
    kind = (element.name, tuple(element.get_attribute_list("class")))
    alike = [
        sibling
        for sibling in parent.find_all(element.name, recursive=False)
        if sibling is not element
        and (sibling.name, tuple(sibling.get_attribute_list("class"))) == kind
        and _headed_links(sibling) > 0
    ]
    return len(alike) >= 2


_HEADINGS = ("h2", "h3", "h4", "h5", "h6")
#: The share of a box's text in links of a headline's length from which it is teasers.
_TEASER_LINK_SHARE = 0.1


def _strip_furniture(body: Tag) -> None:
    """Remove what is no part of the article (navigation, dialogs, hidden elements, what
    class names and ids mark as furniture), in one walk of the tree; never what holds the
    article itself."""
    holds_article: set[int] = set()
    for element in reversed(body.find_all(True)):
        if (
            id(element) in holds_article
            or element.name in ("main", "article")
            or (element.get("role") == "main" or element.get("itemprop") == "articleBody")
        ):
            parent = element.parent
            holds_article.add(id(element))
            if parent is not None:
                holds_article.add(id(parent))
    doomed: list[Tag] = []
    stack = [c for c in reversed(body.contents) if isinstance(c, Tag)]
    while stack:
        tag = stack.pop()
        if tag.name in _BOILERPLATE_TAGS or (
            id(tag) not in holds_article and (_is_boilerplate(tag) or _hidden(tag))
        ):
            doomed.append(tag)
            continue
        stack.extend(c for c in reversed(tag.contents) if isinstance(c, Tag))
    for tag in doomed:
        tag.decompose()


def _block_length(block: Tag) -> float:
    """A text block's length as it counts: 0 when too short to say anything; text that is
    mostly links (a list of other pages) counts less."""
    text = block.get_text(" ", strip=True)
    if len(text) < _MIN_BLOCK:
        return 0.0
    linked = sum(len(a.get_text(" ", strip=True)) for a in block.find_all("a"))
    return len(text) * (1.0 - min(linked / len(text), 1.0))


def _container(top: Tag, text: float, inside: dict[int, float]) -> Tag | None:
    """The element around ``top`` that marks the article (``<article>``, ``<main>``, a
    schema.org Article, a CMS's "article" block), if ``text`` (of ``top`` and the parts
    beside it) is a good part of its text and it is no list of other articles."""
    for element in (top, *top.parents):
        if not isinstance(element, Tag) or element.name in ("body", "html", "[document]"):
            return None
        if not _marks_article(element):
            continue
        others = [a for a in element.find_all("article") if a is not element]
        if len(others) > 1:
            return None  # a listing, or a page of teasers around the article
        if text >= 0.25 * inside.get(id(element), 0.0):
            return element
        return None
    return None


def _marks_article(element: Tag) -> bool:
    if element.name in ("article", "main") or element.get("role") == "main":
        return True
    if _ARTICLE_TYPE.search(str(element.get("itemtype", ""))):
        return True
    classes = {str(c).lower() for c in element.get_attribute_list("class") if c}
    return bool(classes & {"article", "news-single", "node--type-article"})


def _with_siblings(top: Tag, inside: dict[int, float], headline: Tag | None) -> list[Tag]:
    """``top`` with its siblings that read as parts of the same article: text blocks with
    at least a fifth of its text, a lead (text between the headline and ``top``), a
    picture with its caption."""
    parent = top.parent
    if not isinstance(parent, Tag):
        return [top]
    least = max(float(_MIN_BLOCK), 0.2 * inside.get(id(top), 0.0))
    parts = []
    below_headline = False
    before_top = True
    # The sibling holding the headline is one of the headline's own ancestors (or it).
    headline_path = {id(headline), *map(id, headline.parents)} if headline is not None else set()
    for sibling in parent.children:
        if not isinstance(sibling, Tag):
            continue
        if sibling is top:
            before_top = False
        lead = (
            below_headline
            and before_top
            and inside.get(id(sibling), 0.0) >= _MIN_BLOCK
            and not _is_dateline(sibling)
        )
        if sibling is top or (
            (inside.get(id(sibling), 0.0) >= least or lead or _is_picture(sibling))
            # Other news beside a short article ("Weitere Meldungen") is none of it.
            and not _is_teaser_box(sibling)
        ):
            parts.append(sibling)
        if id(sibling) in headline_path:
            below_headline = True
    return parts


def _is_picture(element: Tag) -> bool:
    """A picture with at most a caption: part of the article between its text blocks."""
    if element.name == "img":
        return True
    return element.find("img") is not None and len(element.get_text(" ", strip=True)) < 300


def _is_boilerplate(element: Tag) -> bool:
    if element.get("role") in _BOILERPLATE_ROLES or element.get("aria-modal") == "true":
        return True
    names = [str(c) for c in element.get_attribute_list("class") if c]
    if element.get("id"):
        names.append(str(element["id"]))
    return any(_names_boilerplate(name) for name in names)


def _names_boilerplate(name: str) -> bool:
    words = class_words(name)
    if not words or words[0] in _MODIFIERS:
        return False
    if any(w in _BOILERPLATE_WORDS or w.startswith(_BOILERPLATE_PREFIXES) for w in words):
        return True
    return any(pair in _BOILERPLATE_PAIRS for pair in itertools.pairwise(words))


def _hidden(element: Tag) -> bool:
    """Hidden until a script shows it: a consent dialog, a lightbox."""
    if element.has_attr("hidden") or element.get("aria-hidden") == "true":
        return True
    style = str(element.get("style", "")).replace(" ", "").lower()
    return "display:none" in style or "visibility:hidden" in style


#: Where a block the sanitizer takes out ends or begins: a line break keeps the words on
#: either side apart ("Dokumente</div><div>Bericht.pdf" read "DokumenteBericht.pdf").
_UNKEPT_BLOCK = re.compile(
    r"<(?=/?(?:div|section|article|header|footer|main|aside|nav|address|center|details|"
    r"summary|fieldset|form|hgroup|h1)\b)",
    re.IGNORECASE,
)


def _html_of(parts: list[Tag]) -> str:
    """The parts' HTML: a container's insides, a list or table with its own tag. Beyond
    :data:`MAX_CONTENT_CHARS`, the text blocks that fit, in order, without their wrappers;
    a single block larger than that, its text, cut."""
    if len(parts) == 1 and parts[0].name not in _KEEP_OWN_TAG:
        html = parts[0].decode_contents()
    else:
        html = "".join(part.decode() for part in parts)
    html = _UNKEPT_BLOCK.sub("\n<", html).strip()
    if len(html) <= MAX_CONTENT_CHARS:
        return html
    kept: list[str] = []
    room = MAX_CONTENT_CHARS
    for block in _blocks_in(parts):
        if block.name in _STRONG_BLOCKS or block.name == "blockquote":
            piece = block.decode()
        elif block.name == "li":
            piece = f"<ul>{block.decode()}</ul>"
        else:
            piece = f"<p>{block.decode_contents()}</p>"
        if len(piece) > room:
            break
        kept.append(piece)
        room -= len(piece)
    if not kept:
        text = " ".join(" ".join(part.get_text(" ").split()) for part in parts)
        # Escaped, "<" takes four characters: cut so that the escaped text fits.
        cut = text[:MAX_CONTENT_CHARS]
        while len(escape(cut)) > MAX_CONTENT_CHARS:
            cut = cut[: len(cut) * MAX_CONTENT_CHARS // len(escape(cut)) - 1]
        return f"<p>{escape(cut)} […]</p>"
    return "".join(kept) + "<p>[…]</p>"


def _blocks_in(parts: list[Tag]) -> list[Tag]:
    """The text blocks of ``parts`` (see :data:`_TEXT_BLOCKS`), in page order."""
    blocks: list[Tag] = []
    for part in parts:
        elements: list[Tag] = [part, *part.find_all(True)]
        holds_block: set[int] = set()
        for element in reversed(elements):
            held = element.name in _BLOCKS or id(element) in holds_block
            if held and isinstance(element.parent, Tag):
                holds_block.add(id(element.parent))
        # A list item or quote holding paragraphs counts as those (never twice).
        blocks.extend(e for e in elements if e.name in _TEXT_BLOCKS and id(e) not in holds_block)
    return blocks


def _article_date(soup: BeautifulSoup, now: datetime, tz: ZoneInfo) -> datetime | None:
    """The article's publication date, by what the page says of it: its metadata (Open
    Graph, Dublin Core, JSON-LD, microdata), else the first ``<time>`` of the article that
    is no date of an update, a comment, a teaser or an event, else its date line
    ("Veröffentlicht am 10. Juni 2021" by the headline). A date ahead is none: a
    placeholder, or an event's date that a CMS wrote as the article's."""
    for meta in soup.find_all("meta", limit=_METAS):
        name = str(meta.get("property") or meta.get("name") or "").lower()
        if name in _PUBLISHED_META and meta.get("content"):
            found = _published(str(meta["content"]), now, tz)
            if found:
                return found
    for script in soup.find_all("script", type="application/ld+json"):
        found = _json_ld_date(script.get_text(), now, tz)
        if found:
            return found
    headline = _headline(soup)
    # schema.org microdata (TYPO3's news: <time itemprop="datePublished" datetime="…">): of
    # the item holding the page's headline, else of the one with the most text, for teasers
    # of other news around it have one too.
    texts: dict[int, int] = {}
    dated = soup.select('[itemprop="datePublished"]', limit=_DATE_CANDIDATES)
    marked = [e for e in dated if not e.find_parent("aside")]

    def rank(element: Tag) -> tuple[bool, int]:
        item = _item_of(element)
        holds = headline is not None and item is not None and _inside(headline, item)
        return holds, _item_text(element, texts)

    for element in sorted(marked, key=rank, reverse=True):
        value = element.get("datetime") or element.get("content") or element.get_text(" ")
        found = _published(str(value), now, tz) if value else None
        if found:
            return found
    # A class "updated" marks an update's date where the page marks another as published
    # (WordPress's "entry-date published" beside "updated"); alone, it is hAtom's only date.
    published_marked = soup.find("time", class_="published") is not None
    around = _boxes_around(headline)
    for scope, teasers in _date_scopes(soup, headline):
        for time_tag in scope.find_all("time", attrs={"datetime": True}, limit=_TIMES):
            if isinstance(time_tag, Tag) and _dates_the(
                scope, time_tag, teasers, around, published_marked
            ):
                found = _published(str(time_tag["datetime"]), now, tz)
                if found:
                    return found
    return _dateline_date(soup, headline, around, now, tz)


def _boxes_around(headline: Tag | None) -> frozenset[int]:
    """The ids of the elements around ``headline``: the article's own boxes, which are
    never another's, whatever their class ("event-detail", "col-left")."""
    if headline is None:
        return frozenset()
    return frozenset(id(box) for box in itertools.islice(headline.parents, _DEPTH))


#: Meta names of an article's publication date: Open Graph's (also written as a name),
#: Dublin Core's.
_PUBLISHED_META = frozenset({"article:published_time", "dc.date.issued", "dcterms.issued"})
#: The meta elements of a page looked at, at most.
_METAS = 200
#: Words that mark a date as one of an update, not of publication ("Zuletzt aktualisiert",
#: "Stand:", class="updated", itemprop="dateModified").
_UPDATE_MARK = re.compile(r"aktualisiert|geändert|bearbeitet|\bstand\b|update|modified", re.I)
#: A paragraph with more words is text: a <time> in it is a date the text names (an event).
_SENTENCE_WORDS = 12


def _published(text: str, now: datetime, tz: ZoneInfo) -> datetime | None:
    found = parse_date(text, now, tz)
    return found if found is not None and found <= now + FUTURE_TOLERANCE else None


def _item_of(element: Tag) -> Tag | None:
    return element.find_parent(lambda tag: tag.has_attr("itemscope") or tag.name == "article")


def _inside(element: Tag, container: Tag) -> bool:
    return any(parent is container for parent in element.parents)


def _dates_the(
    scope: Tag, time_tag: Tag, teasers: bool, around: frozenset[int], published_marked: bool
) -> bool:
    """Whether ``time_tag`` in ``scope`` may date the article: not in the page's header,
    navigation or sidebar (an article's own header has its date), nor in a teaser's or a
    comment's <article> inside it (one holding the headline is the article), nor in a box
    of other news or events, nor in a sentence (an event's date), nor an event's or an
    update's (a class "updated" only where another is marked published)."""
    # Its boxes up to the scope, looked at once (each look of Beautiful Soup's walked to
    # the page's root: a hostile page of deep boxes and many dates took minutes), and no
    # further up than a real page nests its article's date.
    holder = paragraph = None
    for box in itertools.islice(time_tag.parents, _DEPTH):
        if box is scope:
            break
        if box.name in _BOILERPLATE_TAGS and scope.name != "article":
            return False
        if id(box) not in around and _other_box(box):
            return False
        holder = holder or (box if box.name == "article" else None)
        paragraph = paragraph or (box if box.name == "p" else None)
    if teasers and holder is not None:
        return False
    if scope.name == "article" and holder is not None and id(holder) not in around:
        return False  # a comment's or teaser's <article> inside the article
    if paragraph is not None and _in_sentence(time_tag, paragraph):
        return False
    itemprop = str(time_tag.get("itemprop", ""))
    classes = time_tag.get_attribute_list("class")
    if itemprop in _OTHER_DATES:
        return False
    if itemprop == "datePublished" or "published" in classes:
        return True
    if published_marked and _UPDATE_MARK.search(" ".join((*classes, itemprop))):
        return False
    # The words before it in its element ("Zuletzt aktualisiert: <time>"): a few siblings.
    before = [t for t in itertools.islice(time_tag.previous_siblings, 4)]
    said = "".join(t for t in reversed(before) if isinstance(t, NavigableString))
    return not _UPDATE_MARK.search(said[-40:])


#: How many boxes around a date are looked at, at most.
_DEPTH = 64


def _in_sentence(time_tag: Tag, paragraph: Tag) -> bool:
    """Whether ``time_tag`` is in a sentence of its ``paragraph`` (an event's date), not
    in a line of facts about the article ("Von Max Muster | Veröffentlicht am <time> | 2
    Kommentare"), whose parts are counted each."""
    text = " ".join(paragraph.get_text(" ").split())
    own = " ".join(time_tag.get_text(" ").split())
    if len(text.split()) <= _SENTENCE_WORDS or not own:
        return False
    for part in _LINE_PARTS.split(text):
        if own in part:
            # In a sentence, words stand on both sides of it ("findet am <time> statt");
            # a byline ends with it, a lead opens with it ("<time> – Der Kreistag …").
            before, _, after = part.partition(own)
            said_after = after.strip(" .,;:!?–-()")
            return (
                len(part.split()) > _SENTENCE_WORDS and bool(before.strip()) and bool(said_after)
            )
    return True


#: schema.org dates that are not a publication's.
_OTHER_DATES = frozenset({"dateModified", "startDate", "endDate", "doorTime", "validFrom"})
#: Words of a box's class or id that hold other news or events beside an article: a
#: sidebar written as a <div> ("col-right", Contao's "mod_newslist", GSB's "Marginal").
_OTHER_BOX_WORDS = frozenset(
    {
        "sidebar",
        "marginal",
        "marginalspalte",
        "related",
        "newslist",
        "comment",
        "comments",
        "kommentar",
        "kommentare",
        "event",
        "events",
        "termin",
        "termine",
        "veranstaltung",
        "veranstaltungen",
        "kalender",
        "calendar",
    }
)
#: Words that make "left" or "right" a layout's column ("col-right", "spalte-links"); the
#: main one is never another's box, since it holds the headline.
_COLUMN_WORDS = frozenset({"col", "column", "spalte", "bar"})
#: What a WordPress post's own classes name (post_class(): "category-veranstaltungen",
#: "tag-termine"), which says nothing of the box.
_TAXONOMY_CLASSES = ("category-", "tag-", "type-", "format-", "status-", "post-")


def _in_other_box(element: Tag, within: Tag, around: frozenset[int]) -> bool:
    """Whether ``element`` is (in) a box of other news or events inside ``within`` (not
    one of the boxes ``around`` the headline)."""
    for box in itertools.islice(itertools.chain((element,), element.parents), _DEPTH):
        if box is within or box.name in ("body", "html", "[document]"):
            return False
        if id(box) not in around and _other_box(box):
            return True
    return False


def _other_box(box: Tag) -> bool:
    """Whether ``box`` holds other news or events beside an article, by its class or id,
    or its schema.org type (an Event)."""
    if "Event" in str(box.get("itemtype", "")):
        return True
    own_id = str(box.get("id") or "")
    classes = [c for c in box.get_attribute_list("class") if c]
    if not classes and not own_id:
        return False
    marks = [c for c in classes if not c.startswith(_TAXONOMY_CLASSES)] + [own_id]
    words = {w for mark in marks if mark for w in class_words(mark)}
    if words & _OTHER_BOX_WORDS:
        return True
    column = own_id.lower() in _SIDES or bool(words & _SIDES and words & _COLUMN_WORDS)
    # A layout's column beside the one with the text ("col-left", Contao's #right): one of
    # headlines and dates; the main one, named so too ("left-column"), holds paragraphs.
    return column and not any(
        len(p.get_text(" ").split()) > _SENTENCE_WORDS for p in box.find_all("p", limit=20)
    )


_SIDES = frozenset({"left", "right", "links", "rechts"})


def _dateline_date(
    soup: BeautifulSoup, headline: Tag | None, around: frozenset[int], now: datetime, tz: ZoneInfo
) -> datetime | None:
    """The date of the article's date line, written as text by the headline (a few
    elements after it, up to the text, or before it): "Veröffentlicht am 10. Juni 2021",
    "Pressemitteilung vom 10.06.2021"; not a line about an update ("Stand: …")."""
    headline = headline or soup.find(["h1", "h2"])
    if not isinstance(headline, Tag):
        return None
    # A headline that starts with its date ("10.06.2021: Kreistag beschließt …").
    starts = _FULL_DATE.match(headline.get_text(" ", strip=True))
    if starts is not None and (found := _published(starts[0], now, tz)):
        return found
    near: list[Tag] = []
    for element in headline.find_all_next(_DATELINE_TAGS, limit=12):
        text = " ".join(element.get_text(" ").split())
        parts = _LINE_PARTS.split(text)
        if (
            element.name == "p"
            and len(text.split()) > _SENTENCE_WORDS
            and (len(parts) < 2 or any(len(p.split()) > _SENTENCE_WORDS for p in parts))
        ):
            # The text begins: its date line was above, or opens its first paragraph as a
            # news agency's does ("Kaltenbach, 10.06.2021. Der Landkreis …").
            opening = _OPENING_DATELINE.match(text)
            if opening is not None and (found := _published(opening[1], now, tz)):
                return found
            break
        near.append(element)  # a short line, or one of facts ("Von … | Veröffentlicht …")
    # Above the headline, only what is beside it in its own box: a page's top bar says
    # what day it is today.
    box = headline.parent
    headline_text = headline.get_text(" ", strip=True)
    while (
        isinstance(box, Tag)
        and isinstance(box.parent, Tag)
        and box.get_text(" ", strip=True) == headline_text
    ):
        box = box.parent  # a wrapper of the headline alone (TYPO3's <div class="header">)
    if isinstance(box, Tag) and box.name not in ("body", "html", "[document]"):
        near.extend(
            e for e in headline.find_all_previous(_DATELINE_TAGS, limit=6) if _inside(e, box)
        )
    own = headline.find_parent("article")
    body = soup.find("body")
    root = own or (body if isinstance(body, Tag) else soup)
    for element in near:
        boilerplate = element.find_parent(_BOILERPLATE_TAGS)
        if boilerplate is not None and (own is None or not _inside(boilerplate, own)):
            continue  # the page's header or sidebar (an article's own header may hold it)
        if _in_other_box(element, root, around):
            continue  # a column of other news beside the article, an event's date
        if any(t.get("itemprop") in _OTHER_DATES for t in element.find_all("time", limit=3)):
            continue
        for line in _LINE_PARTS.split(element.get_text(" ", strip=True)):
            if (
                _FULL_DATE.search(line)
                and not _UPDATE_MARK.search(line)
                and len(line.split()) <= _DATELINE_WORDS + 3
                and (found := _published(line, now, tz))
            ):
                return found
    return _closing_date(headline, own, root, around, now, tz)


def _closing_date(
    headline: Tag,
    own: Tag | None,
    root: Tag | BeautifulSoup,
    around: frozenset[int],
    now: datetime,
    tz: ZoneInfo,
) -> datetime | None:
    """The date that closes the article's text, where none stands by its headline: a
    letter's signature ("Kaltenbach, den 10.06.2021"), "Pressemitteilung vom 10.06.2021",
    a date in an element named for it (Liferay's "metadata-publish-date"). Only these: the
    end of a text names other dates too (deadlines, the next meeting)."""
    box = own
    if box is None:
        # The nearest box around the headline that holds its text's first paragraph.
        text = headline.find_next(
            lambda tag: tag.name == "p" and len(tag.get_text(" ").split()) > _SENTENCE_WORDS
        )
        if not isinstance(text, Tag):
            return None
        box = next((p for p in text.parents if id(p) in around), None)
        if box is None or box.name in ("body", "html", "[document]"):
            return None
    looked = 0
    for element in itertools.islice(reversed(box.find_all(_DATELINE_TAGS)), 200):
        if looked == 12:
            break
        if _in_other_box(element, root, around) or _links_or_quotes(element):
            continue  # "Mehr zum Thema" with releases' dates, a letter quoted in the text
        looked += 1
        line = " ".join(element.get_text(" ").split())
        if len(line.split()) > _DATELINE_WORDS + 3:
            continue
        named = {w for c in element.get_attribute_list("class") if c for w in class_words(c)}
        date = _FULL_DATE.search(line)
        if date is not None and (_closes(line) or named & {"publish", "published"}):
            found = _published(date[0], now, tz)
            if found:
                return found
    return None


def _links_or_quotes(element: Tag) -> bool:
    """Whether ``element`` is a link, list entry or quotation, or in one."""
    if element.name in ("a", "li") or element.find("a") is not None:
        return True
    return element.find_parent(["a", "li", "blockquote", "q"]) is not None


def _closes(line: str) -> bool:
    """Whether ``line`` is how a release's text ends: its place and date as a letter's
    signature ("Kaltenbach, den 10.06.2021"), not a deadline or a meeting ("Anmeldung bis
    Freitag, den 04.06.2021"), or the release named ("Pressemitteilung vom …")."""
    signed = _SIGNATURE.match(line)
    if signed is None:
        return _RELEASE_OF.match(line) is not None
    words = signed[1].lower().split()
    return not (set(words) & _NOT_IN_A_PLACE or words[-1].rstrip(".") in _WEEKDAYS)


_SIGNATURE = re.compile(r"([^\W\d][\w./() -]{0,40}),\s+den\s+\d{1,2}\.")
_RELEASE_OF = re.compile(
    r"(?:presse|medien)(?:mitteilung|information)\b[^,]{0,20}\svom\s+\d{1,2}\.", re.IGNORECASE
)
#: Words a deadline's or a meeting's line has before ", den" and a place's name has not.
_NOT_IN_A_PLACE = frozenset(
    {"bis", "ab", "seit", "vom", "zum", "zur", "nächste", "nächsten", "frist", "termin"}
)
_WEEKDAYS = frozenset(
    {"montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonnabend"}
    | {"sonntag", "mo", "di", "mi", "do", "fr", "sa", "so"}
)


_DATELINE_TAGS = [
    *("p", "span", "div", "dd", "li", "small", "time", "em", "b", "strong", "td"),
    *("h3", "h4", "h5", "h6"),
]
#: A place and a date opening an article's first paragraph ("Kaltenbach, den 10.06.2021.").
_OPENING_DATELINE = re.compile(
    r"(?i:(?!(?:am|an|ab|bis|seit|vom|von|zum|im|bereits|schon)\b))"
    r"(?:[^\W\d][\w./() -]{0,40},\s+(?:den\s+)?)?(\d{1,2}\.\s*(?:\d{1,2}\.\s*\d{4}"
    r"|[^\W\d]+\s+\d{4}))\b\s?[.:–-]\s"
)
#: What separates a date line's parts ("Erstellt am 10.06.2021 · Aktualisiert am …").
_LINE_PARTS = re.compile(r"\s[·|•]\s")


#: The schema.org dates of a page looked at, at most.
_DATE_CANDIDATES = 20
#: The <time>s of a page whose boxes are looked at, at most (a left column of news first).
_TIMES = 100


def _item_text(element: Tag, texts: dict[int, int]) -> int:
    """The length of the text of the schema.org item (or <article>) ``element`` is in;
    ``texts``: those measured already, by the item's id()."""
    scope = element.find_parent(lambda tag: tag.has_attr("itemscope") or tag.name == "article")
    if scope is None:
        return 0
    if id(scope) not in texts:
        texts[id(scope)] = len(scope.get_text(" ", strip=True))
    return texts[id(scope)]


def _date_scopes(soup: BeautifulSoup, headline: Tag | None) -> list[tuple[Tag, bool]]:
    """Where the article's <time> is looked for, in turn, each with whether the <article>s
    there are teasers of other news to pass over: the <article> with the page's headline;
    if the headline is in none, the nearest box around the headline that has a <time>
    (a layout's left column of other news comes first in the page), <main> or the page
    without them ("Weitere Meldungen" below an article the CMS wrote as a <div>), then the
    <article> with clearly the most text (the headline may be the site's name, or stand
    above its article); without a headline, the <article> with the most text."""
    main = soup.find("main")
    page = main if isinstance(main, Tag) else soup
    articles = _outermost(soup, "article")
    box = _dated_box_around(soup, headline) if headline is not None else None
    if not articles:
        return [(box, True), (page, False)] if box is not None else [(page, False)]
    texts = sorted(((len(a.get_text(" ", strip=True)), i) for i, a in enumerate(articles)))
    longest = articles[texts[-1][1]]
    if headline is None:
        return [(longest, False)]
    holder = _outermost_article_around(headline)
    if holder is not None:
        return [(holder, False)]
    scopes = [(box, True), (page, True)] if box is not None else [(page, True)]
    # Then the <article> that is clearly the page's main text (its headline above it, or
    # the site's name as the first <h1>), not one teaser among others nor a sidebar's.
    second = texts[-2][0] if len(texts) > 1 else 0
    if texts[-1][0] >= 3 * second and not longest.find_parent(_BOILERPLATE_TAGS):
        scopes.append((longest, False))
    return scopes


def _item_headline(soup: BeautifulSoup, titles: Sequence[str]) -> Tag | None:
    """The first heading (an ``<h1>``, else an ``<h2>`` or ``<h3>``) that names one of
    ``titles``, outside navigation, sidebars and footers, and not a link (a teaser's
    headline: the item's own teaser on an overview)."""
    if not titles:
        return None
    for level in ("h1", "h2", "h3"):
        for heading in soup.find_all(level, limit=20):
            if (
                not isinstance(heading, Tag)
                or heading.find_parent(_BOILERPLATE_TAGS)
                or heading.find("a", href=True)
                or heading.find_parent("a", href=True)
            ):
                continue
            if _names_item(titles, heading):
                return heading
    return None


def _headline(soup: BeautifulSoup) -> Tag | None:
    """The page's headline: its first <h1> that is not in its navigation, sidebar or
    footer, nor the site's name in the page header (an <article>'s own header holds the
    article's)."""
    for headline in soup.find_all("h1", limit=10):
        if not isinstance(headline, Tag):
            continue
        parents = [p.name for p in headline.parents]
        if any(name in _BOILERPLATE_TAGS and name != "header" for name in parents):
            continue
        if "header" in parents and "article" not in parents:
            continue
        return headline
    return None


def _dated_box_around(soup: BeautifulSoup, headline: Tag) -> Tag | None:
    """The nearest element around ``headline`` that holds a dated <time>, short of the
    page's body; None if that is the body."""
    # The boxes around every <time> at once: asked box by box, a page of many nested
    # boxes was read once for each.
    timed = {
        id(box)
        for time_tag in soup.find_all("time", attrs={"datetime": True}, limit=_TIMES)
        for box in time_tag.parents
    }
    for box in headline.parents:
        if box.name in ("body", "html", "[document]"):
            return None
        if id(box) in timed:
            return box
    return None


def _outermost_article_around(element: Tag) -> Tag | None:
    found = None
    for parent in element.parents:
        if parent.name == "article":
            found = parent
    return found


def _json_ld_date(text: str, now: datetime, tz: ZoneInfo) -> datetime | None:
    try:
        # Not strict: CMSs write an article's text into JSON-LD with its line breaks raw,
        # which browsers and search engines read.
        data = json.loads(text, strict=False)
    except (ValueError, RecursionError):  # RecursionError: "[[[[…]]]]" nested too deep
        return None
    # Breadth first, in the document's order: the page's own node before those it names
    # (its related articles, comments); an article's node before any other, and never the
    # date of the website, the page or the publisher (a TYPO3 page's own creation date).
    queue = collections.deque([data])
    other = None
    while queue:
        node = queue.popleft()
        if isinstance(node, dict):
            named = node.get("@type")
            kinds = {
                k for k in (named if isinstance(named, list) else [named]) if isinstance(k, str)
            }
            value = node.get("datePublished")
            if isinstance(value, str) and not kinds & _NO_ARTICLE:
                found = _published(value, now, tz)
                if found and any(_LD_ARTICLE_KIND.search(kind) for kind in kinds):
                    return found
                other = other or found
            queue.extend(v for k, v in node.items() if k not in _OTHER_ITEMS)
        elif isinstance(node, list):
            queue.extend(node)
    return other


#: schema.org types whose date is an article's, and those whose date is not.
_LD_ARTICLE_KIND = re.compile(r"(?:Article|BlogPosting|Report|PressRelease)$")
_NO_ARTICLE = frozenset(
    {
        "WebSite",
        "WebPage",
        "Organization",
        "BreadcrumbList",
        "ItemList",
        "CollectionPage",
        "Person",
    }
)
#: Properties that name other items than the page's own (their dates are theirs).
_OTHER_ITEMS = frozenset(
    {
        *("hasPart", "relatedLink", "comment", "review", "isPartOf", "publisher"),
        *("itemListElement", "mentions", "about", "subjectOf", "citation"),
    }
)
