"""Publishing and serving at scale: revier-feed beside a naive baseline, in one run.

Usage: python bench/publish.py [--items 100000] [--runs 3] [--seconds 5] [--connections 32]

Builds a store of synthetic items (deterministic: a pure function of --seed and --items)
from 20 sources with 20 topic tags and the region's 9 districts, so 30 channels (all news,
one per tag, one per district), then measures:

1. a full publish into an empty output folder (RSS, Atom, JSON Feed and a page per
   channel, the OPML list) against a naive publish: per channel, read the newest items,
   filter them in Python, build RSS and Atom with feedgen and write every file;
2. a publish with nothing changed (target < 0.3 s) against the same naive publish, which
   has no way to know nothing changed;
3. 304 answers per second for a feed from `revier-feed serve` (a separate process, with
   If-None-Match) against `python -m http.server --protocol HTTP/1.1` (If-Modified-Since),
   each loaded by the same asyncio client over keep-alive connections on loopback.

Prints a markdown table; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from feedgen.feed import FeedGenerator

from revier_feed.app import App
from revier_feed.config import AppConfig, load_config
from revier_feed.models import Item, ItemDecision, SourceState, SourceStatus, StoryPlacement
from revier_feed.publish.channels import select

SOURCES = 20
TAGS = 20
START = datetime(2025, 1, 1, tzinfo=UTC)
WORDS = [
    "Landkreis",
    "Förderung",
    "Strukturwandel",
    "Revier",
    "Kohleausstieg",
    "Wasserstoff",
    "Hochschule",
    "Forschung",
    "Unternehmen",
    "Fachkräfte",
    "Innovation",
    "Preis",
    "Kreistag",
    "Haushalt",
    "Stadtrat",
    "Bürgermeister",
    "Projekt",
    "Netzwerk",
    "Region",
    "Mitteldeutschland",
    "Energie",
    "Mobilität",
    "Bildung",
    "Schule",
    "Handwerk",
    "Tourismus",
    "Kultur",
    "Breitband",
    "Digitalisierung",
    "Gesundheit",
    "Klinik",
    "Verkehr",
    "Radweg",
    "Wirtschaft",
    "Ansiedlung",
]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def write_config(folder: Path) -> AppConfig:
    sources = "\n".join(
        f"  - id: quelle-{n:02d}\n    name: Quelle {n}\n"
        f"    url: http://127.0.0.1:9/quelle-{n:02d}.xml"
        for n in range(SOURCES)
    )
    tags = "\n".join(
        f"  - id: thema-{n:02d}\n    label: Thema {n}\n    any: [{WORDS[n]}]" for n in range(TAGS)
    )
    (folder / "settings.yaml").write_text(
        textwrap.dedent("""\
            site:
              title: Revier-News Benchmark
              public_base_url: https://news.example/
            storage:
              path: store.sqlite3
            output:
              dir: out
              max_items: 100
            """),
        encoding="utf-8",
    )
    (folder / "sources.yaml").write_text(f"sources:\n{sources}\n", encoding="utf-8")
    (folder / "tags.yaml").write_text(f"tags:\n{tags}\n", encoding="utf-8")
    return load_config(folder)


def build_store(config: AppConfig, total: int, seed: int) -> None:
    """``total`` items over a year, each collected on the day it was published; one in ten
    joins an earlier story of another source."""
    rng = random.Random(seed)
    districts = [d.id for d in config.districts]
    per_source = total // SOURCES
    now = START + timedelta(days=366)
    with App(config, now=lambda: now) as app:
        storage = app.storage
        for s in range(SOURCES):
            decisions = []
            for n in range(per_source):
                published = START + timedelta(minutes=rng.randrange(365 * 24 * 60))
                words = rng.sample(WORDS, 8)
                text = " ".join(rng.choice(WORDS) for _ in range(60))
                item = Item(
                    source_id=f"quelle-{s:02d}",
                    key=f"https://quelle-{s:02d}.example/news/{n}",
                    url=f"https://quelle-{s:02d}.example/news/{n}",
                    title=" ".join(words).capitalize(),
                    summary_html=f"<p>{text}</p>",
                    summary_text=text,
                    content_html="",
                    author=None,
                    published_at=published,
                    date_estimated=False,
                    updated_at=None,
                    categories=(),
                    tags=frozenset(f"thema-{t:02d}" for t in rng.sample(range(TAGS), 2)),
                    image=None,
                    fingerprint=f"1:{s}:{n}",
                    districts=frozenset(rng.sample(districts, 1)),
                )
                decisions.append((item, ItemDecision.NEW))
            state = SourceState(f"quelle-{s:02d}", status=SourceStatus.OK, last_success_at=now)
            # Collected as they were published, a day's news at once: feeds rank stories by
            # when they came.
            by_day: dict[object, list[tuple[Item, ItemDecision]]] = {}
            for decision in decisions:
                by_day.setdefault(decision[0].published_at.date(), []).append(decision)
            for batch in by_day.values():
                came = max(i.published_at for i, _ in batch) + timedelta(minutes=10)
                storage.save_source_result(state, batch, came)
        ids = [
            stored.id
            for batch in storage.iter_items([s.id for s in app.config.sources])
            for stored in batch
        ]
        with storage.story_index() as index:
            stories: list[int] = []
            placements: list[StoryPlacement] = []
            next_story = index.next_story_id()
            for item_id in ids:
                join = (
                    stories[rng.randrange(len(stories))]
                    if stories and rng.random() < 0.1
                    else None
                )
                story = join if join is not None else next_story
                placements.append(
                    StoryPlacement(
                        item_id, story, join is None, 0.5 if join else None, b"", "", b""
                    )
                )
                if join is None:
                    stories.append(story)
                    next_story += 1
            index.place(placements, now)


def naive_publish(app: App) -> None:
    """The baseline: per channel, read, filter, feedgen RSS + Atom, write unconditionally."""
    out = app.config.output_dir / "naive"
    out.mkdir(parents=True, exist_ok=True)
    source_ids = [s.id for s in app.config.sources]
    for channel in app.channels():
        stories = app.storage.recent_stories(source_ids, 2000)
        chosen = select(stories, channel)
        fg = FeedGenerator()
        fg.id(channel.public_base_url + channel.id)
        fg.title(channel.title)
        fg.description(channel.description)
        fg.link(href=channel.site_url, rel="alternate")
        fg.language(channel.language)
        for story in chosen:
            item = story.members[0].item
            entry = fg.add_entry(order="append")
            entry.id(f"{channel.public_base_url}story/{story.id}")
            entry.title(item.title)
            entry.link(href=item.url)
            entry.description(item.summary_html)
            entry.published(item.published_at)
            entry.updated(item.published_at)
        (out / f"{channel.id}.rss.xml").write_bytes(fg.rss_str(pretty=True))
        (out / f"{channel.id}.atom.xml").write_bytes(fg.atom_str(pretty=True))


def timed(fn: Callable[[], object], runs: int, before: Callable[[], None] | None = None) -> float:
    times = []
    for _ in range(runs):
        if before:
            before()
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# --- load client ---------------------------------------------------------------------------


async def _connection(port: int, request: bytes, deadline: float, counts: dict[int, int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < deadline:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
            if length:
                await reader.readexactly(int(length.group(1)))
            counts[status] = counts.get(status, 0) + 1
            if re.search(rb"(?i)\r\nconnection: *close", head):
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
    finally:
        writer.close()


def load(
    port: int, path: str, headers: str, seconds: float, connections: int
) -> tuple[float, dict[int, int]]:
    """Requests per second over ``connections`` keep-alive connections for ``seconds``."""
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n".encode()
    counts: dict[int, int] = {}

    async def run() -> None:
        deadline = time.perf_counter() + seconds
        await asyncio.gather(
            *(_connection(port, request, deadline, counts) for _ in range(connections))
        )

    started = time.perf_counter()
    asyncio.run(run())
    return sum(counts.values()) / (time.perf_counter() - started), counts


def start(command: list[str], pattern: str) -> tuple[subprocess.Popen[str], int]:
    """Start a server that prints its port on its first line of stdout."""
    # stderr goes nowhere: http.server logs every request there, and an unread pipe would
    # fill up and stall it.
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.search(pattern, line)
    if not found:
        process.kill()
        raise SystemExit(f"server did not start: {line!r}")
    return process, int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="per load test")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    exe = Path(sys.executable).parent / "revier-feed"
    rows: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="revier-bench-publish-") as tmp:
        config = write_config(Path(tmp))
        started = time.perf_counter()
        build_store(config, args.items, args.seed)
        log(f"store of {args.items} items built in {time.perf_counter() - started:.1f} s")
        out = config.output_dir

        def clear() -> None:
            shutil.rmtree(out, ignore_errors=True)

        with App(config) as app:
            channels = len(app.channels())
            full = timed(app.publish, args.runs, before=clear)
            unchanged = timed(app.publish, args.runs)
            naive = timed(lambda: naive_publish(app), args.runs)
        files = sum(1 for p in out.rglob("*") if p.is_file() and "naive" not in p.parts)
        log(f"{channels} channels, {files} files")
        rows.append(("full publish (s)", f"{full:.2f}", f"{naive:.2f}", "< 2"))
        rows.append(("publish, nothing changed (s)", f"{unchanged:.3f}", f"{naive:.2f}", "< 0.3"))

        feed = "/feeds/all.rss.xml"
        server, port = start(
            [str(exe), "-q", "--config", str(config.config_dir), "serve", "--port", "0"],
            r"at http://127\.0\.0\.1:(\d+)/",
        )
        try:
            etag = _etag(port, feed)
            ours, ours_counts = load(
                port, feed, f"If-None-Match: {etag}\r\n", args.seconds, args.connections
            )
        finally:
            server.terminate()
            server.communicate(timeout=10)
        modified = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 60))
        baseline, port = start(
            [
                sys.executable,
                "-u",
                "-m",
                "http.server",
                "--protocol",
                "HTTP/1.1",
                "--bind",
                "127.0.0.1",
                "-d",
                str(out),
                "0",
            ],
            r"port (\d+)",
        )
        try:
            theirs, their_counts = load(
                port, feed, f"If-Modified-Since: {modified}\r\n", args.seconds, args.connections
            )
        finally:
            baseline.terminate()
            baseline.communicate(timeout=10)
        log(f"serve: {ours_counts}; http.server: {their_counts}")
        assert set(ours_counts) == {304} and set(their_counts) == {304}, "only 304s expected"
        rows.append(
            ("serve: 304s per second for a feed", f"{ours:,.0f}", f"{theirs:,.0f}", "≥ 2,000")
        )

    print(
        f"\n{args.items:,} items, {channels} channels, {files} files; medians of {args.runs} runs"
    )
    print("\n| measure | revier-feed | baseline | target |")
    print("|---|---:|---:|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(
        "\nBaselines: publish = per channel, read + filter + feedgen RSS and Atom, write every "
        "file (no pages, no JSON Feed); serve = python -m http.server --protocol HTTP/1.1 "
        f"answering If-Modified-Since. Load: {args.connections} keep-alive connections, "
        f"{args.seconds:g} s, asyncio client in this process."
    )
    return 0


def _etag(port: int, path: str) -> str:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path)
    response = conn.getresponse()
    response.read()
    conn.close()
    etag = response.getheader("etag")
    assert etag, "no ETag"
    return etag


if __name__ == "__main__":
    sys.exit(main())
