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

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from .models import DistrictSpec, Item, SourceSpec, TagSpec

_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_TAG = re.compile(r"<[^>]*>")
_FIELDS = ("title", "teaser", "content")
#: More districts than this in an item's body text are an enumeration, not the item's place.
MAX_LISTED_DISTRICTS = 3


def fold(text: str) -> str:
    """Case and umlaut spelling folded away: "Ländliche RÄUME, Straße" -> "laendliche
    raeume, strasse"."""
    return text.casefold().translate(_FOLD)


@dataclass(frozen=True, slots=True)
class Term:
    """One compiled term of a rule or of the gazetteer."""

    text: str  #: as written in the YAML
    pattern: re.Pattern[str]
    on_original: bool  #: a ``re:`` term, matched on the unfolded text

    def search(self, original: str, folded: str) -> re.Match[str] | None:
        return self.pattern.search(original if self.on_original else folded)


def compile_term(text: str) -> Term:
    """Compile one term.

    Raises:
        ValueError: a ``re:`` term is not a valid regular expression, or the term is empty.
    """
    if text.startswith("re:"):
        try:
            return Term(text, re.compile(text[3:], re.IGNORECASE), on_original=True)
        except re.error as e:
            raise ValueError(f"{text!r} is not a valid regular expression: {e}") from None
    folded = fold(text.strip())
    core = folded.strip("*").strip()
    if not core:
        raise ValueError("a term needs at least one letter or digit")
    prefix = r"\w*" if folded.startswith("*") else ""
    suffix = r"\w*" if folded.endswith("*") else ""
    body = r"\s+".join(re.escape(word) for word in core.split())
    return Term(text, re.compile(rf"(?<!\w){prefix}{body}{suffix}(?!\w)"), on_original=False)


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
        # One alternation over every place name, longest first, each its own group: a single
        # left-to-right scan then prefers "Landkreis Leipzig" over "Leipzig" at one position.
        self._places: list[tuple[str, str]] = []  # (district id, term) per group
        alternatives = []
        terms = [(d.id, t) for d in districts for t in d.terms]
        for district_id, text in sorted(terms, key=lambda p: -len(p[1].strip("*"))):
            term = compile_term(text)
            if term.on_original:
                raise ValueError(f"district terms cannot be regular expressions: {text!r}")
            alternatives.append(f"(?P<p{len(self._places)}>{term.pattern.pattern})")
            self._places.append((district_id, text))
        self._gazetteer = re.compile("|".join(alternatives)) if alternatives else None

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
        if self._gazetteer is None:
            return []
        found: dict[str, tuple[str, str, str]] = {}
        for field in _FIELDS:
            in_field: dict[str, tuple[str, str, str]] = {}
            for match in self._gazetteer.finditer(texts.folded(field)):
                assert match.lastgroup is not None
                district, term = self._places[int(match.lastgroup[1:])]
                in_field.setdefault(district, (term, field, match.group()))
            if field == "content" and len(in_field) > MAX_LISTED_DISTRICTS:
                continue
            for district, why in in_field.items():
                found.setdefault(district, why)
        return found.items()


class _Texts:
    """The item's fields, folded lazily (most rules stop at the title)."""

    def __init__(self, item: Item) -> None:
        self.original = {
            "title": item.title,
            "teaser": item.summary_text,
            "content": html.unescape(_TAG.sub(" ", item.content_html)),
        }
        self._folded: dict[str, str] = {}

    def folded(self, field: str) -> str:
        if field not in self._folded:
            self._folded[field] = fold(self.original[field])
        return self._folded[field]


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
        match = term.search(texts.original[field], texts.folded(field))
        if match:
            return field, match.group()
    return None
