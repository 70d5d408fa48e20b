"""Topic and district tags for items, German-aware and explainable, and the rules of
sources on which items to collect (the same terms). Pure.

Terms (from tags.yaml and the district gazetteer) match case-insensitively and regardless of
umlaut spelling (``Räume`` = ``Raeume``, ``ß`` = ``ss``), as whole words unless marked:

- ``Studie*`` matches words starting with "studie" (Studie, Studien, Studienreihe);
- ``*preis`` matches words ending in "preis", inside compounds too (Innovationspreis);
- ``*wasserstoff*`` matches inside words on both sides;
- ``re:<regex>`` is a regular expression, matched case-insensitively on the original text,
  with a time limit per text (:data:`TERM_TIME_LIMIT`).

A topic rule tags an item when any ``any`` term, all ``all`` terms and no ``none`` term occur
in its chosen fields. Districts are found in all fields; where names overlap the longer one
wins, so "Landkreis Leipzig" is the district and not also the city of Leipzig. A body (what
follows the item's lead: its title and the start of its teaser) that names more than
:data:`MAX_LISTED_DISTRICTS` districts is about the whole region or ends in a project
footer listing it ("with the districts Altenburger Land, Anhalt-Bitterfeld, …"), so only
the lead's places count then; a body naming fewer gives its places, but not those of an
enumeration (a newspaper's "news from Borna, Grimma, Wurzen, Delitzsch, …").
"""

from __future__ import annotations

import bisect
import html
import logging
import re
from collections.abc import Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, cast

from .german import fold, folded_words, plain
from .models import DistrictSpec, Item, ItemRule, SourceSpec, TagSpec

if TYPE_CHECKING:
    import regex

try:
    from . import _words
except ImportError:  # pragma: no cover - installed without a C compiler
    _words = None  # type: ignore[assignment]

_WORD = re.compile(r"\w+")
_TAG = re.compile(r"<[^>]*>")
_FIELDS = ("title", "teaser", "content")
#: The district of the names that are not the region's (see :class:`Tagger`).
ELSEWHERE = ""
#: More districts than this in an item's body (after its lead) are the whole region (a
#: footer), not the item's place; so are they in one list of names (see :func:`_enumerated`).
MAX_LISTED_DISTRICTS = 3
#: Place names at most this many words apart belong to one enumeration ("…, Nordsachsen
#: und Saalekreis sowie der Städte Halle (Saale) und Leipzig").
ENUMERATION_GAP = 3
#: More names than this close together, in three districts or more, are a list of the
#: region's towns, not the item's places ("Pegau, Groitzsch, Zeitz und Meuselwitz" are).
ENUMERATION_NAMES = 4
#: Where an item's lead ends in its teaser (folded characters): a feed with no teaser of
#: its own gives the whole body as the teaser, footer and all.
TEASER_LEAD = 400


class Words:
    """A text as folded words, with the lookups terms need.

    Matching works on words, not with one regular expression per term: a set lookup, a
    substring test or a binary search per term is what keeps tagging 15,000 items a
    matter of seconds.
    """

    __slots__ = ("_by_end", "_sorted", "_unique", "joined", "original")

    def __init__(self, original: str) -> None:
        original = plain(original)
        self.original = original
        #: The folded words, each between single spaces (" laendliche raeume ").
        self.joined = folded_words(original)
        self._unique: frozenset[str] | None = None
        self._sorted: list[str] | None = None
        self._by_end: list[str] | None = None

    def as_written(self, matched: str) -> str:
        """The words of the original text that fold to ``matched`` (folded words, as terms
        find them): "Ländliche Räume" for "laendliche raeume"; ``matched`` itself where the
        text holds no such words as written."""
        wanted = matched.split()
        if not wanted:
            return matched  # a regular expression may match nothing but blanks
        words = list(_WORD.finditer(self.original))
        folded = [fold(word[0]) for word in words]
        for i in range(len(words) - len(wanted) + 1):
            if folded[i : i + len(wanted)] == wanted:
                return self.original[words[i].start() : words[i + len(wanted) - 1].end()]
        return matched

    @property
    def unique(self) -> frozenset[str]:
        """The distinct folded words (built on first use: place names need only ``joined``)."""
        if self._unique is None:
            self._unique = frozenset(self.joined.split())
        return self._unique

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
    #: For ``re:`` terms (the regex module's, with a time limit) and multi-word wildcards.
    pattern: regex.Pattern[str] | re.Pattern[str] | None = None
    #: Without a pattern: what :attr:`Words.joined` contains exactly when the term occurs
    #: (" studie" for "Studie*": a word starting with "studie").
    needle: str = ""

    def occurs(self, text: Words) -> bool:
        """Whether the term occurs in ``text``: :meth:`find` without building the match,
        mostly one substring search (tagging needs only this; explaining needs the text)."""
        if self.pattern is not None:
            return self.find(text) is not None
        return self.needle in text.joined

    def find(self, text: Words) -> str | None:
        """The text this term matches in ``text`` (folded, but for ``re:`` terms), or None."""
        if self.pattern is not None and not self.words:  # a regular expression, as written
            expression = cast("regex.Pattern[str]", self.pattern)
            try:
                match = expression.search(text.original, timeout=TERM_TIME_LIMIT)
            except TimeoutError:
                _slow(self.text, len(text.original))
                return None
            return match.group().strip() if match else None
        if self.pattern is not None:
            found = self.pattern.search(text.joined)
            return found.group().strip() if found else None
        if self.needle not in text.joined:
            return None
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


#: The longest a ``re:`` term may search one field of one item (seconds). A pattern that
#: backtracks badly ("(a|aa)+c") can take the engine years on some texts; the term is then
#: taken as not found there, and the admin is told once.
TERM_TIME_LIMIT = 0.1

log = logging.getLogger(__name__)
_slow_terms: set[str] = set()


def _slow(term: str, length: int) -> None:
    if term not in _slow_terms:
        _slow_terms.add(term)
        log.warning(
            "tag term %r gave up on a text of %d characters after %.1f s and was taken as "
            "not found (it backtracks: rewrite it without a repeat inside a repeat); said "
            "once",
            term,
            length,
            TERM_TIME_LIMIT,
        )


def compile_expression(pattern: str) -> regex.Pattern[str]:
    """A ``re:`` term's regular expression, case-insensitive, as Python's ``re`` reads it.

    Raises:
        ValueError: it is not a valid regular expression.
    """
    import regex  # only configurations with such terms pay for it (about 10 ms)

    try:
        return regex.compile(pattern, regex.IGNORECASE | regex.V0)
    except (regex.error, OverflowError, RecursionError) as e:
        raise ValueError(f"{'re:' + pattern!r} is not a valid regular expression: {e}") from None


def compile_term(text: str) -> Term:
    """Compile one term.

    Raises:
        ValueError: a ``re:`` term is not a valid regular expression, or the term is empty.
    """
    if text.startswith("re:"):
        return Term(text, (), False, False, compile_expression(text[3:]))
    folded = fold(text.strip())
    words = tuple(_WORD.findall(folded))
    if not words:
        raise ValueError("a term needs at least one letter or digit")
    leading, trailing = folded.startswith("*"), folded.endswith("*")
    if len(words) > 1 and (leading or trailing):
        # Searched in Words.joined, where words are separated by single spaces.
        body = " ".join(map(re.escape, words))
        pattern = re.compile(
            " " + (r"\w*" if leading else "") + body + (r"\w*" if trailing else "") + " "
        )
        return Term(text, words, leading, trailing, pattern)
    # Words in Words.joined have a space on both sides: a space marks where a word must
    # begin or end, and a wildcard is the absence of that space.
    needle = ("" if leading else " ") + " ".join(words) + ("" if trailing else " ")
    return Term(text, words, leading, trailing, needle=needle)


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
    id: str  #: the tag's; "" for a source's rule
    fields: tuple[str, ...]
    any: tuple[Term, ...]
    all: tuple[Term, ...]
    none: tuple[Term, ...]


def _compile_rule(rule: TagSpec | ItemRule, rule_id: str = "") -> _Rule:
    return _Rule(
        rule_id,
        rule.fields,
        tuple(map(compile_term, rule.any)),
        tuple(map(compile_term, rule.all)),
        tuple(map(compile_term, rule.none)),
    )


class Tagger:
    """Tag rules and the gazetteer, compiled once per configuration; the sources' include
    and exclude rules, compiled on first use."""

    def __init__(
        self,
        topics: Sequence[TagSpec],
        districts: Sequence[DistrictSpec],
        elsewhere: Sequence[str] = (),
    ) -> None:
        """``elsewhere``: names that contain a place name of ``districts`` and are not in
        the region ("Landsberg am Lech", "Hallesches Tor")."""
        self._rules = [_compile_rule(spec, spec.id) for spec in topics]
        self._topics = _TopicTerms(self._rules)
        self._places = _Places([*districts, DistrictSpec(ELSEWHERE, "", tuple(elsewhere))])
        self._source_rules: dict[ItemRule, _Rule] = {}

    def tag_or_leave_out(self, item: Item, source: SourceSpec) -> Item | str:
        """``item`` tagged (:meth:`tag`), or why ``source``'s rules leave it out (its
        ``exclude`` rule matches, or its ``include`` rule does not); the item's text is read
        once for both."""
        texts = _Texts(item, self._topics)
        why = self._excluded(texts, source)
        return self._tagged(item, texts, source) if why is None else why

    def _excluded(self, texts: _Texts, source: SourceSpec) -> str | None:
        if source.exclude is None and source.include is None:
            return None
        if source.exclude is not None:
            rule = self._source_rule(source.exclude)
            if _matches(rule, texts):
                return "excluded: " + _why(rule, texts)
        if source.include is not None:
            rule = self._source_rule(source.include)
            if not _matches(rule, texts):
                return "not included: " + _why_not(rule, texts)
        return None

    def __getstate__(self) -> dict[str, object]:
        # Workers get the tagger pickled; each compiles the sources' rules it meets.
        return {name: value for name, value in vars(self).items() if name != "_source_rules"}

    def __setstate__(self, state: dict[str, object]) -> None:
        vars(self).update(state)
        self._source_rules = {}

    def _source_rule(self, rule: ItemRule) -> _Rule:
        compiled = self._source_rules.get(rule)
        if compiled is None:
            compiled = self._source_rules[rule] = _compile_rule(rule)
        return compiled

    def tag(self, item: Item, source: SourceSpec) -> Item:
        """``item`` with its topic tags (rules plus the source's defaults) and districts."""
        return self._tagged(item, _Texts(item, self._topics), source)

    def _tagged(self, item: Item, texts: _Texts, source: SourceSpec) -> Item:
        tags = self._topics.tags(texts)
        tags.update(source.tags)
        districts = {d for d, _ in self._districts(texts)}
        if source.district:
            districts.add(source.district)
        return replace(item, tags=frozenset(tags), districts=frozenset(districts))

    def explain(self, item: Item, source: SourceSpec) -> list[TagMatch]:
        """Every tag the item gets, each with the term and text that gave it."""
        texts = _Texts(item, self._topics)
        matches: list[TagMatch] = []
        for entry in self._topics.rules:
            if not entry.matches(texts):
                continue
            rule = entry.rule
            for reason, terms in (("any", rule.any), ("all", rule.all)):
                for term in terms:
                    found = _find(term, texts, rule.fields)
                    if found is not None:
                        field, matched = found
                        shown = texts.words(field).as_written(matched)
                        matches.append(TagMatch(rule.id, "topic", reason, term.text, field, shown))
                        if reason == "any":
                            break
        for tag in source.tags:
            matches.append(TagMatch(tag, "topic", "source default"))
        for district, (place, field, matched) in self._districts(texts):
            shown = texts.words(field).as_written(matched)
            matches.append(TagMatch(district, "district", "district", place, field, shown))
        if source.district:
            matches.append(TagMatch(source.district, "district", "source default"))
        return matches

    def _districts(self, texts: _Texts) -> Iterable[tuple[str, tuple[str, str, str]]]:
        found: dict[str, tuple[str, str, str]] = {}
        #: The places of the body (what follows the lead), each with its reason, and
        #: whether it stands in an enumeration.
        body: list[tuple[str, tuple[str, str, str], bool]] = []
        for field in _FIELDS:
            words = texts.words(field)
            joined = words.joined
            places = [
                place
                for place in self._places.find(words)
                if place[0] != ELSEWHERE and not _street(joined, place, self._places.names)
            ]
            if not places:
                continue
            lead = len(joined) if field == "title" else TEASER_LEAD if field == "teaser" else 0
            listed = _enumerated(joined, places) if len(places) > MAX_LISTED_DISTRICTS else set()
            for n, (district, term, matched, start, _) in enumerate(places):
                why = (term.text, field, matched)
                if start < lead:
                    found.setdefault(district, why)
                else:
                    body.append((district, why, n in listed))
        # A body naming many districts is about the whole region (or ends in a footer
        # listing it): only the lead tells the item's place then.
        if len({district for district, _, _ in body}) <= MAX_LISTED_DISTRICTS:
            for district, why, in_list in body:
                if not in_list:
                    found.setdefault(district, why)
        return found.items()


#: Words after a place's adjective that make it a street's name ("Leipziger Straße" in
#: Borna, "Zeitzer Str. 5, Leipzig", "Hallesches Tor" in Berlin), folded. Only after an
#: adjective: "Grimma: Straße gesperrt" is Grimma (punctuation is gone from the words), and
#: "Ring", "Weg" and "Ufer" are left out ("der Leipziger Ring" is Leipzig's).
_STREETS = frozenset(
    {"strasse", "str", "landstrasse", "allee", "chaussee", "gasse", "platz", "damm", "tor"}
)
_ADJECTIVE_ENDS = ("er", "sche", "sches", "scher", "schen")
#: The same, as the end of a word a wildcard name matched ("Leipzigerstraße").
_STREET_ENDS = ("strasse", "platz", "allee", "chaussee", "damm", "gasse")


def _street(joined: str, place: tuple[str, Term, str, int, int], names: Container[str]) -> bool:
    """Whether the place name found is a street's (or a gate's) name: a place's adjective
    ("Leipziger*", or a name that is another name and "-er": "Zeitzer"; not "Kitzscher")
    before a street's word."""
    _, term, matched, _, end = place
    last = matched.rpartition(" ")[2]
    if term.trailing and len(last) > len(term.words[-1]) and last.endswith(_STREET_ENDS):
        return True
    adjective = (term.trailing and last.endswith(_ADJECTIVE_ENDS)) or (
        last.endswith("er") and last[:-2] in names
    )
    return adjective and joined[end + 1 : joined.find(" ", end + 1)] in _STREETS


def _enumerated(joined: str, places: Sequence[tuple[str, Term, str, int, int]]) -> set[int]:
    """The places (by index) that stand in an enumeration: names close together, more than
    :data:`ENUMERATION_NAMES` of them in at least :data:`MAX_LISTED_DISTRICTS` districts
    ("aus Borna, Grimma, Wurzen, Delitzsch, Eilenburg, Torgau und Altenburg"), or in more
    districts than that. A word of a route between two names ends a list ("von Borna über
    Frohburg nach Zeitz" is a bus line's)."""
    listed: set[int] = set()
    start = 0
    for n in range(1, len(places) + 1):
        if n < len(places):
            between = joined[places[n - 1][4] : places[n][3]].split()
            if len(between) <= ENUMERATION_GAP and _ROUTE_WORDS.isdisjoint(between):
                continue
        # places[start:n] is one run of place names close together
        run = places[start:n]
        districts = len({place[0] for place in run})
        if districts > MAX_LISTED_DISTRICTS or (
            len(run) > ENUMERATION_NAMES and districts >= MAX_LISTED_DISTRICTS
        ):
            listed.update(range(start, n))
        start = n
    return listed


#: Folded words between two place names that make them a route, not a list.
_ROUTE_WORDS = frozenset({"ueber", "nach", "von", "bis", "zwischen", "via", "richtung"})


#: Letters of a wildcard place name that rank it among names of the same length.
_KEY = 3


class _Places:
    """The gazetteer as one regular expression over :attr:`Words.joined`.

    Place names are found left to right without overlaps; where several names start at
    the same word, the one with the most words wins ("Landkreis Leipzig", not the city of
    "Leipzig"), then a name without wildcards, then the wildcard name given first. The
    alternatives of the expression are in that order, so the regex engine's first match at
    a position is the winner. They are grouped by their first letter (when no name starts
    with "*"): the engine then skips the names of other letters with one comparison, which
    makes one scan of a text much cheaper than looking up its words one by one.

    Where the C extension is built, ``_words.PlaceFinder`` finds the same names in the same
    order by looking each word up (the expression still tried every first letter's names
    at every word: most of the tagging of a first cycle); the expression is its reference
    (:meth:`find_python`).
    """

    def __init__(self, districts: Sequence[DistrictSpec]) -> None:
        #: Names without wildcards by their folded text; the first district given keeps one.
        self._exact: dict[str, tuple[str, Term]] = {}
        #: Names with wildcards, best first, each with a pattern for its whole text.
        self._wild: list[tuple[str, Term, re.Pattern[str]]] = []
        ranked: list[tuple[tuple[int, ...], str, str, Term]] = []
        for district in districts:
            for text in district.terms:
                term = compile_term(text)
                if not term.words:
                    raise ValueError(f"place names cannot be regular expressions: {text!r}")
                pattern = _place_pattern(term)
                if not term.leading and not term.trailing:
                    if " ".join(term.words) in self._exact:
                        continue
                    self._exact[" ".join(term.words)] = (district.id, term)
                else:
                    self._wild.append((district.id, term, re.compile(pattern)))
                ranked.append((_rank(term, len(ranked)), pattern, district.id, term))
        self._wild.sort(key=lambda entry: _rank(entry[1], 0)[:-1])  # stable: given order
        ranked.sort(key=lambda entry: entry[0])
        alternatives = _alternatives([p for _, p, _, _ in ranked])
        # No names: an empty alternation would match everywhere; this matches nowhere.
        self._regex = re.compile(f" (?:{alternatives})(?= )" if ranked else "(?!)")
        #: The names in the expression's order, for the C finder's answers.
        self._ranked = [(district_id, term) for _, _, district_id, term in ranked]
        self._finder = _finder(self._ranked)

    @property
    def names(self) -> Container[str]:
        """The folded texts of the names without wildcards."""
        return self._exact.keys()

    def __getstate__(self) -> dict[str, object]:
        # The tagger goes to the worker processes pickled; the C finder is rebuilt there.
        return {name: value for name, value in vars(self).items() if name != "_finder"}

    def __setstate__(self, state: dict[str, object]) -> None:
        vars(self).update(state)
        self._finder = _finder(self._ranked)

    def find(self, text: Words) -> Iterator[tuple[str, Term, str, int, int]]:
        """Each place name in ``text``: its district, the term, the folded text matched and
        where that is in :attr:`Words.joined` (start, end)."""
        if self._finder is None:
            yield from self.find_python(text)
            return
        joined = text.joined
        for index, start, end in self._finder.find(joined):
            district_id, term = self._ranked[index]
            yield district_id, term, joined[start:end], start, end

    def find_python(self, text: Words) -> Iterator[tuple[str, Term, str, int, int]]:
        """:meth:`find` by the regular expression (the reference of the C finder)."""
        for match in self._regex.finditer(text.joined):
            matched = match.group()[1:]
            hit = self._exact.get(matched)
            if hit is None:
                # The expression matched a wildcard name; the first one that matches this
                # text whole is the alternative the engine took (see the class docstring).
                hit = next((d, t) for d, t, p in self._wild if p.fullmatch(matched))
            yield hit[0], hit[1], matched, match.start() + 1, match.end()


def _finder(ranked: list[tuple[str, Term]]) -> _words.PlaceFinder | None:
    """The C finder of these names (in the expression's order), where it is built."""
    if _words is None:
        return None
    return _words.PlaceFinder([(term.words, term.leading, term.trailing) for _, term in ranked])


def _place_pattern(term: Term) -> str:
    """The regex of a place name in :attr:`Words.joined` (words between single spaces)."""
    words = [re.escape(word) for word in term.words]
    if term.leading:
        words[0] = r"\w*" + words[0]
    if term.trailing:
        words[-1] += r"\w*"
    return " ".join(words)


def _rank(term: Term, given: int) -> tuple[int, ...]:
    """Sort key of a place name among those that match at one position: more words first,
    then names without wildcards, then names with a wildcard in the middle of a word on
    both ends before those with one at an end, by the length of the part before or after
    it (up to :data:`_KEY` letters), then in the order given."""
    wild = term.leading or term.trailing
    both = term.leading and (term.trailing or len(term.words) > 1)
    side = term.words[0][-_KEY:] if term.leading else term.words[0][:_KEY]
    return (
        -len(term.words),
        wild,
        not both,
        len(side) if wild and not both else 0,
        term.leading,
        given,
    )


def _alternatives(patterns: list[str]) -> str:
    """``patterns`` as one alternation in the given order, grouped by first letter where
    every pattern starts with one (patterns starting with different letters never match
    at the same position, so grouping keeps the order where it matters)."""
    if any(p.startswith("\\") for p in patterns):
        return "|".join(patterns)
    groups: dict[str, list[str]] = {}
    for pattern in patterns:
        groups.setdefault(pattern[0], []).append(pattern[1:])
    return "|".join(
        re.escape(first) + "(?:" + "|".join(rest) + ")" for first, rest in groups.items()
    )


class _TopicTerms:
    """The topic rules, with their terms that are a substring of :attr:`Words.joined`
    (:attr:`Term.needle`: all but ``re:`` terms and phrases with wildcards) found in one
    pass over a field.

    Searching each term's needle on its own took 74 substring searches of each of an item's
    fields for the shipped rules, three times the cost of finding its districts; where the
    C extension is built, ``_words.NeedleSet`` finds them all in one scan of a field.
    :func:`_matches`, term by term, is the reference.
    """

    def __init__(self, rules: Sequence[_Rule]) -> None:
        index: dict[str, int] = {}
        for rule in rules:
            for term in (*rule.any, *rule.all, *rule.none):
                if term.pattern is None:
                    index.setdefault(term.needle, len(index))
        #: Every needle once; :meth:`find` answers with indexes into it.
        self.needles = tuple(index)
        self.rules = [_TopicRule.of(rule, index) for rule in rules]
        #: Rules whose terms are all ``any`` needles (10 of the 12 shipped ones) by the
        #: needle and field that tag with them: a field's found needles name the rules.
        self._by_needle: dict[tuple[str, int], list[str]] = {}
        self._other = [e for e in self.rules if not e.only_any_needles]
        for entry in self.rules:
            if entry.only_any_needles:
                for field in entry.rule.fields:
                    for needle in sorted(entry.any_needles):
                        self._by_needle.setdefault((field, needle), []).append(entry.rule.id)
        self._fields = tuple(dict.fromkeys(field for field, _ in self._by_needle))
        self._set = _needle_set(self.needles)

    def tags(self, texts: _Texts) -> set[str]:
        """The ids of the rules that match (:meth:`_TopicRule.matches` of each)."""
        tags: set[str] = set()
        for field in self._fields:
            for needle in texts.found(field):
                tags.update(self._by_needle.get((field, needle), ()))
        tags.update(entry.rule.id for entry in self._other if entry.matches(texts))
        return tags

    def find(self, joined: str) -> frozenset[int]:
        """The indexes of the needles in ``joined``."""
        if self._set is None:
            return find_needles_python(self.needles, joined)
        return self._set.find(joined)

    def __getstate__(self) -> dict[str, object]:
        # The tagger goes to the worker processes pickled; the C set is rebuilt there.
        return {name: value for name, value in vars(self).items() if name != "_set"}

    def __setstate__(self, state: dict[str, object]) -> None:
        vars(self).update(state)
        self._set = _needle_set(self.needles)


def find_needles_python(needles: Sequence[str], joined: str) -> frozenset[int]:
    """The indexes of ``needles`` that occur in ``joined`` (the reference of
    ``_words.NeedleSet.find``)."""
    return frozenset(i for i, needle in enumerate(needles) if needle in joined)


def _needle_set(needles: Sequence[str]) -> _words.NeedleSet | None:
    return _words.NeedleSet(needles) if _words is not None and needles else None


@dataclass(frozen=True, slots=True)
class _TopicRule:
    """A topic rule with its terms' needle indexes (-1: a term with a pattern)."""

    rule: _Rule
    any_needles: frozenset[int]
    any_patterns: tuple[Term, ...]
    all: tuple[tuple[int, Term], ...]
    none: tuple[tuple[int, Term], ...]

    @property
    def only_any_needles(self) -> bool:
        """Whether the rule is some ``any`` terms, each a needle, and nothing else."""
        return bool(self.any_needles) and not (self.any_patterns or self.all or self.none)

    @classmethod
    def of(cls, rule: _Rule, index: dict[str, int]) -> _TopicRule:
        def indexed(terms: tuple[Term, ...]) -> tuple[tuple[int, Term], ...]:
            return tuple((-1 if t.pattern is not None else index[t.needle], t) for t in terms)

        return cls(
            rule,
            frozenset(index[t.needle] for t in rule.any if t.pattern is None),
            tuple(t for t in rule.any if t.pattern is not None),
            indexed(rule.all),
            indexed(rule.none),
        )

    def matches(self, texts: _Texts) -> bool:
        """:func:`_matches`, with the needles found per field."""
        rule = self.rule
        if not rule.any and not rule.all:
            return False  # a rule without positive terms tags nothing

        def present(needle: int, term: Term) -> bool:
            if needle < 0:
                return any(term.occurs(texts.words(field)) for field in rule.fields)
            return any(needle in texts.found(field) for field in rule.fields)

        if rule.any and not (
            any(not self.any_needles.isdisjoint(texts.found(f)) for f in rule.fields)
            or any(present(-1, term) for term in self.any_patterns)
        ):
            return False
        return all(present(*term) for term in self.all) and not any(
            present(*term) for term in self.none
        )


class _Texts:
    """The item's fields as :class:`Words`, built when first asked for (a source's include
    or exclude rule may stop at the title), and which topic terms each field holds."""

    def __init__(self, item: Item, topics: _TopicTerms) -> None:
        self._item = item
        self._topics = topics
        self._words: dict[str, Words] = {}
        self._found: dict[str, frozenset[int]] = {}

    def found(self, field: str) -> frozenset[int]:
        """The topic terms' needles (:attr:`_TopicTerms.needles`, by index) in ``field``."""
        found = self._found.get(field)
        if found is None:
            found = self._found[field] = self._topics.find(self.words(field).joined)
        return found

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
        return any(term.occurs(texts.words(field)) for field in rule.fields)

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


def _why(rule: _Rule, texts: _Texts) -> str:
    """What makes a matching rule match: its first term found (an ``any`` one, else the
    ``all`` ones)."""
    for term in (*rule.any, *rule.all):
        found = _find(term, texts, rule.fields)
        if found is not None:
            return f"{term.text!r} in the {found[0]} ({found[1]!r})"
    return "its terms"  # not reached: a matching rule has a term found


def _why_not(rule: _Rule, texts: _Texts) -> str:
    """What keeps a rule from matching: no ``any`` term, a missing ``all`` term, or a
    ``none`` term found."""
    fields = " or ".join(rule.fields)
    if rule.any and all(_find(term, texts, rule.fields) is None for term in rule.any):
        shown = ", ".join(repr(term.text) for term in rule.any[:3])
        more = ", …" if len(rule.any) > 3 else ""
        return f"none of {shown}{more} in the {fields}"
    for term in rule.all:
        if _find(term, texts, rule.fields) is None:
            return f"{term.text!r} not in the {fields}"
    for term in rule.none:
        found = _find(term, texts, rule.fields)
        if found is not None:
            return f"{term.text!r} in the {found[0]} ({found[1]!r})"
    return "it has no terms to match"
