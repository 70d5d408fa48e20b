"""Topic and district tags for items, German-aware and explainable. Pure.

Terms (from tags.yaml and the district gazetteer) match case-insensitively and regardless of
umlaut spelling (``Räume`` = ``Raeume``, ``ß`` = ``ss``), as whole words unless marked:

- ``Studie*`` matches words starting with "studie" (Studie, Studien, Studienreihe);
- ``*preis`` matches words ending in "preis", inside compounds too (Innovationspreis);
- ``*wasserstoff*`` matches inside words on both sides;
- ``re:<regex>`` is a regular expression, matched case-insensitively on the original text.

A topic rule tags an item when any ``any`` term, all ``all`` terms and no ``none`` term occur
in its chosen fields. Districts are found in all fields; where names overlap the longer one
wins, so "Landkreis Leipzig" is the district and not also the city of Leipzig. A body text
that names more than :data:`MAX_LISTED_DISTRICTS` districts is listing the whole region (a
project footer: "with the districts Altenburger Land, Anhalt-Bitterfeld, …"), so only the
districts its title and teaser name count.
"""

from __future__ import annotations

import bisect
import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from .models import DistrictSpec, Item, SourceSpec, TagSpec

_WORD = re.compile(r"\w+")
_TAG = re.compile(r"<[^>]*>")
_FIELDS = ("title", "teaser", "content")
#: More districts than this in an item's body text are an enumeration, not the item's place.
MAX_LISTED_DISTRICTS = 3


def fold(text: str) -> str:
    """Case and umlaut spelling folded away: "Ländliche RÄUME, Straße" -> "laendliche
    raeume, strasse"."""
    # casefold() already turns "ß" into "ss"; replace() is much faster than translate().
    return text.casefold().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")


class Words:
    """A text as folded words, with the lookups terms need.

    Matching works on words, not with one regular expression per term: a set lookup, a
    substring test or a binary search per term is what keeps tagging 15,000 items a
    matter of seconds.
    """

    __slots__ = ("_by_end", "_sorted", "joined", "original", "unique", "words")

    def __init__(self, original: str) -> None:
        self.original = original
        self.words: list[str] = _WORD.findall(fold(original))
        self.unique = frozenset(self.words)
        self.joined = " " + " ".join(self.words) + " "
        self._sorted: list[str] | None = None
        self._by_end: list[str] | None = None

    def starting_with(self, prefix: str) -> str | None:
        """A word that starts with ``prefix``, if any."""
        if self._sorted is None:
            self._sorted = sorted(self.unique)
        i = bisect.bisect_left(self._sorted, prefix)
        if i < len(self._sorted) and self._sorted[i].startswith(prefix):
            return self._sorted[i]
        return None

    def ending_with(self, suffix: str) -> str | None:
        """A word that ends with ``suffix``, if any."""
        if self._by_end is None:
            self._by_end = sorted(w[::-1] for w in self.unique)
        reversed_suffix = suffix[::-1]
        i = bisect.bisect_left(self._by_end, reversed_suffix)
        if i < len(self._by_end) and self._by_end[i].startswith(reversed_suffix):
            return self._by_end[i][::-1]
        return None


@dataclass(frozen=True, slots=True)
class Term:
    """One compiled term of a rule or of the gazetteer."""

    text: str  #: as written in the YAML
    words: tuple[str, ...]  #: folded; empty for a regular expression
    leading: bool  #: "*preis": the first word may have more in front
    trailing: bool  #: "Studie*": the last word may go on
    pattern: re.Pattern[str] | None = None  #: for ``re:`` terms and multi-word wildcards

    def find(self, text: Words) -> str | None:
        """The text this term matches in ``text`` (folded, but for ``re:`` terms), or None."""
        if self.pattern is not None:
            haystack = text.original if not self.words else text.joined
            match = self.pattern.search(haystack)
            return match.group().strip() if match else None
        if len(self.words) > 1:  # a phrase without wildcards (those have a pattern)
            phrase = " ".join(self.words)
            return phrase if f" {phrase} " in text.joined else None
        word = self.words[0]
        if self.leading and self.trailing:
            return next((w for w in text.unique if word in w), None)
        if self.trailing:
            return text.starting_with(word)
        if self.leading:
            return text.ending_with(word)
        return word if word in text.unique else None

    def length_at(self, words: list[str], i: int) -> int:
        """How many words this term covers at position ``i`` of ``words`` (0: no match)."""
        n = len(self.words)
        if not n or i + n > len(words):
            return 0
        for k, expected in enumerate(self.words):
            actual = words[i + k]
            head = k == 0 and self.leading
            tail = k == n - 1 and self.trailing
            if head and tail:
                ok = expected in actual
            elif head:
                ok = actual.endswith(expected)
            elif tail:
                ok = actual.startswith(expected)
            else:
                ok = actual == expected
            if not ok:
                return 0
        return n


def compile_term(text: str) -> Term:
    """Compile one term.

    Raises:
        ValueError: a ``re:`` term is not a valid regular expression, or the term is empty.
    """
    if text.startswith("re:"):
        try:
            regex = re.compile(text[3:], re.IGNORECASE)
        except re.error as e:
            raise ValueError(f"{text!r} is not a valid regular expression: {e}") from None
        return Term(text, (), False, False, regex)
    folded = fold(text.strip())
    words = tuple(_WORD.findall(folded))
    if not words:
        raise ValueError("a term needs at least one letter or digit")
    leading, trailing = folded.startswith("*"), folded.endswith("*")
    pattern: re.Pattern[str] | None = None
    if len(words) > 1 and (leading or trailing):
        # Searched in Words.joined, where words are separated by single spaces.
        body = " ".join(map(re.escape, words))
        pattern = re.compile(
            " " + (r"\w*" if leading else "") + body + (r"\w*" if trailing else "") + " "
        )
    return Term(text, words, leading, trailing, pattern)


@dataclass(frozen=True, slots=True)
class TagMatch:
    """Why an item has a tag: the rule part, the term and the text it matched."""

    tag: str
    kind: str  #: "topic", "district" or "source"
    reason: str  #: "any", "all", "district" or "source default"
    term: str | None = None
    field: str | None = None
    matched: str | None = None


@dataclass(frozen=True, slots=True)
class _Rule:
    spec: TagSpec
    any: tuple[Term, ...]
    all: tuple[Term, ...]
    none: tuple[Term, ...]


class Tagger:
    """Tag rules and the gazetteer, compiled once per configuration."""

    def __init__(self, topics: Sequence[TagSpec], districts: Sequence[DistrictSpec]) -> None:
        self._rules = [
            _Rule(
                spec,
                tuple(map(compile_term, spec.any)),
                tuple(map(compile_term, spec.all)),
                tuple(map(compile_term, spec.none)),
            )
            for spec in topics
        ]
        # Place names without wildcards are looked up by their words; the few with
        # wildcards ("Saalekreis*") are tried at each position. The longest name at a
        # position wins, so "Landkreis Leipzig" is the district, not also the city.
        self._exact: dict[tuple[str, ...], tuple[str, Term]] = {}
        # Wildcard names are found by the first letters of their first word, or the last
        # letters of their last word when they start with "*".
        self._by_start: dict[str, list[tuple[str, Term]]] = {}
        self._by_end: dict[str, list[tuple[str, Term]]] = {}
        self._anywhere: list[tuple[str, Term]] = []
        for district in districts:
            for text in district.terms:
                term = compile_term(text)
                if not term.words:
                    raise ValueError(f"place names cannot be regular expressions: {text!r}")
                entry = (district.id, term)
                if not term.leading and not term.trailing:
                    self._exact.setdefault(term.words, entry)
                elif not term.leading:
                    self._by_start.setdefault(term.words[0][:_KEY], []).append(entry)
                elif not term.trailing and len(term.words) == 1:
                    self._by_end.setdefault(term.words[0][-_KEY:], []).append(entry)
                else:
                    self._anywhere.append(entry)
        self._longest = max((len(w) for w in self._exact), default=0)
        self._first_words = {words[0] for words in self._exact}
        # A word can start a wildcard name only if its first (or last) letters are a key;
        # keys shorter than _KEY letters (a name like "Ak*") turn the quick check off.
        self._wild_keys = {k for k in (*self._by_start, *self._by_end) if len(k) == _KEY}
        self._short_keys = any(len(k) < _KEY for k in (*self._by_start, *self._by_end))
        # Whether a word that is no first word and has no key can be skipped unseen.
        self._quick = not self._anywhere and not self._short_keys

    def tag(self, item: Item, source: SourceSpec) -> Item:
        """``item`` with its topic tags (rules plus the source's defaults) and districts."""
        texts = _Texts(item)
        tags = {rule.spec.id for rule in self._rules if _matches(rule, texts)}
        tags.update(source.tags)
        districts = {d for d, _ in self._districts(texts)}
        if source.district:
            districts.add(source.district)
        return replace(item, tags=frozenset(tags), districts=frozenset(districts))

    def explain(self, item: Item, source: SourceSpec) -> list[TagMatch]:
        """Every tag the item gets, each with the term and text that gave it."""
        texts = _Texts(item)
        matches: list[TagMatch] = []
        for rule in self._rules:
            if not _matches(rule, texts):
                continue
            for reason, terms in (("any", rule.any), ("all", rule.all)):
                for term in terms:
                    found = _find(term, texts, rule.spec.fields)
                    if found is not None:
                        matches.append(TagMatch(rule.spec.id, "topic", reason, term.text, *found))
                        if reason == "any":
                            break
        for tag in source.tags:
            matches.append(TagMatch(tag, "topic", "source default"))
        for district, (place, field, matched) in self._districts(texts):
            matches.append(TagMatch(district, "district", "district", place, field, matched))
        if source.district:
            matches.append(TagMatch(source.district, "district", "source default"))
        return matches

    def _districts(self, texts: _Texts) -> Iterable[tuple[str, tuple[str, str, str]]]:
        found: dict[str, tuple[str, str, str]] = {}
        first, wild = self._first_words, self._wild_keys
        for field in _FIELDS:
            in_field: dict[str, tuple[str, str, str]] = {}
            text = texts.words(field)
            words = text.words
            positions: Iterable[int] = range(len(words))
            if self._quick:
                # Only positions whose word can start a place name are tried: most words
                # of a text are no place, and a set intersection finds the few that can be.
                starters = text.unique & first
                if wild:
                    starters |= {w for w in text.unique if w[:_KEY] in wild or w[-_KEY:] in wild}
                positions = [i for i, w in enumerate(words) if w in starters] if starters else ()
            free = 0  # words before this one belong to a place already found
            for i in positions:
                if i < free:
                    continue
                length, district, term = self._place_at(words, i)
                if length:
                    matched = " ".join(words[i : i + length])
                    in_field.setdefault(district, (term.text, field, matched))
                    free = i + length
            if field == "content" and len(in_field) > MAX_LISTED_DISTRICTS:
                continue
            for district, why in in_field.items():
                found.setdefault(district, why)
        return found.items()

    def _place_at(self, words: list[str], i: int) -> tuple[int, str, Term]:
        word = words[i]
        best: tuple[int, str, Term] = (0, "", _NO_TERM)
        # Hot path: most words start no place name, and that costs a few set lookups.
        if word in self._first_words:
            for n in range(min(self._longest, len(words) - i), 0, -1):
                hit = self._exact.get(tuple(words[i : i + n]))
                if hit is not None:
                    best = (n, hit[0], hit[1])
                    break
        candidates = list(self._anywhere)
        if self._short_keys or word[:_KEY] in self._wild_keys or word[-_KEY:] in self._wild_keys:
            for k in range(1, _KEY + 1):
                candidates += self._by_start.get(word[:k], ())
                candidates += self._by_end.get(word[-k:], ())
        for district, term in candidates:
            n = term.length_at(words, i)
            if n > best[0]:
                best = (n, district, term)
        return best


_NO_TERM = Term("", (), False, False)
#: Letters of a wildcard place name used to find it.
_KEY = 3


class _Texts:
    """The item's fields as :class:`Words`, built lazily (most rules stop at the title)."""

    def __init__(self, item: Item) -> None:
        self._item = item
        self._words: dict[str, Words] = {}

    def words(self, field: str) -> Words:
        if field not in self._words:
            item = self._item
            if field == "title":
                text = item.title
            elif field == "teaser":
                text = item.summary_text
            else:
                text = html.unescape(_TAG.sub(" ", item.content_html))
            self._words[field] = Words(text)
        return self._words[field]


def _matches(rule: _Rule, texts: _Texts) -> bool:
    if not rule.any and not rule.all:
        return False  # a rule without positive terms tags nothing

    def present(term: Term) -> bool:
        return _find(term, texts, rule.spec.fields) is not None

    return (
        (not rule.any or any(map(present, rule.any)))
        and all(map(present, rule.all))
        and not any(map(present, rule.none))
    )


def _find(term: Term, texts: _Texts, fields: Sequence[str]) -> tuple[str, str] | None:
    for field in fields:
        matched = term.find(texts.words(field))
        if matched is not None:
            return field, matched
    return None
