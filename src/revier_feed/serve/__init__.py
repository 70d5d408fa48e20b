"""``revier-feed serve``: the output folder over HTTP, with ``/healthz`` and ``/metrics``.

uvicorn runs :class:`~revier_feed.serve.asgi.FeedApp`, a small ASGI application of our own
(see docs/dev.md, "Serving"). The server reads the output folder and the store only, so it
can run beside the worker (``run --serve``) or as a process of its own.
"""

from __future__ import annotations

import logging
import socket
import threading

import uvicorn

from ..app import App
from .asgi import FeedApp

__all__ = ["FeedApp", "FeedServer"]

log = logging.getLogger(__name__)


class FeedServer:
    """A uvicorn server for ``app``'s output folder on ``host:port`` (port 0: any free one).

    The socket is bound at construction, so a taken port is an error before anything runs.

    Raises:
        OSError: the address cannot be bound.
    """

    def __init__(self, app: App, host: str, port: int) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.create_server((host, port), family=family, backlog=2048)
        self.host = host
        self.port: int = self._socket.getsockname()[1]
        self.root = app.config.output_dir
        config = uvicorn.Config(
            FeedApp(app, max_age=int(app.config.settings.serve.max_age.total_seconds())),
            log_config=None,  # the CLI configures logging
            access_log=False,
            server_header=False,
            lifespan="off",
            http="httptools",
            timeout_graceful_shutdown=5,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def run(self) -> None:
        """Serve until SIGINT or SIGTERM (call from the main thread)."""
        self._server.run(sockets=[self._socket])

    def start(self) -> None:
        """Serve from a background thread (``run --serve``, tests); returns once listening."""
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="revier-serve"
        )
        self._thread.start()
        while not self._server.started and self._thread.is_alive():
            self._thread.join(timeout=0.01)
        log.info("serving %s at %s", self.root, self.url)

    def stop(self) -> None:
        """Stop the background server: requests in flight finish (at most 5 s)."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join()
        self._socket.close()
