"""Which items are the same story: near-duplicate detection across sources. Pure.

:mod:`.text` turns an item into what it is compared by and holds the decision rule;
:mod:`.index` finds the few stored items worth comparing with, in memory; :mod:`.packed`
is the compact form new items wait in until they are placed.
"""

from . import phase
from .batch import BatchFeatures, source_features
from .index import (
    MAX_CANDIDATES,
    MAX_POSTINGS,
    IndexedItem,
    MarkIndex,
    Marks,
    StoryIndex,
    StoryMatch,
    best_candidate,
    candidates_of,
    mark_index,
)
from .keywords import Counts, KeywordCounts, KeywordStats, keyword_counts
from .native import NATIVE, native_query_marks
from .packed import PackedFeatures, unpack_ints
from .text import (
    Similarity,
    StoryFeatures,
    canonical_url,
    compare,
    decide,
    features,
    learn_boilerplate,
    pack,
    prepare,
    same_story,
    shingles_of,
    similarity,
    unpack,
    url_mark,
)

__all__ = [
    "MAX_CANDIDATES",
    "MAX_POSTINGS",
    "NATIVE",
    "BatchFeatures",
    "Counts",
    "IndexedItem",
    "KeywordCounts",
    "KeywordStats",
    "MarkIndex",
    "Marks",
    "PackedFeatures",
    "Similarity",
    "StoryFeatures",
    "StoryIndex",
    "StoryMatch",
    "best_candidate",
    "candidates_of",
    "canonical_url",
    "compare",
    "decide",
    "features",
    "keyword_counts",
    "learn_boilerplate",
    "mark_index",
    "native_query_marks",
    "pack",
    "phase",
    "prepare",
    "same_story",
    "shingles_of",
    "similarity",
    "source_features",
    "unpack",
    "unpack_ints",
    "url_mark",
]
