"""`json` sources: a site's JSON (its API, or the data its page carries for a script) read
by dot paths, as FreshRSS's "JSON + dot notation" feeds are. A page a script fills is said
to be one (session 41); this is how its news is read then."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from revier_feed.app import App
from revier_feed.cli import main
from revier_feed.config import AppConfig, load_config
from revier_feed.demo.server import Response, SampleRegion
from revier_feed.exceptions import ConfigError, EmptyListing, ParseError
from revier_feed.models import (
    ErrorKind,
    FetchResult,
    JsonPaths,
    SourceKind,
    SourceSpec,
    SourceStatus,
)
from revier_feed.normalize import normalize
from revier_feed.parse import parse

from .conftest import Clock, write_config

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2021, 8, 2, 8, 0, tzinfo=UTC)
URL = "https://www.kreis.example/wp-json/wp/v2/posts"

#: Posts as WordPress's REST API gives them (shortened).
WORDPRESS = [
    {
        "id": 812,
        "date": "2021-06-10T14:30:00",
        "link": "https://www.kreis.example/2021/06/10/innovationspreis/",
        "title": {"rendered": "IQ Innovationspreis: Bewerbung bis 30. Juni &#8211; mitmachen"},
        "excerpt": {"rendered": "<p>Unternehmen aus der Region k&ouml;nnen sich bewerben.</p>"},
        "content": {"rendered": "<p>Der Preis würdigt Ideen aus Mitteldeutschland.</p>"},
        "_embedded": {"author": [{"name": "Redaktion"}]},
    },
    {
        "id": 811,
        "date": "2021-06-09T09:00:00",
        "link": "/2021/06/09/studie/",
        "title": {"rendered": "Studie zu ländlichen Räumen vorgestellt"},
        "excerpt": {"rendered": "<p>Zwei Studien zeigen Perspektiven.</p>"},
    },
]
WORDPRESS_PATHS = JsonPaths(
    items=".",
    title="title.rendered",
    link="link",
    date="date",
    teaser="excerpt.rendered",
    content="content.rendered",
    id="id",
    author="_embedded.author.name",
)


def spec(paths: JsonPaths) -> SourceSpec:
    return SourceSpec(
        id="kreis",
        name="Kreis",
        kind=SourceKind.JSON,
        url=URL,
        interval=timedelta(hours=1),
        json=paths,
    )


def read(paths: JsonPaths, body: object, content_type: str = "application/json") -> Any:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return parse(
        spec(paths), FetchResult(URL, 200, {"content-type": content_type}, content), NOW, BERLIN
    )


def test_wordpress_s_rest_api_gives_items_with_their_fields() -> None:
    document = read(WORDPRESS_PATHS, WORDPRESS)
    first, second = document.items
    assert first.title == "IQ Innovationspreis: Bewerbung bis 30. Juni – mitmachen"
    assert first.link == "https://www.kreis.example/2021/06/10/innovationspreis/"
    assert first.guid == "812" and first.author == "Redaktion"
    assert "können sich bewerben" in first.summary_html.replace("&ouml;", "ö")
    assert "würdigt Ideen" in first.content_html
    # A local time without a zone is Berlin's, as the site shows it.
    assert first.published == datetime(2021, 6, 10, 12, 30, tzinfo=UTC)
    # Relative links resolve against the JSON's address.
    assert second.link == "https://www.kreis.example/2021/06/09/studie/"
    assert document.warnings == ()


def test_a_page_s_script_data_list_positions_and_dates_as_numbers() -> None:
    """Next.js pages carry their data in a script; JavaScript counts milliseconds."""
    data = {
        "props": {
            "pageProps": {
                "news": [
                    {
                        "headline": "Neue Kita eröffnet",
                        "url": "/aktuelles/kita",
                        "published": 1623319200000,
                        "media": [{"src": "/bilder/kita.jpg"}, {"src": "/bilder/2.jpg"}],
                        "tags": [{"name": "Bildung"}, {"name": "Familie"}],
                    },
                    {"headline": "Busfahrplan ändert sich", "published": 1623232800},
                    {"headline": "Sommerfest", "published": "10. Juni 2021"},
                ]
            }
        }
    }
    page = (
        "<!doctype html><html><body><div id='__next'></div><script id='__NEXT_DATA__' "
        f"type='application/json'>{json.dumps(data, ensure_ascii=False)}</script></body></html>"
    ).encode()
    paths = JsonPaths(
        items="props.pageProps.news",
        title="headline",
        link="url",
        date="published",
        image="media[0].src",
        categories="tags.name",
        script="#__NEXT_DATA__",
    )
    kita, bus, fest = read(paths, page, "text/html; charset=utf-8").items
    assert kita.link == "https://www.kreis.example/aktuelles/kita"
    assert kita.image == "https://www.kreis.example/bilder/kita.jpg"
    assert kita.categories == ("Bildung", "Familie")
    assert kita.published == datetime(2021, 6, 10, 10, 0, tzinfo=UTC)
    assert bus.published == datetime(2021, 6, 9, 10, 0, tzinfo=UTC)
    assert fest.published == datetime(2021, 6, 9, 22, 0, tzinfo=UTC)
    assert bus.link is None and bus.image is None


def test_items_without_a_title_are_skipped_and_undated_ones_said() -> None:
    body = {"data": [{"title": "Kreistag tagt", "date": "morgen früh"}, {"text": "ohne"}]}
    document = read(JsonPaths(items="data", title="title", date="date"), body)
    assert [i.title for i in document.items] == ["Kreistag tagt"]
    assert document.warnings == ("item 2 skipped: no title at 'title'",)
    assert document.undated == ("'Kreistag tagt': no readable date in 'morgen früh'",)


@pytest.mark.parametrize(
    ("body", "kind", "said"),
    [
        ({"data": {"news": []}}, ErrorKind.EMPTY, "no list of objects at the items path"),
        ({"data": {"news": {"error": "x"}}}, ErrorKind.EMPTY, "no list of objects at"),
        ({"data": {"news": [{"name": "x"}]}}, ErrorKind.EMPTY, "none has a title at 'title'"),
        (b"<html><body>Fehler</body></html>", ErrorKind.PARSE, "not valid JSON"),
    ],
)
def test_a_document_without_items_is_an_error_that_says_why(
    body: object, kind: ErrorKind, said: str
) -> None:
    with pytest.raises(ParseError) as info:
        read(JsonPaths(items="data.news", title="title"), body)
    assert info.value.kind == kind and said in str(info.value)
    # A changed API is a source's "empty", as a listing's changed layout is.
    assert isinstance(info.value, EmptyListing) == said.startswith("no list")


def test_a_link_path_that_finds_nothing_in_any_item_holds_them_back() -> None:
    """Without their links, the items would be stored anew under keys of their text."""
    body = {"items": [{"title": f"Meldung {i}", "href": f"/m/{i}"} for i in range(4)]}
    document = read(JsonPaths(items="items", title="title", link="url"), body)
    assert document.drifted == ("link",)
    assert document.held_items == (0, 1, 2, 3)
    assert "the paths link ('url') found nothing in any of the 4 items" in document.warnings[0]
    # A wrong path of another field is said too (a review found it silent), and the items
    # are kept: they have their links. Nor does it hold back their updates (a reread of
    # session 41 found every correction of such a source's items held back).
    document = read(JsonPaths(items="items", title="title", link="href", author="autor"), body)
    assert document.drifted == () and document.held_items == ()
    assert document.drifted_items == ()
    assert "the paths author ('autor') found nothing" in document.warnings[0]


def test_what_a_review_found_is_read_as_an_admin_expects() -> None:
    """Found by a review (session 41): a lone surrogate (a teaser JavaScript cut in an
    emoji) failed the source, PHP's C1 quotes were lost, markup-like titles lost words,
    "vor 2 Stunden" changed the item at every reading, dates as digits in text and keys
    of digits were not read, and lists of lists (WordPress's terms) not gone through."""
    body = {
        "data": [
            {
                "id": "a\ud83d",
                "title": "\u0093Zukunft\u0094 Vortrag &lt;Code&gt; f\u00fcr a<b",
                "when": "vor 2 Stunden",
                "terms": [[{"name": "Kreistag"}], [{"name": "Haushalt"}, {"name": "Schulen"}]],
                "months": {"01": "Januar"},
            },
            {"id": 2, "title": "Zweite", "when": "1623319200", "months": {"01": "x"}},
        ]
    }
    paths = JsonPaths(
        items="data",
        title="title",
        id="id",
        date="when",
        categories="terms.name",
        author="months.01",
    )
    first, second = read(paths, body).items
    shown = normalize(first, spec(paths), NOW)
    assert shown.title == "“Zukunft” Vortrag <Code> für a<b"
    assert first.guid == "a\ufffd"
    assert first.date_moves and first.published == NOW - timedelta(hours=2)
    assert first.categories == ("Kreistag", "Haushalt", "Schulen")
    assert first.author == "Januar"
    assert second.published == datetime(2021, 6, 10, 10, 0, tzinfo=UTC)


def config(tmp_path: Path, sources: str) -> AppConfig:
    return load_config(write_config(tmp_path / "config", sources))


def test_configuration_errors_name_file_line_and_key(tmp_path: Path) -> None:
    sources = """
        sources:
          - id: a
            name: A
            kind: json
            url: https://www.kreis.example/api/news
            json:
              items: data news
              titel: title
          - id: b
            name: B
            kind: json
            url: https://www.kreis.example/api/other
    """
    with pytest.raises(ConfigError) as info:
        config(tmp_path, sources)
    said = str(info.value)
    assert "sources.yaml:8: sources[0].json.items: 'data news' is not a dot path" in said
    assert "sources.yaml:9: sources[0].json.titel: unknown key 'titel'" in said
    assert "did you mean 'title'?" in said
    assert "sources.yaml:10: sources[1]: a json source needs a 'json:' block" in said
    # JSONPath's habits would find nothing when the source runs.
    with pytest.raises(ConfigError) as info:
        config(tmp_path, sources.replace("data news", "$.data.items").replace("titel", "title"))
    assert "'$.data.items' is not a dot path" in str(info.value)
    # A key may hold "$" (.NET's "$values", MongoDB's "$date"), just not be JSONPath's root.
    first_only = sources[: sources.index("          - id: b")]
    accepted = config(
        tmp_path, first_only.replace("data news", "data.$values").replace("titel", "title")
    )
    assert (
        accepted.sources[0].json is not None and accepted.sources[0].json.items == "data.$values"
    )


MakeApp = Callable[[AppConfig], App]


def test_a_json_source_is_collected_tested_and_fails_clearly_when_its_api_changes(
    tmp_path: Path,
    region: SampleRegion,
    make_app: MakeApp,
    clock: Clock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    posts = json.dumps(WORDPRESS).encode()

    def api(handler: Any) -> Response:
        # As Django REST Framework answers: a browser's Accept gets its HTML page.
        if "application/json" not in handler.headers.get("Accept", ""):
            return Response(200, b"<html><body>API</body></html>", {"Content-Type": "text/html"})
        return Response(200, posts, {"Content-Type": "application/json"})

    region.add_route("/wp-json/wp/v2/posts", api)
    sources = f"""
        sources:
          - id: kreis
            name: Kreis
            kind: json
            url: "{region.url("/wp-json/wp/v2/posts")}"
            json:
              items: "."
              title: title.rendered
              link: link
              date: date
              teaser: excerpt.rendered
              id: id
              author: _embedded.author.name
    """
    loaded = config(tmp_path, sources)
    app = make_app(loaded)
    (report,) = app.run_cycle().summary.reports
    assert report.new == 2
    stored = {s.item.title: s.item for s in app.storage.recent_items(["kreis"], 5)}
    assert stored["Studie zu ländlichen Räumen vorgestellt"].url == region.url(
        "/2021/06/09/studie/"
    )
    assert app.storage.source_states(["kreis"])["kreis"].status is SourceStatus.OK

    code = main(["--config", str(tmp_path / "config"), "sources", "test", "kreis"])
    out = capsys.readouterr().out
    assert code == 0 and "kreis (json)" in out and "2 items" in out
    assert "author: Redaktion" in out  # what every path found, to tune them
    # Before it is saved: its paths as options.
    trying = ["--config", str(tmp_path / "config"), "sources", "test", "--url"]
    trying += [region.url("/wp-json/wp/v2/posts"), "--json", "items=."]
    code = main([*trying, "--json", "title=title.rendered"])
    out = capsys.readouterr().out
    assert code == 0 and "(json)" in out and "Studie zu ländlichen Räumen" in out
    code = main([*trying, "--json", "titel=title.rendered"])
    err = capsys.readouterr().err
    assert code == 2
    assert "--json title=PATH: required" in err and "--json titel=PATH: unknown key" in err
    # Options of another kind are refused, not dropped without a word.
    code = main([*trying, "--json", "title=title.rendered", "--kind", "html", "--item", "li"])
    err = capsys.readouterr().err
    assert code == 2 and "--json: does not apply to kind html" in err
    code = main(
        ["--config", str(tmp_path / "config"), "sources", "test", "kreis", "--max-pages", "2"]
    )
    assert code == 2 and "--max-pages: does not apply to kind json" in capsys.readouterr().err

    # The API moved its list: the source is "empty", its items kept.
    moved = json.dumps({"posts": WORDPRESS}).encode()
    region.add_route(
        "/wp-json/wp/v2/posts", Response(200, moved, {"Content-Type": "application/json"})
    )
    clock.advance(timedelta(hours=2))
    app.run_cycle()
    state = app.storage.source_states(["kreis"])["kreis"]
    assert state.status is SourceStatus.EMPTY
    assert "no list of objects at the items path '.'" in (state.last_error or "")
    assert len(app.storage.recent_items(["kreis"], 5)) == 2


def test_followed_items_without_a_date_anywhere_are_warned_of(
    tmp_path: Path, region: SampleRegion, make_app: MakeApp
) -> None:
    """With `follow`, the article page may give a date; where neither gives one the
    source said nothing (found by a review, session 41)."""
    items = [{"titel": f"Meldung {i}", "url": f"/kreis/{i}.html"} for i in range(2)]
    region.add_route(
        "/api", Response(200, json.dumps(items).encode(), {"Content-Type": "application/json"})
    )
    for i in range(2):
        page = f"<html><body><main><h1>Meldung {i}</h1><p>Der Text {i}.</p></main></body></html>"
        region.add_route(
            f"/kreis/{i}.html", Response(200, page.encode(), {"Content-Type": "text/html"})
        )
    sources = f"""
        sources:
          - id: kreis
            name: Kreis
            kind: json
            url: "{region.url("/api")}"
            json:
              items: "."
              title: titel
              link: url
              date: datum
              follow: true
    """
    (report,) = make_app(config(tmp_path, sources)).run_cycle().summary.reports
    assert report.new == 2
    assert any(
        "2 item(s) without a readable date in the listing ('datum')" in w for w in report.warnings
    )
