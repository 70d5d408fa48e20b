"""`revier-feed serve`: the output folder over real HTTP on 127.0.0.1."""

from __future__ import annotations

import gzip
import http.client
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from email.utils import formatdate
from pathlib import Path

import pytest

from revier_feed.app import App
from revier_feed.config import AppConfig
from revier_feed.demo.server import SampleRegion
from revier_feed.serve import FeedServer

from .conftest import Clock, free_port, prepare_test_demo

MakeApp = Callable[[AppConfig], App]
Reply = tuple[int, dict[str, str], bytes]


class Client:
    """Raw HTTP/1.1: sends the path exactly as given and never decodes the body."""

    def __init__(self, port: int) -> None:
        self.port = port

    def request(self, method: str, path: str, headers: dict[str, str] | None = None) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, headers=headers or {})
            response = conn.getresponse()
            body = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, body
        finally:
            conn.close()

    def get(self, path: str, **headers: str) -> Reply:
        return self.request("GET", path, {k.replace("_", "-"): v for k, v in headers.items()})


@pytest.fixture
def app(demo_config: AppConfig, make_app: MakeApp) -> App:
    app = make_app(demo_config)
    app.run_cycle()
    return app


@pytest.fixture
def client(app: App) -> Iterator[Client]:
    server = FeedServer(app, "127.0.0.1", 0)
    server.start()
    try:
        yield Client(server.port)
    finally:
        server.stop()


CONTENT_TYPES = {
    "/feeds/all.rss.xml": "application/rss+xml; charset=utf-8",
    "/feeds/tag-robotik.atom.xml": "application/atom+xml; charset=utf-8",
    "/feeds/all.json": "application/feed+json; charset=utf-8",
    "/feeds/feeds.opml": "text/x-opml; charset=utf-8",
    "/": "text/html; charset=utf-8",
    "/index.html": "text/html; charset=utf-8",
    "/channels/district-landkreis-leipzig.html": "text/html; charset=utf-8",
}


def test_files_are_served_with_their_content_type(client: Client, app: App) -> None:
    for path, content_type in CONTENT_TYPES.items():
        status, headers, body = client.get(path)
        assert status == 200, path
        assert headers["content-type"] == content_type, path
        assert headers["cache-control"] == "public, max-age=300"
        assert headers["x-content-type-options"] == "nosniff"
        relative = "index.html" if path == "/" else path.lstrip("/")
        assert body == (app.config.output_dir / relative).read_bytes()
        assert int(headers["content-length"]) == len(body)


def test_head_answers_headers_only(client: Client, app: App) -> None:
    status, headers, body = client.request("HEAD", "/feeds/all.atom.xml")
    assert status == 200 and body == b""
    size = (app.config.output_dir / "feeds" / "all.atom.xml").stat().st_size
    assert int(headers["content-length"]) == size


def test_only_get_and_head(client: Client) -> None:
    status, headers, _ = client.request("POST", "/feeds/all.rss.xml")
    assert status == 405 and headers["allow"] == "GET, HEAD"


def test_strong_etag_and_last_modified_give_304(client: Client, app: App) -> None:
    status, headers, _ = client.get("/feeds/all.rss.xml")
    etag, modified = headers["etag"], headers["last-modified"]
    assert status == 200 and etag.startswith('"') and not etag.startswith("W/")
    mtime = (app.config.output_dir / "feeds" / "all.rss.xml").stat().st_mtime
    assert modified == formatdate(mtime, usegmt=True)

    status, headers, body = client.get("/feeds/all.rss.xml", if_none_match=etag)
    assert (status, body) == (304, b"")
    assert headers["etag"] == etag and "content-length" not in headers
    status, _, _ = client.get("/feeds/all.rss.xml", if_none_match=f'"other", {etag}')
    assert status == 304
    assert client.get("/feeds/all.rss.xml", if_modified_since=modified)[0] == 304
    # If-None-Match decides when both are sent (RFC 9110 13.2.2).
    assert client.get("/feeds/all.rss.xml", if_none_match='"x"', if_modified_since=modified)[
        0
    ] == (200)
    earlier = formatdate(mtime - 3600, usegmt=True)
    assert client.get("/feeds/all.rss.xml", if_modified_since=earlier)[0] == 200


def test_a_changed_file_gets_a_new_etag_at_once(
    client: Client, app: App, clock: Clock, region: object
) -> None:
    _, headers, _ = client.get("/feeds/all.json")
    old = headers["etag"]
    first, second = app.storage.recent_items(["landkreis-leipzig"], 2)
    assert first.story_id and second.story_id and first.story_id != second.story_id
    app.storage.merge_stories(first.story_id, second.story_id)
    clock.advance(timedelta(minutes=1))
    app.publish()
    status, headers, body = client.get("/feeds/all.json", if_none_match=old)
    assert status == 200 and headers["etag"] != old
    assert body == (app.config.output_dir / "feeds" / "all.json").read_bytes()


def test_gzip_when_accepted(client: Client, app: App) -> None:
    original = (app.config.output_dir / "feeds" / "all.rss.xml").read_bytes()
    status, headers, body = client.get("/feeds/all.rss.xml", accept_encoding="br, gzip;q=0.8")
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert headers["vary"] == "Accept-Encoding"
    assert gzip.decompress(body) == original and len(body) < len(original) / 2
    gz_etag = headers["etag"]

    _, plain_headers, plain = client.get("/feeds/all.rss.xml", accept_encoding="gzip;q=0")
    assert "content-encoding" not in plain_headers and plain == original
    assert plain_headers["vary"] == "Accept-Encoding"
    assert plain_headers["etag"] != gz_etag, "each representation has its own strong ETag"
    # A cache holding the gzip body revalidates with the gzip ETag.
    status, headers, _ = client.get(
        "/feeds/all.rss.xml", accept_encoding="gzip", if_none_match=gz_etag
    )
    assert status == 304 and headers["etag"] == gz_etag
    # Only the tag of the body being sent matches: a 304 naming a body the cache did not
    # store is of no use to it (RFC 9111 4.3.4; found beside REDbot, session 40).
    plain_etag = plain_headers["etag"]
    assert client.get("/feeds/all.rss.xml", if_none_match=gz_etag)[0] == 200
    assert client.get("/feeds/all.rss.xml", accept_encoding="gzip", if_none_match=plain_etag)[
        0
    ] == (200)
    status, headers, _ = client.get(
        "/feeds/all.rss.xml", accept_encoding="gzip", if_none_match=f"{plain_etag}, {gz_etag}"
    )
    assert status == 304 and headers["etag"] == gz_etag
    # "*" stands for the codings not named (RFC 9110 12.5.3).
    assert client.get("/feeds/all.rss.xml", accept_encoding="*;q=0, gzip")[1].get(
        "content-encoding"
    ) == ("gzip")
    assert (
        "content-encoding"
        not in client.get("/feeds/all.rss.xml", accept_encoding="gzip;q=0, *")[1]
    )


def test_a_folder_named_without_its_slash_is_sent_to_it(client: Client, app: App) -> None:
    """ "/digests" was a 404 where "/digests/" is the archive's page; served there, its
    page's relative links would have missed (found beside REDbot, session 40)."""
    folder = app.config.output_dir / "archiv"
    folder.mkdir()
    (folder / "index.html").write_text("<a href='2021.html'>2021</a>", encoding="utf-8")
    status, headers, body = client.get("/archiv")
    assert (status, headers["location"], body) == (301, "/archiv/", b"")
    # Never to another host ("//archiv/" is one to a browser); the query kept.
    assert client.get("//archiv")[1]["location"] == "/archiv/"
    assert client.get("/archiv?seite=2")[1]["location"] == "/archiv/?seite=2"
    assert client.get("/archiv/")[0] == 200
    assert client.get("/feeds")[0] == 404  # no page there, no listing


OUTSIDE = [
    "/../state/revier-feed.sqlite3",
    "/..%2fstate%2frevier-feed.sqlite3",
    "/feeds/..%2f..%2fstate/revier-feed.sqlite3",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/feeds/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "//etc/passwd",
    "/etc/passwd",
    "/feeds/..\\..\\etc\\passwd",
    "/feeds/all.rss.xml%00.html",
    "/state/revier-feed.sqlite3",
    "/config/settings.yaml",
    "/.revier-feed-demo",
    "/feeds/",
    "/channels/",
    "/channels",
    "/nothing.html",
]


def test_nothing_outside_the_published_files(client: Client) -> None:
    for path in OUTSIDE:
        status, headers, body = client.get(path)
        assert status in (400, 404), (path, status)
        assert b"SQLite" not in body and b"root:" not in body and b"sources" not in body
        assert "etag" not in headers


def test_symlinks_out_of_the_folder_are_not_followed(
    client: Client, app: App, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.html"
    secret.write_text("geheim", encoding="utf-8")
    (app.config.output_dir / "leak.html").symlink_to(secret)
    (app.config.output_dir / "feeds-link").symlink_to(tmp_path)
    assert client.get("/leak.html")[0] == 404
    assert client.get("/feeds-link/secret.html")[0] == 404
    # A link that stays inside the folder is fine, unless it leads to a hidden file.
    (app.config.output_dir / "start.html").symlink_to(app.config.output_dir / "index.html")
    assert client.get("/start.html")[0] == 200
    hidden = app.config.output_dir / ".state.json"
    hidden.write_text('{"intern": true}', encoding="utf-8")
    (app.config.output_dir / "state.json").symlink_to(hidden)
    assert client.get("/state.json")[0] == 404


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_serve_stops_cleanly_on_a_signal(
    tmp_path: Path, region: SampleRegion, signum: int
) -> None:
    """uvicorn stops, then raises the signal again: `serve` ended with "interrupted: what
    was stored is kept; sources not stored yet are still due" and exit 130 on Ctrl-C."""
    config_dir = prepare_test_demo(tmp_path / "demo", region.base_url)
    exe = Path(sys.executable).parent / "revier-feed"
    command = [str(exe), "--config", str(config_dir), "serve", "--port", str(free_port())]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        assert server.stdout.readline().startswith("serving ")
        time.sleep(0.3)  # past uvicorn's start, where it takes the signals
        server.send_signal(signum)
        _, err = server.communicate(timeout=15)
    finally:
        server.kill()
    assert server.returncode == 0, err
    assert "interrupted" not in err
