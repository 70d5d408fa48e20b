"""Which stories go into a partner's digest, and in which groups; pure.

A digest covers the stories *first seen* by revier-feed in its period, whatever date their
sources claim: a back-dated or undated item is not lost, a re-dated one is not sent twice.
For a partner, a story is first seen when it first matched the partner's filter: a story
may become the partner's only through a later member.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from .. import cron, german
from ..models import (
    NO_TITLE,
    DigestEntry,
    DigestIssue,
    DigestPeriod,
    Item,
    PartnerSpec,
    StoredItem,
    Story,
    StoryFilter,
)

#: Group of stories without a topic (or district).
OTHER_TOPIC = "Weitere Meldungen"
OTHER_DISTRICT = "Ganze Region"
UPDATED_GROUP = "Aktualisiert"
# Every C0/C1 control character, including CR and LF: item text is one line wherever it is
# used, so nothing a source writes can start a new mail header or template line.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def current_period(
    schedule: str,
    now: datetime,
    tz: ZoneInfo,
    covered_until: datetime | None,
    first_window: timedelta,
    covered_slot: datetime | None = None,
) -> DigestPeriod:
    """The period whose digest is due at ``now``: it ends at the latest scheduled moment and
    starts where the partner's last digest ended (first time: ``first_window`` earlier), so
    a missed week leaves no gap. ``covered_slot``: the last digest's slot, shown as the
    start where that digest ended a little before it."""
    slot = cron.parse(schedule).last_at_or_before(now, tz)
    since = covered_until if covered_until is not None else slot - first_window
    shown = None
    if covered_slot is not None and since < covered_slot:
        shown = min(covered_slot, slot)
    return DigestPeriod(
        key=period_key(slot, tz),
        slot_at=slot,
        since=min(since, slot),
        until=slot,
        shown_since=shown,
    )


def next_slot(schedule: str, now: datetime, tz: ZoneInfo) -> datetime:
    """The next scheduled moment after ``now`` (UTC)."""
    return cron.parse(schedule).next_after(now, tz)


def period_key(slot: datetime, tz: ZoneInfo) -> str:
    """The period's name: the local slot time, e.g. ``2026-11-23T0700``."""
    return slot.astimezone(tz).strftime("%Y-%m-%dT%H%M")


def clean(text: str) -> str:
    """One line of plain text: control characters (CR, LF, …) become spaces."""
    return " ".join(_CONTROL.sub(" ", text).split())


def shorten(text: str, limit: int) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, with "…"."""
    text = clean(text)
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut and not text[limit - 1].isspace():
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.-–") + "…"


#: Quotation marks go, dashes are one: "„Neues Rathaus“ eingeweiht" was re-sent as an
#: update of "Neues Rathaus eingeweiht". A "?" or a figure stays material.
_COSMETIC = str.maketrans(dict.fromkeys("„“”\"'‚‘’«»‹›") | dict.fromkeys("–—‒―", "-"))


def text_hash(title: str, teaser: str) -> str:
    """What a reader would notice as a changed text (case, spacing, quotation marks and the
    kind of dash ignored)."""
    return _legacy_text_hash(title.translate(_COSMETIC), teaser.translate(_COSMETIC))


def _legacy_text_hash(title: str, teaser: str) -> str:
    """The hash of digests sent before quotation marks and dashes were ignored (session
    21): case and spacing ignored."""
    folded = " ".join(f"{title}\n{teaser}".casefold().split())
    return hashlib.sha1(folded.encode("utf-8"), usedforsecurity=False).hexdigest()


def first_seen(story: Story) -> datetime:
    return min(m.first_seen_at for m in story.members)


def is_backlog(story: Story) -> bool:
    """Whether the story is a new source's archive: every member is, or is a copy of an
    archived one (the same source and title: an item back under another key, a link that
    gained "&L=0" or https). A partner's republication, or a follow-up from the same
    source, is news."""
    return all(_archived(story))


def _archived(story: Story) -> list[bool]:
    """For each member, whether it is a new source's archive or a copy of an archived one."""
    archived: dict[tuple[str, str], datetime] = {}
    for m in story.members:
        if m.item.backlog:
            key = (m.item.source_id, m.item.title)
            archived[key] = min(m.first_seen_at, archived.get(key, m.first_seen_at))

    # A copy comes after the archived item: news seen before it stays news (a source whose
    # URL changed stores the new URL's copy of this week's news as archive).
    def copy_of_archive(m: StoredItem) -> bool:
        since = archived.get((m.item.source_id, m.item.title))
        return since is not None and m.first_seen_at >= since

    return [m.item.backlog or copy_of_archive(m) for m in story.members]


#: A moment a story grew: when a member that is news was first seen, and the story's tags,
#: districts and sources from then on.
Moment = tuple[datetime, frozenset[str], frozenset[str], frozenset[str]]


def _moments(story: Story) -> tuple[Moment, ...]:
    """The moments the story's facets grew through news, oldest first.

    A partner's filter may match a story only through a later member (a district's office
    reporting what the agency published the week before): the story is then news to that
    partner when that member came. Archived members count from the story's first news on,
    so a new source's archive never makes an old story new to anyone.
    """
    archived = _archived(story)
    tags: set[str] = set()
    districts: set[str] = set()
    sources: set[str] = set()
    news = []
    for member, is_archive in zip(story.members, archived, strict=True):
        if is_archive:
            tags |= member.item.tags
            districts |= member.item.districts
            sources.add(member.item.source_id)
        else:
            news.append(member)
    moments: list[Moment] = []
    for member in sorted(news, key=lambda m: m.first_seen_at):
        size = len(tags) + len(districts) + len(sources)
        tags |= member.item.tags
        districts |= member.item.districts
        sources.add(member.item.source_id)
        if not moments or len(tags) + len(districts) + len(sources) > size:
            moments.append(
                (member.first_seen_at, frozenset(tags), frozenset(districts), frozenset(sources))
            )
    return tuple(moments)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A story prepared once for every partner's selection: its facets and its entry."""

    story_id: int
    first_seen: datetime
    changed_at: datetime  #: last change of any member
    backlog: bool  #: a new source's archive (see :func:`is_backlog`)
    tags: frozenset[str]
    districts: frozenset[str]
    sources: frozenset[str]
    entry: DigestEntry
    #: The text hashes of every member as it would be listed: the text a partner was sent
    #: may be another member's now (a partner of higher priority reported the story).
    texts: frozenset[str] = frozenset()
    #: When the story's facets grew through news (see :func:`_moments`).
    moments: tuple[Moment, ...] = ()

    def news_to(self, rule: StoryFilter) -> datetime:
        """When the story became news to a partner with this filter (which matches it as it
        is now): the first moment its facets matched."""
        for at, tags, districts, sources in self.moments:
            if rule.matches_facets(tags, districts, sources):
                return at
        return self.first_seen


def prepare(
    stories: Sequence[Story],
    *,
    source_names: Mapping[str, str],
    priorities: Mapping[str, int],
    teaser_length: int,
) -> list[Candidate]:
    """The candidates of a period, prepared once for all partners."""
    return [
        Candidate(
            story_id=story.id,
            first_seen=first_seen(story),
            changed_at=max(m.last_changed_at for m in story.members),
            backlog=is_backlog(story),
            tags=frozenset(t for m in story.members for t in m.item.tags),
            districts=frozenset(d for m in story.members for d in m.item.districts),
            sources=frozenset(m.item.source_id for m in story.members),
            entry=_entry(story, source_names, priorities, teaser_length),
            texts=frozenset(
                h for m in story.members for h in _listed_hashes(m.item, teaser_length)
            ),
            moments=_moments(story),
        )
        for story in stories
    ]


def build_issue(
    partner: PartnerSpec | None,
    period: DigestPeriod,
    candidates: Sequence[Candidate],
    sent: Mapping[int, tuple[str, bool]],
    *,
    groups: Sequence[tuple[str, str]],
    group_by: str,
) -> DigestIssue:
    """The partner's digest of ``period`` (the archive's when ``partner`` is None).

    Args:
        candidates: stories first seen by the period's end and changed since its start
            (see :func:`prepare`).
        sent: stories the partner received before: id -> (text hash, listed as updated).
        groups: (id, label) of the topics or districts, in the order groups appear.
        group_by: "topic" or "district".
    """
    rule = partner.filter if partner else StoryFilter()
    new: list[DigestEntry] = []
    updated: list[DigestEntry] = []
    story_groups: dict[int, str] = {}
    for candidate in candidates:
        if not rule.matches_facets(candidate.tags, candidate.districts, candidate.sources):
            continue
        entry = candidate.entry
        if candidate.story_id in sent:
            old_hash, listed = sent[candidate.story_id]
            # Changed is what was sent and is no more: another source leading the story now
            # (a partner of higher priority, a new source's archive copy) changes nothing
            # the partner read.
            changed = entry.text_hash != old_hash and old_hash not in candidate.texts
            if not listed and changed and period.since < candidate.changed_at:
                updated.append(replace(entry, updated=True))
            continue
        if not period.since < candidate.news_to(rule) <= period.until:
            continue
        if candidate.backlog:
            continue  # a new source's archive: in the feeds, never announced as news
        new.append(entry)
        story_groups[entry.story_id] = _group(candidate, group_by, groups, rule)
    new.sort(key=lambda e: (e.published_at, e.story_id), reverse=True)
    order = {label: i for i, (_, label) in enumerate(groups)}
    other = OTHER_DISTRICT if group_by == "district" else OTHER_TOPIC
    grouped: dict[str, list[DigestEntry]] = {}
    for entry in new:
        grouped.setdefault(story_groups[entry.story_id], []).append(entry)
    labels = sorted(grouped, key=lambda g: order.get(g, len(order)))
    result = [(label, tuple(grouped[label])) for label in labels if label != other]
    if other in grouped:
        result.append((other, tuple(grouped[other])))
    if updated:
        updated.sort(key=lambda e: (e.published_at, e.story_id), reverse=True)
        result.append((UPDATED_GROUP, tuple(updated)))
    return DigestIssue(partner=partner, period=period, groups=tuple(result))


def _group(
    candidate: Candidate, group_by: str, groups: Sequence[tuple[str, str]], rule: StoryFilter
) -> str:
    """The one group a story is listed in: the first of its topics (or districts) in the
    configured order, those the partner asked for first."""
    if group_by == "district":
        have = candidate.districts
        preferred = rule.districts
        other = OTHER_DISTRICT
    else:
        have = candidate.tags
        preferred = rule.tags | rule.all_tags
        other = OTHER_TOPIC
    ranked = sorted(
        (i for i, (group_id, _) in enumerate(groups) if group_id in have),
        key=lambda i: (groups[i][0] not in preferred, i),
    )
    return groups[ranked[0]][1] if ranked else other


def _listed(item: Item, teaser_length: int) -> tuple[str, str]:
    """An item's title and teaser as a digest lists them."""
    return clean(item.title) or NO_TITLE, shorten(item.summary_text, teaser_length)


def _listed_hashes(item: Item, teaser_length: int) -> tuple[str, str]:
    """An item's text hash as a digest lists it, now and as digests sent before recorded
    it (so that the change of hash is no change of text)."""
    listed = _listed(item, teaser_length)
    return text_hash(*listed), _legacy_text_hash(*listed)


def _entry(
    story: Story,
    source_names: Mapping[str, str],
    priorities: Mapping[str, int],
    teaser_length: int,
) -> DigestEntry:
    lead = story.lead(priorities)
    item = lead.item
    title, teaser = _listed(item, teaser_length)
    also: list[tuple[str, str | None]] = []
    seen = {item.source_id}
    for member in story.members:
        if member.item.source_id in seen:
            continue
        seen.add(member.item.source_id)
        name = clean(source_names.get(member.item.source_id, member.item.source_id))
        also.append((name, _safe_url(member.item.url)))
    return DigestEntry(
        story_id=story.id,
        title=title,
        url=_safe_url(item.url),
        source=clean(source_names.get(item.source_id, item.source_id)),
        published_at=item.published_at,
        teaser=teaser,
        also=tuple(also),
        text_hash=text_hash(title, teaser),
        files=tuple(
            (clean(german.file_label(f.url, f.media_type, f.size, f.title)), url)
            for f in story.attachments(lead)
            if (url := _safe_url(f.url))
        ),
    )


def _safe_url(url: str | None) -> str | None:
    """Only http(s) links reach a digest (no ``javascript:``, no line breaks)."""
    if not url or _CONTROL.search(url) or " " in url:
        return None
    return url if url.lower().startswith(("http://", "https://")) else None
