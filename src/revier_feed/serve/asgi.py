"""The ASGI application: the output folder's files, ``/healthz`` and ``/metrics``."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import quote

from ..app import App
from ..exceptions import RevierError
from ..models import Health, HealthStatus
from . import metrics
from .files import OutputFolder, accepts_gzip, not_modified

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

#: Also sent with feeds: a feed opened in a browser must not run or load anything either.
_POLICY = (
    b"default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
    b"form-action 'none'; frame-ancestors 'none'"
)
_NO_STORE = (b"cache-control", b"no-store")


class FeedApp:
    """Serves ``app``'s output folder read-only; GET and HEAD only.

    Args:
        app: the application whose store ``/healthz`` and ``/metrics`` read.
        max_age: seconds clients may reuse a file without revalidating.
    """

    def __init__(self, app: App, max_age: int) -> None:
        self.app = app
        self.folder = OutputFolder(app.config.output_dir)
        self._cache_control = f"public, max-age={max_age}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        method = scope["method"]
        if method not in ("GET", "HEAD"):
            await _send(send, 405, [(b"allow", b"GET, HEAD"), _NO_STORE], b"", method)
            return
        path: str = scope["path"]
        if path == "/healthz":
            await self._healthz(send, method)
        elif path == "/metrics":
            await self._metrics(send, method)
        else:
            await self._file(scope, send, method, path)

    async def _file(self, scope: Scope, send: Send, method: str, path: str) -> None:
        # On the event loop, not in a thread: a file is read and compressed once per version
        # (milliseconds, after a publish); every other request costs a stat and a lookup.
        located = self.folder.locate(path)
        resource = self.folder.load(located) if located else None
        if resource is None and not path.endswith("/") and self.folder.locate(path + "/"):
            # A folder named without its "/" (a link to /digests): where its page's own
            # relative links resolve, as web servers send it.
            # Its slashes as one: "//digests/" would lead a browser to the host "digests".
            folder = "/" + "/".join(p for p in path.split("/") if p) + "/"
            query = scope.get("query_string", b"")
            location = quote(folder, safe="/").encode() + (b"?" + query if query else b"")
            headers = [(b"location", location), _NO_STORE]
            await _send(send, 301, headers, b"", method)
            return
        if resource is None:
            headers = [(b"content-type", b"text/plain; charset=utf-8"), _NO_STORE]
            await _send(send, 404, headers, b"not found\n", method)
            return
        request = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        gzipped = resource.gzipped is not None and accepts_gzip(request.get("accept-encoding"))
        headers = [
            (b"etag", (resource.gzip_etag if gzipped else resource.etag).encode()),
            (b"last-modified", resource.last_modified.encode()),
            (b"cache-control", self._cache_control),
        ]
        if resource.gzipped is not None:
            headers.append((b"vary", b"Accept-Encoding"))
        conditions = (request.get("if-none-match"), request.get("if-modified-since"))
        if not_modified(resource, *conditions, gzipped=gzipped):
            await _send(send, 304, headers, b"", "HEAD")
            return
        headers += [
            (b"content-type", resource.content_type.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"content-security-policy", _POLICY),
        ]
        if gzipped:
            headers.append((b"content-encoding", b"gzip"))
        body = resource.gzipped if gzipped and resource.gzipped is not None else resource.body
        await _send(send, 200, headers, body, method)

    async def _healthz(self, send: Send, method: str) -> None:
        try:
            health = await asyncio.to_thread(self.app.health)
        except RevierError as e:
            log.error("health check failed: %s", e)
            report: dict[str, object] = {
                "status": HealthStatus.UNHEALTHY.value,
                "problems": [f"the store cannot be read: {e}"],
            }
            status = 503
        else:
            report = _health_report(health)
            status = 503 if health.status is HealthStatus.UNHEALTHY else 200
        body = (json.dumps(report, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
        headers = [(b"content-type", b"application/json; charset=utf-8"), _NO_STORE]
        await _send(send, status, headers, body, method)

    async def _metrics(self, send: Send, method: str) -> None:
        try:
            samples = await asyncio.to_thread(self.app.metric_samples)
        except RevierError as e:
            log.error("metrics failed: %s", e)
            headers = [(b"content-type", b"text/plain; charset=utf-8"), _NO_STORE]
            await _send(send, 503, headers, f"the store cannot be read: {e}\n".encode(), method)
            return
        headers = [(b"content-type", metrics.CONTENT_TYPE.encode()), _NO_STORE]
        await _send(send, 200, headers, metrics.render(samples), method)


def _health_report(health: Health) -> dict[str, object]:
    last = health.last_cycle_at
    return {
        "status": health.status.value,
        "problems": list(health.problems),
        "worker": {
            "running": health.worker is not None,
            "holder": health.worker,
            "last_cycle_at": last.isoformat() if last else None,
        },
        "sources": {
            "total": sum(health.sources_by_status.values()),
            "by_status": dict(health.sources_by_status),
            "failing": list(health.failing_sources),
        },
    }


async def _send(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes, method: str
) -> None:
    # A 304 and a HEAD carry no body; a HEAD keeps the length of the body it stands for.
    if status != 304:
        headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body if method != "HEAD" else b""})
