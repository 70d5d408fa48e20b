#!/usr/bin/env python3
"""Fetch benchmark: the CPU a cycle's HTTP costs, revier-feed's connections against httpcore.

Fetches every feed of the collection benchmark's corpus (``collect.py``'s generator and
server: 500 feeds on 50 loopback hosts) twice per round, once in full and once
conditionally (every answer a 304), through:

* ``revier-feed``: the fetcher as a cycle uses it (its own HTTP/1.1 connections);
* ``revier-feed over httpcore``: the same fetcher on httpx's own transport (httpcore on
  anyio), as it runs behind a proxy and as every request ran before;
* ``httpx alone``: a bare ``httpx.AsyncClient`` with a semaphore, the baseline a user
  would write (no robots.txt, no per-host limits, no size cap).

The two on httpcore get ``--baseline-concurrency`` (16) connections, not revier-feed's 100:
httpcore looks through its whole pool for every request (encode/httpcore#1035), and with
100 connections a round of 304s costs it several times more.

Rounds alternate between the three, in one process, and the table shows medians of CPU
time (this process only; the server runs in its own) and wall time. Run it with the
project's interpreter: ``.venv/bin/python bench/fetch.py [--rounds 5] [--latency 0]``.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import collect
import httpx

from revier_feed.fetch import Fetcher
from revier_feed.models import FetchResult, FetchSettings, NotModified

#: A variant fetches every URL, conditionally with the given ETags, and returns the answers.
Variant = Callable[[list[str], dict[str, str]], Awaitable[dict[str, FetchResult | NotModified]]]


def settings(concurrency: int, per_host: int) -> FetchSettings:
    return FetchSettings(
        user_agent="revier-feed-bench/1.0",
        timeout=30.0,
        connect_timeout=10.0,
        max_concurrency=concurrency,
        max_per_host=per_host,
        max_body_bytes=10_000_000,
        max_redirects=5,
        retries=0,
        respect_robots=False,
    )


def through_fetcher(fetch_settings: FetchSettings, *, httpcore: bool) -> Variant:
    async def run(urls: list[str], etags: dict[str, str]) -> dict[str, FetchResult | NotModified]:
        transport = None
        if httpcore:
            n = fetch_settings.max_concurrency
            transport = httpx.AsyncHTTPTransport(
                limits=httpx.Limits(max_connections=n, max_keepalive_connections=n)
            )
        async with Fetcher(fetch_settings, transport=transport) as fetcher:
            answers = await asyncio.gather(
                *(fetcher.fetch(url, url, etag=etags.get(url)) for url in urls)
            )
        return dict(zip(urls, answers, strict=True))

    return run


def httpx_alone(concurrency: int) -> Variant:
    async def run(urls: list[str], etags: dict[str, str]) -> dict[str, FetchResult | NotModified]:
        limit = asyncio.Semaphore(concurrency)
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

        async def one(url: str) -> FetchResult | NotModified:
            headers = {"If-None-Match": etags[url]} if url in etags else {}
            async with limit:
                response = await client.get(url, headers=headers)
            if response.status_code == 304:
                return NotModified(etag=response.headers.get("etag"), last_modified=None)
            response.raise_for_status()
            return FetchResult(
                url=url,
                status_code=response.status_code,
                headers=dict(response.headers),
                content=response.content,
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
            )

        async with httpx.AsyncClient(limits=limits) as client:
            answers = await asyncio.gather(*(one(url) for url in urls))
        return dict(zip(urls, answers, strict=True))

    return run


def measure(variant: Variant, urls: list[str], etags: dict[str, str]) -> tuple[float, float, dict]:
    cpu, wall = time.process_time(), time.perf_counter()
    answers = asyncio.run(variant(urls, etags))
    return time.process_time() - cpu, time.perf_counter() - wall, answers


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--feeds", type=int, default=500)
    p.add_argument("--items", type=int, default=30)
    p.add_argument("--hosts", type=int, default=50, choices=range(1, 51), metavar="1..50")
    p.add_argument("--rounds", type=int, default=5, help="rounds per variant; medians shown")
    p.add_argument("--latency", type=float, default=0, help="ms added to every request")
    p.add_argument("--concurrency", type=int, default=100, help="fetch.max_concurrency")
    p.add_argument("--per-host", type=int, default=2, help="fetch.max_per_host")
    p.add_argument(
        "--baseline-concurrency", type=int, default=16, help="connections of the httpcore variants"
    )
    p.add_argument("--corpus-dir", type=Path, default=collect.BENCH_DIR / ".corpus")
    args = p.parse_args()

    corpus = collect.build_corpus(args.corpus_dir, args.feeds, args.items, seed=1)
    hosts = [f"127.0.0.{2 + i}" for i in range(args.hosts)]
    server = collect.Server(corpus, hosts, args.latency / 1000)
    baseline = args.baseline_concurrency
    variants = {
        "revier-feed": through_fetcher(settings(args.concurrency, args.per_host), httpcore=False),
        "revier-feed over httpcore": through_fetcher(
            settings(baseline, args.per_host), httpcore=True
        ),
        "httpx alone": httpx_alone(baseline),
    }
    figures: dict[str, dict[str, list[float]]] = {
        name: {"full cpu": [], "full wall": [], "304 cpu": [], "304 wall": []} for name in variants
    }
    try:
        urls = [server.url(i) for i in range(corpus.feeds)]
        for _ in range(args.rounds):
            for name, variant in variants.items():
                cpu, wall, answers = measure(variant, urls, {})
                if not all(isinstance(a, FetchResult) for a in answers.values()):
                    raise SystemExit(f"{name}: not every feed was fetched in full")
                figures[name]["full cpu"].append(cpu)
                figures[name]["full wall"].append(wall)
                etags = {url: a.etag for url, a in answers.items() if a.etag}
                cpu, wall, answers = measure(variant, urls, etags)
                if not all(isinstance(a, NotModified) for a in answers.values()):
                    raise SystemExit(f"{name}: not every conditional request got a 304")
                figures[name]["304 cpu"].append(cpu)
                figures[name]["304 wall"].append(wall)
    finally:
        time.sleep(0.2)  # the server sees the last connections close before it is stopped
        server.close()

    base = statistics.median(figures["revier-feed over httpcore"]["304 cpu"])
    print(
        f"{corpus.feeds} feeds ({corpus.size / 1e6:.1f} MB) on {args.hosts} hosts, latency "
        f"{args.latency:g} ms, concurrency {args.concurrency} (httpcore variants "
        f"{baseline}), {args.per_host} per host; "
        f"{args.rounds} rounds; {platform.python_implementation()} "
        f"{platform.python_version()}, httpx {httpx.__version__}\n"
    )
    print(
        "| variant | full: CPU s | full: wall s | 304s: CPU s | 304s: wall s "
        "| 304s: CPU vs httpcore |"
    )
    print("|---|---|---|---|---|---|")
    for name, f in figures.items():
        m = {k: statistics.median(v) for k, v in f.items()}
        print(
            f"| {name} | {m['full cpu']:.3f} | {m['full wall']:.3f} | {m['304 cpu']:.3f} "
            f"| {m['304 wall']:.3f} | {m['304 cpu'] / base:.2f}x |"
        )


if __name__ == "__main__":
    main()
