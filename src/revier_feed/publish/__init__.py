"""Publish stored items: feed files and news pages in the output folder, written atomically
and only when their content changed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from .._utils import write_if_changed
from ..exceptions import PublishError
from ..models import ChannelInfo, Story
from .channels import facets, opml, select
from .inputs import (
    STATE_FILE,
    channel_digest,
    dump_state,
    inputs_digest,
    load_state,
    story_parts,
)
from .paths import feed_paths, page_path

__all__ = ["OPML_PATH", "PublishResult", "feed_paths", "page_path", "publish"]


@dataclass(frozen=True, slots=True)
class PublishResult:
    written: tuple[Path, ...]  #: files whose content changed
    unchanged: tuple[Path, ...]
    #: Channels whose feed files changed (their subscribers' readers should refetch).
    changed_channels: tuple[str, ...] = ()


#: The OPML list of every channel, relative to the output folder.
OPML_PATH = "feeds/feeds.opml"


def publish(
    output_dir: Path,
    title: str,
    channels: Sequence[ChannelInfo],
    read_stories: Callable[[], Sequence[Story]],
    tz: ZoneInfo,
    *,
    home_channel: str = "all",
    store_version: str | None = None,
) -> PublishResult:
    """Write every channel's RSS, Atom and JSON Feed files and page, and the OPML list.

    Args:
        read_stories: gives the stories, newest first; each channel takes those passing
            its filter. Not called when nothing changed since the last publish.
        home_channel: the channel whose page is ``index.html``.
        store_version: changes whenever the stories ``read_stories`` would give change
            (the store's change counter and what is read); None: unknown, always read.

    Raises:
        PublishError: a file could not be written; the previous file stays in place.
    """
    written: list[Path] = []
    unchanged: list[Path] = []

    changed_channels: list[str] = []

    def write(relative: str, data: bytes) -> bool:
        path = output_dir / relative
        try:
            changed = write_if_changed(path, data)
        except OSError as e:
            raise PublishError(f"could not write {path}") from e
        (written if changed else unchanged).append(path)
        return changed

    paths = {channel.id: feed_paths(channel.id) for channel in channels}
    files = {c.id: [*paths[c.id].values(), page_path(c.id, home_channel)] for c in channels}
    inputs = (
        inputs_digest(store_version, channels, title, home_channel, tz)
        if store_version is not None
        else None
    )
    previous_inputs, previous = load_state(output_dir)
    everything = [output_dir / f for fs in files.values() for f in fs] + [output_dir / OPML_PATH]
    if inputs is not None and inputs == previous_inputs and all(p.is_file() for p in everything):
        # Same stories, same configuration, same code as the files on disk were made from.
        return PublishResult((), tuple(everything), ())
    # The renderers (feedgen, lxml, Jinja2) load only when something is to be rendered:
    # most cycles of a worker or of `run --once` from cron end above.
    from .feeds import render
    from .pages import render_page

    stories = read_stories()
    gathered = facets(stories)
    parts: dict[int, str] = {}
    state: dict[str, str] = {}
    for channel in channels:
        chosen = select(stories, channel, gathered)
        digest = channel_digest(
            channel, story_parts(chosen, parts), channels, title, home_channel, tz
        )
        state[channel.id] = digest
        channel_files = [output_dir / f for f in files[channel.id]]
        if previous.get(channel.id) == digest and all(p.is_file() for p in channel_files):
            # Made from the same inputs by the same code: the files would come out equal.
            unchanged.extend(channel_files)
            continue
        documents = render(channel, chosen, tz)
        if any([write(paths[channel.id][fmt], data) for fmt, data in documents.items()]):
            changed_channels.append(channel.id)
        page = render_page(channel, chosen, channels, title, home_channel, tz)
        write(page_path(channel.id, home_channel), page)
    write(OPML_PATH, opml(title, channels, paths))
    # Written last: if anything above failed, the next publish renders again.
    try:
        write_if_changed(output_dir / STATE_FILE, dump_state(inputs, state))
    except OSError as e:
        raise PublishError(f"could not write {output_dir / STATE_FILE}") from e
    return PublishResult(tuple(written), tuple(unchanged), tuple(changed_channels))
