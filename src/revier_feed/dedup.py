"""Decide what an item means for the store: new, updated or unchanged. Pure.

Like reader's update decider, this never touches the store: the orchestrator looks up the
stored fingerprints and applies the decisions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .models import Item, ItemDecision


def decide(items: Iterable[Item], stored: Mapping[str, str]) -> list[tuple[Item, ItemDecision]]:
    """Pair each item with its decision.

    Args:
        items: the normalized items of one source and one fetch.
        stored: fingerprint by item key, for the keys already in the store.

    Items repeated within one document (same key) count once: the first occurrence wins,
    as the publisher lists its newest version first.
    """
    decisions: list[tuple[Item, ItemDecision]] = []
    seen: set[str] = set()
    for item in items:
        if item.key in seen:
            continue
        seen.add(item.key)
        previous = stored.get(item.key)
        if previous is None:
            decision = ItemDecision.NEW
        elif previous != item.fingerprint:
            decision = ItemDecision.UPDATED
        else:
            decision = ItemDecision.UNCHANGED
        decisions.append((item, decision))
    return decisions
