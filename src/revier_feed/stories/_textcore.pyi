# The C extension's interface (see _textcore.c; native.py is its only user).
from collections.abc import Iterable, Sequence
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

def recurring(packed_sets: Sequence[bytes], needed: int) -> bytes: ...
def overlap(a: bytes, b: bytes) -> int: ...
def shared_weight(a: str, a_values: bytes, b: str) -> tuple[float, int, int]: ...
def best_candidate(
    items: list[Any],
    found: list[tuple[int, bool]],
    shingles: bytes,
    keywords: str,
    districts: frozenset[str],
    day: int,
    upcoming: tuple[int, ...],
    counts: dict[str, int],
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
