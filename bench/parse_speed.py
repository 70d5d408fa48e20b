#!/usr/bin/env python3
"""Feed parsing on the collection corpus: the fast reader next to feedparser, in one run.

Parses every feed of the ``collect.py`` corpus from memory with revier-feed's feed parser
(the lxml reader, feedparser for what it declines) and with feedparser alone, checks that
both give the same items, and prints CPU milliseconds per feed (best of ``--repeat``).
Run with the project's venv: ``.venv/bin/python bench/parse_speed.py [--feeds 500]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
from collect import BENCH_DIR, build_corpus

from revier_feed.models import FetchResult, ParsedDocument
from revier_feed.parse import fastfeed
from revier_feed.parse.feed import _parse_with_feedparser, parse_feed

NOW = datetime(2025, 7, 1, tzinfo=UTC)
TZ = ZoneInfo("Europe/Berlin")


def corpus_documents(feeds: int, items: int) -> list[FetchResult]:
    """The ``collect.py`` corpus's feeds (seed 1) as fetched, served with their type."""
    corpus = build_corpus(BENCH_DIR / ".corpus", feeds, items, 1)
    docs = []
    for path in sorted(corpus.dir.glob("feed-*.xml")):
        kind = "atom" if b"<feed xmlns" in path.read_bytes()[:200] else "rss"
        headers = {"content-type": f"application/{kind}+xml; charset=utf-8"}
        url = f"http://127.0.0.2/{path.name}"
        docs.append(
            FetchResult(url=url, status_code=200, headers=headers, content=path.read_bytes())
        )
    return docs


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--feeds", type=int, default=500)
    p.add_argument("--items", type=int, default=30)
    p.add_argument("--repeat", type=int, default=3, help="passes per parser; best is shown")
    args = p.parse_args()
    docs = corpus_documents(args.feeds, args.items)

    def ours(doc: FetchResult) -> ParsedDocument:
        return parse_feed("bench", doc, NOW, TZ)

    def feedparser_only(doc: FetchResult) -> ParsedDocument:
        headers = {**doc.headers, "content-location": doc.url}
        return _parse_with_feedparser("bench", doc, headers, NOW, TZ)

    results = {}
    for name, parse in (
        ("revier-feed (fast reader)", ours),
        ("feedparser alone", feedparser_only),
    ):
        times = []
        for _ in range(args.repeat):
            start = time.process_time()
            parsed = [parse(doc) for doc in docs]
            times.append(time.process_time() - start)
        results[name] = (min(times), statistics.median(times), parsed)
    fast = sum(
        fastfeed.read_entries(d.content, {**d.headers, "content-location": d.url}) is not None
        for d in docs
    )
    same = results["revier-feed (fast reader)"][2] == results["feedparser alone"][2]
    size = sum(len(doc.content) for doc in docs)
    print(f"Corpus: {len(docs)} feeds × {args.items} items ({size / 1e6:.1f} MB)")
    print(f"fast reader took {fast} of {len(docs)} feeds; items identical to feedparser's: {same}")
    print()
    print("| parser | CPU ms per feed (best) | median | items |")
    print("|---|---:|---:|---:|")
    for name, (best, median, parsed) in results.items():
        items = sum(len(d.items) for d in parsed)
        n = len(docs)
        print(f"| {name} | {best / n * 1000:.1f} | {median / n * 1000:.1f} | {items:,} |")


if __name__ == "__main__":
    main()
