# The C extension's interface (see _textcore.c; native.py is its only user).
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

class Featurizer:
    def __init__(
        self,
        stop_words: Iterable[str],
        suffixes: Sequence[str],
        min_word: int,
        min_stem: int,
        shingle: int,
        max_words: int,
        keyword_words: int,
        sample_mod: int,
        months: dict[str, int] = ...,
    ) -> None: ...
    def tokenize(self, lead: str, body: str) -> tuple[bytes, int, bytes]: ...
    def features(
        self,
        words: bytes,
        lead_count: int,
        hashes: bytes,
        boilerplate: bytes,
        url_mark: int | None,
    ) -> tuple[bytes, bytes, bytes, str, str]: ...
    def dates(self, words: bytes) -> list[tuple[int, int, int | None]] | None: ...

def recurring(packed_sets: Sequence[bytes], needed: int) -> bytes: ...
def best_candidate(
    items: list[Any],
    found: list[tuple[int, bool]],
    shingles: bytes,
    keywords: str,
    districts: frozenset[str],
    day: int,
    upcoming: tuple[int, ...],
    counts: KeywordCounts,
    table: list[float],
    term: float,
    rules: tuple[float, float, float, float, int, int],
) -> tuple[int, float] | None: ...

class MarkIndex:
    window: float
    def __init__(
        self, window: float, max_postings: int, min_shared: int, max_candidates: int
    ) -> None: ...
    def __len__(self) -> int: ...
    def add(self, item_id: int, published: float, marks: bytes | Iterable[int]) -> None: ...
    def find_marks(
        self, marks: bytes | Iterable[int], url_mark: int | None, published: float
    ) -> list[tuple[int, bool]]: ...

class KeywordCounts:
    def __init__(self, counts: Mapping[str, int] | None = None) -> None: ...
    def __len__(self) -> int: ...
    def get(self, keyword: str, default: int = 0, /) -> int: ...
    def add(self, keywords: str, /) -> None: ...
    def take_changed(self) -> dict[str, int]: ...

def query_marks(
    sampled: bytes,
    lead: str,
    url_mark: int | None,
    counts: KeywordCounts,
    limit: int,
    rarest: int,
) -> bytes: ...
