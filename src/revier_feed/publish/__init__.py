"""Publish stored items: feed files in the output folder, written atomically and only when
their content changed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from .._utils import write_if_changed
from ..exceptions import PublishError
from ..models import ChannelInfo, Story
from .feeds import feed_paths, render

__all__ = ["PublishResult", "feed_paths", "publish_channel"]


@dataclass(frozen=True, slots=True)
class PublishResult:
    written: tuple[Path, ...]  #: files whose content changed
    unchanged: tuple[Path, ...]


def publish_channel(
    output_dir: Path, channel: ChannelInfo, stories: Sequence[Story], tz: ZoneInfo
) -> PublishResult:
    """Write the channel's RSS and Atom files.

    Raises:
        PublishError: a file could not be written; the previous file stays in place.
    """
    documents = render(channel, stories, tz)
    paths = feed_paths(channel.id)
    written: list[Path] = []
    unchanged: list[Path] = []
    for fmt, data in documents.items():
        path = output_dir / paths[fmt]
        try:
            changed = write_if_changed(path, data)
        except OSError as e:
            raise PublishError(f"could not write {path}") from e
        (written if changed else unchanged).append(path)
    return PublishResult(written=tuple(written), unchanged=tuple(unchanged))
