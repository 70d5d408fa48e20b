"""The story stage's C extension (``_textcore.c``), and the Python that stands in for it.

``pip install`` builds the extension where a C compiler is found; elsewhere the same work
runs in Python, slower (the extension's results are tested equal to the Python ones:
tests/test_stories_native.py). What it does: an item's words, shingles and keywords
(:mod:`.batch`), the comparison of a new item with its candidates, and the index of marks
that finds the candidates (:mod:`.index`).
"""

from __future__ import annotations

import functools
import operator
import sys
from array import array
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from .packed import PackedFeatures, unpack_ints
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
    SAMPLE_MOD,
    SHINGLE,
    STOP_WORDS,
    SUFFIXES,
    VERBATIM,
    KeywordStats,
)

if TYPE_CHECKING:
    from .index import IndexedItem

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
    )
    if NATIVE
    else None
)


def native_mark_index(
    window: float, max_postings: int, min_shared: int, max_candidates: int
) -> _textcore.MarkIndex:
    """The C extension's mark index (see :class:`.index.Marks`; only where it is built)."""
    return _textcore.MarkIndex(window, max_postings, min_shared, max_candidates)


#: The thresholds of :func:`.text.decide`, in the order the extension reads them.
_RULES = (VERBATIM, ACROSS_DISTRICTS, CONTAINMENT, KEYWORD_CONTAINMENT, MIN_SHINGLES, MIN_KEYWORDS)


def native_best_candidate(
    items: list[IndexedItem],
    found: list[tuple[int, bool]],
    new: PackedFeatures,
    stats: KeywordStats,
) -> tuple[int, float] | None:
    """:func:`.index.best_candidate` in C (only where the extension is built)."""
    return _textcore.best_candidate(
        items,
        found,
        new.shingles,
        new.keywords,
        new.districts,
        new.published,
        new.upcoming,
        stats.counts,
        stats.log_table,
        stats.term,
        _RULES,
    )


def recurring(packed_sets: list[bytes], needed: int) -> bytes:
    """The values in at least ``needed`` of the packed value sets, packed and sorted (only
    where the extension is built)."""
    return _textcore.recurring(packed_sets, needed)


def shingle_overlap(shingles: bytes, *, native: bool = NATIVE) -> Callable[[bytes], int]:
    """How many of the packed sorted ``shingles`` another item's packed sorted shingles
    have: a function of those, for comparing one new item with its candidates."""
    if native:
        return functools.partial(_textcore.overlap, shingles)
    own = frozenset(unpack_ints(shingles))
    return lambda other: len(own.intersection(_values(other)))


def keyword_overlap(
    keywords: str, values: list[float], *, native: bool = NATIVE
) -> Callable[[str], tuple[float, int, int]]:
    """For the sorted space-separated ``keywords`` and a value of each (in their order): a
    function of another item's keywords giving the sum of the values of the keywords it
    shares (added in their order), how many it shares, and how many it has."""
    if native:
        return functools.partial(_textcore.shared_weight, keywords, array("d", values).tobytes())
    position = {word: i for i, word in enumerate(keywords.split())}

    def shared(other: str) -> tuple[float, int, int]:
        words = other.split()
        found = [values[position[w]] for w in words if w in position]
        # Added plainly, in order, as the C code adds them (sum() compensates its rounding
        # since Python 3.12).
        return functools.reduce(operator.add, found, 0.0), len(found), len(words)

    return shared


def _values(packed: bytes) -> Iterable[int]:
    # Packed little-endian: on such a machine a cast reads them without copying.
    if sys.byteorder == "little":
        return memoryview(packed).cast("I")
    return unpack_ints(packed)  # pragma: no cover - no big-endian CI machine
