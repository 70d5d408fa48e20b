#!/usr/bin/env python3
"""How much of a cold cycle's per-item CPU is compiled code, stage by stage.

Runs the stages a worker process runs for each fetched document of the ``collect.py``
corpus (parse, normalize, tag, story features) in this process, from memory, and prints
per item: the CPU time of each stage as shipped (best of ``--repeat`` passes, no profiler),
and the part of it spent inside compiled functions (lxml, nh3, SQLite-free C extensions of
this project, the ``re`` engine, ``json``'s C encoder...), measured with cProfile as the
share of C functions' own time, applied to the unprofiled time. The rest is Python: the
most a rewrite of the glue into C could save. Also prints what importing a worker costs.

Run with the project's venv: ``.venv/bin/python bench/floor.py [--feeds 500]``.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
from parse_speed import corpus_documents

from revier_feed import compute, normalize, parse, story_work
from revier_feed.models import Item, RawItem, SourceSpec
from revier_feed.tag import Tagger

NOW = datetime(2025, 7, 1, tzinfo=UTC)
TZ = ZoneInfo("Europe/Berlin")
PROJECT = Path(__file__).resolve().parent.parent


def _tagger_and_spec() -> tuple[Tagger, SourceSpec]:
    """The shipped topic rules and gazetteer, and a feed source as the bench configures it."""
    import tempfile

    from revier_feed.config.load import load_config

    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        (folder / "settings.yaml").write_text("site:\n  title: Floor\n", encoding="utf-8")
        (folder / "sources.yaml").write_text(
            "sources:\n  - id: feed-0000\n    name: Quelle\n    url: http://127.0.0.2/f.xml\n",
            encoding="utf-8",
        )
        (folder / "tags.yaml").write_bytes((PROJECT / "config" / "tags.yaml").read_bytes())
        config = load_config(folder)
    return Tagger(config.tags, config.districts, config.elsewhere), config.sources[0]


def _compiled_share(run: Callable[[], Any]) -> float:
    """The share of ``run``'s profiled time spent in C functions (their own time)."""
    profile = cProfile.Profile()
    profile.enable()
    run()
    profile.disable()
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    total = compiled = 0.0
    for (filename, _line, _name), (_cc, _nc, own, _cum, _callers) in stats.items():
        total += own
        if filename == "~":
            compiled += own
    return compiled / total if total else 0.0


def _best(run: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        run()
        times.append(time.process_time() - start)
    return min(times)


def _import_seconds() -> float:
    """Wall seconds a fresh interpreter takes to import what a worker process needs, less
    an empty interpreter's."""
    code = "import revier_feed.compute, revier_feed.parse, revier_feed.normalize"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    bare = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return (bare - start) - (time.perf_counter() - bare)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--feeds", type=int, default=500)
    p.add_argument("--items", type=int, default=30)
    p.add_argument("--repeat", type=int, default=3, help="passes per stage; best is shown")
    args = p.parse_args()
    tagger, spec = _tagger_and_spec()
    compute._worker_tagger = tagger
    docs = corpus_documents(args.feeds, args.items)

    raws: list[list[RawItem]] = [list(parse.parse(spec, d, NOW, TZ).items) for d in docs]
    items: list[list[Item]] = [[normalize.normalize(r, spec, NOW) for r in rs] for rs in raws]
    count = sum(len(rs) for rs in raws)

    def parsing() -> None:
        for doc in docs:
            parse.parse(spec, doc, NOW, TZ)

    def normalizing() -> None:
        for rs in raws:
            for raw in rs:
                normalize.normalize(raw, spec, NOW)

    def tagging() -> None:
        for its in items:
            for item in its:
                tagger.tag_or_leave_out(item, spec)

    def features() -> None:
        for its in items:
            story_work.source_features(story_work.story_texts(its), frozenset(), [])

    print(f"{len(docs)} feeds, {count:,} items; CPU µs per item, best of {args.repeat}")
    print()
    print("| stage | as shipped | in compiled code | in Python |")
    print("|---|---:|---:|---:|")
    totals = [0.0, 0.0]
    for name, run in (
        ("parse (lxml reader)", parsing),
        ("normalize (nh3, URLs, fingerprint)", normalizing),
        ("tag (topics, districts)", tagging),
        ("story features", features),
    ):
        shipped = _best(run, args.repeat) / count * 1e6
        compiled = shipped * _compiled_share(run)
        totals[0] += shipped
        totals[1] += compiled
        print(f"| {name} | {shipped:.0f} | {compiled:.0f} | {shipped - compiled:.0f} |")
    shipped, compiled = totals
    print(f"| **all** | **{shipped:.0f}** | **{compiled:.0f}** | **{shipped - compiled:.0f}** |")
    print()
    per_cycle = count * shipped / 1e6
    floor = count * compiled / 1e6
    print(
        f"For {count:,} items: {per_cycle:.2f} s of CPU as shipped, {floor:.2f} s in compiled "
        f"code; importing a worker: {_import_seconds():.2f} s (wall of a fresh interpreter)."
    )


if __name__ == "__main__":
    main()
