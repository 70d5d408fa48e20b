"""Story detection quality on the labelled set: precision and recall of story pairs.

Usage: python bench/stories_quality.py [--data tests/data/stories/labelled.json] [--wrong N]

The labelled items go through the real pipeline (normalize, tag, store, place in stories)
in a temporary SQLite store, in the order a worker would see them: a first cycle with every
source's archive up to the first of May (as when sources are added), then one cycle per day.
Two items form a predicted pair when they end up in one story; the labels say which pairs
are true. Prints precision, recall and the pairs it got wrong.
"""

from __future__ import annotations

import argparse
import html
import itertools
import json
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from revier_feed import dedup, placement
from revier_feed.config import load_config
from revier_feed.models import (
    DistrictSpec,
    ItemDecision,
    RawItem,
    SourceKind,
    SourceSpec,
    SourceState,
)
from revier_feed.normalize import normalize
from revier_feed.storage import Storage
from revier_feed.tag import Tagger

ROOT = Path(__file__).resolve().parent.parent
FIRST_CYCLE = datetime(2021, 5, 1, tzinfo=UTC)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "tests/data/stories/labelled.json")
    parser.add_argument("--wrong", type=int, default=40, help="wrong pairs to print")
    args = parser.parse_args()
    data = json.loads(args.data.read_text(encoding="utf-8"))
    items: list[dict[str, Any]] = data["items"]
    started = time.perf_counter()
    predicted = cluster(items, data["sources"])
    seconds = time.perf_counter() - started

    truth = {i["id"]: i["story"] for i in items}
    by_id = {i["id"]: i for i in items}
    true_pairs = {p for p in _pairs(_groups(truth)) if _cross(p, by_id)}
    found_pairs = {p for p in _pairs(_groups(predicted)) if _cross(p, by_id)}
    tp = len(true_pairs & found_pairs)
    precision = tp / len(found_pairs) if found_pairs else 1.0
    recall = tp / len(true_pairs) if true_pairs else 1.0
    hard = {tuple(sorted(p)) for p in data.get("hard_negatives", [])}
    print(f"# Story pairs across sources, {len(items)} labelled items ({seconds:.1f} s)\n")
    print("| measure | value |\n|---|---|")
    print(f"| true pairs | {len(true_pairs)} |")
    print(f"| found pairs | {len(found_pairs)} |")
    print(f"| **precision** | **{precision:.3f}** (target 0.98) |")
    print(f"| **recall** | **{recall:.3f}** (target 0.95) |")
    print(f"| hard negatives merged | {len(hard & found_pairs)} of {len(hard)} |")
    wrong = sorted(found_pairs - true_pairs) + sorted(true_pairs - found_pairs)
    if wrong:
        print("\n| kind | item A | item B |\n|---|---|---|")
        for a, b in wrong[: args.wrong]:
            kind = "false merge" if (a, b) in found_pairs else "missed"
            print(
                f"| {kind} | {by_id[a]['source']}: {by_id[a]['title'][:70]} "
                f"| {by_id[b]['source']}: {by_id[b]['title'][:70]} |"
            )
    return 0


def cluster(items: list[dict[str, Any]], sources: dict[str, Any]) -> dict[str, int]:
    """Run the labelled items through the pipeline; returns story id per item id."""
    districts = _gazetteer()
    known = {d.id for d in districts}
    # A district's own press office is about that district, as in the shipped config.
    specs = {
        sid: SourceSpec(
            id=sid,
            name=s["name"],
            kind=SourceKind.FEED,
            url=f"https://{sid}.example/feed",
            interval=timedelta(hours=1),
            district=sid if sid in known else None,
        )
        for sid, s in sources.items()
    }
    tagger = Tagger([], districts)
    with tempfile.TemporaryDirectory() as tmp:
        storage = Storage(f"sqlite:///{tmp}/stories.sqlite3")
        ordered = sorted(items, key=lambda i: i["published"])
        cycles: dict[datetime, list[dict[str, Any]]] = defaultdict(list)
        for item in ordered:
            published = datetime.fromisoformat(item["published"]).astimezone(UTC)
            day = max(FIRST_CYCLE, published.replace(hour=23, minute=59, second=0))
            cycles[day].append(item)
        key_of: dict[str, str] = {}
        for now, batch in sorted(cycles.items()):
            per_source: dict[str, list[Any]] = defaultdict(list)
            for labelled in batch:
                spec = specs[labelled["source"]]
                item = tagger.tag(normalize(_raw(labelled), spec, now), spec)
                key_of[labelled["id"]] = item.key
                per_source[spec.id].append(item)
            for source_id, new in per_source.items():
                decisions = dedup.decide(new, {})
                state = SourceState(source_id=source_id, last_success_at=now)
                storage.save_source_result(state, decisions, now)
                assert all(d is ItemDecision.NEW for _, d in decisions)
            placement.place_in_stories(list(specs), storage, timedelta(days=30), now)
        stories: dict[str, int] = {}
        for story in storage.recent_stories(list(specs), 100_000):
            for member in story.members:
                stories[member.item.key] = story.id
        storage.close()
    return {item_id: stories[key] for item_id, key in key_of.items()}


def _gazetteer() -> tuple[DistrictSpec, ...]:
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "settings.yaml").write_text("{}\n", encoding="utf-8")
        Path(tmp, "sources.yaml").write_text("sources: []\n", encoding="utf-8")
        return load_config(tmp).districts


def _raw(labelled: dict[str, Any]) -> RawItem:
    paragraphs = [p.strip() for p in labelled["content"].split("\n\n") if p.strip()]
    return RawItem(
        title=html.escape(labelled["title"]),
        link=labelled["url"],
        guid=labelled["id"],
        summary_html=f"<p>{html.escape(labelled['teaser'])}</p>",
        content_html="".join(f"<p>{html.escape(p)}</p>" for p in paragraphs),
        published=datetime.fromisoformat(labelled["published"]),
    )


def _groups(assignment: dict[str, Any]) -> list[list[str]]:
    groups: dict[Any, list[str]] = defaultdict(list)
    for item_id, group in assignment.items():
        groups[group].append(item_id)
    return list(groups.values())


def _pairs(groups: list[list[str]]) -> set[tuple[str, str]]:
    return {tuple(sorted(p)) for g in groups for p in itertools.combinations(g, 2)}  # type: ignore[misc]


def _cross(pair: tuple[str, str], by_id: dict[str, dict[str, Any]]) -> bool:
    return by_id[pair[0]]["source"] != by_id[pair[1]]["source"]


if __name__ == "__main__":
    sys.exit(main())
