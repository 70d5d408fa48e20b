"""Story placement at scale: 100,000 synthetic items, beside an O(n^2) pairwise baseline.

Usage: python bench/stories_scale.py [--items 100000] [--baseline-items 5000] [--adds 200]

The corpus is a pure function of the seed: stories written from a vocabulary of invented
words (Zipf-distributed, so some words are everywhere and most are rare), each story told
by one source and republished by 0-3 others the way partners do (an edited title, an
excerpt of the teaser and text, a local sentence, their own footer), every item within one
30-day window, so the whole store is the time window (the worst case for the index).

Measured, in one run:

- **store**: the items are written to a fresh SQLite store (collection's job, not timed
  as clustering);
- **cluster**: ``placement.place_in_stories`` over the whole store, in a child process, so
  its peak RSS is its own (from ``os.wait4``); the candidate finder process it starts for
  a batch this large reports its own CPU time and peak RSS (its debug log line);
- **add one item**: after that, cycles that each store and place one new item into the
  100,000-item store, as the worker runs them (the index kept in memory between cycles;
  the first cycle after the batch loads it, timed apart) and as ``run --once`` does (the
  window's index loaded first), medians; and the placement
  alone (features, candidate lookup, confirmation, indexing) of further items one at a
  time, median and 95th percentile;
- **baseline**: on the first ``--baseline-items`` items, every new item compared with every
  earlier one by the same similarity and rule (O(n^2)), beside the index on the same items.

Quality of each method is the precision/recall of cross-source story pairs against the
generator's truth. Progress goes to stderr, the table to stdout.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from revier_feed import placement, stories
from revier_feed._utils import share_malloc_arena
from revier_feed.models import Item, ItemDecision, SourceState
from revier_feed.storage import Storage

START = datetime(2021, 6, 1, tzinfo=UTC)
WINDOW = timedelta(days=30)
SOURCES = 100


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--baseline-items", type=int, default=5000)
    parser.add_argument("--adds", type=int, default=200, help="single items added afterwards")
    parser.add_argument("--cycles", type=int, default=5, help="one-item cycles afterwards")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return _child(args)

    corpus = Corpus(args.seed)
    items, truth = corpus.generate(args.items + args.adds + 2 * args.cycles)
    main_items, extra = items[: args.items], items[args.items :]
    rows: list[tuple[str, ...]] = []

    _note(f"baseline and index on the first {args.baseline_items} items")
    subset = sorted(main_items, key=lambda i: i.published_at)[: args.baseline_items]
    for name, fn in (("pairwise O(n²) baseline", _pairwise), ("index, in memory", _indexed)):
        started, cpu = time.perf_counter(), time.process_time()
        assignment, comparisons = fn(subset)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        p, r = _quality(assignment, truth, subset)
        rows.append(
            (
                name,
                f"{len(subset):,}",
                f"{seconds:.1f}",
                f"{cpu:.1f}",
                f"{seconds / len(subset) * 1000:.2f}",
                f"{comparisons:,}",
                f"{p:.3f}",
                f"{r:.3f}",
                "",
            )
        )

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp, "stories.sqlite3")
        _note(f"storing {len(main_items)} items")
        started = time.perf_counter()
        _store(db, main_items)
        store_seconds = time.perf_counter() - started
        spec = {"db": str(db), "extra": [_dump(i) for i in extra], "cycles": args.cycles}
        Path(tmp, "child.json").write_text(json.dumps(spec), encoding="utf-8")
        _note("clustering in a child process")
        child = subprocess.Popen(
            [sys.executable, __file__, "--child", str(Path(tmp, "child.json"))],
            stdout=subprocess.PIPE,
        )
        assert child.stdout is not None
        out = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)
        if status != 0:
            raise SystemExit(f"child failed with status {status}")
        result = json.loads(out)
        peak_mb = usage.ru_maxrss / 1024
        storage = Storage(f"sqlite:///{db}")
        assignment = _assignment(storage)
        storage.close()
    p, r = _quality(assignment, truth, main_items)
    n = len(main_items)
    rows.append(
        (
            "index, `place_in_stories` (SQLite store)",
            f"{n:,}",
            f"{result['cluster']:.1f}",
            f"{result['cluster_cpu']:.1f}",
            f"{result['cluster'] / n * 1000:.2f}",
            f"{result['comparisons']:,}",
            f"{p:.3f}",
            f"{r:.3f}",
            f"{peak_mb:.0f}",
        )
    )
    print(f"# Story placement at scale ({n:,} items, seed {args.seed})\n")
    load = os.getloadavg()[0]
    print(f"Load average at the end: {load:.1f} on {os.cpu_count()} CPUs.\n")
    print(
        "| method | items | wall s | CPU s | wall ms per item | comparisons | precision "
        "| recall | peak MB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    base = float(rows[0][2]) / len(subset) ** 2 * n**2
    if result["finder"]:
        items, cpu, peak = result["finder"]
        print(
            f"\nThe candidate finder process, beside the placing process: {items:,} items, "
            f"{cpu:.1f} s of CPU, peak {peak:.0f} MB. Together, while placing: "
            f"{result['cluster_cpu'] + cpu:.1f} s of CPU, at most "
            f"{result['cluster_peak'] + peak:.0f} MB at once ({result['cluster_peak']:.0f} MB "
            f"placing + {peak:.0f} MB finding); the table's peak is the placing process's "
            "over the whole run, the later cycles that load the index included."
        )
    print(f"\nThe pairwise baseline scaled to {n:,} items (n²): about {base / 3600:.1f} h.\n")
    print("| adding items to the store of the run | median ms | p95 ms | target |")
    print("|---|---:|---:|---|")
    for label, values, target in (
        ("one item placed, index in memory", result["adds"], "< 10 ms median"),
        ("a cycle with one new item, worker (index kept)", result["worker"], "–"),
        ("a cycle with one new item, `run --once` (index loaded)", result["once"], "–"),
    ):
        print(
            f"| {label} ({len(values)}×) | {statistics.median(values):.1f} "
            f"| {_p95(values):.1f} | {target} |"
        )
    if result["first"]:
        print(
            f"\nThe worker's first cycle after the batch loads the index (the candidate "
            f"finder kept its marks): {result['first'][0] / 1000:.1f} s."
        )
    print(
        f"\nStoring the items (collection's part, not clustering): {store_seconds:.1f} s. "
        f"Loading the index of {n:,} items: {result['load']:.1f} s of a cycle."
    )
    return 0


class Corpus:
    """Deterministic synthetic news: stories, their republications, sources' footers."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        syllables = [a + b for a in "bdfgklmnprstwz" for b in ("a", "e", "i", "o", "u", "ei")]
        words: set[str] = set()
        while len(words) < 30_000:
            words.add("".join(self.rng.choices(syllables, k=self.rng.randint(2, 4))))
        self.words = sorted(words)
        # Zipf: the k-th word is drawn with weight 1/k.
        self.cum = list(itertools.accumulate(1 / (k + 1) for k in range(len(self.words))))
        self.footers = [" ".join(self._words(25)) + "." for _ in range(SOURCES)]

    def _words(self, n: int) -> list[str]:
        return self.rng.choices(self.words, cum_weights=self.cum, k=n)

    def _sentences(self, n: int) -> list[str]:
        return [
            " ".join(self._words(self.rng.randint(8, 16))).capitalize() + "." for _ in range(n)
        ]

    def generate(self, total: int) -> tuple[list[Item], dict[str, int]]:
        """``total`` items (shuffled) and the story number of each item key."""
        rng = self.rng
        items: list[Item] = []
        truth: dict[str, int] = {}
        story = 0
        while len(items) < total:
            story += 1
            title = " ".join(self._words(8)).capitalize()
            teaser = self._sentences(3)
            body = self._sentences(rng.randint(4, 10))
            published = START + timedelta(seconds=rng.randrange(int(WINDOW.total_seconds())))
            versions = rng.choices((0, 1, 2, 3), weights=(60, 25, 10, 5))[0]
            sources = rng.sample(range(SOURCES), versions + 1)
            for n, source in enumerate(sources):
                if n == 0:
                    v_title, v_teaser, v_body = title, teaser, body
                else:
                    words = title.split()
                    for i in rng.sample(range(len(words)), 3):
                        words[i] = self._words(1)[0]
                    v_title = " ".join(words)
                    v_teaser = teaser[: rng.randint(1, 3)]
                    v_body = body[: rng.randint(2, len(body))] + self._sentences(1)
                    published = published + timedelta(hours=rng.randint(1, 72))
                key = f"s{source}-{story}-{n}"
                text = " ".join(v_body) + " " + self.footers[source]
                items.append(
                    Item(
                        source_id=f"source{source}",
                        key=key,
                        url=f"https://source{source}.example/news/{story}",
                        title=v_title,
                        summary_html="",
                        summary_text=" ".join(v_teaser),
                        content_html=f"<p>{text}</p>",
                        author=None,
                        published_at=published,
                        date_estimated=False,
                        updated_at=None,
                        categories=(),
                        tags=frozenset(),
                        image=None,
                        fingerprint=f"1:{key}",
                    )
                )
                truth[key] = story
        items = items[:total]
        rng.shuffle(items)
        return items, truth


def _pairwise(items: list[Item]) -> tuple[dict[str, int], int]:
    """Every item against every earlier one, by the same features, similarity and rule."""
    stats = stories.KeywordStats({}, 0)
    placed: list[tuple[stories.StoryFeatures, float, int]] = []
    assignment: dict[str, int] = {}
    comparisons = 0
    for item, f in _features(items):
        weight = stats.weight_of(f.keywords)
        best: tuple[float, int] | None = None
        for other, _other_weight, story in placed:
            comparisons += 1
            same_url = f.url_key is not None and f.url_key == other.url_key
            sim = stories.compare(f, weight, other.shingles, other.keywords, same_url, stats)
            if stories.same_story(f, other, sim) and (best is None or sim.score > best[0]):
                best = (sim.score, story)
        story = best[1] if best else len(placed)
        placed.append((f, weight, story))
        assignment[item.key] = story
        stats.add(f.keywords)
    return assignment, comparisons


def _indexed(items: list[Item]) -> tuple[dict[str, int], int]:
    """The same items through the in-memory index, as ``place_in_stories`` uses it."""
    stats = stories.KeywordStats({}, 0)
    index = stories.StoryIndex(WINDOW, stats)
    assignment: dict[str, int] = {}
    comparisons = 0
    for n, (item, f) in enumerate(_features(items)):
        comparisons += len(index.candidates(f, item.published_at))
        match = index.best_match(f, item.published_at)
        story = match.story_id if match else n
        index.add(
            n,
            story,
            item.published_at,
            stories.pack(f.shingles),
            " ".join(f.keywords),
            f.districts,
            f.marks,
        )
        stats.add(f.keywords)
        assignment[item.key] = story
    return assignment, comparisons


def _features(items: list[Item]) -> Iterator[tuple[Item, stories.StoryFeatures]]:
    # Boilerplate learned per source as place_in_stories does, from all of its items.
    by_source: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        by_source[item.source_id].append(item)
    boilerplate = {
        source: stories.learn_boilerplate([stories.shingles_of(i) for i in its], frozenset())
        for source, its in by_source.items()
    }
    for item in sorted(items, key=lambda i: i.published_at):
        bp = boilerplate[item.source_id]
        yield item, stories.features(item, stories.shingles_of(item), bp)


def _store(db: Path, items: list[Item]) -> None:
    storage = Storage(f"sqlite:///{db}")
    by_source: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        by_source[item.source_id].append(item)
    for source_id, its in by_source.items():
        state = SourceState(source_id=source_id, last_success_at=START + WINDOW)
        storage.save_source_result(state, [(i, ItemDecision.NEW) for i in its], START + WINDOW)
    storage.close()


def _child(args: argparse.Namespace) -> int:
    """Cluster the stored items, then add more: in its own process for its own peak RSS."""
    share_malloc_arena()  # as the console script sets up a revier-feed process
    spec = json.loads(args.child.read_text(encoding="utf-8"))
    storage = Storage(f"sqlite:///{spec['db']}")
    specs = [f"source{s}" for s in range(SOURCES)]
    counted: list[int] = []
    original = stories.StoryIndex.confirm

    def counting(self: stories.StoryIndex, new: Any, found: list[Any], *args: Any) -> Any:
        counted.append(len(found))
        return original(self, new, found, *args)

    stories.StoryIndex.confirm = counting  # type: ignore[method-assign]
    finder = _FinderLog()
    logging.getLogger("revier_feed.placement").addHandler(finder)
    logging.getLogger("revier_feed.placement").setLevel(logging.DEBUG)
    now = START + WINDOW
    # As in the worker: the cycle's index is kept for the next cycles.
    cache = placement.StoryCache()
    started, cpu = time.perf_counter(), time.process_time()
    placement.place_in_stories(specs, storage, WINDOW, now, cache)
    cluster, cluster_cpu = time.perf_counter() - started, time.process_time() - cpu
    cluster_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    stories.StoryIndex.confirm = original  # type: ignore[method-assign]
    if finder.errors:
        # Placement puts an item that fails into a story of its own and goes on: measured
        # so, the batch would look fast and find no stories (as it did for a while, when
        # the counting wrapper above had fallen behind confirm's arguments).
        raise SystemExit(f"placement failed for {len(finder.errors)} items: {finder.errors[0]}")
    extra = [_load(d) for d in spec["extra"]]
    n_cycles = spec["cycles"]
    # Whole cycles with one new item each: store it, then place_in_stories; first as a
    # worker does (the index kept in memory), then as `run --once` (loaded each time). A
    # batch placed with the candidate finder leaves no index to keep: the worker's first
    # cycle after it loads the index, timed apart.
    worker: list[float] = []
    once: list[float] = []
    first: list[float] = []
    cycles = extra[: 2 * n_cycles + 1]
    for n, item in enumerate(cycles):
        # Fresh news, as a worker's cycles mostly bring: an item dated more than a week
        # before the kept index was loaded (StoryCache.SLACK) makes the cycle load it again.
        item = replace(item, published_at=now - timedelta(minutes=len(cycles) - n))
        state = SourceState(source_id=item.source_id, last_success_at=START + WINDOW)
        storage.save_source_result(state, [(item, ItemDecision.NEW)], START + WINDOW)
        started = time.perf_counter()
        kept = cache if n <= n_cycles else None
        loads = n == 0 and cache.index is None
        placement.place_in_stories([item.source_id], storage, WINDOW, now, kept)
        took = (time.perf_counter() - started) * 1000
        (first if loads else worker if n <= n_cycles else once).append(took)
    if finder.errors:
        raise SystemExit(f"placement failed in a one-item cycle: {finder.errors[0]}")
    with storage.story_index() as store:
        started = time.perf_counter()
        placement._load_index(store, START - WINDOW, WINDOW)
        load = time.perf_counter() - started
    # The placement itself, index in memory: features, candidates, confirmation, indexing.
    index = cache.index
    assert index is not None
    adds: list[float] = []
    for n, item in enumerate(extra[2 * n_cycles :]):
        started = time.perf_counter()
        f = stories.features(item, stories.shingles_of(item), frozenset())
        match = index.best_match(f, item.published_at)
        index.add(
            -n - 1,
            match.story_id if match else -n - 1,
            item.published_at,
            stories.pack(f.shingles),
            " ".join(f.keywords),
            f.districts,
            f.marks,
        )
        index.stats.add(f.keywords)
        adds.append((time.perf_counter() - started) * 1000)
    storage.close()
    result = {
        "cluster": cluster,
        "cluster_cpu": cluster_cpu,
        "cluster_peak": cluster_peak,
        "comparisons": sum(counted),
        "load": load,
        "adds": adds,
        "worker": worker,
        "first": first,
        "once": once,
        "finder": finder.runs[0] if finder.runs else None,
    }
    print(json.dumps(result))
    return 0


class _FinderLog(logging.Handler):
    """What the candidate finder process reported (items, CPU seconds, peak RSS MB), and
    the errors placement logged."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.runs: list[tuple[int, float, float]] = []
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg.startswith("story candidate finder:"):
            self.runs.append(record.args)  # type: ignore[arg-type]
        elif record.levelno >= logging.ERROR:
            cause = record.exc_info[1] if record.exc_info else None
            self.errors.append(f"{record.getMessage()}: {cause!r}")


def _dump(item: Item) -> dict[str, Any]:
    return {
        "source_id": item.source_id,
        "key": item.key,
        "url": item.url,
        "title": item.title,
        "summary_text": item.summary_text,
        "content_html": item.content_html,
        "published_at": item.published_at.isoformat(),
    }


def _load(d: dict[str, Any]) -> Item:
    return Item(
        source_id=d["source_id"],
        key=d["key"],
        url=d["url"],
        title=d["title"],
        summary_html="",
        summary_text=d["summary_text"],
        content_html=d["content_html"],
        author=None,
        published_at=datetime.fromisoformat(d["published_at"]),
        date_estimated=False,
        updated_at=None,
        categories=(),
        tags=frozenset(),
        image=None,
        fingerprint=f"1:{d['key']}",
    )


def _assignment(storage: Storage) -> dict[str, int]:
    found: dict[str, int] = {}
    for story in storage.recent_stories([f"source{s}" for s in range(SOURCES)], 10**7):
        for member in story.members:
            found[member.item.key] = story.id
    return found


def _quality(
    assignment: dict[str, int], truth: dict[str, int], items: list[Item]
) -> tuple[float, float]:
    """Precision and recall of cross-source pairs among ``items``."""
    keys = {i.key for i in items}

    def pairs(groups_of: dict[str, int]) -> set[tuple[str, str]]:
        groups: dict[int, list[str]] = defaultdict(list)
        for key in keys:
            groups[groups_of[key]].append(key)
        return {
            (a, b) if a < b else (b, a)
            for g in groups.values()
            for a, b in itertools.combinations(g, 2)
            if a.split("-")[0] != b.split("-")[0]
        }

    true, found = pairs(truth), pairs(assignment)
    tp = len(true & found)
    return (tp / len(found) if found else 1.0, tp / len(true) if true else 1.0)


def _p95(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.95)] if values else 0.0


def _note(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
