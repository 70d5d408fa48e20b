"""robots.txt rules as RFC 9309 reads them (the fetcher's use of them: test_fetch.py)."""

from __future__ import annotations

import pytest

from revier_feed.fetch.robots import RobotsRules

SITE = "https://www.kreis.example"


def allowed(body: str, path: str, agent: str = "revier-feed") -> bool:
    return RobotsRules(body, agent).allows(SITE + path)


@pytest.mark.parametrize(
    ("rules", "path", "expected"),
    [
        # The longest match decides, whatever the order (urllib took the first).
        ("Disallow: /news\nAllow: /news/feed", "/news/feed", True),
        ("Disallow: /news\nAllow: /news/feed", "/news/other", False),
        ("Allow: /news/feed\nDisallow: /news/feed.xml", "/news/feed.xml", False),
        # A tie goes to Allow.
        ("Disallow: /a\nAllow: /a", "/a", True),
        # Wildcards and the end anchor.
        ("Disallow: /*.xml$", "/presse/feed.xml", False),
        ("Disallow: /*.xml$", "/presse/feed.xml?seite=2", True),
        ("Disallow: /feed$", "/feed", False),
        ("Disallow: /feed$", "/feed/", True),
        ("Disallow: /news/\nAllow: /news/*.xml", "/news/2021/feed.xml", True),
        ("Disallow: /news/\nAllow: /news/*.xml", "/news/2021/index.html", False),
        ("Disallow: /*/intern/*", "/kreis/intern/a", False),
        ("Disallow: /*/intern/*", "/kreis/extern/a", True),
        ("Disallow: /**?drucken=1", "/presse/a?drucken=1", False),
        # Queries count; an empty Disallow is no rule.
        ("Disallow: /suche?", "/suche?q=kohle", False),
        ("Disallow:", "/anything", True),
        # One spelling of a path: escapes of unreserved characters, case of escapes,
        # non-ASCII as UTF-8.
        ("Disallow: /~joe", "/%7Ejoe/feed", False),
        ("Disallow: /%7ejoe", "/~joe/feed", False),
        ("Disallow: /%c3%bc", "/%C3%BCbersicht", False),
        ("Disallow: /übersicht", "/%C3%BCbersicht", False),
        # robots.txt itself is always allowed.
        ("Disallow: /", "/robots.txt", True),
        # "*" and "$" as characters are written %2A and %24 in a rule (RFC 9309 2.2.3).
        ("Disallow: /datei-mit-%2A.html", "/datei-mit-*.html", False),
        ("Disallow: /preis-%24", "/preis-$", False),
        # A "$" before the end is the character (it never matched: the path has %24).
        ("Disallow: /a$b", "/a$b", False),
        ("Disallow: /a$b", "/ab", True),
        ("Disallow: /preis-%24", "/preis-", True),
        # The longest rule as written wins, repeated "*" counted.
        ("Allow: /a**\nDisallow: /a/b", "/a/bc", True),
    ],
)
def test_the_most_specific_rule_decides(rules: str, path: str, expected: bool) -> None:
    assert allowed("User-agent: *\n" + rules, path) is expected


def test_groups_are_found_by_product_token() -> None:
    # A token that is only part of ours is another crawler (urllib matched substrings).
    for other in ("revier", "feed", "r", "revier-feedbot"):
        assert allowed(f"User-agent: {other}\nDisallow: /", "/feed.xml"), other
    # Ours in any case, with a version after it; then "*" does not apply at all.
    body = "User-agent: *\nDisallow: /\n\nUser-agent: Revier-Feed/1.0\nDisallow: /intern\n"
    assert allowed(body, "/feed.xml") and not allowed(body, "/intern/x")
    assert not allowed(body, "/feed.xml", agent="otherbot")


def test_several_groups_for_one_agent_are_one_group() -> None:
    body = (
        "User-agent: revier-feed\nDisallow: /g\n\n"
        "User-agent: someone-else\nDisallow: /\n\n"
        "User-agent: revier-feed\nDisallow: /f\n"
    )
    assert not allowed(body, "/g/1") and not allowed(body, "/f/1") and allowed(body, "/h")


def test_a_group_names_several_agents_and_ends_at_the_next_user_agent_after_rules() -> None:
    body = (
        "User-agent: a\nUser-agent: revier-feed\nDisallow: /eins\nUser-agent: b\nDisallow: /zwei\n"
    )
    assert not allowed(body, "/eins") and allowed(body, "/zwei")


def test_line_ends_comments_byte_order_mark_and_unknown_records() -> None:
    body = (
        "\ufeffUSER-AGENT: * # alle\r\nSitemap: /sitemap.xml\rnoindex: /x\r\n"
        "disallow:/intern # nicht\n"
    )
    assert not allowed(body, "/intern/a") and allowed(body, "/x")


@pytest.mark.parametrize("damaged", [b"\xef\xbb", b"\xef", b"\xef\xbb\xbf\xef\xbb"])
def test_what_is_left_of_a_damaged_byte_order_mark_keeps_the_first_group(damaged: bytes) -> None:
    # Found against Google's reference tests (session 39): the first key became
    # "\ufffduser-agent", and the group disallowing /intern was lost.
    body = (damaged + b"User-agent: *\nDisallow: /intern\n").decode("utf-8", "replace")
    assert not allowed(body, "/intern/a") and allowed(body, "/presse/")


def test_a_record_without_its_colon_is_read_as_google_reads_it() -> None:
    # Plain in meaning though not in RFC 9309's grammar: fetching /intern was impolite.
    body = "User-agent *\nDisallow\t/intern\nAllow /intern/presse\nCrawl-delay 2\n"
    assert not allowed(body, "/intern/a") and allowed(body, "/intern/presse/1")
    assert RobotsRules(body, "revier-feed").crawl_delay == 2
    # Other words without a colon are still no records, nor a key with more than a value.
    assert allowed("User-agent: *\nNicht /intern\nDisallow\n", "/intern/a")
    prose = "User-agent: *\nDisallow: /intern\nUser-agent revier-feed and all friends\nAllow: /"
    assert not allowed(prose, "/intern/a")


def test_rules_before_any_group_and_files_that_are_no_robots_txt_allow_everything() -> None:
    assert allowed("Disallow: /\n", "/feed.xml")
    assert allowed("<html><body>Nicht gefunden</body></html>", "/feed.xml")
    assert allowed("\x00\x01\x02binary", "/feed.xml")


@pytest.mark.parametrize(
    ("value", "delay"),
    [
        ("2", 2.0),
        ("1.5", 1.5),
        ("0.5", 0.5),
        ("0", None),
        ("-1", None),
        ("abc", None),
        ("²", None),
        ("1e3", None),
        ("nan", None),
        ("9" * 5000, None),
    ],
)
def test_crawl_delay_takes_plain_decimal_numbers(value: str, delay: float | None) -> None:
    rules = RobotsRules(f"User-agent: *\nCrawl-delay: {value}\nDisallow: /x\n", "revier-feed")
    assert rules.crawl_delay == delay
    assert not rules.allows(SITE + "/x")


def test_crawl_delay_is_read_from_our_group() -> None:
    body = "User-agent: *\nCrawl-delay: 9\n\nUser-agent: revier-feed\nCrawl-delay: 3\n"
    assert RobotsRules(body, "revier-feed").crawl_delay == 3.0
    assert RobotsRules(body, "anderer").crawl_delay == 9.0


def test_a_group_for_us_without_rules_allows_everything() -> None:
    body = "User-agent: *\nDisallow: /\n\nUser-agent: revier-feed\n"
    assert allowed(body, "/feed.xml")


def test_only_a_lone_star_names_every_agent() -> None:
    assert allowed("User-agent: *bot\nDisallow: /\n", "/feed.xml")


def test_only_cr_and_lf_end_lines() -> None:
    # U+2028 is a line end to str.splitlines, not to robots.txt: the rule is "/a\u2028b".
    assert allowed("User-agent: *\nDisallow: /a\u2028b\n", "/a")


def test_text_no_encoder_takes_does_not_fail_the_rules() -> None:
    rules = RobotsRules("User-agent: *\nDisallow: /\ud800x\n", "revier-feed")
    assert rules.allows(SITE + "/\udfffy")


def test_a_file_of_many_agents_and_rules_is_read_in_linear_time() -> None:
    """Every rule was compared with every agent of its group: 20,000 agents and 20,000
    rules (512 KiB) froze the worker's event loop for 40 s, every cycle. Not a timing
    test: the bound is a hundred times what it takes."""
    import time

    body = "".join(f"User-agent: b{n}\n" for n in range(20_000))
    body += "".join(f"Allow: /x{n}\n" for n in range(20_000))
    started = time.process_time()
    rules = RobotsRules(body, "revier-feed")
    assert rules.allows(SITE + "/x1")
    assert time.process_time() - started < 10
