"""Configuration: valid folders load; every mistake names file, line, key and a hint."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

from revier_feed.cli import main
from revier_feed.config import load_config, parse_duration, parse_size
from revier_feed.exceptions import ConfigError
from revier_feed.models import ItemRule, SourceKind

from .conftest import write_config

REPO_CONFIG = Path(__file__).parent.parent / "config"

FEED_SOURCE = """
    sources:
      - id: kreis
        name: Landkreis
        url: https://example.org/feed.xml
"""


def html_source(html: str, more: str = "") -> str:
    """sources.yaml with one html source ``h`` of the selectors ``html`` (a YAML mapping),
    and ``more`` sources after it."""
    return (
        "sources:\n  - {id: h, name: H, url: 'https://h.example/news', kind: html,\n"
        f"     html: {html}}}\n{more}"
    )


def issues_of(folder: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(folder)
    return [str(issue) for issue in info.value.issues]


def test_shipped_region_config_is_valid() -> None:
    config = load_config(REPO_CONFIG)
    ids = {s.id for s in config.sources}
    # The agency's own news and its innovation prize are the heart of the real configuration.
    assert "metropolregion-presse" in ids
    assert any(s.kind is SourceKind.HTML for s in config.sources)
    assert config.settings.timezone == "Europe/Berlin"


def test_minimal_config_gets_defaults(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, FEED_SOURCE))
    (source,) = config.sources
    assert source.kind is SourceKind.FEED
    assert source.interval == timedelta(hours=1)
    assert config.storage_url == f"sqlite:///{tmp_path / 'state' / 'store.sqlite3'}"
    assert config.output_dir == tmp_path / "out"
    assert config.tags == () and config.channels == () and config.partners == ()


def test_typo_in_key_names_file_line_and_suggestion(tmp_path: Path) -> None:
    folder = write_config(
        tmp_path,
        """
        sources:
          - id: kreis
            name: Landkreis
            url: https://example.org/feed.xml
            intervall: 2h
        """,
    )
    (issue,) = issues_of(folder)
    assert issue.startswith(f"{folder / 'sources.yaml'}:6: sources[0].intervall:")
    assert "unknown key 'intervall'" in issue
    assert "did you mean 'interval'?" in issue


def test_a_source_s_include_and_exclude_rules_are_checked_like_tag_rules(
    tmp_path: Path,
) -> None:
    folder = write_config(
        tmp_path,
        """
        sources:
          - id: kreis
            name: Landkreis
            url: https://example.org/feed.xml
            exclude:
              any: ["Stellen*", "re:(unclosed"]
              field: [title]
          - id: kammer
            name: Kammer
            url: https://example.org/kammer.xml
            include:
              none: [Ausschreibung]
          - id: leer
            name: Leer
            url: https://example.org/leer.xml
            include: {any: [Kreis], fields: []}
        """,
    )
    text = "\n".join(issues_of(folder))
    assert (
        "sources.yaml:17: sources[2].include.fields: name at least one of title, teaser, content"
        in text
    )
    assert "sources.yaml:7: sources[0].exclude.any[1]: 're:(unclosed' is not a valid" in text
    assert "sources.yaml:8: sources[0].exclude.field: unknown key 'field'" in text
    assert "did you mean 'fields'?" in text
    assert "sources.yaml:12: sources[1].include: a rule needs 'any' or 'all' terms" in text


def test_a_source_s_rules_load_as_written(tmp_path: Path) -> None:
    folder = write_config(
        tmp_path,
        """
        sources:
          - id: kreis
            name: Landkreis
            url: https://example.org/feed.xml
            include: {any: [Revier], fields: [title, title, teaser]}
            exclude: {all: ["Stellen*", Leipzig], none: [Studie]}
        """,
    )
    (source,) = load_config(folder).sources
    assert source.include == ItemRule(any=("Revier",), fields=("title", "teaser"))
    assert source.exclude == ItemRule(all=("Stellen*", "Leipzig"), none=("Studie",))


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    folder = write_config(
        tmp_path,
        """
        sources:
          - id: Kreis Leipzig
            name: Landkreis
            url: example.org/feed.xml
            interval: often
          - id: agentur
            kind: html
            name: Agentur
            url: https://example.org/news/
        """,
        settings="""
        fetch:
          max_concurrency: 0
        """,
    )
    issues = issues_of(folder)
    text = "\n".join(issues)
    assert len(issues) == 5, text
    assert "sources.yaml:3: sources[0].id: 'Kreis Leipzig' is not a valid id" in text
    assert "sources.yaml:5: sources[0].url: 'example.org/feed.xml' is not an absolute" in text
    assert "sources.yaml:6: sources[0].interval: 'often' is not a duration" in text
    assert "sources.yaml:7: sources[1]: an html source needs an 'html:' block" in text
    assert "settings.yaml:3: fetch.max_concurrency:" in text


def test_missing_required_key_points_at_its_entry(tmp_path: Path) -> None:
    folder = write_config(
        tmp_path,
        """
        sources:
          - id: kreis
            url: https://example.org/feed.xml
        """,
    )
    (issue,) = issues_of(folder)
    assert ":3: sources[0].name: required key 'name' is missing (hint: add 'name:')" in issue


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    folder = write_config(
        tmp_path,
        """
        sources:
          - id: kreis
            name: "Landkreis
            url: https://example.org/feed.xml
        """,
    )
    (issue,) = issues_of(folder)
    assert "sources.yaml:" in issue and "YAML syntax error" in issue
    line = int(issue.split("sources.yaml:")[1].split(":")[0])
    assert line in (4, 5, 6)


def test_an_unquoted_term_with_a_leading_star_is_explained(tmp_path: Path) -> None:
    folder = write_config(
        tmp_path,
        FEED_SOURCE,
        tags="""
        tags:
          - id: preise
            label: Preise
            any: [*preis]
        """,
    )
    (issue,) = issues_of(folder)
    assert "tags.yaml:5: YAML syntax error: found undefined alias" in issue, issue
    assert 'quote a value that starts with "*" ("*preis")' in issue


def test_duplicate_keys_and_ids_are_errors(tmp_path: Path) -> None:
    folder = write_config(
        tmp_path,
        """
        sources:
          - id: kreis
            name: Landkreis
            name: Landkreis Leipzig
            url: https://example.org/a.xml
        """,
    )
    assert any(":5: sources[0].name: key appears twice" in i for i in issues_of(folder))

    folder = write_config(
        tmp_path / "b",
        """
        sources:
          - {id: kreis, name: A, url: "https://example.org/a.xml"}
          - {id: kreis, name: B, url: "https://example.org/b.xml"}
        """,
    )
    assert any(":4: sources[1].id: duplicate id 'kreis'" in i for i in issues_of(folder))


def test_two_sources_reading_one_url_the_same_way_are_an_error(tmp_path: Path) -> None:
    """They stored every item twice, and each story was "also reported by" itself; `check`
    said nothing. An html page read with other selectors, or a disabled copy, is fine."""
    folder = write_config(
        tmp_path,
        """
        sources:
          - {id: kreis, name: A, url: "https://www.example.org/presse/rss.xml#neu"}
          - {id: stadt, name: B, url: "https://example.org/presse/rss.xml"}
          - {id: kopie, name: C, url: "HTTPS://WWW.Example.org:443/presse/rss.xml"}
          - {id: alt, name: D, url: "https://www.example.org/presse/rss.xml", enabled: false}
          - id: liste
            name: E
            kind: html
            url: https://www.example.org/presse/
            html: {item: li.news, title: h3}
          - id: termine
            name: F
            kind: html
            url: https://www.example.org/presse/
            html: {item: li.termin, title: h3}
        """,
    )
    assert issues_of(folder) == [
        f"{folder / 'sources.yaml'}:5: sources[2].url: source 'kopie' reads the same URL as "
        "'kreis' (line 3) (hint: remove one of them or set `enabled: false`; an html source "
        "may read the page again with other selectors)"
    ]


def test_one_url_in_two_spellings_is_the_same_url(tmp_path: Path) -> None:
    """An umlaut host and its IDNA form, umlauts in a path or query and their escapes in
    either case, are what a server receives alike (session 36's known limitation). An escaped
    "/" and http against https stay other URLs."""
    folder = write_config(
        tmp_path,
        """
        sources:
          - {id: zoerbig, name: A, url: "https://www.zörbig.example/über-uns/rss?t=Bürger"}
          - {id: idna, name: B, url: "https://www.xn--zrbig-jua.example/%c3%bcber-uns/rss?t=B%C3%BCrger"}
          - {id: tilde, name: C, url: "https://www.zörbig.example/%7Epresse/rss"}
          - {id: tilde2, name: D, url: "https://www.zörbig.example/~presse/rss"}
          - {id: slash, name: E, url: "https://www.zörbig.example/a%2Fb/rss"}
          - {id: slashes, name: F, url: "https://www.zörbig.example/a/b/rss"}
          - {id: http, name: G, url: "http://www.zörbig.example/über-uns/rss?t=Bürger"}
          - {id: schnee, name: H, url: "https://☃.example/feed"}
          - {id: wolke, name: I, url: "https://☁.example/feed"}
        """,
    )
    issues = issues_of(folder)
    assert [i.split(" (hint")[0] for i in issues] == [
        f"{folder / 'sources.yaml'}:4: sources[1].url: source 'idna' reads the same URL as "
        "'zoerbig' (line 3)",
        f"{folder / 'sources.yaml'}:6: sources[3].url: source 'tilde2' reads the same URL as "
        "'tilde' (line 5)",
    ]


def test_missing_files_and_wrong_shapes(tmp_path: Path) -> None:
    tmp_path.joinpath("settings.yaml").write_text("- just\n- a list\n", encoding="utf-8")
    issues = issues_of(tmp_path)
    assert any("sources.yaml: file is missing" in i for i in issues)
    assert any("settings.yaml:1: the file must hold a mapping" in i for i in issues)


def test_filters_must_name_known_sources_and_tags(tmp_path: Path) -> None:
    folder = write_config(
        tmp_path,
        FEED_SOURCE,
        tags="""
        tags:
          - id: studien
            label: Studien
            any: ["Studie*"]
        """,
        partners="""
        partners:
          - id: kammer
            name: Handwerkskammer
            addresses: [presse@kammer.example]
            filter:
              tags: [studie]
              sources: [kries]
        """,
    )
    text = "\n".join(issues_of(folder))
    assert "partners.yaml:7: partners[0].filter.tags[0]: unknown tag 'studie'" in text
    assert "did you mean 'studien'?" in text
    assert "partners.yaml:8: partners[0].filter.sources[0]: unknown source 'kries'" in text


def with_partner_filter(folder: Path, filter_line: str) -> Path:
    """A configuration whose one partner filters by ``filter_line`` ("tags: [studien]")."""
    partners = f"""
        partners:
          - id: kammer
            name: Handwerkskammer
            addresses: [presse@kammer.example]
            filter:
              {filter_line}
        """
    return write_config(folder, FEED_SOURCE, partners=partners)


def test_a_missing_tags_file_is_named_as_the_cause_of_unknown_tags(tmp_path: Path) -> None:
    """Moved away, tags.yaml left only "unknown tag" for every tag a filter named."""
    folder = with_partner_filter(tmp_path, "tags: [studien]")
    assert not (folder / "tags.yaml").exists()
    (issue,) = issues_of(folder)
    assert "partners[0].filter.tags[0]: unknown tag 'studien'" in issue
    assert f"there is no tags.yaml in {folder}, where topics are defined" in issue
    # A tags.yaml with an error of its own is reported alone: the tags it names are not
    # unknown, the file is unread.
    (folder / "tags.yaml").write_text("tags:\n  - id: studien\n    feilds: [title]\n", "utf-8")
    issues = issues_of(folder)
    assert any("tags.yaml:3: tags[0].feilds: unknown key" in i for i in issues), issues
    assert all("/tags.yaml:" in i for i in issues), issues


def test_a_districts_file_with_errors_makes_no_district_unknown(tmp_path: Path) -> None:
    folder = with_partner_filter(tmp_path, "districts: [vogtland]")
    (folder / "districts.yaml").write_text(
        "districts:\n  - id: vogtland\n    name: Vogtland\n    plaecs: [Plauen]\n", "utf-8"
    )
    (issue,) = issues_of(folder)
    assert "districts.yaml:4: districts[0].plaecs: unknown key" in issue
    # Read, the file defines the district; without it, the known ones are named.
    (folder / "districts.yaml").unlink()
    (issue,) = issues_of(folder)
    assert "partners[0].filter.districts[0]: unknown district 'vogtland'" in issue
    assert "(hint: known: altenburger-land, " in issue


def test_a_login_is_never_sent_to_another_host_unencrypted(tmp_path: Path) -> None:
    """`security: none` is for a relay on this host; with a login to a relay elsewhere it
    passed `check`, and smtplib would have sent the password in clear."""
    login = "  username_env: SMTP_USER\n  password_env: SMTP_PASSWORD\n"
    remote = f"smtp:\n  host: smtp.example.org\n  security: none\n{login}"
    (issue,) = issues_of(write_config(tmp_path / "remote", FEED_SOURCE, settings=remote))
    assert "settings.yaml:1: smtp: " in issue
    assert "security: none would send the login to smtp.example.org unencrypted" in issue
    # A relay on this host, or one elsewhere without a login, is fine.
    local = f"smtp:\n  host: 127.0.0.1\n  security: none\n{login}"
    load_config(write_config(tmp_path / "local", FEED_SOURCE, settings=local))
    open_relay = "smtp:\n  host: relay.intern.example\n  security: none\n"
    load_config(write_config(tmp_path / "relay", FEED_SOURCE, settings=open_relay))


def test_bad_email_address(tmp_path: Path) -> None:
    folder = write_config(
        tmp_path,
        FEED_SOURCE,
        partners="""
        partners:
          - id: kammer
            name: Kammer
            addresses: ["presse at kammer"]
        """,
    )
    (issue,) = issues_of(folder)
    assert "partners.yaml:5: partners[0].addresses" in issue
    assert "'presse at kammer' is not an email address" in issue


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("15m", 900), ("2h", 7200), ("1d", 86400), ("1h30m", 5400), (90, 90)],
)
def test_durations(text: str | int, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "soon", "5 minutes", "-5m", 0, True])
def test_bad_durations(text: str | int) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize(("text", "size"), [("10MB", 10_000_000), ("512KiB", 524288), (42, 42)])
def test_sizes(text: str | int, size: int) -> None:
    assert parse_size(text) == size


def test_check_command_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(REPO_CONFIG), "check"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ok: ")
    config = load_config(REPO_CONFIG)
    assert f"{len(config.sources)} sources" in out
    assert f"{len(config.tags)} tags, {len(config.districts)} districts, " in out
    assert f"{len(config.channels)} channels, {len(config.partners)} partners" in out


def test_check_command_reports_typo_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_config(
        tmp_path,
        """
        sources:
          - id: kreis
            name: Landkreis
            ur: https://example.org/feed.xml
        """,
    )
    assert main(["--config", str(folder), "check"]) == 2
    err = capsys.readouterr().err
    assert f"{folder / 'sources.yaml'}:5: sources[0].ur: unknown key 'ur'" in err
    assert f"{folder / 'sources.yaml'}:3: sources[0].url: required key 'url' is missing" in err
    # Nothing was created: a bad configuration writes no store and no output.
    assert not (folder / "state").exists() and not (folder / "out").exists()


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ("h2::text", "'h2::text' is not a CSS selector revier-feed can use"),
        ("div[", "'div[' is not a CSS selector"),
        ("a@1href", "'1href' after '@' is not an attribute name"),
    ],
)
def test_bad_selectors_are_config_errors(tmp_path: Path, selector: str, message: str) -> None:
    folder = write_config(
        tmp_path,
        f"""
        sources:
          - id: agentur
            name: Agentur
            kind: html
            url: https://example.org/news/
            html:
              item: article
              title: "{selector}"
        """,
    )
    (issue,) = issues_of(folder)
    assert ":9: sources[0].html.title:" in issue and message in issue


def test_an_id_selector_yaml_reads_as_a_comment_is_an_error_with_the_quoted_fix(
    tmp_path: Path,
) -> None:
    """Unquoted, "date: #datum .x" is an empty date selector: it passed `check`, and the
    items had no dates without a word. A comment after an empty key is one."""
    folder = write_config(
        tmp_path,
        """
        sources:
          - id: agentur
            name: Agentur
            kind: html
            url: https://example.org/news/
            html:
              item: article
              title: h2  # the headline
              date: #datum .x
              next: #pager a@href
              teaser:  # none yet
        """,
    )
    assert issues_of(folder) == [
        f"{folder / 'sources.yaml'}:10: sources[0].html.date: empty: YAML reads what follows "
        """'#' as a comment (hint: quote a selector: date: "#datum .x"; a comment takes a """
        "blank after its '#')",
        f"{folder / 'sources.yaml'}:11: sources[0].html.next: empty: YAML reads what follows "
        """'#' as a comment (hint: quote a selector: next: "#pager a@href"; a comment takes a """
        "blank after its '#')",
    ]
    # Only a selector's key: an html block left for later is no selector (a review found
    # such configurations refused).
    later = write_config(
        tmp_path / "later",
        """
        sources:
          - id: kreis
            name: Kreis
            url: https://example.org/feed.xml
            html: #later, when the feed breaks
        """,
    )
    assert load_config(later).sources[0].selectors is None


def test_polling_more_often_than_a_minute_is_refused(tmp_path: Path) -> None:
    folder = write_config(tmp_path, FEED_SOURCE + "        interval: 20s\n")
    (issue,) = issues_of(folder)
    assert "sources[0].interval: 20s is too often to poll a website" in issue


def test_values_that_would_fail_at_run_time_are_rejected(tmp_path: Path) -> None:
    folder = write_config(
        tmp_path,
        """
        sources:
          - id: kreis
            name: Kreis
            url: https://example.org/feed.xml
            interval: 1:30
        """,
        settings="""
        fetch:
          max_body_size: "0"
          user_agent: "bot {name}"
        """,
    )
    text = "\n".join(issues_of(folder))
    assert "sources.yaml:6: sources[0].interval: YAML reads 1:30 as a base-60 number" in text
    assert "settings.yaml:3: fetch.max_body_size: '0' is not a size" in text
    assert "settings.yaml:4: fetch.user_agent: only {version} and {contact_url}" in text


def test_yaml_tags_and_complex_keys_are_reported_not_crashed(tmp_path: Path) -> None:
    folder = write_config(
        tmp_path,
        """
        sources:
          - id: kreis
            name: Kreis
            url: !ENV FEED_URL
          - ? [a, b]
            : 1
        """,
    )
    text = "\n".join(issues_of(folder))
    assert "sources.yaml:5: sources[0].url: unsupported YAML value" in text
    assert "sources.yaml:6: sources[1]: a key must be a plain name" in text


def test_what_passed_check_and_then_broke_the_worker_is_a_config_error(tmp_path: Path) -> None:
    # Found by a probe (session 13): a control character in a label passed `check` and then
    # stopped every publish; odd addresses were mailed to someone else; huge durations,
    # a time zone naming a folder and a subject 100 MB wide gave tracebacks or passed.
    folder = write_config(
        tmp_path / "labels",
        FEED_SOURCE,
        settings="""
        site:
          title: "Revier\\x01News"
        """,
        tags="""
        tags:
          - {id: messe, label: "Messe\\ufffe", any: [Messe]}
          - {id: kreis, label: "Kreis \u202eLeipzig", any: [Kreis]}
        """,
    )
    text = "\n".join(issues_of(folder))
    assert "settings.yaml:3: site.title: a control character (U+0001)" in text
    assert "tags.yaml:3: tags[0].label: a control character (U+FFFE)" in text
    # A bidi override (a copied page title may carry one) was published with the label.
    assert "tags.yaml:4: tags[1].label: a bidi control (U+202E)" in text

    folder = write_config(
        tmp_path / "values",
        FEED_SOURCE,
        settings="""
        timezone: Europe
        fetch:
          default_interval: 9999999999d
          timeout: 9999999999999999999999999999999999999999w
          max_body_size: "99999999999999999999999999999999999999999999GB"
        digest:
          subject: "{meldungen:>99999999}"
        """,
    )
    text = "\n".join(issues_of(folder))
    assert "settings.yaml:2: timezone: unknown time zone 'Europe'" in text
    assert "settings.yaml:4: fetch.default_interval: " in text and "100 years" in text
    assert "settings.yaml:5: fetch.timeout: " in text and "100 years" in text
    assert "settings.yaml:6: fetch.max_body_size: " in text and "larger than any size" in text
    assert "settings.yaml:8: digest.subject: " in text and "(not {meldungen:>99999999})" in text
    for address in ("a:b@x.example", "a(b)@x.example", "a@[127.0.0.1]", "a@x.example."):
        partners = f"partners:\n  - {{id: k, name: K, addresses: ['{address}']}}\n"
        (folder / "partners.yaml").write_text(partners, encoding="utf-8")
        assert any(f"{address!r} is not an email address" in i for i in issues_of(folder))
    (folder / "partners.yaml").unlink()
    (folder / "settings.yaml").write_text('digest:\n  subject: "{meldungen.__class__}"\n')
    assert any("(not {meldungen.__class__})" in issue for issue in issues_of(folder))


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        ("sources: &a [*a]\n", "makes a value that contains itself"),
        (
            "x0: &a0 [a, a, a, a, a, a, a, a, a, a]\n"
            + "".join(f"x{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]\n" for n in range(1, 9))
            + "sources: []\n",
            "makes more than 1,000,000 values",
        ),
        ("sources:\n  - id: k\x07\n", "a character YAML does not allow in a file: U+0007"),
        # A recursive reading of each value ran out of stack (RecursionError) at ~330.
        ("sources: " + "[" * 400 + "a" + "]" * 400 + "\n", "values nest more than 32 deep"),
    ],
)
def test_yaml_that_would_exhaust_the_loader_is_a_config_error(
    tmp_path: Path, sources: str, message: str
) -> None:
    folder = write_config(tmp_path, "")
    (folder / "sources.yaml").write_text(sources, encoding="utf-8")
    text = "\n".join(issues_of(folder))
    assert "sources.yaml" in text and message in text


def test_a_configuration_file_that_is_no_regular_file_is_a_config_error(tmp_path: Path) -> None:
    # A FIFO blocked the reading (a worker's reload with it); a link to itself was ignored.
    folder = write_config(tmp_path, FEED_SOURCE)
    os.mkfifo(folder / "tags.yaml")
    assert any("tags.yaml: is not a regular file" in issue for issue in issues_of(folder))
    (folder / "tags.yaml").unlink()
    (folder / "tags.yaml").symlink_to("tags.yaml")
    assert any("tags.yaml: is a link to nothing (or to itself)" in i for i in issues_of(folder))


def test_values_that_passed_the_check_and_failed_later_are_config_errors(tmp_path: Path) -> None:
    """Each of these passed ``check`` and then broke a command, or the worker's reload, or
    went into a file name or a mail header with a line break."""
    folder = write_config(
        tmp_path,
        FEED_SOURCE,
        settings="""
        fetch:
          user_agent: "rf/{version.__class__}"
          timeout: 0.0000001s
        worker:
          tick: 0.0000001
        digest:
          subject: "{title:d} KW {week}"
          unsubscribe_mailto: "x@example.org\\n"
        """,
        tags=f"""
        tags:
          - {{id: "studien\\n", label: S, any: [Studie]}}
          - {{id: {"t" * 65}, label: T, any: [Test]}}
          - {{id: a, label: A, any: ["re:a{{4294967296}}", "re:", "re:x*"]}}
          - {{id: b, label: B, any: ["Bahn* Linie", "re:\\\\bstudie\\\\w*", "Schüler*innen"]}}
        """,
        partners="""
        partners:
          - {id: p, name: P, addresses: ["p@example.org\\n"]}
        """,
    )
    text = "\n".join(issues_of(folder))
    assert "settings.yaml:3: fetch.user_agent: " in text and "is no plain field" in text
    assert "settings.yaml:4: fetch.timeout: " in text and "shorter than any duration" in text
    assert "settings.yaml:6: worker.tick: " in text and "shorter than any duration" in text
    assert "settings.yaml:8: digest.subject: the subject cannot be filled in" in text
    assert "settings.yaml:9: digest.unsubscribe_mailto: " in text
    assert "tags.yaml:3: tags[0].id: 'studien\\n' is not a valid id" in text
    assert "tags.yaml:4: tags[1].id: an id of 65 characters is too long" in text
    assert "tags[2].any[0]: " in text and "not a valid regular expression" in text
    assert "tags[2].any[1]: 're:' matches an empty text" in text
    assert "tags[2].any[2]: 're:x*' matches an empty text" in text
    assert "tags[3].any[0]: 'Bahn* Linie' has a '*' beside a blank" in text
    assert "tags[3].any[1]" not in text and "tags[3].any[2]" not in text
    assert "partners.yaml:3: partners[0].addresses: 'p@example.org\\n' is not an" in text


def test_empty_titles_paths_and_selectors_and_odd_languages_are_config_errors(
    tmp_path: Path,
) -> None:
    """An empty title stopped every publish, an empty output folder published into the
    configuration folder, an empty selector took the whole item; a language went into
    every feed as it was."""
    folder = write_config(
        tmp_path,
        html_source("""{item: li, title: "", link: 'a[title="x@y"]@href'}"""),
        settings="""
        site: {title: " ", language: 'de"><b>'}
        storage: {path: ""}
        output: {dir: ""}
        """,
        channels="""
        channels:
          - {id: presse, title: "", language: klingon zzz}
        """,
    )
    text = "\n".join(issues_of(folder))
    assert "settings.yaml:2: site.title: must not be empty" in text
    assert "settings.yaml:2: site.language: " in text and "is not a language tag" in text
    assert "settings.yaml:3: storage.path: must not be empty" in text
    assert "settings.yaml:4: output.dir: must not be empty" in text
    assert "channels.yaml:3: channels[0].title: must not be empty" in text
    assert "channels[0].language: 'klingon zzz' is not a language tag" in text
    # Shown as text everywhere; an RSS reader that renders text as HTML would run it.
    (folder / "tags.yaml").write_text(
        "tags:\n  - {id: t, label: '<img src=x onerror=alert(1)>Studien', any: [Studie]}\n"
        "  - {id: u, label: 'Forschung & Entwicklung <> Praxis', any: [Forschung]}\n",
        encoding="utf-8",
    )
    text = "\n".join(issues_of(folder))
    assert "tags.yaml:2: tags[0].label: " in text and "looks like HTML markup" in text
    assert "tags[1]" not in text  # "&" and a lone "<" are text
    assert "sources[0].html.title: an empty selector" in text
    assert "html.link" not in text  # an "@" inside the selector is the selector's


def test_a_ca_file_that_cannot_serve_is_reported_when_loading(
    tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    """A missing or wrong CA bundle failed only when the week's digests went out."""
    (tmp_path / "not-a-cert.pem").write_text("kein Zertifikat\n", encoding="utf-8")
    for value, problem in (
        ("fehlt.pem", "no such file"),
        ("not-a-cert.pem", "holds no PEM certificate"),
        (".", "a folder, not a file"),
    ):
        folder = write_config(
            tmp_path / value.replace(".", "_"),
            html_source("{item: li, title: h2}"),
            settings=f"smtp:\n  host: mail.example\n  ca_file: ../{value}\n",
        )
        (issue,) = issues_of(folder)
        assert "settings.yaml:3: smtp.ca_file: " in issue, issue
        assert problem in issue, issue
    cert, _ = certificate
    folder = write_config(
        tmp_path / "ok",
        html_source("{item: li, title: h2}"),
        settings=f"smtp:\n  ca_file: {cert}\n",
    )
    assert load_config(folder).settings.smtp.ca_file == str(cert)


def test_an_output_folder_or_store_of_the_wrong_kind_is_reported_when_loading(
    tmp_path: Path,
) -> None:
    """Both passed `check`; the first publish or cycle failed."""
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    (tmp_path / "a-folder").mkdir()
    folder = write_config(
        tmp_path / "c",
        html_source("{item: li, title: h2}"),
        settings="output:\n  dir: ../a-file\nstorage:\n  path: ../a-folder\n",
    )
    issues = issues_of(folder)
    assert any(
        f"settings.yaml:2: output.dir: '{tmp_path / 'a-file'}' is a file" in i for i in issues
    )
    assert any(
        f"settings.yaml:4: storage.path: '{tmp_path / 'a-folder'}' is a folder" in i
        for i in issues
    ), issues
    inside = write_config(
        tmp_path / "d",
        html_source("{item: li, title: h2}"),
        settings="output:\n  dir: ../a-file/sub\n",
    )
    assert any(f"is inside '{tmp_path / 'a-file'}', a file" in i for i in issues_of(inside))


def test_messages_point_at_what_is_wrong(tmp_path: Path) -> None:
    """Hints that sent the admin the wrong way: a time of day read as a number, a tab, a
    file in another encoding (now with its line), a URL where a host belongs."""
    folder = write_config(
        tmp_path,
        html_source(
            '{item: li, title: h2, follow: true, allow_hosts: ["http://cdn.example/", ok.example]}'
        ),
        settings="worker:\n  retention_at: 3:30\n",
    )
    text = "\n".join(issues_of(folder))
    assert "settings.yaml:2: worker.retention_at: YAML reads 3:30 as a base-60 number" in text
    assert 'quote a time of day ("03:30")' in text
    assert "sources[0].html.allow_hosts[0]: 'http://cdn.example/' is not a host name" in text
    assert "allow_hosts[1]" not in text
    # Links' hosts are compared lower-case: "CDN.Example.org" was accepted and never matched.
    folder_ok = write_config(
        tmp_path / "ok",
        html_source("{item: li, title: h2, follow: true, allow_hosts: [CDN.Example.org]}"),
    )
    (source,) = load_config(folder_ok).sources
    assert source.allow_hosts == ("cdn.example.org",)

    def allowed(name: str, hosts: str) -> tuple[str, ...] | str:
        """The source's allow_hosts as loaded, or the problems with them."""
        folder = write_config(
            tmp_path / name,
            html_source("{item: li, title: h2, follow: true, allow_hosts: [" + hosts + "]}"),
        )
        try:
            (loaded,) = load_config(folder).sources
        except ConfigError as e:
            return "\n".join(str(issue) for issue in e.issues)
        return loaded.allow_hosts

    # Another port is another site; http's and https's usual ones are the host's own.
    text = allowed("ports", "Intern.Example:8080, www.example:443, cdn.example:0, a.example:70000")
    assert "allow_hosts[2]: 'cdn.example:0' is not a host name" in text
    assert "allow_hosts[3]: 'a.example:70000' is not a host name" in text
    assert "allow_hosts[0]" not in text and "allow_hosts[1]" not in text
    assert allowed("ports_ok", "Intern.Example:8080, www.example:443") == (
        "intern.example:8080",
        "www.example",
    )
    # As the fetcher writes hosts with umlauts (IDNA), so that they match.
    assert "allow_hosts[1]: 'ab..c' is not a host name" in allowed("idn", "Müller.de, 'ab..c'")
    assert allowed("idn_ok", "Müller.de") == ("xn--mller-kva.de",)
    text = allowed("v6", "'[2001:DB8:0::1]', '[::1]:8080', '[::1', '[::1]x'")
    assert "allow_hosts[2]: '[::1' is not an IPv6 address" in text
    assert "allow_hosts[3]: '[::1]x' is not an IPv6 address" in text
    assert "allow_hosts[0]" not in text and "allow_hosts[1]" not in text
    assert allowed("v6_ok", "'[2001:DB8:0::1]'") == ("[2001:db8::1]",)
    (folder / "settings.yaml").write_text(
        "fetch:\n  contact_url: https://example.org/" + "x" * 270 + "\n"
        '  user_agent: "{contact_url} {contact_url}"\n',
        encoding="utf-8",
    )
    text = "\n".join(issues_of(folder))
    assert "settings.yaml:1: fetch: the user agent with the contact_url filled in has" in text
    (folder / "settings.yaml").write_text("site:\n\ttitle: X\n", encoding="utf-8")
    text = "\n".join(issues_of(folder))
    assert "settings.yaml:2: YAML syntax error" in text and "YAML does not allow tabs" in text
    (folder / "settings.yaml").write_bytes(
        "site:\n  title: Revier\n  description: Gr\u00fc\u00dfe\n".encode("latin-1")
    )
    assert any("settings.yaml:3: not UTF-8 text" in issue for issue in issues_of(folder))


def test_a_value_yaml_cannot_read_does_not_hide_the_files_other_problems(
    tmp_path: Path,
) -> None:
    folder = write_config(
        tmp_path,
        """
        sources:
          - id: no
            name: H
            url: https://h.example/feed.xml
            interval: 1:30
            intervall: 2h
        """,
    )
    issues = issues_of(folder)
    text = "\n".join(issues)
    assert "sources.yaml:6: sources[0].interval: YAML reads 1:30 as a base-60 number" in text
    assert "sources.yaml:3: sources[0].id: " in text and "quote the text" in text
    assert "sources.yaml:7: sources[0].intervall: unknown key 'intervall'" in text
    assert len(issues) == 3  # the unreadable interval is not reported again by validation


def test_a_list_where_keys_belong_and_a_deprecated_selector_are_said_plainly(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    folder = write_config(
        tmp_path,
        html_source(
            """{item: 'li:contains("Presse")', title: h2}""",
            "  - {id: g, name: G, url: 'https://h.example/', kind: html, html: [li, h2]}\n",
        ),
    )
    text = "\n".join(issues_of(folder))
    assert "sources[0].html.item: " in text and "':-soup-contains' should be used" in text
    assert "sources[1].html: expected keys with values here (key: value)" in text
    assert "instance of" not in text  # pydantic's words for it
    assert "FutureWarning" not in capfd.readouterr().err


def test_a_configuration_file_that_is_a_folder_is_a_config_error(tmp_path: Path) -> None:
    folder = write_config(tmp_path, FEED_SOURCE)
    (folder / "settings.yaml").unlink()
    (folder / "settings.yaml").mkdir()
    assert any(
        "settings.yaml" in issue and "is not a regular file" in issue
        for issue in issues_of(folder)
    )


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://k.example/a b", "has a blank, quote or angle bracket"),
        ("https://k.example/<a>", "has a blank, quote or angle bracket"),
        ("http://k:99999/", "is not an absolute http(s) URL"),
        ("http://[::1", "is not an absolute http(s) URL"),
        ("k.example/feed.xml", "is not an absolute http(s) URL"),
        # Published with every item of the source, and printed: the password never shows.
        ("https://user:geheim@k.example/feed.xml", "has a user name or password in it"),
        ("ftp://user:geheim@k.example/feed.xml", "has a user name or password in it"),
        # No login to a browser either (port "ge"), but the message must not show it.
        ("https://user:ge/heim@k.example/feed.xml", "is not an absolute http(s) URL"),
    ],
)
def test_urls_that_no_request_can_carry_are_config_errors(
    tmp_path: Path, url: str, problem: str
) -> None:
    # They passed `check`; the source then failed on every fetch, or the site's links broke.
    folder = write_config(tmp_path, f"sources:\n  - {{id: k, name: K, url: '{url}'}}\n")
    (issue,) = issues_of(folder)
    assert "sources.yaml:2: sources[0].url: " in issue
    assert problem in issue
    assert "geheim" not in issue and "heim" not in issue


def test_cross_file_problems_are_reported_with_other_problems(tmp_path: Path) -> None:
    folder = write_config(
        tmp_path,
        FEED_SOURCE,
        settings="""
        fetch:
          timeout: soon
        """,
        channels="""
        channels:
          - id: kanal
            title: Kanal
            filter: {sources: [kries]}
        """,
    )
    text = "\n".join(issues_of(folder))
    assert "timeout: 'soon' is not a duration" in text
    assert "unknown source 'kries'" in text


def test_adaptive_interval_bounds_default_from_settings_and_widen_to_the_interval(
    tmp_path: Path,
) -> None:
    folder = write_config(
        tmp_path,
        """
        sources:
          - id: kreis
            name: Kreis
            url: https://example.org/feed.xml
          - id: stadt
            name: Stadt
            url: https://example.org/stadt.xml
            interval: 2d
          - id: messe
            name: Messe
            url: https://example.org/messe.xml
            interval: 30m
            min_interval: 30m
            max_interval: 30m
        """,
        settings="""
        fetch:
          min_interval: 15m
          max_interval: 12h
        """,
    )
    kreis, stadt, messe = load_config(folder).sources
    assert (kreis.min_interval, kreis.max_interval) == (timedelta(minutes=15), timedelta(hours=12))
    assert (stadt.min_interval, stadt.max_interval) == (timedelta(minutes=15), timedelta(days=2))
    assert messe.min_interval == messe.max_interval == messe.interval == timedelta(minutes=30)


def test_contradictory_interval_bounds_are_reported_with_their_lines(tmp_path: Path) -> None:
    folder = write_config(
        tmp_path,
        """
        sources:
          - id: kreis
            name: Kreis
            url: https://example.org/feed.xml
            min_interval: 2h
            max_interval: 1h
          - id: stadt
            name: Stadt
            url: https://example.org/stadt.xml
            interval: 10m
            min_interval: 30m
        """,
        settings="""
        fetch:
          min_interval: 1d
          max_interval: 1h
        """,
    )
    text = "\n".join(issues_of(folder))
    # On the line of the bound that contradicts (it was the source's "- id:" line).
    assert (
        "sources.yaml:7: sources[0].max_interval: min_interval (2h) is longer than "
        "max_interval (1h)" in text
    )
    assert (
        "sources.yaml:12: sources[1].min_interval: interval (10m) is shorter than "
        "min_interval (30m)" in text
    )
    assert "settings.yaml:2: fetch: min_interval (1d) is longer than max_interval (1h)" in text


@pytest.mark.parametrize(
    ("value", "expected"), [("auto", "auto"), ("0", 0), ("3", 3), (None, "auto")]
)
def test_worker_processes_is_a_number_or_auto(
    tmp_path: Path, value: str | None, expected: int | str
) -> None:
    settings = "" if value is None else f"worker:\n  processes: {value}\n"
    config = load_config(write_config(tmp_path, FEED_SOURCE, settings=settings))
    assert config.settings.worker.processes == expected


def test_a_wrong_worker_processes_value_names_its_line(tmp_path: Path) -> None:
    folder = write_config(tmp_path, FEED_SOURCE, settings="worker:\n  processes: many\n")
    (issue,) = issues_of(folder)
    assert "settings.yaml:2: worker.processes" in issue


@pytest.mark.parametrize(
    "url", ["postgresql://db.example.org/revier", "sqlite:///var/store.sqlite3?mode=ro"]
)
def test_a_store_url_that_is_no_sqlite_file_names_its_line(tmp_path: Path, url: str) -> None:
    settings = f"output:\n  dir: out\nstorage:\n  url: {url}\n"
    (issue,) = issues_of(write_config(tmp_path, FEED_SOURCE, settings=settings))
    assert "settings.yaml:4: storage.url" in issue
    assert "revier-feed stores in one SQLite file; write sqlite:///PATH" in issue


def test_a_store_url_names_the_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'elsewhere.sqlite3'}"
    settings = f"output:\n  dir: out\nstorage:\n  url: {url}\n"
    config = load_config(write_config(tmp_path, FEED_SOURCE, settings=settings))
    assert config.storage_url == url


def test_a_user_agent_must_say_how_to_reach_whoever_runs_it(tmp_path: Path) -> None:
    """A browser's string hid who was fetching from every site; robots.txt rules for
    revier-feed still applied, but no operator could tell whom to ask."""
    for agent, refused in [
        ("Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0", True),
        ("revier-feed/{version}", True),
        ("revier-feed/{version} (+{contact_url})", False),
        ("Kreisbot/1.0 (+https://kreis.example/bot)", False),
        ("Kreisbot/1.0 (presse@kreis.example)", False),
    ]:
        folder = write_config(
            tmp_path / str(len(agent)),
            'sources:\n  - {id: k, name: K, url: "https://example.org/feed.xml"}\n',
            f'fetch:\n  user_agent: "{agent}"\n',
        )
        if refused:
            text = "\n".join(issues_of(folder))
            assert "settings.yaml:2: fetch.user_agent: the user agent must tell" in text, text
        else:
            assert load_config(folder).settings.fetch.user_agent == agent


def test_private_hosts_are_names_addresses_or_networks(tmp_path: Path) -> None:
    source = 'sources:\n  - {id: k, name: K, url: "https://example.org/feed.xml"}\n'
    good = write_config(
        tmp_path / "good",
        source,
        "fetch:\n  private_hosts: [Intranet.Kreis.example, 10.1.2.3, 192.168.0.0/16, '::1']\n",
    )
    assert load_config(good).fetch_settings("1.0").private_hosts == (
        "intranet.kreis.example",
        "10.1.2.3/32",
        "192.168.0.0/16",
        "::1/128",
    )
    bad = write_config(
        tmp_path / "bad", source, "fetch:\n  private_hosts:\n    - http://intranet/\n"
    )
    text = "\n".join(issues_of(bad))
    assert "settings.yaml:2: fetch.private_hosts: 'http://intranet/' is neither a host" in text


def test_a_site_icon_that_cannot_serve_is_reported_when_loading(tmp_path: Path) -> None:
    (tmp_path / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>', "utf-8")
    (tmp_path / "notiz.txt").write_text("kein Bild", "utf-8")
    (tmp_path / "gross.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(1_000_001))
    for value, problem in (
        ("fehlt.png", "no such file"),
        ("logo.svg", "not a PNG, GIF, JPEG, ICO or WebP picture but an SVG"),
        ("notiz.txt", "not a PNG, GIF, JPEG, ICO or WebP picture"),
        ("gross.png", "larger than 1 MB"),
        (".", "a folder, not a file"),
    ):
        folder = write_config(
            tmp_path / value.replace(".", "_"),
            html_source("{item: li, title: h2}"),
            settings=f"site:\n  title: Kreis\n  icon: ../{value}\n",
        )
        (issue,) = issues_of(folder)
        assert "settings.yaml:3: site.icon: " in issue, issue
        assert problem in issue, issue
    gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
    (tmp_path / "kreis.gif").write_bytes(gif)
    folder = write_config(
        tmp_path / "ok",
        html_source("{item: li, title: h2}"),
        settings="site:\n  icon: ../kreis.gif\n",
    )
    assert load_config(folder).icon == (gif, "gif")
