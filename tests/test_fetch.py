"""Fetching against a real HTTP server on 127.0.0.1: validators, limits and every failure kind."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gzip
import ipaddress
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import sniffio

from revier_feed.demo.server import Response, SampleRegion
from revier_feed.exceptions import FetchError, RevierError
from revier_feed.fetch import (
    MAX_CRAWL_DELAY,
    MAX_HONOURED_CRAWL_DELAY,
    MAX_HOST_PAUSE,
    Fetcher,
    HostTurns,
)
from revier_feed.fetch.connections import (
    REACH,
    ConnectionPools,
    Network,
    PrivateAddress,
    reachable,
)
from revier_feed.fetch.cookies import MAX_COOKIES, RedirectCookies
from revier_feed.fetch.refresh import page_refresh
from revier_feed.models import (
    ErrorKind,
    FetchResult,
    FetchSettings,
    NotModified,
    RobotsCopy,
    SourceState,
)

from .conftest import resolve

SETTINGS = FetchSettings(
    user_agent="revier-feed-test/1.0 (+https://example.org/kontakt)",
    timeout=2.0,
    connect_timeout=1.0,
    max_concurrency=8,
    max_per_host=2,
    max_body_bytes=1_000_000,
    max_redirects=3,
    retries=0,
)
FEED = "/landkreis-leipzig/presse/rss.xml"
#: For tests whose sites redirect to each other: all on this machine, at private addresses.
BETWEEN_LOOPBACK_SITES = dataclasses.replace(SETTINGS, private_hosts=("127.0.0.0/8", "::1"))


def fetch(
    url: str, state: SourceState | None = None, settings: FetchSettings = SETTINGS
) -> FetchResult | NotModified:
    async def go() -> FetchResult | NotModified:
        async with Fetcher(settings) as fetcher:
            return await fetcher.fetch(
                "kreis",
                url,
                etag=state.etag if state else None,
                last_modified=state.last_modified if state else None,
            )

    return asyncio.run(go())


def fetch_within(url: str, host: str) -> FetchResult | NotModified:
    """``url`` fetched for a source that may go to ``host`` only (its allow_hosts)."""

    async def go() -> FetchResult | NotModified:
        async with Fetcher(SETTINGS) as fetcher:
            return await fetcher.fetch("kreis", url, may_go_to=lambda target: host in target)

    return asyncio.run(go())


def fetch_error(url: str, settings: FetchSettings = SETTINGS) -> FetchError:
    with pytest.raises(FetchError) as info:
        fetch(url, settings=settings)
    assert info.value.source_id == "kreis"
    assert info.value.url == url
    return info.value


def test_fetch_returns_body_validators_and_sends_user_agent(region: SampleRegion) -> None:
    seen: list[str] = []

    def echo(handler: BaseHTTPRequestHandler) -> Response:
        seen.append(handler.headers.get("User-Agent", ""))
        return Response(200, b"<rss version='2.0'><channel></channel></rss>")

    region.add_route("/ua", echo)
    assert isinstance(fetch(region.url("/ua")), FetchResult)
    assert seen == [SETTINGS.user_agent]

    result = fetch(region.url(FEED))
    assert isinstance(result, FetchResult)
    assert result.status_code == 200
    assert result.etag and result.last_modified
    assert result.headers["content-type"].startswith("application/rss+xml")
    assert b"Landkreis Leipzig beteiligt" in result.content


def test_a_contact_url_with_umlauts_is_sent_in_idna_and_a_non_ascii_agent_refused(
    region: SampleRegion, tmp_path: Path
) -> None:
    """Both passed `check`, then every request failed as a "connect" error: a request
    header is ASCII."""
    from revier_feed.config import load_config

    from .conftest import write_config
    from .test_config import issues_of

    sources = 'sources:\n  - {id: k, name: K, url: "https://example.org/feed.xml"}\n'
    folder = write_config(
        tmp_path / "idna",
        sources,
        "fetch:\n  contact_url: https://www.städte-region.example/bot\n",
    )
    settings = load_config(folder).fetch_settings("1.0")
    assert "https://www.xn--stdte-region-hcb.example/bot" in settings.user_agent
    seen: list[str] = []

    def echo(handler: BaseHTTPRequestHandler) -> Response:
        seen.append(handler.headers.get("User-Agent", ""))
        return Response(200, b"<rss version='2.0'><channel></channel></rss>")

    region.add_route("/ua", echo)
    assert isinstance(fetch(region.url("/ua"), settings=settings), FetchResult)
    assert seen == [settings.user_agent]

    folder = write_config(
        tmp_path / "agent", sources, 'fetch:\n  user_agent: "Kreisbot (Jürgen, {contact_url})"\n'
    )
    assert "settings.yaml:2: fetch.user_agent: the user agent must be ASCII" in "\n".join(
        issues_of(folder)
    )
    # A folded YAML block ends in a line break, which no header may hold.
    folder = write_config(
        tmp_path / "folded", sources, "fetch:\n  contact_url: >\n    https://kreis.example/bot\n"
    )
    assert "without blanks or line breaks" in "\n".join(issues_of(folder))


def test_conditional_get_gives_not_modified(region: SampleRegion) -> None:
    first = fetch(region.url(FEED))
    assert isinstance(first, FetchResult)
    state = SourceState(source_id="kreis", etag=first.etag, last_modified=first.last_modified)
    again = fetch(region.url(FEED), state)
    assert isinstance(again, NotModified)
    assert again.etag == first.etag


def test_the_fetcher_tells_sniffio_about_its_loop_only_while_it_runs(
    region: SampleRegion,
) -> None:
    # httpcore asks sniffio which event loop runs for every lock it makes; the fetcher
    # answers for its thread while it is open. Afterwards nothing in this thread may be told
    # that an event loop runs, also when a request failed.
    async def go() -> str:
        async with Fetcher(SETTINGS) as fetcher:
            assert isinstance(await fetcher.fetch("s", region.url(FEED)), FetchResult)
            with pytest.raises(FetchError):
                await fetcher.fetch("s", region.url("/nothing-here"))
            return sniffio.current_async_library()

    assert asyncio.run(go()) == "asyncio"
    with pytest.raises(sniffio.AsyncLibraryNotFoundError):
        sniffio.current_async_library()


def test_redirect_is_followed_and_final_url_kept(region: SampleRegion) -> None:
    region.add_route("/alt/feed.xml", Response(301, headers={"Location": FEED}))
    result = fetch(region.url("/alt/feed.xml"))
    assert isinstance(result, FetchResult)
    assert result.url == region.url(FEED)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (404, ErrorKind.HTTP_4XX),
        (403, ErrorKind.HTTP_4XX),
        (500, ErrorKind.HTTP_5XX),
        (503, ErrorKind.HTTP_5XX),
        (410, ErrorKind.GONE),
    ],
)
def test_http_errors_are_classified(region: SampleRegion, status: int, kind: ErrorKind) -> None:
    region.add_route("/broken", Response(status, b"<h1>Fehler</h1>"))
    error = fetch_error(region.url("/broken"))
    assert error.kind == kind
    assert error.status_code == status
    assert str(status) in str(error)


def test_429_carries_retry_after(region: SampleRegion) -> None:
    region.add_route("/busy", Response(429, headers={"Retry-After": "120"}))
    error = fetch_error(region.url("/busy"))
    assert error.kind == ErrorKind.HTTP_429
    assert error.retry_after == 120


def test_a_retry_after_that_is_no_number_is_ignored(region: SampleRegion) -> None:
    # "²" is a digit to str.isdigit(), but no number to float().
    region.add_route("/odd", Response(429, headers={"Retry-After": "²"}))
    error = fetch_error(region.url("/odd"))
    assert error.kind == ErrorKind.HTTP_429
    assert error.retry_after is None


def test_slow_server_times_out(region: SampleRegion) -> None:
    region.add_route("/slow", Response(200, b"<rss/>", delay=1.5))
    settings = dataclasses.replace(SETTINGS, timeout=0.5)
    started = time.monotonic()
    error = fetch_error(region.url("/slow"), settings)
    assert error.kind == ErrorKind.TIMEOUT
    assert time.monotonic() - started < 1.4
    # The limit is named; the cause's bare "TimeoutError" was appended to it.
    assert str(error) == "no complete answer within 0.5 s (fetch.timeout)"


def test_declared_oversize_body_is_refused(region: SampleRegion) -> None:
    region.add_route("/big", Response(200, b"x" * 2_000_000))
    error = fetch_error(region.url("/big"))
    assert error.kind == ErrorKind.TOO_LARGE
    assert "1,000,000 bytes" in str(error)


def test_gzip_bomb_is_cut_while_decompressing(region: SampleRegion) -> None:
    bomb = gzip.compress(b"<rss>" + b" " * 30_000_000)
    assert len(bomb) < 100_000  # small on the wire, 30 MB once unpacked
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"}
    region.add_route("/bomb", Response(200, bomb, headers=headers))
    assert fetch_error(region.url("/bomb")).kind == ErrorKind.TOO_LARGE


def test_redirect_loop(region: SampleRegion) -> None:
    region.add_route("/a", Response(302, headers={"Location": "/b"}))
    region.add_route("/b", Response(302, headers={"Location": "/a"}))
    error = fetch_error(region.url("/a"))
    assert error.kind == ErrorKind.REDIRECT
    assert "redirect" in str(error)


def test_a_cookie_set_by_a_redirect_is_sent_on_the_redirects_after_it(
    region: SampleRegion,
) -> None:
    """A site that redirects until its cookie comes back (a load balancer's pinning, a
    CMS's cookie check) ended in "too many redirects"; the cookies live for the one
    request and its hops, so the next cycle goes through the check again."""
    seen: list[str | None] = []

    def check(handler: BaseHTTPRequestHandler) -> Response:
        cookie = handler.headers.get("Cookie")
        seen.append(cookie)
        if cookie == "pruefung=ok":
            return Response(200, b"<rss version='2.0'><channel></channel></rss>")
        return Response(302, headers={"Location": "/presse", "Set-Cookie": "pruefung=ok; Path=/"})

    region.add_route("/presse", check)
    for _ in range(2):
        result = fetch(region.url("/presse"))
        assert isinstance(result, FetchResult) and result.url == region.url("/presse")
    assert seen == [None, "pruefung=ok", None, "pruefung=ok"]


def test_cookies_of_a_redirect_chain_go_only_where_they_were_set_for(
    region: SampleRegion,
) -> None:
    """Two cookies over two hops reach the third; a redirect to another host (localhost
    is another origin of the test server) gets none of 127.0.0.1's host-only cookies,
    nor a Secure one over http."""
    seen: dict[str, str | None] = {}

    def hop(path: str, response: Response) -> None:
        def route(handler: BaseHTTPRequestHandler) -> Response:
            seen[path] = handler.headers.get("Cookie")
            return response

        region.add_route(path, route)

    other = region.url("/drei").replace("127.0.0.1", "localhost")
    hop("/eins", Response(302, headers={"Location": "/zwei", "Set-Cookie": "a=1"}))
    hop("/zwei", Response(302, headers={"Location": "/presse/x", "Set-Cookie": "b=2; Path=/"}))
    hop(
        "/presse/x",
        Response(302, headers={"Location": "/vier", "Set-Cookie": "geheim=1; Secure; Path=/"}),
    )
    hop("/vier", Response(302, headers={"Location": other}))
    hop("/drei", Response(200, b"<rss version='2.0'><channel></channel></rss>"))
    settings = dataclasses.replace(BETWEEN_LOOPBACK_SITES, max_redirects=4)
    result = fetch(region.url("/eins"), settings=settings)
    assert isinstance(result, FetchResult)
    # "a" was set at /eins without a path: its path is "/" (the directory of /eins).
    assert seen == {
        "/eins": None,
        "/zwei": "a=1",
        "/presse/x": "a=1; b=2",
        "/vier": "a=1; b=2",  # the Secure one not over http
        "/drei": None,
    }


def test_redirect_cookies_follow_rfc_6265_where_a_redirect_needs_it() -> None:
    now = datetime(2026, 11, 28, tzinfo=UTC)
    jar = RedirectCookies()
    www = httpx.URL("https://www.landkreis.example/presse/feed.xml")
    jar.take(
        www,
        [
            "sitzung=1; Domain=.landkreis.example; Path=/; Secure; HttpOnly",
            "nur=hier",  # host-only, path /presse
            "fremd=1; Domain=anderer-kreis.example",  # another site: ignored
            "alle=1; Domain=example",  # a whole top-level domain: ignored
            "kaputt",  # no name=value
            "steuer=a\x01b",  # a control character
            "alt=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT",  # expired on arrival
            "lang=" + "x" * 5000,  # over the size bound
            # Numbers and dates out of every range (a review found them raising).
            "riesig=1; Max-Age=" + "9" * 5000,
            "weit=1; Expires=Wed, 01 Jan 2020 00:00:00 +99999999999999999999",
            "fern=1; Expires=Wed, 01 Jan 99999999999999999999 00:00:00 GMT",
        ],
        now,
    )
    assert jar.header(www) == "nur=hier; riesig=1; weit=1; fern=1; sitzung=1"
    jar.take(
        www, ["riesig=; Max-Age=-" + "9" * 5000, "weit=; Max-Age=0", "fern=; Max-Age=00"], now
    )
    assert jar.header(www) == "nur=hier; sitzung=1"
    assert jar.header(httpx.URL("https://landkreis.example/")) == "sitzung=1"
    assert jar.header(httpx.URL("http://www.landkreis.example/presse/a")) == "nur=hier"
    assert jar.header(httpx.URL("https://anderer-kreis.example/")) is None
    # A longer path first; Max-Age=0 deletes, and wins over a later Expires.
    jar.take(www, ["nur=genauer; Path=/presse/feed.xml"], now)
    assert jar.header(www) == "nur=genauer; nur=hier; sitzung=1"
    jar.take(www, ["nur=x; Max-Age=0; Expires=Fri, 01 Jan 2100 00:00:00 GMT"], now)
    assert jar.header(www) == "nur=genauer; sitzung=1"
    jar.take(www, [f"n{i}=1; Path=/" for i in range(100)], now)
    assert jar.header(www) is not None and jar.header(www).count(";") + 1 == MAX_COOKIES


def test_empty_body(region: SampleRegion) -> None:
    region.add_route("/empty", Response(200, b"  \n"))
    assert fetch_error(region.url("/empty")).kind == ErrorKind.EMPTY


def test_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port any more.
    error = fetch_error(f"http://127.0.0.1:{port}/feed.xml")
    assert error.kind == ErrorKind.CONNECT
    assert "could not connect" in str(error)


def test_per_host_limit_is_respected(region: SampleRegion) -> None:
    lock = threading.Lock()
    active = 0
    peak = 0

    def slow(_handler: BaseHTTPRequestHandler) -> Response:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.2)
        with lock:
            active -= 1
        return Response(200, b"<rss version='2.0'><channel></channel></rss>")

    region.add_route("/slow-feed", slow)

    async def many() -> list[FetchResult | NotModified]:
        async with Fetcher(SETTINGS) as fetcher:
            urls = [region.url(f"/slow-feed?n={i}") for i in range(6)]
            return await asyncio.gather(*(fetcher.fetch(f"s{i}", u) for i, u in enumerate(urls)))

    results = asyncio.run(many())
    assert all(isinstance(r, FetchResult) for r in results)
    assert peak == SETTINGS.max_per_host


RETRYING = dataclasses.replace(SETTINGS, retries=2, retry_backoff=0.05, max_retry_wait=2.0)


def flaky(
    failures: list[Response], then: Response
) -> Callable[[BaseHTTPRequestHandler], Response]:
    """A route that answers with each of ``failures`` once, then with ``then``."""
    queue = list(failures)

    def route(_handler: BaseHTTPRequestHandler) -> Response:
        return queue.pop(0) if queue else then

    return route


def test_transient_errors_are_retried(region: SampleRegion) -> None:
    ok = Response(200, b"<rss version='2.0'><channel></channel></rss>")
    region.add_route("/flaky", flaky([Response(503), Response(502)], ok))
    result = fetch(region.url("/flaky"), settings=RETRYING)
    assert isinstance(result, FetchResult)
    assert region.requests.count("/flaky") == 3


def test_retries_give_up_after_the_limit(region: SampleRegion) -> None:
    region.add_route("/down", Response(503))
    assert fetch_error(region.url("/down"), RETRYING).kind == ErrorKind.HTTP_5XX
    assert region.requests.count("/down") == 3  # one try plus two retries


def test_client_errors_are_not_retried(region: SampleRegion) -> None:
    region.add_route("/missing", Response(404))
    fetch_error(region.url("/missing"), RETRYING)
    assert region.requests.count("/missing") == 1


def test_retry_after_is_honoured_or_left_to_the_next_cycle(region: SampleRegion) -> None:
    ok = Response(200, b"<rss version='2.0'><channel></channel></rss>")
    region.add_route("/polite", flaky([Response(429, headers={"Retry-After": "1"})], ok))
    started = time.monotonic()
    assert isinstance(fetch(region.url("/polite"), settings=RETRYING), FetchResult)
    assert time.monotonic() - started >= 1.0

    region.add_route("/later", Response(429, headers={"Retry-After": "3600"}))
    error = fetch_error(region.url("/later"), RETRYING)
    assert error.retry_after == 3600
    assert region.requests.count("/later") == 1  # an hour is the next cycle's business


def test_a_host_that_answers_429_gets_no_request_from_any_source_until_its_pause_ends(
    region: SampleRegion,
) -> None:
    """The other sources of a host that said "too many requests" wait too (they arrived
    inside the pause before), and a pause longer than a cycle waits defers them all to
    the schedule without asking."""
    # Answers take a while, a 429 none: the request beside the refused one is still under
    # way when the client reads the 429, and no slot frees before it has.
    ok = Response(200, b"<rss version='2.0'><channel></channel></rss>", delay=0.3)
    arrived: list[tuple[str, float]] = []
    first = [True]
    lock = threading.Lock()

    def limited(handler: BaseHTTPRequestHandler) -> Response:
        with lock:
            arrived.append((handler.path, time.monotonic()))
            refuse, first[0] = first[0], False
        return Response(429, headers={"Retry-After": "2"}) if refuse else ok

    for n in range(4):
        region.add_route(f"/quelle{n}.xml", limited)

    async def every_source(urls: list[str]) -> list[FetchResult | NotModified | BaseException]:
        async with Fetcher(dataclasses.replace(RETRYING, max_per_host=2)) as fetcher:
            return await asyncio.gather(
                *(fetcher.fetch(f"q{n}", url) for n, url in enumerate(urls)),
                return_exceptions=True,
            )

    results = asyncio.run(every_source([region.url(f"/quelle{n}.xml") for n in range(4)]))
    assert all(isinstance(r, FetchResult) for r in results), results
    refused_at = arrived[0][1]
    later = [at - refused_at for _, at in arrived[1:]]
    # The other request under way when the 429 came; nothing else inside the pause.
    assert sum(1 for gap in later if gap < 2.0) == 1, later
    assert len(arrived) == 5

    region.add_route("/quelle0.xml", Response(429, headers={"Retry-After": "3600"}))
    arrived.clear()
    results = asyncio.run(every_source([region.url(f"/quelle{n}.xml") for n in range(4)]))
    errors = [r for r in results if isinstance(r, FetchError)]
    assert len(errors) >= 3 and all((e.retry_after or 0) >= 3590 for e in errors), results
    assert len(arrived) <= 2  # the one refused and one under way; the others not asked


ROBOTS = b"""User-agent: *
Disallow: /intern/

User-agent: revier-feed
Disallow: /presse/entwurf
Crawl-delay: 1
"""


def test_robots_txt_is_honoured(region: SampleRegion) -> None:
    region.add_route("/robots.txt", Response(200, ROBOTS))
    error = fetch_error(region.url("/presse/entwurf/feed.xml"), SETTINGS)
    assert error.kind == ErrorKind.ROBOTS
    assert "robots.txt" in str(error) and "revier-feed" in str(error)
    # Rules for other agents don't apply to us; our group allows the rest.
    assert isinstance(fetch(region.url(FEED)), FetchResult)


def test_a_robots_txt_compressed_in_a_way_not_asked_for_means_no_rules(
    region: SampleRegion,
) -> None:
    """Read as text, such bytes gave no rules; taken for an unreadable robots.txt, they
    kept every source of the site back for up to 30 days (a review found it)."""
    region.add_route(
        "/robots.txt", Response(200, b"\x1b\x00\xf8\xa5", headers={"Content-Encoding": "br"})
    )
    assert isinstance(fetch(region.url(FEED)), FetchResult)


def test_a_redirect_to_another_origin_asks_its_robots_txt_and_the_caller(
    region: SampleRegion,
) -> None:
    """localhost and 127.0.0.1 are two origins of the one test server: the redirect's
    target is checked against the target origin's robots.txt, read for it."""
    region.add_route("/robots.txt", Response(200, ROBOTS))
    other = region.url("/presse/entwurf/feed.xml").replace("127.0.0.1", "localhost")
    region.add_route("/weiter", Response(302, headers={"Location": other}))
    error = fetch_error(region.url("/weiter"), settings=BETWEEN_LOOPBACK_SITES)
    assert error.kind == ErrorKind.ROBOTS and "redirected to http://localhost:" in str(error)
    assert region.requests.count("/robots.txt") == 2  # one per origin
    assert "/presse/entwurf/feed.xml" not in region.requests

    allowed = region.url(FEED).replace("127.0.0.1", "localhost")
    region.add_route("/weiter", Response(302, headers={"Location": allowed}))
    assert isinstance(fetch(region.url("/weiter"), settings=BETWEEN_LOOPBACK_SITES), FetchResult)

    # With the rules remembered between cycles (the store, in production), the next
    # cycle asks the redirect once: no request again after reading the rules.
    remembered: dict[str, RobotsCopy] = {}

    class Remembered:
        def get(self, origin: str) -> RobotsCopy | None:
            return remembered.get(origin)

        def put(self, origin: str, copy: RobotsCopy) -> None:
            remembered[origin] = copy

    async def cycle() -> FetchResult | NotModified:
        async with Fetcher(BETWEEN_LOOPBACK_SITES, robots_cache=Remembered()) as fetcher:
            return await fetcher.fetch("kreis", region.url("/weiter"))

    asyncio.run(cycle())
    region.requests.clear()
    assert isinstance(asyncio.run(cycle()), FetchResult)
    assert region.requests.count("/weiter") == 1 and "/robots.txt" not in region.requests

    with pytest.raises(FetchError) as refused:
        fetch_within(region.url("/weiter"), "127.0.0.1")
    assert refused.value.kind == ErrorKind.REDIRECT and "allow_hosts" in str(refused.value)


def test_a_redirect_to_another_host_waits_for_that_hosts_turn(region: SampleRegion) -> None:
    """Sites of several districts sending their feeds to one hosting service: the requests
    it gets count against its per-host limit, not the limits of the hosts asked first (a
    probe saw 12 requests at once on a host limited to 2)."""
    at_once = [0, 0]  # now, most
    lock = threading.Lock()

    def slow(_handler: BaseHTTPRequestHandler) -> Response:
        with lock:
            at_once[0] += 1
            at_once[1] = max(at_once)
        time.sleep(0.3)
        with lock:
            at_once[0] -= 1
        return Response(200, b"<rss version='2.0'><channel></channel></rss>")

    region.add_route("/gemeinsam.xml", slow)
    target = region.url("/gemeinsam.xml")

    class Redirect(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(404 if self.path == "/robots.txt" else 302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    districts = [ThreadingHTTPServer((f"127.0.0.{i}", 0), Redirect) for i in range(2, 6)]
    for district in districts:
        threading.Thread(target=district.serve_forever, daemon=True).start()

    async def every_district() -> list[FetchResult | NotModified]:
        async with Fetcher(dataclasses.replace(BETWEEN_LOOPBACK_SITES, max_per_host=1)) as fetcher:
            return await asyncio.gather(
                *(
                    fetcher.fetch(f"kreis{i}", f"http://127.0.0.{i}:{d.server_address[1]}/feed")
                    for i, d in enumerate(districts, start=2)
                )
            )

    try:
        results = asyncio.run(every_district())
    finally:
        for district in districts:
            district.shutdown()
            district.server_close()
    assert all(isinstance(r, FetchResult) for r in results)
    assert at_once[1] == 1


def test_a_redirect_to_a_host_not_met_yet_is_followed_after_its_robots_txt(
    region: SampleRegion,
) -> None:
    """The target's robots.txt is read when the redirect leads there, and the redirect
    followed on: the request used to start again, asking the first URL twice (and, behind
    a load balancer sending every request to another node, until the redirect limit)."""
    seen: list[str] = []

    class Node(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            body = b"" if self.path == "/robots.txt" else b"<rss version='2.0'><channel/></rss>"
            self.send_response(404 if self.path == "/robots.txt" else 200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    nodes = [ThreadingHTTPServer(("127.0.0.1", 0), Node) for _ in range(3)]
    for node in nodes:
        threading.Thread(target=node.serve_forever, daemon=True).start()
    turn = iter(range(len(nodes)))

    def next_node(_handler: BaseHTTPRequestHandler) -> Response:
        port = nodes[next(turn)].server_address[1]
        return Response(302, headers={"Location": f"http://127.0.0.1:{port}/feed.xml"})

    region.add_route("/verteiler", next_node)
    try:
        result = fetch(region.url("/verteiler"))
    finally:
        for node in nodes:
            node.shutdown()
            node.server_close()
    assert isinstance(result, FetchResult)
    assert region.requests.count("/verteiler") == 1
    assert seen == ["/robots.txt", "/feed.xml"]


def test_crawl_delay_spaces_requests_and_robots_is_read_once(region: SampleRegion) -> None:
    region.add_route("/robots.txt", Response(200, ROBOTS))

    async def three() -> list[FetchResult | NotModified]:
        async with Fetcher(SETTINGS) as fetcher:
            return await asyncio.gather(
                *(fetcher.fetch(f"s{i}", region.url(FEED)) for i in range(3))
            )

    started = time.monotonic()
    asyncio.run(three())
    assert time.monotonic() - started >= 2.0  # three starts, one second apart
    assert region.requests.count("/robots.txt") == 1


def test_robots_txt_numbers_the_parser_cannot_read_are_ignored(region: SampleRegion) -> None:
    # urllib.robotparser reads what str.isdigit() accepts with int(): one such line failed
    # every source of the host with a ValueError.
    region.add_route(
        "/robots.txt",
        Response(
            200,
            "User-agent: *\nDisallow: /intern/\nCrawl-delay: ²\nRequest-rate: 1/¹\n"
            f"Crawl-delay: {'9' * 5000}\nCrawl-delay: 1{'0' * 400}\n".encode(),
        ),
    )
    started = time.monotonic()
    assert isinstance(fetch(region.url(FEED)), FetchResult)
    assert fetch_error(region.url("/intern/feed.xml")).kind == ErrorKind.ROBOTS
    assert time.monotonic() - started < 1.0  # and no crawl delay from them


def test_a_304_with_a_validator_we_cannot_send_back_keeps_the_one_we_sent(
    region: SampleRegion,
) -> None:
    answers = iter(
        [
            Response(200, b"<rss version='2.0'><channel></channel></rss>", {"ETag": '"v1"'}),
            Response(304, headers={"ETag": '"\u00fc"', "Last-Modified": "M\u00f6n, 7 Jun 2021"}),
            Response(304),
        ]
    )
    region.add_route("/v", lambda handler: next(answers))
    first = fetch(region.url("/v"))
    assert isinstance(first, FetchResult) and first.etag == '"v1"'
    state = SourceState(source_id="kreis", etag=first.etag)
    second = fetch(region.url("/v"), state)
    # A non-ASCII ETag cannot go into the next request's headers: it failed every later
    # fetch of the source, for good.
    assert isinstance(second, NotModified) and second.etag == '"v1"'
    assert second.last_modified is None
    state = SourceState(source_id="kreis", etag=second.etag)
    assert isinstance(fetch(region.url("/v"), state), NotModified)


def test_a_304_to_a_request_without_validators_is_an_error(region: SampleRegion) -> None:
    # Taken for "no news", it left a new source without items and without an error.
    region.add_route("/cache", Response(304))
    error = fetch_error(region.url("/cache"))
    assert error.kind == ErrorKind.EMPTY and error.status_code == 304
    assert "without validators" in str(error)


@pytest.mark.parametrize("status", [200, 401, 403, 404])
def test_a_missing_or_empty_robots_txt_allows_fetching(region: SampleRegion, status: int) -> None:
    region.add_route("/robots.txt", Response(status))  # RFC 9309: 4xx is "unavailable"
    assert isinstance(fetch(region.url(FEED)), FetchResult)


class _RobotsMemory:
    """The fetcher's robots.txt cache as the store keeps it, with a clock of its own."""

    def __init__(self) -> None:
        self.now = datetime(2021, 8, 2, 8, 0, tzinfo=UTC)
        self.kept: dict[str, RobotsCopy] = {}

    def get(self, origin: str) -> RobotsCopy | None:
        return self.kept.get(origin)

    def put(self, origin: str, copy: RobotsCopy) -> None:
        self.kept[origin] = copy


def fetch_with(memory: _RobotsMemory, url: str) -> FetchResult | NotModified | FetchError:
    async def go() -> FetchResult | NotModified | FetchError:
        async with Fetcher(SETTINGS, robots_cache=memory, now=lambda: memory.now) as fetcher:
            try:
                return await fetcher.fetch("kreis", url)
            except FetchError as e:
                return e

    return asyncio.run(go())


def test_a_robots_txt_that_cannot_be_read_stops_fetching_from_its_site(
    region: SampleRegion,
) -> None:
    """RFC 9309 2.3.1.4: a robots.txt that answers 5xx (or not at all) means "complete
    disallow"; a copy read before is used instead, and after 30 days without one the site
    counts as having none. It used to mean "no rules", for every cycle it failed."""
    memory = _RobotsMemory()
    region.add_route("/robots.txt", Response(503))
    error = fetch_with(memory, region.url(FEED))
    assert isinstance(error, FetchError) and error.kind is ErrorKind.HTTP_5XX, error
    assert error.message.startswith("server error (HTTP 503), asking for http://")
    assert "/robots.txt; nothing is fetched from a site before its robots.txt" in error.message
    assert FEED not in region.requests
    # Asked again next cycle, not taken for a day's rules.
    memory.now += timedelta(hours=1)
    assert isinstance(fetch_with(memory, region.url(FEED)), FetchError)
    assert region.requests.count("/robots.txt") == 2 and FEED not in region.requests
    # 30 days on, still unreadable: as if there were none.
    memory.now += timedelta(days=30)
    assert isinstance(fetch_with(memory, region.url(FEED)), FetchResult)
    # Readable again: its rules apply; when it fails later, they still do.
    region.add_route("/robots.txt", Response(200, ROBOTS))
    memory.now += timedelta(hours=1)
    assert isinstance(fetch_with(memory, region.url(FEED)), FetchResult)
    region.add_route("/robots.txt", Response(500))
    memory.now += timedelta(days=2)
    assert isinstance(fetch_with(memory, region.url(FEED)), FetchResult)
    refused = fetch_with(memory, region.url("/presse/entwurf/feed.xml"))
    assert isinstance(refused, FetchError) and refused.kind is ErrorKind.ROBOTS


def test_a_robots_txt_is_asked_again_with_its_validators(region: SampleRegion) -> None:
    """Once a day's copy is due, robots.txt is asked for conditionally: a 304 keeps the
    copy's rules for another day, without downloading it again. It was downloaded whole
    every day."""
    memory = _RobotsMemory()
    etag = '"regeln-1"'
    seen: list[str | None] = []

    def robots(handler: BaseHTTPRequestHandler) -> Response:
        seen.append(handler.headers.get("If-None-Match"))
        if handler.headers.get("If-None-Match") == etag:
            return Response(304, headers={"ETag": etag})
        return Response(
            200, ROBOTS, {"ETag": etag, "Last-Modified": "Mon, 02 Aug 2021 06:00:00 GMT"}
        )

    region.add_route("/robots.txt", robots)
    assert isinstance(fetch_with(memory, region.url(FEED)), FetchResult)
    first = memory.kept[region.base_url]
    assert (first.etag, first.last_modified) == (etag, "Mon, 02 Aug 2021 06:00:00 GMT")
    memory.now += timedelta(days=1, hours=1)
    refused = fetch_with(memory, region.url("/presse/entwurf/feed.xml"))
    assert isinstance(refused, FetchError) and refused.kind is ErrorKind.ROBOTS  # the copy's rules
    assert seen == [None, etag]
    again = memory.kept[region.base_url]
    assert again.fetched_at == memory.now and again.body == first.body and again.etag == etag
    # Within the day the copy is used without asking; a changed file replaces it.
    assert isinstance(fetch_with(memory, region.url(FEED)), FetchResult)
    assert len(seen) == 2
    etag = '"regeln-2"'
    memory.now += timedelta(days=1, hours=1)
    assert isinstance(fetch_with(memory, region.url("/presse/entwurf/feed.xml")), FetchError)
    assert seen[2] == '"regeln-1"' and memory.kept[region.base_url].etag == etag


def test_a_304_to_robots_txt_asked_without_validators_keeps_the_copy(
    region: SampleRegion,
) -> None:
    """A copy stored without validators (by an older version, or from a server that sends
    none) is asked for unconditionally; a broken cache that answers 304 anyway made it "no
    rules" for a day: a disallowed feed was fetched."""
    memory = _RobotsMemory()
    memory.kept[region.base_url] = RobotsCopy(memory.now - timedelta(days=2), 200, ROBOTS.decode())
    region.add_route("/robots.txt", Response(304))
    refused = fetch_with(memory, region.url("/presse/entwurf/feed.xml"))
    assert isinstance(refused, FetchError) and refused.kind is ErrorKind.ROBOTS
    assert memory.kept[region.base_url] == RobotsCopy(memory.now, 200, ROBOTS.decode())


def test_a_hosts_turns_go_through_the_wall_clock_and_back_capped() -> None:
    """Kept in the store between runs on the wall clock; a time stored far ahead (a clock
    set back since) holds a host back no longer than the longest delay and pause."""
    now = datetime.now(UTC)
    turns = HostTurns.from_clock(now + timedelta(seconds=20), now + timedelta(hours=1))
    start, pause = turns.on_clock()
    assert abs((start - now).total_seconds() - 20) < 1
    assert abs((pause - now).total_seconds() - 3600) < 1
    far = HostTurns.from_clock(now + timedelta(days=30), now + timedelta(days=30))
    left = time.monotonic()
    assert far.next_start - left <= MAX_HONOURED_CRAWL_DELAY
    assert far.paused_until - left <= MAX_HOST_PAUSE.total_seconds()
    assert HostTurns.from_clock(now - timedelta(hours=1), now).over(time.monotonic())


def test_a_robots_txt_answering_429_is_not_taken_for_none(region: SampleRegion) -> None:
    """429 is "not now", not "there is none": it was remembered for a day as no rules,
    also when the pause was our own after another origin of the host answered 429."""
    memory = _RobotsMemory()
    region.add_route("/robots.txt", Response(429))
    error = fetch_with(memory, region.url(FEED))
    assert isinstance(error, FetchError) and error.kind is ErrorKind.HTTP_429, error
    assert FEED not in region.requests
    assert all(copy.status != 429 for copy in memory.kept.values())


def test_robots_txt_is_read_whatever_the_body_size_limit(region: SampleRegion) -> None:
    """Its first 512 KiB are read even when max_body_size is smaller: a mid-sized
    robots.txt failed as too large and blocked the site."""
    body = b"User-agent: *\nDisallow: /intern\n" + b"# Kommentar\n" * 20_000
    region.add_route("/robots.txt", Response(200, body))
    small = dataclasses.replace(SETTINGS, max_body_bytes=100_000)
    assert isinstance(fetch(region.url(FEED), settings=small), FetchResult)
    assert fetch_error(region.url("/intern/feed.xml"), small).kind is ErrorKind.ROBOTS


def test_a_long_wait_for_a_hosts_turn_is_said(
    region: SampleRegion, caplog: pytest.LogCaptureFixture
) -> None:
    """`sources test` after a run waited up to a minute for the host's Crawl-delay without
    a word, and looked hung."""
    region.add_route("/robots.txt", Response(200, b"User-agent: *\nCrawl-delay: 3.5\n"))

    async def two() -> None:
        async with Fetcher(SETTINGS) as fetcher:
            await fetcher.fetch("a", region.url(FEED))
            await fetcher.fetch("b", region.url(FEED))

    with caplog.at_level("INFO", logger="revier_feed.fetch"):
        asyncio.run(two())
    assert re.search(
        r"waiting [23] s for a turn on 127.0.0.1 \(its robots.txt asks for 3.5 s", caplog.text
    )


def test_crawl_delay_holds_for_a_host_name_with_umlauts(
    region: SampleRegion, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The delay was kept under "münchen.test", the requests' turns under its IDNA
    spelling: no delay at all."""
    port = int(region.url("/").split(":")[2].split("/")[0])
    resolve(monkeypatch, "xn--mnchen-3ya.test", ("127.0.0.1", port))
    region.add_route("/robots.txt", Response(200, b"User-agent: *\nCrawl-delay: 0.5\n"))

    async def three() -> list[FetchResult | NotModified]:
        async with Fetcher(BETWEEN_LOOPBACK_SITES) as fetcher:
            return await asyncio.gather(
                *(fetcher.fetch(f"s{i}", f"http://münchen.test:{port}{FEED}") for i in range(3))
            )

    started = time.monotonic()
    assert all(isinstance(r, FetchResult) for r in asyncio.run(three()))
    assert time.monotonic() - started >= 1.0


def test_only_the_start_of_a_huge_robots_txt_is_read_and_its_rules_apply(
    region: SampleRegion,
) -> None:
    """It failed as "too large" and then meant "no rules", downloaded again every cycle."""
    huge = b"User-agent: *\nDisallow: /intern\n" + b"# Kommentar\n" * 1_000_000
    region.add_route("/robots.txt", Response(200, huge))
    assert isinstance(fetch(region.url(FEED)), FetchResult)
    refused = fetch_error(region.url("/intern/feed.xml"))
    assert refused.kind is ErrorKind.ROBOTS


def test_rules_of_our_group_are_read_as_rfc_9309_says(region: SampleRegion) -> None:
    """The cases a probe found urllib.robotparser reading wrongly, end to end."""
    region.add_route(
        "/robots.txt",
        Response(
            200,
            "\ufeffUser-agent: revier\nDisallow: /\n\n"
            "User-agent: revier-feed\nDisallow: /*.xml$\nAllow: /landkreis-leipzig/\n".encode(),
        ),
    )
    assert isinstance(fetch(region.url(FEED)), FetchResult)  # the longer Allow wins
    assert fetch_error(region.url("/bbsr/presse/feed.xml")).kind is ErrorKind.ROBOTS


def test_a_decimal_crawl_delay_spaces_requests(region: SampleRegion) -> None:
    region.add_route("/robots.txt", Response(200, b"User-agent: *\nCrawl-delay: 0.6\n"))

    async def three() -> None:
        async with Fetcher(SETTINGS) as fetcher:
            await asyncio.gather(*(fetcher.fetch(f"s{i}", region.url(FEED)) for i in range(3)))

    started = time.monotonic()
    asyncio.run(three())
    assert time.monotonic() - started >= 1.2  # it was ignored: no delay at all


def test_a_crawl_delay_above_the_cap_is_said(
    region: SampleRegion, caplog: pytest.LogCaptureFixture
) -> None:
    region.add_route("/robots.txt", Response(200, b"User-agent: *\nCrawl-delay: 86400\n"))
    with caplog.at_level("WARNING", logger="revier_feed"):
        assert isinstance(fetch(region.url(FEED)), FetchResult)
    assert "asks for 86400 s between requests; keeping 60 s between them" in caplog.text


def test_a_command_waits_for_a_worker_s_long_turn_only_as_long_as_its_own_cap() -> None:
    """The App keeps a host's turns across runs: one taken by the worker under a Crawl-delay
    of an hour must not hold `run --once` for an hour."""
    far = {"kreis.example": HostTurns(next_start=time.monotonic() + 3000, paused_until=0.0)}
    Fetcher(SETTINGS, host_turns=far)
    assert far["kreis.example"].next_start - time.monotonic() <= MAX_CRAWL_DELAY
    Fetcher(SETTINGS, host_turns=far, max_turn_wait=30)
    assert far["kreis.example"].next_start - time.monotonic() > MAX_CRAWL_DELAY - 1


def test_permanent_redirect_is_reported(region: SampleRegion) -> None:
    region.add_route("/old.xml", Response(301, headers={"Location": FEED}))
    region.add_route("/moved.xml", Response(302, headers={"Location": FEED}))
    permanent = fetch(region.url("/old.xml"))
    temporary = fetch(region.url("/moved.xml"))
    assert isinstance(permanent, FetchResult) and isinstance(temporary, FetchResult)
    assert permanent.permanent_url == region.url(FEED)
    assert temporary.permanent_url is None


# --- pages standing in for the site: firewalls, refreshes -----------------------------------


@pytest.mark.parametrize(
    ("status", "headers", "firewall"),
    [
        (403, {"Server": "cloudflare", "cf-mitigated": "challenge"}, "Cloudflare"),
        (503, {"Server": "cloudflare", "cf-mitigated": "challenge"}, "Cloudflare"),
        (202, {"x-amzn-waf-action": "challenge"}, "AWS WAF"),
    ],
)
def test_a_firewall_s_bot_check_is_blocked_and_not_retried(
    region: SampleRegion, status: int, headers: dict[str, str], firewall: str
) -> None:
    """A bot check answered 403, 503 (retried, then "server error") or 202 (read as the
    site's page: a feed that is none, a listing whose layout changed); found by a probe,
    session 41."""
    page = b"<html><head><title>Just a moment...</title></head><body></body></html>"
    region.add_route(
        "/check", Response(status, page, headers={"Content-Type": "text/html"} | headers)
    )
    error = fetch_error(region.url("/check"), RETRYING)
    assert error.kind == ErrorKind.BLOCKED and error.status_code == status
    assert f"{firewall}'s bot check" in str(error) and "let revier-feed through" in str(error)
    assert region.requests.count("/check") == 1


def test_a_robots_txt_answered_by_a_bot_check_means_no_rules(region: SampleRegion) -> None:
    """Taken for a failure, it kept every source of the site back for a month (found by a
    review, session 41); RFC 9309 reads a 2xx without rules as none."""
    check = {"Content-Type": "text/html", "x-amzn-waf-action": "challenge"}
    region.add_route("/robots.txt", Response(202, b"<html><body></body></html>", check))
    assert isinstance(fetch(region.url(FEED)), FetchResult)


def test_a_403_through_a_firewall_names_it(region: SampleRegion) -> None:
    region.add_route("/refused", Response(403, b"Forbidden", headers={"Server": "cloudflare"}))
    error = fetch_error(region.url("/refused"))
    # The site's own refusal passes through the firewall too: no more than that is said.
    assert error.kind == ErrorKind.HTTP_4XX
    assert "HTTP 403 Forbidden (through Cloudflare)" in str(error)
    # Without a firewall named, the source's own User-Agent is what may help.
    region.add_route("/refused", Response(403, b"Forbidden"))
    assert "a source's `user_agent` is for" in str(fetch_error(region.url("/refused")))


def refreshing(
    target: str, delay: str = "0", around: str = "{}", content: str | None = None
) -> Response:
    content = f"{delay}; URL={target}" if content is None else content
    meta = f'<meta http-equiv="Refresh" content="{content}">'
    body = (
        "<!DOCTYPE html><html><head>" + around.format(meta) + "<title>Weiterleitung</title>"
        "</head><body><p>Sie werden weitergeleitet.</p></body></html>"
    )
    return Response(200, body.encode(), headers={"Content-Type": "text/html; charset=utf-8"})


def test_a_page_that_refreshes_at_once_to_another_is_followed_as_a_redirect(
    region: SampleRegion,
) -> None:
    """A site moved by its old CMS's "Sie werden weitergeleitet" page: browsers go on, and
    revier-feed read the page itself (a feed that is none, a listing without items, an
    article's text "Sie werden weitergeleitet")."""
    region.add_route("/alt/", refreshing(FEED))
    result = fetch(region.url("/alt/"))
    assert isinstance(result, FetchResult)
    assert result.url == region.url(FEED) and result.content.startswith(b"<?xml")
    assert result.permanent_url is None  # not moved for good: the page may change its mind
    # Quoted, with a character reference, after a comma, five seconds later.
    region.add_route("/alt/", refreshing("", content=f"5, url='{FEED}?a=1&amp;b=2'"))
    result = fetch(region.url("/alt/"))
    assert isinstance(result, FetchResult) and result.url == region.url(FEED + "?a=1&b=2")
    # As PHP's header("Refresh: 0; url=…") sends it.
    html = {"Content-Type": "text/html", "Refresh": f"0; url={FEED}"}
    region.add_route("/alt/", Response(200, b"<html><body>Weiter</body></html>", html))
    result = fetch(region.url("/alt/"))
    assert isinstance(result, FetchResult) and result.url == region.url(FEED)


@pytest.mark.parametrize(
    "answer",
    [
        refreshing(FEED, delay="300"),  # time to read the page; a news page's reload
        refreshing("/seite"),  # the page itself
        refreshing("javascript:void(0)"),
        refreshing(FEED, around="<noscript>{}</noscript>"),  # for browsers without scripts
        refreshing("", content=f"url={FEED}"),  # no delay: no refresh at all
        Response(
            200, b'<meta http-equiv="refresh" content="0; url=/x">', {"Content-Type": "text/plain"}
        ),
    ],
    ids=["later", "itself", "javascript", "noscript", "no-delay", "not-html"],
)
def test_a_page_s_refresh_that_is_no_redirect_leaves_the_page(
    region: SampleRegion, answer: Response
) -> None:
    region.add_route("/seite", answer)
    result = fetch(region.url("/seite"))
    assert isinstance(result, FetchResult) and result.url == region.url("/seite")
    assert region.requests.count(FEED) == 0


def test_a_page_that_refreshes_to_itself_by_another_address_is_read(
    region: SampleRegion,
) -> None:
    """A news ticker reloading itself as /ticker/index.html, which the server redirects
    back to /ticker/: "too many redirects" where the page had been read (found by a
    review, session 41). A refresh back to an address met on the way is a reload."""
    ticker = refreshing("/ticker/index.html", delay="10")
    region.add_route("/ticker/", ticker)
    region.add_route("/ticker/index.html", Response(301, headers={"Location": "/ticker/"}))
    result = fetch(region.url("/ticker/"))
    assert isinstance(result, FetchResult) and result.url == region.url("/ticker/")
    assert region.requests.count("/ticker/") == 2
    # Two pages sending browsers to each other: the second is read, once each.
    region.add_route("/a", refreshing("/b"))
    region.add_route("/b", refreshing("/a"))
    result = fetch(region.url("/a"))
    assert isinstance(result, FetchResult) and result.url == region.url("/b")
    assert region.requests.count("/a") == region.requests.count("/b") == 1


def test_a_refresh_keeps_no_validators_of_the_document_it_leads_to(region: SampleRegion) -> None:
    """Sent to the page that refreshes next time, a static page older than them answered
    304 for the document, and its news waited a day (found by a review, session 41)."""
    stub = refreshing(FEED)
    region.add_route("/alt/", Response(stub.status, stub.body, stub.headers | {"ETag": '"stub"'}))
    result = fetch(region.url("/alt/"), SourceState("kreis", etag='"feed-v1"'))
    assert isinstance(result, FetchResult) and result.url == region.url(FEED)
    assert result.etag is None and result.last_modified is None


REFRESH = '<meta http-equiv="refresh" content="0; url=/neu/">'


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        (f"<head>{REFRESH}</head>", (0, "/neu/", None)),
        ("<META CONTENT='3,URL=\"/neu/\"' HTTP-EQUIV=Refresh>", (3, "/neu/", None)),
        ('<base href="/de/"><meta http-equiv="refresh" content="0;/neu/">', (0, "/neu/", "/de/")),
        ('<meta http-equiv="refresh" content=".5; url=/neu/">', (0, "/neu/", None)),
        ('<meta http-equiv="refresh" content="0000003600; url=/neu/">', (3600, "/neu/", None)),
        (
            '<meta http-equiv="refresh" content="0; url=/b&uuml;rger/?a=1&amp;b=2">',
            (0, "/bürger/?a=1&b=2", None),
        ),
        (
            '<meta http-equiv="refresh" content="0; url=/b\xfcrger/">'.encode("latin-1"),
            (0, "/bürger/", None),
        ),
        # The first one a browser takes: one without content or with other text is none.
        (
            '<meta http-equiv="refresh"><meta http-equiv="refresh" content="5x; url=/a">'
            + REFRESH,
            (0, "/neu/", None),
        ),
        # What no browser acts on.
        (f"<!--[if lt IE 9]>{REFRESH}<![endif]-->", None),
        (f"<!-- {REFRESH} -->", None),
        (f"<script>document.write('{REFRESH}')</script>", None),
        (f"<textarea>{REFRESH}</textarea>", None),
        (f"<noscript>{REFRESH}</noscript>", None),
        ('<meta property="og:description" content="5 http-equiv=refresh Tipps">', None),
        ('<meta http-equiv="refresh" content="5">', (5, "", None)),
    ],
)
def test_a_page_s_refresh_is_read_as_browsers_read_it(
    page: str | bytes, expected: tuple[int, str, str | None] | None
) -> None:
    """As the HTML Standard's shared declarative refresh steps read it (a review, session
    41, found commented and scripted refreshes followed, "5x" read as 5 s, ".5" refused)."""
    found = page_refresh(page.encode() if isinstance(page, str) else page, "text/html")
    assert (found and (found.delay, found.url, found.base)) == expected


def test_refreshes_count_as_redirects_and_keep_to_allowed_hosts(region: SampleRegion) -> None:
    for number in range(1, 6):
        region.add_route(f"/r{number}", refreshing(f"/r{number + 1}"))
    error = fetch_error(region.url("/r1"))
    assert error.kind == ErrorKind.REDIRECT and "too many redirects" in str(error)
    assert '(where the <meta http-equiv="refresh"> of ' in str(error)

    elsewhere = region.url(FEED).replace("127.0.0.1", "localhost")
    region.add_route("/weg", refreshing(elsewhere))

    with pytest.raises(FetchError) as refused:
        fetch_within(region.url("/weg"), "127.0.0.1")
    assert refused.value.kind == ErrorKind.REDIRECT and "allow_hosts" in str(refused.value)
    assert '(where the <meta http-equiv="refresh"> of ' in str(refused.value)
    # Said as it was sent: an admin looking at the page finds no <meta> for a header's.
    header = {"Content-Type": "text/html", "Refresh": f"0; url={elsewhere}"}
    region.add_route("/weg", Response(200, b"<html><body>Weiter</body></html>", header))
    with pytest.raises(FetchError) as refused:
        fetch_within(region.url("/weg"), "127.0.0.1")
    assert "(where the Refresh header of " in str(refused.value)


# --- https and connections ------------------------------------------------------------------


_TLS_ETAG = '"feed-v1"'
_EMPTY_FEED = b"<?xml version='1.0'?><rss version='2.0'><channel/></rss>"


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A TLS server's context with this certificate (and its chain, if the file has one)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


class TlsFeedServer:
    """A server on 127.0.0.1 answering every path with ``body`` (an ETag, 304s), over TLS
    with ``context`` (plain HTTP without, as an http site at an https URL); counts
    connections."""

    def __init__(self, context: ssl.SSLContext | None, body: bytes = _EMPTY_FEED) -> None:
        self.connections = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real sites

            def setup(self) -> None:
                server.connections += 1
                super().setup()

            def do_GET(self) -> None:
                if self.headers.get("If-None-Match") == _TLS_ETAG:
                    self.send_response(304)  # no body, by definition
                    self.send_header("ETag", _TLS_ETAG)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("ETag", _TLS_ETAG)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        if context is not None:
            self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self._httpd.server_address[1]}/feed.xml"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[TlsFeedServer]:
    server = TlsFeedServer(server_context(*certificate))
    yield server
    server.close()


def test_https_beside_http_with_the_trusted_certificates(
    region: SampleRegion,
    tls_server: TlsFeedServer,
    certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The TLS context is built on the first https request: a cycle that started with plain
    # http sources must still verify https ones against the trusted certificates
    # (SSL_CERT_FILE here, as httpx honours it; the CA bundle otherwise).
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))

    async def go() -> list[FetchResult | NotModified]:
        async with Fetcher(SETTINGS) as fetcher:
            plain = await fetcher.fetch("kreis", region.base_url + FEED)
            secure = await fetcher.fetch("tls", tls_server.url)
            return [plain, secure]

    plain, secure = asyncio.run(go())
    assert isinstance(plain, FetchResult) and b"<rss" in plain.content
    assert isinstance(secure, FetchResult) and b"<rss" in secure.content
    assert secure.url == tls_server.url


def test_an_untrusted_certificate_is_a_tls_error(tls_server: TlsFeedServer) -> None:
    error = fetch_error(tls_server.url)
    assert error.kind is ErrorKind.TLS


def test_requests_to_one_host_reuse_its_connections(
    tls_server: TlsFeedServer, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A site sees at most max_per_host connections (and TLS handshakes) per cycle, however
    # many of its sources are fetched.
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))

    async def go() -> None:
        async with Fetcher(SETTINGS) as fetcher:
            await asyncio.gather(*(fetcher.fetch(f"s{i}", tls_server.url) for i in range(12)))

    asyncio.run(go())
    assert 1 <= tls_server.connections <= SETTINGS.max_per_host


def test_a_cycle_of_304s_reuses_the_connections_too(
    tls_server: TlsFeedServer, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A 304 has no body, but httpx only returns a connection to the pool once the response
    # was read to its end: unread, every conditional request cost a new connection (and a
    # TLS handshake), which the site sees and a cycle of 304s pays for.
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))

    async def go() -> list[FetchResult | NotModified]:
        async with Fetcher(SETTINGS) as fetcher:
            return await asyncio.gather(
                *(fetcher.fetch(f"s{i}", tls_server.url, etag=_TLS_ETAG) for i in range(12))
            )

    results = asyncio.run(go())
    assert all(isinstance(r, NotModified) and r.etag == _TLS_ETAG for r in results)
    assert 1 <= tls_server.connections <= SETTINGS.max_per_host


def test_idle_hosts_beyond_the_global_limit_are_disconnected(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # With hundreds of hosts, only max_concurrency idle hosts keep their connections open;
    # a host whose connection was closed is simply connected to again.
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    first, second = (TlsFeedServer(server_context(*certificate)) for _ in range(2))
    settings = dataclasses.replace(SETTINGS, max_concurrency=1)

    async def go() -> list[FetchResult | NotModified]:
        async with Fetcher(settings) as fetcher:
            return [
                await fetcher.fetch("a", first.url),
                await fetcher.fetch("a", first.url),  # reuses the connection
                await fetcher.fetch("b", second.url),  # closes the idle one to the first host
                await fetcher.fetch("a", first.url),
            ]

    try:
        results = asyncio.run(go())
    finally:
        first.close()
        second.close()
    assert all(isinstance(r, FetchResult) for r in results)
    assert (first.connections, second.connections) == (2, 1)


def test_a_wrong_certificate_path_stops_the_cycle_before_any_source_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An admin's SSL_CERT_FILE that does not exist must not fail every https source into
    # its backoff one by one: the fetcher refuses to start, as httpx's own client does.
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(
        RevierError, match="cannot load the trusted certificates of SSL_CERT_FILE="
    ):
        Fetcher(SETTINGS)


def test_sources_redirected_to_one_host_do_not_wait_out_their_timeouts(
    region: SampleRegion,
) -> None:
    # Several sites whose feeds forward to one CMS: each site's own limit lets its request
    # through, so the CMS gets them all at once; queued in a pool of max_per_host
    # connections there, the last ones would time out (16 answers of 0.4 s, two at a time,
    # take 3.2 s against a timeout of 1.5 s).
    region.add_route("/cms/feed.xml", Response(200, b"<rss version='2.0'/>", delay=0.4))
    settings = dataclasses.replace(
        BETWEEN_LOOPBACK_SITES, timeout=1.5, retries=0, respect_robots=False
    )
    with contextlib.ExitStack() as stack:
        sites = [stack.enter_context(SampleRegion(host=f"127.0.0.{n}")) for n in range(2, 18)]
        for site in sites:
            site.add_route(
                "/rss", Response(302, headers={"Location": region.url("/cms/feed.xml")})
            )

        async def go() -> list[FetchResult | NotModified | BaseException]:
            async with Fetcher(settings) as fetcher:
                return await asyncio.gather(
                    *(fetcher.fetch(f"site{n}", site.url("/rss")) for n, site in enumerate(sites)),
                    return_exceptions=True,
                )

        results = asyncio.run(go())
    assert all(isinstance(r, FetchResult) for r in results), results


def test_a_redirect_to_another_private_address_is_refused_before_anything_is_asked_there(
    region: SampleRegion,
) -> None:
    """A site (hacked, or hostile) could lead the worker to a service on its own network
    and have its answer published: only the source's own host may be at a private
    address, unless fetch.private_hosts names the other one."""
    with SampleRegion(host="127.0.0.2") as internal:
        internal.add_route("/admin/feed.xml", Response(200, b"<rss version='2.0'/>"))
        region.add_route(
            "/weiter", Response(302, headers={"Location": internal.url("/admin/feed.xml")})
        )
        error = fetch_error(region.url("/weiter"))
        assert error.kind is ErrorKind.PRIVATE
        assert f"127.0.0.2 (where {region.url('/weiter')} leads) is not a public" in str(error)
        assert "add it to fetch.private_hosts" in str(error)
        assert internal.requests == []  # not even its robots.txt

        named = dataclasses.replace(SETTINGS, private_hosts=("127.0.0.2",))
        assert isinstance(fetch(region.url("/weiter"), settings=named), FetchResult)
        assert internal.requests == ["/robots.txt", "/admin/feed.xml"]


def test_a_name_that_resolves_to_a_private_address_is_refused_too(
    region: SampleRegion, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = int(region.base_url.rsplit(":", 1)[1].strip("/"))
    resolve(monkeypatch, "intranet.example", ("127.0.0.1", port))
    region.add_route(
        "/weiter", Response(302, headers={"Location": f"http://intranet.example:{port}/x"})
    )
    region.add_route("/x", Response(200, b"<rss version='2.0'/>"))
    error = fetch_error(region.url("/weiter"))
    assert error.kind is ErrorKind.PRIVATE
    assert "intranet.example" in str(error) and "is at 127.0.0.1" in str(error)
    assert "/x" not in region.requests

    named = dataclasses.replace(SETTINGS, private_hosts=("intranet.example",))
    assert isinstance(fetch(region.url("/weiter"), settings=named), FetchResult)
    # A source's own URL may be at a private address where it names the address; a name
    # could be pointed there by whoever owns it (a public site's, at a cloud's metadata).
    error = fetch_error(f"http://intranet.example:{port}/x")
    assert error.kind is ErrorKind.PRIVATE
    assert "intranet.example is at 127.0.0.1, not a public address" in str(error)
    assert isinstance(fetch(f"http://intranet.example:{port}/x", settings=named), FetchResult)


def test_a_source_at_a_localhost_name_reaches_only_this_machine(
    region: SampleRegion, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The name "localhost" is this machine, but a resolver that sends "*.localhost" on to a DNS
    server could answer with any address: the source's own host may then be private only
    where it is on loopback."""
    port = int(region.base_url.rsplit(":", 1)[1].strip("/"))
    region.add_route("/x", Response(200, b"<rss version='2.0'/>"))
    resolve(monkeypatch, "feeds.localhost", ("127.0.0.1", port))
    assert isinstance(fetch(f"http://feeds.localhost:{port}/x"), FetchResult)

    resolve(monkeypatch, "feeds.localhost", ("10.0.0.5", port))
    error = fetch_error(f"http://feeds.localhost:{port}/x")
    assert error.kind is ErrorKind.PRIVATE
    assert "feeds.localhost is at 10.0.0.5, not a public address" in str(error)


def test_a_robots_txt_redirected_to_a_private_address_counts_as_absent(
    region: SampleRegion,
) -> None:
    with SampleRegion(host="127.0.0.2") as internal:
        internal.add_route("/robots.txt", Response(200, b"User-agent: *\nDisallow: /\n"))
        region.add_route(
            "/robots.txt", Response(302, headers={"Location": internal.url("/robots.txt")})
        )
        assert isinstance(fetch(region.url(FEED)), FetchResult)
        assert internal.requests == []


def test_a_connection_is_not_made_nor_reused_for_a_request_that_may_not_reach_its_address(
    region: SampleRegion,
) -> None:
    """The fetcher checks a redirect's host before it asks; the connections check again,
    for a name that resolves otherwise by then, and for one kept open for another source
    whose own host it is."""

    async def exchange(pools: ConnectionPools, reach: tuple[Network, ...] | None) -> int:
        request = httpx.Request("GET", region.url(FEED), extensions={REACH: reach})
        response = await pools.handle_async_request(request)
        await response.aread()
        await response.aclose()
        return response.status_code

    async def go() -> None:
        pools = ConnectionPools(
            keepalive_per_origin=2, max_idle_origins=4, tls=lambda _: ssl.create_default_context()
        )
        try:
            with pytest.raises(PrivateAddress):
                await exchange(pools, ())
            assert region.requests == []
            assert await exchange(pools, None) == 200  # kept open afterwards
            with pytest.raises(PrivateAddress):
                await exchange(pools, ())
            assert await exchange(pools, (ipaddress.ip_network("127.0.0.0/8"),)) == 200
        finally:
            await pools.aclose()

    asyncio.run(go())
    assert region.requests == [FEED, FEED]


def test_an_error_quotes_the_standard_name_of_a_status_and_little_of_a_sites_own(
    region: SampleRegion,
) -> None:
    """A site's reason phrase went whole into the source's error, the admin digest
    included: 1.7 kB of text with a link to follow, under a mail from us."""
    pitch = "Ihr Konto wird gesperrt, bitte sofort bestätigen unter https://evil.example " * 25

    def answer(code: int) -> Callable[[BaseHTTPRequestHandler], Response]:
        def respond(handler: BaseHTTPRequestHandler) -> Response:
            handler.responses = {code: (pitch, "")}
            return Response(code, b"weg")

        return respond

    region.add_route("/weg", answer(404))
    assert str(fetch_error(region.url("/weg"))).startswith("HTTP 404 Not Found: check the URL")
    region.add_route("/weg", answer(499))
    error = str(fetch_error(region.url("/weg")))
    assert "HTTP 499 Ihr Konto wird gesperrt" in error
    assert len(error) < len(region.url("/weg")) + 100, error


def test_a_request_refused_for_one_source_leaves_the_hosts_robots_txt_to_its_own(
    region: SampleRegion,
) -> None:
    """A link another source followed to a source's private host was refused at its
    robots.txt, and the refusal was kept as "no robots.txt" for that host: the source
    itself then fetched what its robots.txt forbids, that cycle and the next."""
    with SampleRegion(host="127.0.0.2") as intranet:
        intranet.add_route("/robots.txt", Response(200, b"User-agent: *\nDisallow: /intern/\n"))
        intranet.add_route("/intern/feed.xml", Response(200, b"<rss version='2.0'/>"))

        async def cycle() -> list[FetchResult | NotModified | BaseException]:
            async with Fetcher(SETTINGS) as fetcher:
                followed = intranet.url("/intern/feed.xml")
                outcomes: list[FetchResult | NotModified | BaseException] = []
                for source, home in (("partner", region.url("/")), ("intranet", followed)):
                    try:
                        outcomes.append(await fetcher.fetch(source, followed, home=home))
                    except FetchError as e:
                        outcomes.append(e)
                return outcomes

        partner, own = asyncio.run(cycle())
        assert isinstance(partner, FetchError) and partner.kind is ErrorKind.PRIVATE
        assert isinstance(own, FetchError) and own.kind is ErrorKind.ROBOTS, own
        assert intranet.requests == ["/robots.txt"]  # asked for the source whose host it is


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2a00:1450:4001::1", True),
        ("::ffff:8.8.8.8", True),
        ("127.0.0.2", False),
        ("10.1.2.3", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("224.0.0.1", False),
        ("0.0.0.0", False),
        ("::1", False),
        ("fe80::1%eth0", False),
        ("fd00::5", False),
        ("::ffff:127.0.0.2", False),
        ("64:ff9b::a00:5", False),  # 10.0.0.5 behind a NAT64 gateway
        ("2002:7f00:2::1", False),  # 6to4
        ("::127.0.0.2", False),
        ("::ffff:0:a00:5", False),  # 10.0.0.5, IPv4-translated (SIIT)
        ("64:ff9b:1::a00:5", False),  # a local NAT64 network
        ("fec0::1", False),
    ],
)
def test_which_addresses_count_as_private(address: str, public: bool) -> None:
    assert reachable(address, ()) is public
    assert reachable(address, None)  # the source's own host: any
    assert reachable(address, (ipaddress.ip_network("::/0"), ipaddress.ip_network("0.0.0.0/0")))


def test_a_name_that_turns_private_after_the_check_fails_its_own_source(
    region: SampleRegion, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checked public, then resolved to a private address when its robots.txt was asked
    for: refused at the connection, and the error was the robots.txt request's."""
    port = int(region.base_url.rsplit(":", 1)[1].strip("/"))
    real = asyncio.BaseEventLoop.getaddrinfo
    answers = iter([("93.184.216.34", port)])  # the first answer; then this machine

    async def rebinding(self: asyncio.BaseEventLoop, host: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "wechsel.example":
            return await real(self, host, *args, **kwargs)
        address = next(answers, ("127.0.0.1", port))
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", address)]

    monkeypatch.setattr(asyncio.BaseEventLoop, "getaddrinfo", rebinding)
    error = fetch_error(f"http://wechsel.example:{port}{FEED}")
    assert error.kind is ErrorKind.PRIVATE and error.source_id == "kreis"
    assert region.requests == []


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({}, None),
        ({"cache-control": "public, max-age=600"}, 600.0),
        ({"cache-control": 'max-age="900"'}, 900.0),
        ({"cache-control": "max-age=0, must-revalidate"}, 0.0),
        ({"cache-control": "private, no-cache, max-age=600"}, 0.0),
        ({"cache-control": "no-store"}, 0.0),
        ({"cache-control": "max-age=²"}, 0.0),  # a server's nonsense: nothing to keep to
        ({"cache-control": "max-age=\u0663\u0660\u0660"}, 0.0),  # digits, but not ASCII
        # RFC 9111 1.2.2 reads it as 2^31 seconds; a lifetime of over a day says nothing.
        ({"cache-control": "max-age=99999999999999999999"}, None),
        ({"cache-control": "max-age=86400", "age": "86000"}, 400.0),
        # A month's lifetime, however old the copy: a rule for static files.
        ({"cache-control": "max-age=2592000", "age": "2584800"}, None),
        # A CDN's copy is as old as its Age: fresh for what is left.
        ({"cache-control": "max-age=600", "age": "590"}, 10.0),
        ({"cache-control": "max-age=600", "age": "9000"}, 0.0),
        ({"cache-control": "max-age=600", "age": "viel"}, 600.0),
        ({"cache-control": "s-maxage=600"}, None),  # for shared caches, not for us
        (
            {"expires": "Mon, 02 Aug 2021 12:00:00 GMT", "date": "Mon, 02 Aug 2021 10:00:00 GMT"},
            7200.0,
        ),
        ({"expires": "Mon, 02 Aug 2021 12:00:00 GMT"}, 3600.0),  # no Date: against now
        ({"expires": "0"}, 0.0),
        ({"expires": "Mon, 02 Aug 2021 12:00:00"}, 0.0),  # no zone: no HTTP date
        # RFC 9110's other two forms, which recipients must read: asctime() is in GMT.
        ({"expires": "Mon Aug  2 12:00:00 2021"}, 3600.0),
        ({"expires": "Mon Aug  2 12:00:00 2021", "date": "Mon Aug  2 10:30:00 2021"}, 5400.0),
        ({"expires": "Monday, 02-Aug-21 12:00:00 GMT"}, 3600.0),
        ({"expires": "Mon, 02 Aug 2021 12:00:00 GMT", "age": "600"}, 3000.0),
        ({"expires": "-1", "cache-control": "public"}, 0.0),
        ({"expires": "Mon, 02 Aug 2021 09:00:00 GMT"}, 0.0),  # already stale
        # max-age wins over Expires (RFC 9111 5.3).
        ({"cache-control": "max-age=60", "expires": "Mon, 02 Aug 2021 20:00:00 GMT"}, 60.0),
    ],
)
def test_a_response_s_freshness_is_read_as_rfc_9111_says(
    headers: dict[str, str], seconds: float | None
) -> None:
    from revier_feed.fetch import fresh_for

    now = datetime(2021, 8, 2, 11, 0, tzinfo=UTC)
    assert fresh_for(headers, now) == seconds
