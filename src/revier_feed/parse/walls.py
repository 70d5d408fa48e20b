"""Pages that stand where a site's content should be: a firewall's bot check, a
maintenance notice, a parked domain or a web host's placeholder, a page a script fills.

Read as the site's, such a page was taken for a feed that is none, for a listing whose
layout changed (and the admin sent to fix selectors that were right), or, behind an
article's link, for the article's text, published and never read again. The callers ask
only about a page that failed its purpose (a feed that is none, a listing without its
items, an article page that does not name its item), so that a real page that merely uses
such words ("Wartungsarbeiten an der B 2"), or carries a firewall's script, is never one.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from bs4 import BeautifulSoup, Tag

from ..models import FIREWALL_HINT, ErrorKind


@dataclass(frozen=True, slots=True)
class Wall:
    """What a page is instead of the site's content."""

    #: The failure's kind; None: the caller's own (a page a script fills is a listing
    #: without items, a feed that is none).
    kind: ErrorKind | None
    what: str  #: "Anubis's bot check", as "the page is …" goes on
    hint: str  #: what the admin can do


#: Only so much of a page is searched for a bot check's marks (they are near its start).
_SCAN = 256 * 1024
#: Marks only a firewall's bot check or block page carries (not the scripts some of them
#: add to every page of a site: Cloudflare's "jsd" detection script is on real pages).
_BOT_CHECK_MARKS = (
    (b"_cf_chl_opt", "Cloudflare"),
    (b"anubis_challenge", "Anubis"),
    (b"/.within.website/x/cmd/anubis/", "Anubis"),
    (b"_Incapsula_Resource", "Imperva (Incapsula)"),
    (b"/.well-known/ddos-guard/", "DDoS-Guard"),
    (b"sucuri_cloudproxy_js", "Sucuri"),
    (b"Sucuri WebSite Firewall", "Sucuri"),
    (b"Sucuri Website Firewall", "Sucuri"),
)
#: A bot check's whole title, or a part of it between dashes and bars.
_BOT_CHECK_TITLE = re.compile(
    r"just a moment\.*|attention required!?|making sure you'?re not a bot!?|"
    r"checking (?:your browser|if the site connection is secure).{0,100}|ddos-guard",
    re.IGNORECASE,
)
#: A maintenance notice's title or headline (or a part of it).
_MAINTENANCE = re.compile(
    r"(?:wir\s+sind\s+(?:gleich|bald|in\s+kürze)\s+(?:wieder\s+)?(?:da|zurück))|"
    r"(?:geplante\s+|technische\s+)?wartungsarbeiten|wartungsmodus|wartung|"
    r"(?:die\s+|diese\s+|unsere\s+)?(?:website|webseite|seite|homepage|internetseite|portal)\s+"
    r"(?:befindet\s+sich\s+|ist\s+)?(?:im\s+wartungsmodus|in\s+wartung|"
    r"wird\s+(?:gerade\s+|zurzeit\s+|derzeit\s+)?(?:gewartet|aktualisiert)|"
    r"(?:vorübergehend|zurzeit|derzeit)\s+nicht\s+(?:erreichbar|verfügbar))|"
    r"(?:site\s+|website\s+)?(?:is\s+)?(?:under|down\s+for)\s+(?:scheduled\s+)?maintenance|"
    r"(?:scheduled\s+)?maintenance(?:\s+mode)?|"
    r"briefly\s+unavailable\s+for\s+scheduled\s+maintenance[\w\s.]*|"
    r"we(?:'|’)?ll\s+be\s+(?:right\s+)?back(?:\s+soon)?|be\s+right\s+back",
    re.IGNORECASE,
)
#: A parked or lapsed domain's title or headline, or a web host's page for a site not
#: (or no longer) there.
_PLACEHOLDER = re.compile(
    r"(?:diese\s+|die\s+)?domain\s+(?:steht\s+zum\s+verkauf|kann\s+(?:erworben|gekauft)\s+"
    r"werden|ist\s+(?:geparkt|zu\s+verkaufen|reserviert|noch\s+nicht\s+(?:konfiguriert|"
    r"eingerichtet|aktiv))|wurde\s+(?:gekündigt|geparkt|reserviert))|"
    r"[\w.-]+\.[a-z]{2,}\s+(?:steht\s+zum\s+verkauf|is\s+for\s+sale|(?:ist\s+)?geparkt)|"
    r"(?:this\s+|the\s+)?domain\s+(?:name\s+)?(?:is\s+|may\s+be\s+)?(?:for\s+sale|parked|"
    r"(?:has\s+)?expired)|domain\s+(?:geparkt|reserviert|parking)|"
    r"hier\s+entsteht\s+(?:eine\s+|unsere\s+)?(?:neue\s+)?(?:internetpräsenz|webseite|"
    r"website|homepage|internetseite)|"
    r"welcome\s+to\s+nginx!?|apache2?\s+(?:ubuntu\s+|debian\s+)?default\s+page(?::\s+it\s+works)?|"
    r"it\s+works!?|(?:web\s+server'?s\s+)?default\s+(?:web\s+)?page|iis\s+windows\s+server|"
    r"test\s+page\s+for\s+the\s+(?:apache|nginx)\s+http\s+server(?:\s+on\s+[\w\s]+)?|"
    r"(?:this\s+)?account\s+(?:has\s+been\s+)?suspended|"
    r"(?:website\s+|site\s+)?(?:coming\s+soon|under\s+construction)",
    re.IGNORECASE,
)
_TITLE_PARTS = re.compile(r"\s+[-–—|:·]\s+|\s*[|()]\s*")
#: A page with more visible text than this is no wall, whatever its title says.
_WALL_TEXT = 1500
#: ... and one with less than this, that runs scripts, is one a script fills.
_SHELL_TEXT = 80
#: A script sending the browser on ("window.location.replace('/neu/')").
_SCRIPT_REDIRECT = re.compile(
    r"""(?:window\.|document\.|top\.|self\.)?location(?:\.href)?\s*=\s*["']([^"'\s<>]{1,500})["']|"""
    r"""location\.(?:replace|assign)\(\s*["']([^"'\s<>]{1,500})["']\s*\)"""
)


def wall_of(soup: BeautifulSoup, content: bytes) -> Wall | None:
    """The bot check, maintenance notice or placeholder that ``soup`` (parsed from
    ``content``) is, if it is one; call before scripts are removed from it."""
    head = content[:_SCAN]
    firewall = next((name for mark, name in _BOT_CHECK_MARKS if mark in head), None)
    names = _names(soup)
    if firewall is None and any(_BOT_CHECK_TITLE.fullmatch(name) for name in names):
        firewall = "a firewall"
    found: Wall | None = None
    if firewall is not None:
        what = "a firewall's bot check" if firewall == "a firewall" else f"{firewall}'s bot check"
        found = Wall(
            ErrorKind.BLOCKED,
            f"{what}, which lets through only browsers that run its script",
            FIREWALL_HINT,
        )
    elif (name := next((n for n in names if _MAINTENANCE.fullmatch(n)), None)) is not None:
        found = Wall(
            ErrorKind.UNAVAILABLE,
            f"a maintenance notice ({_quoted(name)})",
            "it is asked again later (backing off as for any failure)",
        )
    elif (name := next((n for n in names if _PLACEHOLDER.fullmatch(n)), None)) is not None:
        found = Wall(
            ErrorKind.UNAVAILABLE,
            f"a placeholder ({_quoted(name)}): the site is not served at this address",
            "check the URL (the site may have moved, or its domain lapsed)",
        )
    if found is None or len(_visible_text(soup, _WALL_TEXT + 1)) > _WALL_TEXT:
        return None
    return found


def filled_by_script(soup: BeautifulSoup) -> Wall | None:
    """A page with (next to) no text of its own whose scripts write it, or send the
    browser on to another address: revier-feed runs no scripts."""
    scripts = soup.find_all("script", limit=200)
    if not scripts or len(_visible_text(soup, _SHELL_TEXT + 1)) > _SHELL_TEXT:
        return None
    for script in scripts:
        if isinstance(script, Tag) and (found := _SCRIPT_REDIRECT.search(script.get_text())):
            target = html.unescape(found[1] or found[2])
            return Wall(
                None,
                f"an empty page that sends browsers on to {target[:200]!r} with a script",
                "revier-feed runs no scripts: write the address it leads to into "
                "sources.yaml if that is the source's new one",
            )
    # Next to no text is a short page too; a shell says so, or has the empty element its
    # framework mounts the page in (React's "root", Vue's "app", Next.js's "__next").
    if soup.find("noscript") is None and not any(
        isinstance(mount, Tag) and not mount.get_text(strip=True)
        for mount in soup.find_all(id=_MOUNT_POINTS, limit=5)
    ):
        return None
    return Wall(
        None,
        "an empty page that a script fills in",
        "revier-feed runs no scripts: find the site's feed, or the address its script reads "
        "its news from (a browser's developer tools show it)",
    )


_MOUNT_POINTS = re.compile(r"^(?:app|root|__next|__nuxt|q-app|main-app|application|svelte)$")


def _names(soup: BeautifulSoup) -> list[str]:
    """The page's title and first headline, and their parts between dashes and bars."""
    names: list[str] = []
    for tag in (soup.find("title"), soup.find("h1")):
        if isinstance(tag, Tag):
            text = " ".join(tag.get_text(" ").split())[:200]
            parts = (part.strip(" .!?¡¿") for part in (text, *_TITLE_PARTS.split(text)))
            names.extend(part for part in parts if part)
    return names


def _visible_text(soup: BeautifulSoup, enough: int) -> str:
    """The page's text as a reader sees it (not its scripts, styles or ``<noscript>``
    notices), up to about ``enough`` characters."""
    collected: list[str] = []
    size = 0
    for text in soup.find_all(string=True):
        parent = text.parent
        if parent is None or parent.name in _INVISIBLE or parent.find_parent(_INVISIBLE):
            continue
        words = " ".join(text.split())
        if words:
            collected.append(words)
            size += len(words) + 1
            if size >= enough:
                break
    return " ".join(collected)


_INVISIBLE = ["script", "style", "noscript", "template", "title", "head"]


def _quoted(name: str) -> str:
    return f"“{name[:80]}”"
