"""How often each keyword occurs: the keywords' weights (smoothed IDF). Pure.

Placement counts every new item's keywords (in the placing process, and again in the
candidate finder's) and weighs the keywords of each candidate it compares by those counts,
so a cold cycle of 15,000 items makes millions of count lookups. The C extension's
:class:`KeywordCounts` keeps the counts in a table of its own, where a lookup is a hash of
the word's bytes; the Python :class:`KeywordCounts` here is its reference.
"""

from __future__ import annotations

import functools
import math
import operator
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from itertools import repeat
from typing import Protocol

from .native import NATIVE, native_keyword_counts


class Counts(Protocol):
    """In how many items each keyword occurs, and which counts changed since taken."""

    def __len__(self) -> int: ...

    def get(self, keyword: str, default: int = 0, /) -> int:
        """How many items were counted with ``keyword``, or ``default`` if none was."""
        ...

    def add(self, keywords: str, /) -> None:
        """Count one more item with each of the space-separated ``keywords``."""

    def take_changed(self) -> dict[str, int]:
        """The counts that changed since they were last taken; none has changed after."""
        ...


class KeywordCounts:
    """:class:`Counts` in Python."""

    def __init__(self, counts: Mapping[str, int] | None = None) -> None:
        self._counts: Counter[str] = Counter(counts or {})
        self._changed: set[str] = set()

    def __len__(self) -> int:
        return len(self._counts)

    def get(self, keyword: str, default: int = 0, /) -> int:
        return self._counts.get(keyword, default)

    def add(self, keywords: str, /) -> None:
        words = keywords.split()
        self._counts.update(words)
        self._changed.update(words)

    def take_changed(self) -> dict[str, int]:
        changed = {k: self._counts[k] for k in self._changed}
        self._changed.clear()
        return changed


def keyword_counts(counts: Mapping[str, int], *, native: bool = NATIVE) -> Counts:
    """Counts starting from ``counts``: the C extension's where it is built."""
    return native_keyword_counts(counts) if native else KeywordCounts(counts)


class KeywordStats:
    """In how many items each keyword occurs: the keywords' weights (smoothed IDF).

    A keyword's weight is ``log((total + 1) / (count + 1)) + 1``, so the weight of a set of
    keywords is ``len * (log(total + 1) + 1) - sum(log(count + 1))``. The sum is taken from
    a table of ``log(n + 1)`` for every possible count (no count exceeds the total), so
    weighing a set and counting an item are a few C-level calls, not a loop per keyword.
    """

    def __init__(self, counts: Mapping[str, int], total: int, *, native: bool = NATIVE) -> None:
        self.counts = keyword_counts(counts, native=native)
        # No keyword is in more items than were counted (matching's bounds rely on every
        # keyword weighing at least 1), even in a store someone edited by hand.
        self.total = max(total, max(counts.values(), default=0))
        self._logs: list[float] = []
        self._grow()

    def weight_of(self, keywords: Collection[str]) -> float:
        """The summed weight of ``keywords`` (their logs added in order, as the C extension
        adds them: ``sum()`` compensates its rounding since Python 3.12)."""
        return self.weight_from(
            len(keywords), functools.reduce(operator.add, self.logs_of(keywords), 0.0)
        )

    def logs_of(self, keywords: Iterable[str]) -> list[float]:
        """``log(count + 1)`` of each keyword: what its weight is less than the most."""
        # counts.get(k, 0) for each keyword, then log(n + 1) from the table.
        return list(map(self._logs.__getitem__, map(self.counts.get, keywords, repeat(0))))

    def weight_from(self, keywords: int, logs: float) -> float:
        """The summed weight of ``keywords`` keywords whose :meth:`logs_of` sum to ``logs``."""
        return keywords * self.term - logs

    @property
    def term(self) -> float:
        """What each keyword weighs at most: ``log(total + 1) + 1``."""
        return math.log(self.total + 1) + 1.0

    @property
    def log_table(self) -> list[float]:
        """``log(n + 1)`` for every count ``n`` a keyword can have (for the C extension)."""
        return self._logs

    def add(self, keywords: str | Collection[str]) -> None:
        """Count one more item with these keywords (space-separated, as stored, or each)."""
        self.counts.add(keywords if isinstance(keywords, str) else " ".join(keywords))
        self.total += 1
        if self.total >= len(self._logs):
            self._grow()

    def take_changed(self) -> dict[str, int]:
        """The counts that changed since they were last taken (to store them)."""
        return self.counts.take_changed()

    def _grow(self) -> None:
        size = max(4096, 2 * (self.total + 1))  # no count exceeds the total
        self._logs.extend(math.log(n + 1) for n in range(len(self._logs), size))
