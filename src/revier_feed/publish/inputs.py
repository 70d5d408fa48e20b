"""What a channel's files are made from, as one digest: equal digests, equal files.

Publishing without news then costs a digest per channel instead of rendering every feed
and page again; and when the store says nothing changed since the last publish and the
configuration is the same, it costs nothing at all (see docs/dev.md, "Publishing without
news").
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from ..models import ChannelInfo, Story

#: Remembers each channel's digest between publishes; hidden, so it is never served.
STATE_FILE = ".revier-feed-published.json"


def story_parts(stories: Sequence[Story], known: dict[int, str]) -> list[str]:
    """What each story contributes to a channel digest, encoded once per publish: most
    stories are in several channels. ``known`` collects them by story id."""
    parts = []
    for story in stories:
        part = known.get(story.id)
        if part is None:
            members = [
                [
                    m.id,
                    m.item.source_id,
                    m.item.fingerprint,
                    m.item.url,
                    m.item.published_at.isoformat(),
                    m.item.updated_at.isoformat() if m.item.updated_at else None,
                    m.first_seen_at.isoformat(),
                    m.last_changed_at.isoformat(),
                    sorted(m.item.tags),
                    sorted(m.item.districts),
                    # Not in the fingerprint (a file added is no news), but published.
                    [[a.url, a.media_type, a.size, a.title] for a in m.item.attachments],
                ]
                for m in story.members
            ]
            part = known[story.id] = json.dumps([story.id, members], ensure_ascii=False)
        parts.append(part)
    return parts


def channel_digest(
    channel: ChannelInfo,
    stories: Sequence[str],
    channels: Sequence[ChannelInfo],
    title: str,
    home_channel: str,
    tz: ZoneInfo,
) -> str:
    """A digest of everything a channel's feeds and page depend on, code included.

    Args:
        stories: the channel's stories as :func:`story_parts`.
    """
    document = {
        "code": _code_digest(),
        "channel": _fields(channel),
        "channels": [[c.id, c.title] for c in channels],
        "title": title,
        "home": home_channel,
        "tz": tz.key,
        "stories": stories,
    }
    return _hash(document)


def inputs_digest(
    store_version: str,
    channels: Sequence[ChannelInfo],
    title: str,
    home_channel: str,
    tz: ZoneInfo,
) -> str:
    """A digest of everything the whole output depends on, the stories given as the store's
    change counter (``store_version``) instead of read: equal digests, equal files."""
    document = {
        "code": _code_digest(),
        "store": store_version,
        "channels": [_fields(c) for c in channels],
        "title": title,
        "home": home_channel,
        "tz": tz.key,
    }
    return _hash(document)


def load_state(output_dir: Path) -> tuple[str | None, dict[str, str]]:
    """The inputs digest and the channel digests of the last publish; nothing if unknown or
    unreadable (then all is rendered)."""
    try:
        state = json.loads((output_dir / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, {}
    if not isinstance(state, dict) or not isinstance(state.get("channels"), dict):
        return None, {}
    inputs = state.get("inputs")
    channels = {k: v for k, v in state["channels"].items() if isinstance(v, str)}
    return (inputs if isinstance(inputs, str) else None), channels


def dump_state(inputs: str | None, channels: dict[str, str]) -> bytes:
    state = {"inputs": inputs, "channels": channels}
    return (json.dumps(state, sort_keys=True, indent=0) + "\n").encode("utf-8")


def _fields(channel: ChannelInfo) -> dict[str, object]:
    """The channel as JSON-ready data: like ``dataclasses.asdict``, without its deep copy of
    every channel's source names and URLs (most of a publish without news)."""
    fields: dict[str, object] = {}
    for field in dataclasses.fields(channel):
        value = getattr(channel, field.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            value = dataclasses.asdict(value)
        elif isinstance(value, Mapping):
            value = dict(value)
        fields[field.name] = value
    return fields


def _hash(document: Mapping[str, object]) -> str:
    # Sets (filters) are sorted: their iteration order changes from process to process.
    encoded = json.dumps(document, sort_keys=True, default=sorted, ensure_ascii=False)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


@functools.cache
def _code_digest() -> str:
    """The publishing code and templates: an upgrade re-renders everything."""
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for path in sorted([*here.glob("*.py"), *(here / "templates").glob("*")]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()
