"""A source's new items, turned into what placement needs: the source's boilerplate and each
item's packed features. Pure.

A first cycle reads the words of every stored item: 15,000 items for 500 feeds. In Python
that was half a millisecond an item, most of it spent making an object for every word,
shingle and keyword. The C extension (``_textcore.c``, built by ``pip install``) does the
same on one UTF-8 buffer per item; :func:`source_features_python`, built from
:mod:`.text`'s functions, is the reference it is tested against and what runs where the
extension was not built (no C compiler at install time).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..german import fold
from ..models import Item, StoryText
from . import phase
from .native import FEATURIZER, NATIVE, recurring
from .packed import PackedFeatures
from .text import (
    KEYWORD_WORDS,
    body_html,
    boilerplate_needs,
    canonical_url,
    features,
    lead_text,
    learn_boilerplate,
    pack,
    prepare,
    unpack,
    url_mark,
)

#: A source's boilerplate and its items' packed features, in the items' order.
BatchFeatures = tuple[frozenset[int], list[PackedFeatures]]


def source_features_python(
    items: Sequence[Item | StoryText], known: frozenset[int], recent: Sequence[bytes]
) -> BatchFeatures:
    """A source's boilerplate (what was ``known``, and what recurs in its new and ``recent``
    items' packed shingles) and its new items' packed features, in Python."""
    texts = [prepare(s) for s in items]
    shingle_sets = [set(t.hashes) for t in texts]
    # Identical texts count once (see learn_boilerplate), found as the C path finds them:
    # new items by their shingles in text order, recent ones by their packed bytes.
    distinct_new = {
        tuple(t.hashes): shingles for t, shingles in zip(texts, shingle_sets, strict=True)
    }
    recent_sets = [set(unpack(p)) for p in dict.fromkeys(recent)]
    boilerplate = learn_boilerplate([*distinct_new.values(), *recent_sets], known)
    return boilerplate, [
        PackedFeatures.of(features(item, shingles, boilerplate, text))
        for item, shingles, text in zip(items, shingle_sets, texts, strict=True)
    ]


def source_features_native(
    items: Sequence[Item | StoryText], known: frozenset[int], recent: Sequence[bytes]
) -> BatchFeatures:
    """:func:`source_features_python`, by the C extension: the same boilerplate and the same
    bytes and strings."""
    featurizer = FEATURIZER
    if featurizer is None:
        raise RuntimeError("the C extension revier_feed.stories._textcore is not built")
    tokens = [
        featurizer.tokenize(
            fold(lead_text(item)), fold(body_html(item)) if item.content_html else ""
        )
        for item in items
    ]
    boilerplate = known
    # Identical texts count once (see learn_boilerplate): new items by their shingles in
    # text order, recent ones by their packed bytes (making the new ones' a packed set too
    # would cost more than the rest of this).
    distinct = [*dict.fromkeys(hashes for _, _, hashes in tokens), *dict.fromkeys(recent)]
    needed = boilerplate_needs(len(distinct))
    if needed is not None:
        boilerplate = known | unpack(recurring(distinct, needed))
    packed_boilerplate = pack(boilerplate)
    batch = []
    for item, (words, lead_count, hashes) in zip(items, tokens, strict=True):
        url = url_mark(canonical_url(item.url)) if item.url else None
        shingles, sampled, marks, keywords, lead = featurizer.features(
            words, lead_count, hashes, packed_boilerplate, url
        )
        published = item.published_at.date()
        # Event dates are read from the opening's words, in C; in Python where a day or year
        # beside a month is not ASCII.
        dates = featurizer.dates(words)
        if dates is None:
            dates = phase.mentions(words.decode().split(" ", KEYWORD_WORDS)[:KEYWORD_WORDS])
        batch.append(
            PackedFeatures(
                shingles=shingles,
                sampled=sampled,
                marks=marks,
                keywords=keywords,
                lead=lead,
                url_mark=url,
                districts=item.districts,
                published=phase.day_number(published),
                upcoming=phase.upcoming_of(dates, published),
            )
        )
    return boilerplate, batch


#: The implementation that runs: the C extension's where it is built.
source_features = source_features_native if NATIVE else source_features_python
