"""The story stage's C extension (``_textcore.c``): whether it is built, and its objects.

``pip install`` builds the extension where a C compiler is found; elsewhere the same work
runs in Python, slower. Each piece has its Python reference, and tests compare the two
(tests/test_stories_native.py): an item's words, shingles and keywords
(:func:`.batch.source_features_python`), the comparison of a new item with its candidates
(:func:`.index.best_candidate`), the index of marks that finds the candidates
(:class:`.index.MarkIndex`), and the keyword counts (:class:`.keywords.KeywordCounts`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .packed import PackedFeatures
from .phase import MONTHS
from .text import (
    ACROSS_DISTRICTS,
    CONTAINMENT,
    KEYWORD_CONTAINMENT,
    KEYWORD_WORDS,
    MAX_WORDS,
    MIN_KEYWORD,
    MIN_KEYWORDS,
    MIN_SHINGLES,
    MIN_STEM,
    RAREST_LEAD,
    SAMPLE_MOD,
    SHINGLE,
    STOP_WORDS,
    SUFFIXES,
    VERBATIM,
    rare_limit,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .index import IndexedItem
    from .keywords import KeywordStats

try:
    from . import _textcore
except ImportError:  # pragma: no cover - installed without a C compiler
    _textcore = None  # type: ignore[assignment]  # the app logs this when it collects

#: Whether the C extension does the work.
NATIVE = _textcore is not None

#: Reads items' words, shingles and keywords by the rules of :mod:`.text` (None where the
#: extension is not built).
FEATURIZER = (
    _textcore.Featurizer(
        stop_words=sorted(STOP_WORDS),
        suffixes=SUFFIXES,
        min_word=MIN_KEYWORD,
        min_stem=MIN_STEM,
        shingle=SHINGLE,
        max_words=MAX_WORDS,
        keyword_words=KEYWORD_WORDS,
        sample_mod=SAMPLE_MOD,
        months=MONTHS,
    )
    if NATIVE
    else None
)


def native_keyword_counts(counts: Mapping[str, int]) -> _textcore.KeywordCounts:
    """The C extension's keyword counts (see :class:`.keywords.Counts`; only where it is
    built)."""
    return _textcore.KeywordCounts(counts)


def native_mark_index(
    window: float, max_postings: int, min_shared: int, max_candidates: int
) -> _textcore.MarkIndex:
    """The C extension's mark index (see :class:`.index.Marks`; only where it is built)."""
    return _textcore.MarkIndex(window, max_postings, min_shared, max_candidates)


#: The thresholds of :func:`.text.decide`, in the order the extension reads them.
_RULES = (VERBATIM, ACROSS_DISTRICTS, CONTAINMENT, KEYWORD_CONTAINMENT, MIN_SHINGLES, MIN_KEYWORDS)


def _native_counts(stats: KeywordStats) -> _textcore.KeywordCounts:
    counts = stats.counts
    if not isinstance(counts, _textcore.KeywordCounts):
        raise TypeError("the C code needs the keyword counts in C (KeywordStats(native=True))")
    return counts


def native_query_marks(new: PackedFeatures, stats: KeywordStats) -> bytes:
    """:meth:`.PackedFeatures.query_marks` in C, packed (only where the extension is built)."""
    counts = _native_counts(stats)
    return _textcore.query_marks(
        new.sampled, new.lead, new.url_mark, counts, rare_limit(stats.total), RAREST_LEAD
    )


def native_best_candidate(
    items: list[IndexedItem],
    found: list[tuple[int, bool]],
    new: PackedFeatures,
    stats: KeywordStats,
) -> tuple[int, float] | None:
    """:func:`.index.best_candidate` in C (only where the extension is built)."""
    counts = _native_counts(stats)
    return _textcore.best_candidate(
        items,
        found,
        new.shingles,
        new.keywords,
        new.districts,
        new.published,
        new.upcoming,
        counts,
        stats.log_table,
        stats.term,
        _RULES,
    )


def recurring(packed_sets: list[bytes], needed: int) -> bytes:
    """The values in at least ``needed`` of the packed value sets, packed and sorted (only
    where the extension is built)."""
    return _textcore.recurring(packed_sets, needed)
