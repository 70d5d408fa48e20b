"""The story work of a large batch that runs in other processes: each source's features,
and the candidate finder.

Kept apart from :mod:`.placement`, which speaks to the store: a process started for this
work imports only the story stage (:mod:`.stories`), not the store (when the store still
spoke through SQLAlchemy, that was about 26 MB and a quarter of a second of CPU in every
such process).
"""

from __future__ import annotations

import resource
from collections.abc import Sequence
from datetime import datetime
from multiprocessing.connection import Connection
from typing import NamedTuple

from . import stories
from ._utils import collector_paused
from .models import Item, StoryText

#: Items whose query data (and candidates) travel to (and from) the finder in one message.
FINDER_CHUNK = 500

#: One item's query for the finder: publication time (POSIX), item id, packed features.
Query = tuple[float, int, stories.PackedFeatures]
#: The finder's answer for one item: its id and its candidates (slots, same URL).
Found = tuple[int, list[tuple[int, bool]]]


class Pending(NamedTuple):
    """A new item waiting for its turn to be placed (a first cycle may place a hundred
    thousand items): its features packed, as strings and bytes, not sets of them. A named
    tuple, cheap to send back from a worker process (see :class:`.stories.PackedFeatures`)."""

    published_at: datetime
    item_id: int
    features: stories.PackedFeatures


SourceFeatures = tuple[frozenset[int], list[Pending]]


def story_texts(items: Sequence[Item]) -> list[StoryText]:
    """What the stories step reads of items not stored yet, numbered by position."""
    return [
        StoryText(
            id=number,
            source_id=item.source_id,
            url=item.url,
            title=item.title,
            summary_text=item.summary_text,
            content_html=item.content_html,
            published_at=item.published_at,
            districts=item.districts,
        )
        for number, item in enumerate(items)
    ]


def source_features(
    items: list[StoryText], known: frozenset[int], recent: list[bytes]
) -> SourceFeatures:
    """A source's boilerplate (what was ``known``, and what recurs in its new and recent
    items) and its new items' features. Pure, so it may run in another process."""
    with collector_paused():  # thousands of small objects, none of them in a cycle
        boilerplate, packed = stories.source_features(items, known, recent)
        return boilerplate, [
            Pending(stored.published_at, stored.id, features)
            for stored, features in zip(items, packed, strict=True)
        ]


def without_features(items: Sequence[StoryText]) -> list[Pending]:
    """Items whose features could not be computed (a bug), with none: no other item finds
    them as a candidate, and they find none, so each becomes a story of its own."""
    return [
        Pending(
            item.published_at,
            item.id,
            stories.PackedFeatures(
                shingles=b"",
                sampled=b"",
                marks=b"",
                keywords="",
                lead="",
                url_mark=None,
                districts=item.districts,
                published=stories.phase.day_number(item.published_at.date()),
                upcoming=(),
            ),
        )
        for item in items
    ]


def find_candidates(conn: Connection, marks: stories.Marks, stats: stories.KeywordStats) -> None:
    """The candidate finder process (see :class:`.placement._Finder`).

    Receives the new items' queries in placing order, a list of :data:`Query` per message
    until None, and answers each message with a list of :data:`Found`, listing every item
    under its marks and counting its keywords as it goes; at the end it sends how many
    items it placed, its CPU seconds and its peak RSS in MB.
    """
    start = stats.total
    try:
        with collector_paused():  # millions of postings, none of them in a cycle
            while (chunk := conn.recv()) is not None:
                found: list[Found] = []
                for published, item_id, new in chunk:
                    found.append((item_id, stories.candidates_of(marks, new, published, stats)))
                    marks.add(item_id, published, new.marks)
                    stats.add(new.keywords)
                conn.send(found)
            usage = resource.getrusage(resource.RUSAGE_SELF)
            placed = stats.total - start
            conn.send((placed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024))
    except (EOFError, OSError):
        pass  # the placing process stopped listening: nothing left to do
    finally:
        conn.close()
