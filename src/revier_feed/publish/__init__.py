"""Publish stored items: feed files and news pages in the output folder, written atomically
and only when their content changed."""

from __future__ import annotations

import re
import time
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

__all__ = [
    "ICON_NAME",
    "OPML_PATH",
    "PublishResult",
    "feed_paths",
    "missing_files",
    "page_path",
    "publish",
]


@dataclass(frozen=True, slots=True)
class PublishResult:
    written: tuple[Path, ...]  #: files whose content changed
    unchanged: tuple[Path, ...]
    #: Channels whose feed files changed (their subscribers' readers should refetch).
    changed_channels: tuple[str, ...] = ()
    #: Files of channels no longer configured (a tag or channel removed), deleted.
    removed: tuple[Path, ...] = ()


#: The OPML list of every channel, relative to the output folder.
OPML_PATH = "feeds/feeds.opml"
#: The site's icon in the output folder, ``icon.png`` (or ``.gif``, ``.jpg``, …).
ICON_NAME = "icon"
_ICON_KINDS = ("png", "gif", "jpg", "ico", "webp")


def publish(
    output_dir: Path,
    title: str,
    channels: Sequence[ChannelInfo],
    read_stories: Callable[[], Sequence[Story]],
    tz: ZoneInfo,
    *,
    home_channel: str = "all",
    store_version: str | None = None,
    icon: tuple[bytes, str] | None = None,
) -> PublishResult:
    """Write every channel's RSS, Atom and JSON Feed files and page, and the OPML list.

    Args:
        read_stories: gives the stories, newest first; each channel takes those passing
            its filter. Not called when nothing changed since the last publish.
        home_channel: the channel whose page is ``index.html``.
        store_version: changes whenever the stories ``read_stories`` would give change
            (the store's change counter and what is read); None: unknown, always read.
        icon: the site's icon (its bytes and kind), written as ``icon.<kind>``; the
            channels name it in ``icon_file``.

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

    _publish_icon(output_dir, icon, write)
    paths = {channel.id: feed_paths(channel.id) for channel in channels}
    files = {c.id: _files(c.id, home_channel) for c in channels}
    inputs = (
        inputs_digest(store_version, channels, title, home_channel, tz)
        if store_version is not None
        else None
    )
    previous_inputs, previous = load_state(output_dir)
    everything = [output_dir / f for fs in files.values() for f in fs] + [output_dir / OPML_PATH]
    if inputs is not None and inputs == previous_inputs and all(p.is_file() for p in everything):
        # Same stories, same configuration, same code as the files on disk were made from.
        return PublishResult(tuple(written), (*unchanged, *everything), ())
    # The renderers (feedgen, lxml, Jinja2) load only when something is to be rendered:
    # most cycles of a worker or of `run --once` from cron end above.
    from .feeds import render
    from .pages import render_page

    _remove_stale_temporary_files(output_dir)
    stories = read_stories()
    gathered = facets(stories)
    parts: dict[int, str] = {}
    state: dict[str, str] = {}
    failed: list[PublishError] = []
    for channel in channels:
        chosen = select(stories, channel, gathered)
        digest = channel_digest(
            channel, story_parts(chosen, parts), channels, title, home_channel, tz
        )
        channel_files = [output_dir / f for f in files[channel.id]]
        if previous.get(channel.id) == digest and all(p.is_file() for p in channel_files):
            # Made from the same inputs by the same code: the files would come out equal.
            state[channel.id] = digest
            unchanged.extend(channel_files)
            continue
        try:
            documents = render(channel, chosen, tz)
            if any([write(paths[channel.id][fmt], data) for fmt, data in documents.items()]):
                changed_channels.append(channel.id)
            page = render_page(channel, chosen, channels, title, home_channel, tz)
            write(page_path(channel.id, home_channel), page)
        except PublishError as e:
            # One file that cannot be replaced (a folder a root run made, a file made
            # immutable) held every other channel back; this one is rendered again next time.
            failed.append(e)
            continue
        state[channel.id] = digest
    write(OPML_PATH, opml(title, channels, paths))
    removed = _remove_channels(output_dir, set(previous) - set(state) - set(files), home_channel)
    if failed:
        others = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        done = PublishResult(tuple(written), tuple(unchanged), tuple(changed_channels), removed)
        raise PublishError(
            f"{failed[0].message}{others}; the other channels were published", done
        ) from failed[0].__cause__
    # Written last: if anything above failed, the next publish renders again.
    try:
        write_if_changed(output_dir / STATE_FILE, dump_state(inputs, state))
    except OSError as e:
        raise PublishError(f"could not write {output_dir / STATE_FILE}") from e
    return PublishResult(tuple(written), tuple(unchanged), tuple(changed_channels), removed)


def _publish_icon(
    output_dir: Path, icon: tuple[bytes, str] | None, write: Callable[[str, bytes], bool]
) -> None:
    """Write the site's icon (before anything else: a publish with nothing else to do still
    takes a new picture), and remove one of another kind or of a setting removed."""
    for kind in _ICON_KINDS:
        if icon is not None and kind == icon[1]:
            write(f"{ICON_NAME}.{kind}", icon[0])
            continue
        try:
            (output_dir / f"{ICON_NAME}.{kind}").unlink(missing_ok=True)
        except OSError as e:
            raise PublishError(f"could not remove {output_dir / f'{ICON_NAME}.{kind}'}") from e


def _files(channel_id: str, home_channel: str) -> list[str]:
    """A channel's files, relative to the output folder."""
    return [*feed_paths(channel_id).values(), page_path(channel_id, home_channel)]


def missing_files(output_dir: Path, channel_ids: Sequence[str], home_channel: str) -> list[Path]:
    """The files a publish writes that are not in the output folder (deleted under a
    running worker, which published again only with its next news)."""
    wanted = [output_dir / f for c in channel_ids for f in _files(c, home_channel)]
    return [p for p in [*wanted, output_dir / OPML_PATH] if not p.is_file()]


def _remove_channels(
    output_dir: Path, channel_ids: set[str], home_channel: str
) -> tuple[Path, ...]:
    """Delete the files of channels published before and no longer configured (a tag or
    channel removed): they stayed, frozen, and were served as if the channel went on."""
    removed = []
    # Names from the state file, which is in the output folder: only a channel's name.
    for channel_id in sorted(filter(_CHANNEL_ID.fullmatch, channel_ids)):
        for relative in _files(channel_id, home_channel):
            path = output_dir / relative
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            except OSError as e:
                raise PublishError(f"could not remove {path}") from e
            removed.append(path)
    return tuple(removed)


#: What a channel's id can be (ids are checked when the configuration is loaded).
_CHANNEL_ID = re.compile(r"[a-z0-9][a-z0-9_-]*")

#: Temporary files a publish killed while writing left behind are removed after this
#: many seconds (a publish writes each in far less).
STALE_TEMPORARY_SECONDS = 600


def _remove_stale_temporary_files(output_dir: Path) -> None:
    """Remove the temporary files (``.NAME.xxxx.tmp``) of a publish that was killed while
    writing: half-written feeds, which a copy of the folder to a web host would publish."""
    limit = time.time() - STALE_TEMPORARY_SECONDS
    for folder in (output_dir, output_dir / "feeds", output_dir / "channels"):
        for path in folder.glob(".*.tmp"):
            try:
                if path.is_file() and path.stat().st_mtime < limit:
                    path.unlink()
            except OSError:
                continue  # not ours to fuss over: the publish itself goes on
