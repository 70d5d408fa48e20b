"""Pages that stand where a site's content should be (a firewall's bot check, a
maintenance notice, a parked domain, a page a script fills), met as a feed, a listing and
an article page: named for what they are, never read as the site's content.

Found by a probe (session 41): an article page answered by Anubis's bot check, a
maintenance notice or a domain parking page was stored as the article's text (and
published); a listing answered by any of them sent the admin to fix selectors that were
right ("the site's layout may have changed")."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from revier_feed.exceptions import EmptyListing, ParseError
from revier_feed.models import (
    Article,
    ErrorKind,
    FetchResult,
    HtmlSelectors,
    JsonPaths,
    SourceKind,
    SourceSpec,
)
from revier_feed.parse import article, parse

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
URL = "https://www.kreis.example/aktuelles/"
SELECTORS = HtmlSelectors(item="article", title="h2", date="time", teaser="p")

#: Anubis's page, as its version 1.19 writes it (shortened).
ANUBIS = """<!doctype html><html lang="en"><head><title>Making sure you&#39;re not a
bot!</title><script id="anubis_version" type="application/json">"v1.19.1"</script>
<script id="anubis_challenge" type="application/json">{"rules":{"difficulty":4}}</script>
</head><body id="top"><main><h1 id="title">Making sure you&#39;re not a bot!</h1><p>You
are seeing this because the administrator of this website has set up Anubis to protect
the server against the scourge of AI companies aggressively scraping websites.</p>
<script async type="module" src="/.within.website/x/cmd/anubis/static/js/main.mjs">
</script></main></body></html>"""
#: Cloudflare's managed challenge, answered with 200 by a cache in front of it.
CLOUDFLARE = """<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
</head><body><noscript><span>Enable JavaScript and cookies to continue</span></noscript>
<script>(function(){window._cf_chl_opt={cvId: '3',cType: 'managed'};}());</script>
</body></html>"""
#: F5 BIG-IP's page, as government sites behind it answer a request it rejects.
F5 = """<html><head><title>Request Rejected</title></head><body>The requested URL was
rejected. Please consult with your administrator.<br><br>Your support ID is:
1234567890123456789<br><br><a href='javascript:history.back();'>[Go Back]</a></body></html>"""
CLOUDFLARE_BLOCK = """<!DOCTYPE html><html><head><title>Attention Required! | Cloudflare
</title></head><body><div id="cf-error-details"><h1>Sorry, you have been blocked</h1><h2>You
are unable to access kreis.example</h2></div></body></html>"""
MAINTENANCE = """<!doctype html><html><head><meta charset="utf-8"><title>Wartungsarbeiten
– Landkreis</title></head><body><h1>Wartungsarbeiten</h1><p>Diese Website wird gerade
gewartet. Bitte versuchen Sie es später erneut.</p></body></html>"""
PARKED = """<!doctype html><html><head><title>kreis-example.de - diese Domain steht zum
Verkauf!</title></head><body><h1>Diese Domain kann erworben werden</h1><p>Kontaktieren Sie
uns für ein Angebot.</p></body></html>"""
NGINX = """<!DOCTYPE html><html><head><title>Welcome to nginx!</title></head><body>
<h1>Welcome to nginx!</h1><p>If you see this page, the nginx web server is successfully
installed and working. Further configuration is required.</p></body></html>"""
SHELL = """<!doctype html><html><head><title>Landkreis</title></head><body><noscript>Bitte
aktivieren Sie JavaScript, um diese Seite zu nutzen.</noscript><div id="app"></div>
<script src="/js/app.4f2a.js"></script></body></html>"""
SCRIPT_REDIRECT = """<html><head><script>window.location.replace("/neu/aktuelles.html");
</script></head><body></body></html>"""


def spec(kind: SourceKind) -> SourceSpec:
    return SourceSpec(
        id="kreis",
        name="Kreis",
        kind=kind,
        url=URL,
        interval=timedelta(hours=1),
        selectors=SELECTORS if kind is SourceKind.HTML else None,
        json=JsonPaths(items="data", title="t") if kind is SourceKind.JSON else None,
        follow=kind is SourceKind.HTML,
    )


def page(body: str | bytes, content_type: str = "text/html; charset=utf-8") -> FetchResult:
    content = body.encode() if isinstance(body, str) else body
    return FetchResult(URL, 200, {"content-type": content_type}, content)


def failure(kind: SourceKind, body: str) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse(spec(kind), page(body), NOW, BERLIN)
    assert info.value.source_id == "kreis"
    return info.value


CONSENT = """<!doctype html><html><head><meta charset="utf-8"><title>Datenschutzeinstellungen
</title></head><body><div class="page"><h1>Wir respektieren Ihre Privatsphäre</h1><p>Wir und
unsere Partner verwenden Cookies und ähnliche Technologien, um Inhalte zu personalisieren.
Mit Ihrer Einwilligung verarbeiten wir Daten auch durch Drittanbieter.</p><form
method="post" action="/consent"><button name="ok">Alle akzeptieren</button><button
name="no">Nur notwendige</button></form></div></body></html>"""

WALLS = [
    pytest.param(ANUBIS, ErrorKind.BLOCKED, "Anubis's bot check", id="anubis"),
    pytest.param(CLOUDFLARE, ErrorKind.BLOCKED, "Cloudflare's bot check", id="cloudflare"),
    pytest.param(F5, ErrorKind.BLOCKED, "F5 BIG-IP's refusal (“Request Rejected”)", id="f5"),
    pytest.param(CLOUDFLARE_BLOCK, ErrorKind.BLOCKED, "Cloudflare's refusal", id="cf-block"),
    pytest.param(MAINTENANCE, ErrorKind.UNAVAILABLE, "maintenance notice", id="maintenance"),
    pytest.param(PARKED, ErrorKind.UNAVAILABLE, "Domain steht zum Verkauf", id="parked"),
    pytest.param(NGINX, ErrorKind.UNAVAILABLE, "Welcome to nginx", id="placeholder"),
    pytest.param(CONSENT, ErrorKind.BLOCKED, "a cookie consent page", id="consent"),
]


@pytest.mark.parametrize(("body", "kind", "named"), WALLS)
def test_a_wall_where_a_feed_was_expected_is_named(body: str, kind: ErrorKind, named: str) -> None:
    error = failure(SourceKind.FEED, body)
    assert error.kind == kind
    assert named in str(error) and "where a feed was expected" in str(error)


@pytest.mark.parametrize(("body", "kind", "named"), WALLS)
def test_a_wall_where_a_listing_was_expected_is_no_changed_layout(
    body: str, kind: ErrorKind, named: str
) -> None:
    """Not ``empty`` (which makes the source's state "empty": its selectors to blame)."""
    error = failure(SourceKind.HTML, body)
    assert not isinstance(error, EmptyListing)
    assert error.kind == kind
    assert named in str(error)
    assert "layout may have changed" not in str(error)


@pytest.mark.parametrize(("body", "kind", "named"), WALLS)
def test_a_wall_where_json_was_expected_is_named(body: str, kind: ErrorKind, named: str) -> None:
    """A json source took them for JSON that is none (found by a review, session 41)."""
    error = failure(SourceKind.JSON, body)
    assert error.kind == kind and named in str(error)
    assert "where JSON was expected" in str(error)


def test_a_page_whose_script_data_went_missing_says_what_it_is_now() -> None:
    paths = JsonPaths(items="props.news", title="t", script="#__NEXT_DATA__")
    source = replace(spec(SourceKind.JSON), json=paths)
    with pytest.raises(ParseError) as info:
        parse(source, page(MAINTENANCE), NOW, BERLIN)
    assert info.value.kind == ErrorKind.UNAVAILABLE
    assert "where a page with the script '#__NEXT_DATA__' was expected" in str(info.value)


def test_a_page_a_script_fills_from_its_own_data_is_told_how_to_read_it() -> None:
    shell = SHELL.replace(
        "<script src", '<script id="__NEXT_DATA__" type="application/json">{}</script><script src'
    )
    error = failure(SourceKind.HTML, shell)
    assert 'a `kind: json` source with `script: "#__NEXT_DATA__"`' in str(error)


def test_a_firewall_s_hint_tells_the_admin_what_to_do() -> None:
    error = failure(SourceKind.HTML, ANUBIS)
    assert "ask the site's operator to let revier-feed through" in str(error)


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (SHELL, "an empty page that a script fills in"),
        (SCRIPT_REDIRECT, "sends browsers on to '/neu/aktuelles.html' with a script"),
    ],
)
def test_a_page_a_script_fills_is_said_to_be_one(body: str, said: str) -> None:
    as_feed = failure(SourceKind.FEED, body)
    assert as_feed.kind == ErrorKind.NOT_A_FEED and said in str(as_feed)
    as_listing = failure(SourceKind.HTML, body)
    # Still a listing without items (the source's state "empty"), with the reason.
    assert isinstance(as_listing, EmptyListing) and as_listing.kind == ErrorKind.EMPTY
    assert said in str(as_listing) and "revier-feed runs no scripts" in str(as_listing)


def test_a_feed_where_a_listing_was_expected_says_to_read_it_as_one() -> None:
    rss = (
        '<?xml version="1.0" encoding="utf-8"?>\n<?xml-stylesheet href="rss.xsl"?>\n'
        "<!-- Kreis --><rss version='2.0'><channel><title>Kreis</title><item><title>Haushalt "
        "beschlossen</title><link>https://www.kreis.example/a</link></item></channel></rss>"
    )
    error = failure(SourceKind.HTML, rss)
    assert error.kind == ErrorKind.PARSE and "kind: feed" in str(error)


def test_a_listing_page_opening_with_many_comments_is_read_in_time() -> None:
    """Asking whether it was a feed backtracked over its comments: 22 of them took 24 s,
    30 hours (found by a review, session 41)."""
    page = "<!-- ##### Stadt Musterstadt ##### -->\n" * 60 + "<!DOCTYPE html><html></html>"
    error = failure(SourceKind.HTML, page)
    assert isinstance(error, EmptyListing) and "layout may have changed" in str(error)


@pytest.mark.parametrize(
    "body",
    [
        # A page of the site whose words a wall uses, but with the site's text.
        "<html><head><title>Wartungsarbeiten</title></head><body><h1>Wartungsarbeiten</h1>"
        + "<p>Die Straßenmeisterei kündigt Arbeiten an der Kreisstraße an.</p>" * 40
        + "</body></html>",
        # Cloudflare's detection script is on a site's every page, challenge or not.
        "<html><head><title>Aktuelles</title><script src='/cdn-cgi/challenge-platform/scripts"
        "/jsd/main.js'></script></head><body><div class='news'><h3>Meldung</h3><p>Der Kreistag"
        " hat getagt.</p></div></body></html>",
        # Imperva's script of that name is on every page it serves, challenge or not.
        "<html><head><title>Aktuelles</title><script src='/_Incapsula_Resource?SWJIYLWA=719d3"
        "4d31c8e3a6e6fffd425f7e032f3'></script></head><body><div class='news'><h3>Meldung</h3>"
        "<p>Der Kreistag hat getagt.</p></div></body></html>",
        # A short listing whose selectors no longer match, under the site's consent banner.
        "<html><head><title>Aktuelles</title></head><body><div class='cookie-banner'><p>Wir "
        "verwenden Cookies, mit Ihrer Einwilligung auch von Drittanbietern.</p><button>Alle "
        "akzeptieren</button></div><div class='news'><h3>Kreistag tagt</h3><p>Der Kreistag "
        "hat getagt.</p></div></body></html>",
        # ... under a banner whose class names do not give it away (found by a review).
        "<html><head><title>Aktuelles</title></head><body><div class='cc-window'><p>Wir "
        "verwenden Cookies, mit Ihrer Einwilligung auch von Drittanbietern.</p><button>Alle "
        "akzeptieren</button></div><div class='news'><h3>Kreistag tagt</h3><p>Der Kreistag "
        "hat getagt.</p></div><a href='/cookies'>Cookie-Einstellungen</a></body></html>",
        # Proposals to agree to, on a page with a banner.
        "<html><head><title>Bürgerhaushalt</title></head><body><div class='vorschlag'><h3>Neue"
        " Bänke am Markt</h3><button>Zustimmen</button></div><p>Wir verwenden Cookies, mit "
        "Ihrer Einwilligung auch für Statistik.</p></body></html>",
    ],
    ids=[
        "maintenance-words",
        "cloudflare-script",
        "imperva-script",
        "consent-banner",
        "unnamed-banner",
        "proposals",
    ],
)
def test_a_listing_whose_selectors_match_nothing_is_still_a_changed_layout(body: str) -> None:
    error = failure(SourceKind.HTML, body)
    assert isinstance(error, EmptyListing) and "layout may have changed" in str(error)


def read_article(body: str, titles: tuple[str, ...]) -> Article:
    return article(spec(SourceKind.HTML), page(body), NOW, BERLIN, titles)


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (ANUBIS, "Anubis's bot check"),
        (CLOUDFLARE, "Cloudflare's bot check"),
        (F5, "F5 BIG-IP's refusal"),
        (MAINTENANCE, "a maintenance notice"),
        (PARKED, "a placeholder"),
        (NGINX, "a placeholder"),
    ],
)
def test_a_wall_at_an_article_s_address_is_not_its_text(body: str, named: str) -> None:
    found = read_article(body, ("Kreistag beschließt den Haushalt 2027",))
    assert found.content_html == ""
    assert found.not_article is not None and named in found.not_article


def test_an_article_whose_item_s_title_cannot_tell_is_refused_only_by_a_firewall_s_marks() -> None:
    """Where the listing's title is only a date, a short article headed "Wartungsarbeiten"
    was refused (found by a review, session 41); Anubis's page still is."""
    body = (
        "<html><head><title>Wartungsarbeiten</title></head><body><main><h1>Wartungsarbeiten"
        "</h1><p>Das Hallenbad bleibt bis Freitag geschlossen.</p></main></body></html>"
    )
    found = read_article(body, ("12. März 2026",))
    assert found.not_article is None and "Hallenbad" in found.content_html
    assert read_article(ANUBIS, ("12. März 2026",)).not_article is not None


def test_an_article_about_maintenance_work_is_read() -> None:
    body = (
        "<html><head><title>Wartungsarbeiten</title></head><body><main><h1>Wartungsarbeiten"
        "</h1><p>Wegen Wartungsarbeiten an der Brücke über die Mulde ist die Kreisstraße ab "
        "Montag gesperrt.</p></main></body></html>"
    )
    found = read_article(body, ("Brücke über die Mulde: Wartungsarbeiten ab Montag",))
    assert found.not_article is None
    assert "Kreisstraße ab Montag gesperrt" in found.content_html
