"""WebSub publishing: tell the hub which feeds changed, so it pushes them to subscribers.

The hub fetches the feed itself after a ping (W3C WebSub, section 7: publishing is left to
hubs; ``hub.mode=publish`` with ``hub.url`` is what the common hubs accept). A ping that
fails is logged and never fails the publish: subscribers still poll the feed.

The standard library's HTTP client is enough for a few form POSTs per publish, and keeps
httpx (owned by ``fetch`` and its async pipeline) out of publishing.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence

log = logging.getLogger(__name__)

#: Seconds per ping; the worker waits for them, so a slow hub must not stall a cycle.
TIMEOUT = 10.0


def ping(hub: str, topics: Sequence[str], user_agent: str) -> int:
    """POST ``hub.mode=publish`` for each topic URL to ``hub``.

    Returns:
        The number of pings the hub accepted (2xx). After a connection failure the rest are
        not tried: the hub is down, and the next publish with changes tries again.
    """
    accepted = 0
    for topic in topics:
        data = urllib.parse.urlencode({"hub.mode": "publish", "hub.url": topic}).encode()
        request = urllib.request.Request(
            hub,
            data=data,
            method="POST",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "User-Agent": user_agent,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                response.read(1024)
            accepted += 1
        except urllib.error.HTTPError as e:
            log.warning("WebSub hub %s refused %s: HTTP %d", hub, topic, e.code)
        except (OSError, ValueError) as e:
            reason = getattr(e, "reason", e)
            log.warning(
                "WebSub hub %s unreachable (%s); %d ping(s) not sent",
                hub,
                reason,
                len(topics) - accepted,
            )
            break
    if accepted:
        log.info("WebSub hub %s notified of %d changed feed(s)", hub, accepted)
    return accepted
