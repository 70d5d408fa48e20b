"""A small HTTP server on 127.0.0.1 that plays the region's websites, for the demo and tests.

It serves the bundled sample sites (``{{BASE}}`` in a file becomes the server's own address)
with ETag / Last-Modified and 304 answers like a well-behaved web server, and lets tests add
routes that misbehave (slow, failing, oversized, ...).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from importlib.resources.abc import Traversable
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

SITES = resources.files("revier_feed.demo") / "sites"
BASE_TOKEN = b"{{BASE}}"

_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".json": "application/feed+json; charset=utf-8",
    ".gif": "image/gif",
    ".pdf": "application/pdf",
}
# Every sample file claims the same age, so Last-Modified is stable across demo runs.
_LAST_MODIFIED = formatdate(1625000000, usegmt=True)


@dataclass
class Response:
    """A canned answer for a test route."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  #: seconds to wait before answering


Route = Callable[[BaseHTTPRequestHandler], Response]


class _Server(ThreadingHTTPServer):
    # socketserver listens with a backlog of 5: connections beyond that arriving at once (a
    # fetcher opening its pool's connections together) wait for the client to resend its
    # SYN a second later, and a fetch with a 1 s connect timeout fails.
    request_queue_size = 128
    daemon_threads = True


class SampleRegion:
    """The sample sites on an ephemeral port of 127.0.0.1; a context manager.

    Attributes:
        base_url: ``http://127.0.0.1:PORT`` (no trailing slash).
        requests: paths requested so far, in order (tests assert on them).
    """

    def __init__(self, sites: Traversable = SITES, host: str = "127.0.0.1") -> None:
        self.sites = sites
        self.routes: dict[str, Route] = {}
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self._server = _Server((host, 0), _handler_for(self))
        self.base_url = f"http://{host}:{self._server.server_address[1]}"
        # A short poll interval makes shutdown quick (tests start one server each).
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` (which starts with "/") on this server."""
        return self.base_url + path

    def add_route(self, path: str, route: Route | Response) -> None:
        """Answer requests for ``path`` (query string ignored) with ``route``."""
        if isinstance(route, Response):
            canned = route

            def route(_handler: BaseHTTPRequestHandler) -> Response:
                return canned

        self.routes[path] = route

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _record(self, path: str) -> None:
        with self._lock:
            self.requests.append(path)

    def read_site_file(self, path: str) -> bytes | None:
        """The body for a site path, with ``{{BASE}}`` filled in, or None if there is none."""
        node = self.sites
        parts = [p for p in path.split("/") if p]
        if any(p in ("..", ".") for p in parts):
            return None
        for part in parts:
            node = node / part
        if node.is_dir():
            node = node / "index.html"
        if not node.is_file():
            return None
        return node.read_bytes().replace(BASE_TOKEN, self.base_url.encode())


def _handler_for(region: SampleRegion) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "SampleRegion/1.0"

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            region._record(self.path)
            route = region.routes.get(path)
            if route is not None:
                self._send_route(route(self))
                return
            body = region.read_site_file(path)
            if body is None:
                self._send(404, b"<h1>404 Nicht gefunden</h1>", {"Content-Type": "text/html"})
                return
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            headers = {
                "Content-Type": _content_type(path),
                "ETag": etag,
                "Last-Modified": _LAST_MODIFIED,
            }
            if self.headers.get("If-None-Match") == etag:
                self._send(304, b"", headers)
                return
            self._send(200, body, headers)

        def _send_route(self, response: Response) -> None:
            if response.delay:
                time.sleep(response.delay)
            self._send(response.status, response.body, response.headers)

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if status != 304 and "content-length" not in {h.lower() for h in headers}:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (e.g. a timeout test); nothing to tell it

        def log_message(self, format: str, *args: object) -> None:
            pass  # the demo's output is the summary table, not an access log

    return Handler


def _content_type(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    if not name or "." not in name:
        return _CONTENT_TYPES[".html"]
    if name.endswith(".xml") and "atom" in name:
        return _CONTENT_TYPES[".atom"]
    if name.endswith(".xml") and "rss" in name:
        return "application/rss+xml; charset=utf-8"
    return _CONTENT_TYPES.get("." + name.rsplit(".", 1)[-1], "application/octet-stream")
