"""Stories: the same news from several sites is one story; different news never is."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import feedparser
import pytest

from revier_feed.app import App
from revier_feed.cli import main
from revier_feed.config import AppConfig, load_config
from revier_feed.demo.server import Response
from revier_feed.models import Item
from revier_feed.stories import (
    canonical_url,
    features,
    learn_boilerplate,
    same_story,
    shingles_of,
    similarity,
    weights,
)

from .conftest import make_item, write_config

MakeApp = Callable[[AppConfig], App]
NOW = datetime(2021, 6, 10, tzinfo=UTC)


def partition(groups: dict[Any, set[str]]) -> set[frozenset[str]]:
    return {frozenset(g) for g in groups.values()}


def test_sample_region_stories_match_the_labels(
    demo_config: AppConfig, make_app: MakeApp, expected_items: list[dict[str, Any]]
) -> None:
    app = make_app(demo_config)
    app.run_cycle()
    found: dict[int, set[str]] = defaultdict(set)
    for story in app.storage.recent_stories([s.id for s in demo_config.sources], 100):
        found[story.id] = {m.item.title for m in story.members}
    labelled: dict[str, set[str]] = defaultdict(set)
    for item in expected_items:
        labelled[item["story"]].add(item["title"])
    # Every republication joined its original, and no two different stories were merged
    # (the three IQ prizes of the same week, the two studies of one project, ... included).
    assert partition(found) == partition(labelled)


def test_a_story_is_one_feed_entry_with_also_reported_by(
    demo_config: AppConfig, make_app: MakeApp, expected_items: list[dict[str, Any]]
) -> None:
    app = make_app(demo_config)
    app.run_cycle()
    rss = feedparser.parse((demo_config.output_dir / "feeds" / "all.rss.xml").read_bytes())
    assert len(rss.entries) == len({i["story"] for i in expected_items})
    tediro = next(e for e in rss.entries if "tediro" in e.title)
    # The agency has the highest priority, so its version leads the story.
    assert (
        tediro.title == "Roboter als Bewegungstrainer: tediro gewinnt Clusterpreis Life Sciences"
    )
    assert "Auch berichtet von:" in tediro.summary
    assert "IQ Innovationspreis Mitteldeutschland</a>" in tediro.summary
    assert "Burgenlandkreis</a>" in tediro.summary
    assert tediro.id.startswith("tag:localhost,2026:story/")


def test_corrections_stick_across_re_runs(
    demo_config: AppConfig, make_app: MakeApp, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(demo_config.config_dir)
    assert main(["--config", config, "run", "--once"]) == 0
    app = make_app(demo_config)
    story = app.story(
        next(
            s.item.url
            for s in app.storage.recent_items(["bbsr"], 10)
            if "Pandemie" in s.item.title
        )
        or ""
    )
    assert story is not None and len(story.members) == 3
    messe = next(m for m in story.members if m.item.source_id == "leipziger-messe")
    capsys.readouterr()

    assert main(["--config", config, "stories", "split", str(messe.id)]) == 0
    assert "is now story" in capsys.readouterr().out
    assert main(["--config", config, "run", "--once"]) == 0  # re-run: the split stays
    assert len(app.storage.story(story.id).members) == 2  # type: ignore[union-attr]

    assert main(["--config", config, "stories", "merge", f"s{story.id}", str(messe.id)]) == 0
    assert main(["--config", config, "run", "--once"]) == 0
    merged = app.storage.story(story.id)
    assert merged is not None and len(merged.members) == 3
    capsys.readouterr()
    assert main(["--config", config, "stories", "show", f"s{story.id}"]) == 0
    out = capsys.readouterr().out
    assert f"story s{story.id}: 3 item(s)" in out
    assert any(line.startswith(f"│ {messe.id} ") for line in out.splitlines()), out


def item(title: str, teaser: str, content: str = "", url: str | None = None) -> Item:
    return make_item(
        source_id="s",
        key=title,
        url=url,
        title=title,
        summary_text=teaser,
        content_html=content,
        published_at=NOW,
    )


RELEASE = (
    "Die Europäische Metropolregion Mitteldeutschland hat zwei Studien zur Zukunft der "
    "ländlichen Räume im Mitteldeutschen Revier gestartet. Die erste Untersuchung widmet "
    "sich Kooperationsorten für mobiles Arbeiten in Mittelzentren, die zweite dem Handwerk "
    "als Träger neuer Wertschöpfung. Die Ergebnisse sollen Anfang 2022 vorliegen."
)


def test_copied_excerpt_is_the_same_story_and_boilerplate_is_ignored() -> None:
    footer = (
        " Pressekontakt: Landratsamt Borna, Stauffenbergstraße 4, Telefon 03433 241 1010, "
        "presse@landkreis.example, Montag bis Freitag von 8 bis 16 Uhr erreichbar."
    )
    original = item("Studien gestartet", RELEASE)
    excerpt = item("Landkreis beteiligt", RELEASE.split(". ")[1] + ". Mehr dazu online.")
    other = item("Neue Radwege im Landkreis", "Zwischen Grimma und Naunhof wird gebaut." + footer)
    also_other = item("Breitband in Colditz", "1.200 Haushalte sind angeschlossen." + footer)
    more = item("Meisterfeier in Borna", "48 neue Meister im Landkreis." + footer)
    batch = [other, also_other, more]
    boilerplate = learn_boilerplate([shingles_of(i) for i in batch], frozenset())
    f = {i.title: features(i, shingles_of(i), boilerplate) for i in [original, excerpt, *batch]}
    weight = weights({}, 0)
    sim = similarity(f["Studien gestartet"], f["Landkreis beteiligt"], weight)
    assert sim.copied >= 0.7 and same_story(f["Studien gestartet"], f["Landkreis beteiligt"], sim)
    # The shared press-contact footer does not make the district's items one story.
    sim = similarity(f["Neue Radwege im Landkreis"], f["Breitband in Colditz"], weight)
    assert sim.copied == 0 and not same_story(
        f["Neue Radwege im Landkreis"], f["Breitband in Colditz"], sim
    )


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (
            "https://www.Kreis.example/presse/a/?b=2&a=1#oben",
            "http://kreis.example/presse/a?a=1&b=2",
        ),
        ("https://kreis.example:443/x/", "https://kreis.example/x"),
    ],
)
def test_canonical_urls(a: str, b: str) -> None:
    assert canonical_url(a) == canonical_url(b)


def test_same_url_on_two_sites_is_the_same_story() -> None:
    a = item("A", "Ganz anderer Text", url="https://www.agentur.example/news/1/")
    b = dataclasses.replace(
        a, title="B", summary_text="Nichts gemeinsam", url="http://agentur.example/news/1"
    )
    fa, fb = (features(i, shingles_of(i), frozenset()) for i in (a, b))
    assert same_story(fa, fb, similarity(fa, fb, weights({}, 0)))


def test_template_news_of_two_districts_stays_two_stories() -> None:
    template = (
        "Der Kreistag hat in seiner Sitzung am Mittwoch den Haushalt für das Jahr 2021 "
        "beschlossen. Der Ergebnishaushalt umfasst Erträge von rund {n} Millionen Euro. "
        "Schwerpunkte sind die Schulen, der Straßenbau und der öffentliche Nahverkehr. {local}"
    )
    a = dataclasses.replace(
        item(
            "Kreistag Saalekreis beschließt Haushalt",
            template.format(
                n=412,
                local="In Merseburg wird die Berufsschule saniert, in Querfurt die Turnhalle.",
            ),
        ),
        districts=frozenset({"saalekreis"}),
    )
    b = dataclasses.replace(
        item(
            "Kreistag Burgenlandkreis beschließt Haushalt",
            template.format(
                n=388, local="Zeitz erhält einen neuen Busbahnhof, Naumburg ein Feuerwehrhaus."
            ),
        ),
        districts=frozenset({"burgenlandkreis"}),
    )
    fa, fb = (features(i, shingles_of(i), frozenset()) for i in (a, b))
    # As in a real store: the budget wording recurs in many districts' items, the places not.
    common = (fa.keywords & fb.keywords) - {"saalekreis", "burgenlandkreis"}
    weight = weights(dict.fromkeys(common, 80), 100)
    sim = similarity(fa, fb, weight)
    assert sim.copied >= 0.5  # the wording alone would merge them
    assert not same_story(fa, fb, sim)
    # The same texts without districts (say, two reports of one decision) are one story.
    plain = [dataclasses.replace(i, districts=frozenset()) for i in (a, b)]
    fa, fb = (features(i, shingles_of(i), frozenset()) for i in plain)
    assert same_story(fa, fb, similarity(fa, fb, weight))


def test_bad_input_gives_sensible_stories(tmp_path: Any, region: Any, make_app: MakeApp) -> None:
    huge = (
        "<p>" + " ".join(f"Wort{i % 5000} Zeitz Strukturwandel" for i in range(120_000)) + "</p>"
    )
    feed = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>K</title>'
        "<item><title></title><link>http://k.example/1</link>"
        "<description>Ohne Titel, aber mit Text über Borna.</description></item>"
        "<item><title>10.06.2021</title><link>http://k.example/2</link>"
        "<description>Die Meldung hatte nur ein Datum als Titel.</description></item>"
        "<item><title>&lt;b&gt;Fett&lt;/b&gt; gesetzter Titel</title>"
        "<link>http://k.example/3</link></item>"
        "<item><title>The region presents its hydrogen strategy in English</title>"
        "<link>http://k.example/4</link>"
        "<description>English text about Leuna.</description></item>"
        "<item><title>Sehr lang</title><link>http://k.example/5</link>"
        f"<description><![CDATA[{huge}]]></description></item></channel></rss>"
    ).encode()
    assert len(feed) > 1_000_000
    region.add_route("/bad.xml", Response(200, feed))
    folder = write_config(
        tmp_path, f"sources:\n  - {{id: k, name: K, url: '{region.url('/bad.xml')}'}}\n"
    )
    app = make_app(load_config(folder))
    (report,) = app.run_cycle().summary.reports
    assert report.new == 5 and report.error is None
    stories = app.storage.recent_stories(["k"], 10)
    assert len(stories) == 5  # nothing glued together
    titles = {s.members[0].item.title: s.members[0].item for s in stories}
    assert "Die Meldung hatte nur ein Datum als Titel." in titles
    assert "Ohne Titel, aber mit Text über Borna." in titles
    assert "Fett gesetzter Titel" in titles
    assert titles["Ohne Titel, aber mit Text über Borna."].districts == {"landkreis-leipzig"}
    assert titles["Sehr lang"].districts == {"burgenlandkreis"}
