"""Decide what an item means for the store: new, updated or unchanged. Pure.

Like reader's update decider, this never touches the store: the orchestrator looks up the
stored fingerprints and applies the decisions.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TypeVar

from .models import TEXT_KEY, Item, ItemDecision, ItemIdentity, StoredKey

T = TypeVar("T")

#: (key, title, fingerprint) of a source's stored items, by link.
StoredByLink = Mapping[str, Sequence[tuple[str, str, str]]]

#: Items of one fetch that must have changed guid since the last one before a source's
#: guids count as random (and at least half of the items that have a guid).
MIN_MOVED = 2


def disambiguate(pairs: Iterable[tuple[T, Item]]) -> tuple[list[tuple[T, Item]], list[str]]:
    """Give items of one document that share a key but differ a key of their own.

    Some feeds repeat one guid for every item, some listings link every entry to the same
    page ("#"); keeping only the first would silently lose news. Following miniflux, the
    repeated key is combined with a hash of the title. True repeats (same key and same
    content) are dropped: the first occurrence, the publisher's newest, wins. An entry shown
    twice with the same key and title but other text (a listing's "top" box repeats one,
    shorter and without a date) is one item too, the first with a date, unless both have
    dates and they differ (a council's "Sitzung des Stadtrates" of every month, all
    linking the same page).

    Args:
        pairs: each item with something of the caller's that travels with it (its raw form).

    Returns:
        The pairs with unique item keys, and the keys that several different items shared
        (see :func:`told_apart`).
    """
    result: list[tuple[T, Item]] = []
    kept: dict[str, int] = {}  # key -> its item's place in result
    repeated: set[str] = set()
    for payload, item in pairs:
        key = item.key
        if key in kept:
            first = result[kept[key]][1]
            if first.fingerprint == item.fingerprint:
                continue
            if first.title == item.title and (
                first.date_estimated
                or item.date_estimated
                or first.published_at == item.published_at
            ):
                if first.date_estimated and not item.date_estimated:
                    result[kept[key]] = (payload, item)
                continue
            repeated.add(item.key)
            key = f"{item.key}#{_digest(item.title)}"
            if key in kept:
                # A third of one title (a monthly notice, all linking one page): by its date.
                key = f"{item.key}#{_digest(item.title + item.published_at.isoformat())}"
                if key in kept:
                    continue
            item = replace(item, key=key)
        kept[key] = len(result)
        result.append((payload, item))
    return result, sorted(repeated)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def told_apart(keys: Iterable[str]) -> list[str]:
    """A warning for each key :func:`disambiguate` found shared by different items."""
    return [f"several different items share the id {k!r}; told apart by title" for k in keys]


def decide(items: Iterable[Item], stored: Mapping[str, str]) -> list[tuple[Item, ItemDecision]]:
    """Pair each item (keys unique, see :func:`disambiguate`) with its decision.

    Args:
        items: the normalized items of one source and one fetch.
        stored: fingerprint by item key, for the keys already in the store.
    """
    decisions: list[tuple[Item, ItemDecision]] = []
    for item in items:
        previous = stored.get(item.key)
        if previous is None:
            decision = ItemDecision.NEW
        elif previous != item.fingerprint:
            decision = ItemDecision.UPDATED
        else:
            decision = ItemDecision.UNCHANGED
        decisions.append((item, decision))
    return decisions


def identify(
    items: Sequence[Item],
    current: ItemIdentity,
    stored_by_url: StoredByLink,
    shared: Sequence[str],
) -> ItemIdentity:
    """How a source's items must be identified from now on, judged from one fetch.

    Guids are broken when one document repeats a guid for different items, or when the
    items come back under new guids at links the store knows (guids random on every
    fetch). Such a source falls back to links; when its links are not unique either, to
    link and title. The verdict is kept: a source never returns to guids by itself. A
    shared link is no sign of broken guids (a listing links two entries to one page), nor
    is a shared key made of the items' text.

    Args:
        items: the document's normalized items (keys from :func:`disambiguate`).
        current: the source's identity so far.
        stored_by_url: (key, title, fingerprint) of the stored items at each of these
            items' links.
        shared: the keys :func:`disambiguate` found shared by different items.
    """
    urls = [i.url for i in items if i.url]
    links = set(urls)
    repeated = any(key not in links and not key.startswith(TEXT_KEY) for key in shared)
    links_unique = len(urls) == len(items) and len(links) == len(urls)
    if current is ItemIdentity.LINK_TITLE:
        return current
    if current is ItemIdentity.GUID:
        by_guid = [i for i in items if i.url and i.key != i.url]
        # A feed that stopped sending guids: its items come keyed by their links, and the
        # store has them, same link and title, under their guids (every item was stored
        # again, and corrections went to the copies).
        dropped = [i for i in items if i.url and i.key == i.url and _lost_guid(i, stored_by_url)]
        moved = [i for i in by_guid if _stored_key(i, stored_by_url) not in (None, i.key)]
        moved += dropped
        judged = by_guid + dropped
        many = len(moved) >= MIN_MOVED and 2 * len(moved) >= len(judged)
        # A feed of one item can never show two moves: its one item back under a new guid
        # (or none) but otherwise as stored is the same evidence (stored anew on every
        # fetch otherwise). A notice of the same title and link with another date is not.
        alone = len(judged) == 1 and _back_as_is(judged[0], stored_by_url)
        if not repeated and not many and not alone:
            return current
        at_link = stored_by_url.get(judged[0].url or "", ()) if alone else ()
        if len(at_link) > 1:
            # Its link holds other stored items (a feed of one item that always links one
            # page): by link alone each new item would overwrite the one before; so would
            # it by link and title where they share its title ("Aktuelles aus dem
            # Landratsamt" every week), and the feed keeps its guids.
            if sum(title == judged[0].title for _, title, _ in at_link) > 1:
                return current
            return ItemIdentity.LINK_TITLE
    elif not repeated and links_unique:
        return current
    return ItemIdentity.LINK if links_unique else ItemIdentity.LINK_TITLE


def _stored_key(item: Item, stored_by_url: StoredByLink) -> str | None:
    """The key the store has this item under, judged by its link (and title, where several
    stored items share the link)."""
    stored = stored_by_url.get(item.url or "", ())
    if len(stored) > 1:
        stored = [row for row in stored if row[1] == item.title]
    return stored[0][0] if len(stored) == 1 else None


def _lost_guid(item: Item, stored_by_url: StoredByLink) -> bool:
    """Whether this item, keyed by its link, is stored at that link under another key (a
    guid) with its title: one item, whose feed no longer gives its guid. Keys made of the
    link (a link several items share, told apart by title; one displaced by a change of
    identity) or of the text are no guids; a guid that only begins with the link is."""
    link = item.url or ""
    return any(
        title == item.title and not key.startswith(TEXT_KEY) and not _made_of(link, key)
        for key, title, _ in stored_by_url.get(link, ())
    )


def _made_of(link: str, key: str) -> bool:
    """Whether ``key`` is one :func:`disambiguate`, :func:`key_for` or :func:`rekey_stored`
    made of ``link``: the link, then a title's digest or two, then an "#old-" mark."""
    if not key.startswith(link):
        return False
    return _LINK_KEY_TAIL.fullmatch(key, len(link)) is not None


_LINK_KEY_TAIL = re.compile(r"(?:#[0-9a-f]{12})*(?:#old-[0-9]+-*)?")


def _back_as_is(item: Item, stored_by_url: StoredByLink) -> bool:
    """Whether an item stored at this item's link is this one, in all a reader sees, under
    another key."""
    return any(
        key != item.key and title == item.title and fingerprint == item.fingerprint
        for key, title, fingerprint in stored_by_url.get(item.url or "", ())
    )


def key_for(identity: ItemIdentity, key: str, url: str | None, title: str) -> str:
    """An item's key under ``identity`` (its own key where there is no link to use)."""
    if identity is ItemIdentity.GUID or not url:
        return key
    if identity is ItemIdentity.LINK:
        return url
    return f"{url}#{hashlib.sha256(title.encode()).hexdigest()[:12]}"


def rekey(pairs: Iterable[tuple[T, Item]], identity: ItemIdentity) -> list[tuple[T, Item]]:
    """The items keyed by ``identity`` (then run :func:`disambiguate` again)."""
    return [
        (payload, replace(item, key=key_for(identity, item.key, item.url, item.title)))
        for payload, item in pairs
    ]


def rekey_retired(
    tombstones: Sequence[tuple[str, str | None, str | None]], identity: ItemIdentity
) -> dict[str, str]:
    """New keys for the tombstones (key, link, title) of a source whose identity changes:
    the old key -> the new one, where it changes (tombstones without a link keep theirs)."""
    new_keys = {key: key_for(identity, key, url, title or "") for key, url, title in tombstones}
    return {old: new for old, new in new_keys.items() if new != old}


def rekey_stored(
    stored: Sequence[StoredKey], identity: ItemIdentity
) -> tuple[dict[int, str], dict[str, str]]:
    """New keys for a source's stored items when its identity changes.

    Returns:
        The new key of each item whose key changes (by id), and the stored fingerprint by
        new key, for :func:`decide`. Where two stored items would get one key, the newer
        keeps it and the older one a key of its own (it is never matched again).
    """
    new_keys: dict[int, str] = {}
    owner: dict[str, StoredKey] = {}
    displaced: list[tuple[StoredKey, str]] = []
    for row in stored:  # oldest first: a later item takes the key over
        key = key_for(identity, row.key, row.url, row.title)
        if key in owner:
            displaced.append((owner[key], key))
        owner[key] = row
        new_keys[row.id] = key
    # Chosen once every item's own key is known: a link may itself end in "#old-7" (a feed
    # that did so made every later cycle fail on the store's unique key).
    taken = set(owner)
    for row, key in displaced:
        own = f"{key}#old-{row.id}"
        while own in taken:
            own += "-"
        taken.add(own)
        new_keys[row.id] = own
    old = {row.id: row.key for row in stored}
    changed = {i: k for i, k in new_keys.items() if k != old[i]}
    return changed, {key: row.fingerprint for key, row in owner.items()}
