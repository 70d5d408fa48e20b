"""A new item's features in the compact form placement carries and the index matches. Pure.

A first cycle holds a hundred thousand new items between reading their words (in worker
processes) and placing them (oldest first, in the calling process). Kept as
:class:`.text.StoryFeatures`, each would be a few sets of a hundred objects; packed, it is
a few byte strings, cheap to send between processes and already in the form the store
keeps (packed shingles and marks, space-separated sorted keywords). The index unpacks the
shingles and keywords only of items that have candidates to be compared with, which most
items of a first cycle (the first report of their story) do not.
"""

from __future__ import annotations

import heapq
import itertools
import struct
from itertools import repeat
from typing import TYPE_CHECKING, NamedTuple

from .text import RAREST_LEAD, StoryFeatures, keyword_mark, pack, rare_limit, url_mark

if TYPE_CHECKING:
    from .keywords import Counts


class PackedFeatures(NamedTuple):
    """:class:`.text.StoryFeatures`, packed. A named tuple, not a dataclass: a first cycle
    sends a hundred thousand of them from the worker processes, and a tuple pickles in a
    third of the time (no per-field state to set when unpickled)."""

    shingles: bytes  #: packed (:func:`.text.pack`), as stored
    sampled: bytes  #: packed: the shingles that are marks
    marks: bytes  #: packed: every index entry (:attr:`.text.StoryFeatures.marks`), as stored
    keywords: str  #: sorted, space-separated, as stored
    lead: str  #: the lead keywords, space-separated
    url_mark: int | None  #: the canonical URL's mark
    districts: frozenset[str]
    published: int  #: day number
    upcoming: tuple[int, ...]

    @classmethod
    def of(cls, features: StoryFeatures) -> PackedFeatures:
        return cls(
            shingles=pack(features.shingles),
            sampled=pack(features.sampled),
            marks=pack(features.marks),
            keywords=" ".join(sorted(features.keywords)),
            lead=" ".join(sorted(features.lead)),
            url_mark=url_mark(features.url_key) if features.url_key else None,
            districts=features.districts,
            published=features.published,
            upcoming=features.upcoming,
        )

    def query_marks(self, counts: Counts, total: int) -> set[int]:
        """The marks to look candidates up by: the sampled shingles and the rarest lead
        keywords (without the URL's mark, looked up apart).

        A lead keyword counts only if at most :data:`.text.RARE_SHARE` of the stored items
        have it: a common word is no evidence of a shared story. Of those, the
        :data:`.text.RAREST_LEAD` rarest are looked up, words no item was counted with
        last: a paraphrase shares the names and rare terms of its original, while a long
        teaser's dozens of moderately rare words would each find a few unrelated items.
        (An uncounted word may still be a mark of a stored item, from beyond the opening
        that keywords are counted in.) The C extension does this where it is built
        (:func:`.index.candidates_of`).
        """
        limit = rare_limit(total)
        marks = set(unpack_ints(self.sampled))
        lead = self.lead.split()
        found = list(map(counts.get, lead, repeat(0)))
        rare = list(itertools.compress(lead, map(limit.__ge__, found)))
        if len(rare) > RAREST_LEAD:
            # By count, an uncounted word (0) as if in more items than any looked up.
            ranked = [(n or limit + 1, k) for n, k in zip(found, lead, strict=True) if n <= limit]
            rare = [k for _, k in heapq.nsmallest(RAREST_LEAD, ranked)]
        marks.update(map(keyword_mark, rare))
        if self.url_mark is not None:
            marks.discard(self.url_mark)
        return marks

    @property
    def shingle_count(self) -> int:
        return len(self.shingles) // 4


def unpack_ints(data: bytes) -> tuple[int, ...]:
    """Packed values (:func:`.text.pack`) in their stored order."""
    return struct.unpack(f"<{len(data) // 4}I", data)
