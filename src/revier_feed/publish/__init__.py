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
from .channels import opml, select
from .feeds import feed_paths, render

__all__ = ["OPML_PATH", "PublishResult", "feed_paths", "publish"]


@dataclass(frozen=True, slots=True)
class PublishResult:
    written: tuple[Path, ...]  #: files whose content changed
    unchanged: tuple[Path, ...]


#: The OPML list of every channel, relative to the output folder.
OPML_PATH = "feeds/feeds.opml"


def publish(
    output_dir: Path,
    title: str,
    channels: Sequence[ChannelInfo],
    stories: Sequence[Story],
    tz: ZoneInfo,
) -> PublishResult:
    """Write every channel's RSS, Atom and JSON Feed files and the OPML list.

    Args:
        stories: newest first; each channel takes those passing its filter.

    Raises:
        PublishError: a file could not be written; the previous file stays in place.
    """
    written: list[Path] = []
    unchanged: list[Path] = []

    def write(relative: str, data: bytes) -> None:
        path = output_dir / relative
        try:
            changed = write_if_changed(path, data)
        except OSError as e:
            raise PublishError(f"could not write {path}") from e
        (written if changed else unchanged).append(path)

    paths = {channel.id: feed_paths(channel.id) for channel in channels}
    for channel in channels:
        for fmt, data in render(channel, select(stories, channel), tz).items():
            write(paths[channel.id][fmt], data)
    write(OPML_PATH, opml(title, channels, paths))
    return PublishResult(written=tuple(written), unchanged=tuple(unchanged))
