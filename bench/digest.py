"""Digest benchmark (#6): 1,000 partners with different filters over 20,000 stories, rendered
and delivered to a local SMTP server.

Usage: .venv/bin/python bench/digest.py [--partners 1000] [--stories 20000] [--runs 3]
                             [--commit REV] [--before REV] [--sink fast|aiosmtpd]

Builds a store in a temporary folder (20 sources, 12 topics, the region's districts; the
stories first seen evenly over the 26 weeks before the last Monday 07:00, so the week a
digest covers holds about 770 of them, and each partner's filter picks some), starts an SMTP
sink (its own process) on 127.0.0.1, then times whole processes:

- ``revier-feed digest send``: due partners, selection, rendering, SMTP, send log;
- with ``--before REV``: the same command of commit REV (``git archive`` into its own venv,
  as ``bench/collect.py --commit`` does), against the same store and sink, runs interleaved;
- the baseline: one process handing one ready-made message of the digests' average size
  (flattened once, 76-character lines) to the same sink as often as digests were sent, with
  smtplib over one connection with TCP_NODELAY (the floor any digest sender pays for SMTP
  alone; until the fast sink it built and flattened a message per recipient).

Each run starts from an empty send log. Prints medians of wall time and CPU time (user +
sys of the child: what the machine's other load cannot inflate much) and the peak RSS (the
child's ru_maxrss) side by side.

The sink is ``bench/smtp_sink.py`` (reads DATA in bulk, as an MTA written in C does);
``--sink aiosmtpd`` uses aiosmtpd's ``Sink`` handler instead, which parses every line of DATA
in Python and costs ~25 ms of CPU per 200 kB digest on the same 2 cores (the figures before
the fast sink were measured with it).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from revier_feed import cron
from revier_feed.models import Item, ItemDecision, SourceState
from revier_feed.storage import Storage
from revier_feed.storage.database import to_db

TAGS = [
    "strukturwandel",
    "laendlicher-raum",
    "studien",
    "handwerk",
    "innovationspreis",
    "wasserstoff",
    "fachkraefte",
    "foerderung",
    "corona",
    "metropolregion",
    "life-sciences",
    "robotik",
]
DISTRICTS = [
    "altenburger-land",
    "anhalt-bitterfeld",
    "burgenlandkreis",
    "landkreis-leipzig",
    "mansfeld-suedharz",
    "nordsachsen",
    "saalekreis",
    "halle",
    "stadt-leipzig",
]
WORDS = [
    "Strukturwandel",
    "Revier",
    "Innovation",
    "Förderung",
    "Landkreis",
    "Kommune",
    "Handwerk",
    "Studie",
    "Netzwerk",
    "Wasserstoff",
    "Fachkräfte",
    "Leipzig",
    "Halle",
    "Zeitz",
    "Energie",
    "Forschung",
    "Projekt",
    "Region",
    "Preis",
    "Unternehmen",
    "Gründung",
    "Bildung",
    "Verkehr",
    "Mobilität",
    "Zukunft",
    "Wirtschaft",
    "Kultur",
    "Tourismus",
]


#: The store's stories were first seen over this many weeks.
WEEKS = 26


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def build(folder: Path, partners: int, stories: int, port: int, slot: datetime) -> Path:
    rng = random.Random(6)
    config = folder / "config"
    config.mkdir(parents=True)
    sources = [f"quelle-{i:02d}" for i in range(20)]
    (config / "sources.yaml").write_text(
        "sources:\n"
        + "".join(
            f"  - id: {s}\n    name: Quelle {s[-2:]} – Pressestelle\n"
            f"    url: https://{s}.example/feed.xml\n"
            for s in sources
        ),
        "utf-8",
    )
    (config / "tags.yaml").write_text(
        "tags:\n"
        + "".join(f"  - id: {t}\n    label: {t.title()}\n    any: [{t}]\n" for t in TAGS),
        "utf-8",
    )
    lines = ["partners:"]
    for i in range(partners):
        lines += [
            f"  - id: partner-{i:04d}",
            f"    name: Partner {i} – Wirtschaftsförderung",
            f"    addresses: [p{i}@partner.example]",
            "    filter:",
        ]
        kind = i % 4
        if kind == 0:
            lines.append(f"      tags: [{', '.join(rng.sample(TAGS, 2))}]")
        elif kind == 1:
            lines.append(f"      districts: [{rng.choice(DISTRICTS)}]")
        elif kind == 2:
            lines.append(f"      sources: [{', '.join(rng.sample(sources, 3))}]")
        else:
            lines.append(f"      tags: [{rng.choice(TAGS)}]")
            lines.append(f"      exclude_tags: [{rng.choice(TAGS)}]")
    (config / "partners.yaml").write_text("\n".join(lines) + "\n", "utf-8")
    (config / "settings.yaml").write_text(
        "site:\n  public_base_url: https://news.example/\n"
        "storage:\n  path: ../store.sqlite3\noutput:\n  dir: ../out\n"
        "digest:\n  sender: 'Revier-News <digest@news.example>'\n"
        "  unsubscribe_url: 'https://news.example/abmelden?partner={partner}'\n"
        f"smtp:\n  host: 127.0.0.1\n  port: {port}\n  security: none\n  rate_limit: 100000\n",
        "utf-8",
    )
    store = Storage(f"sqlite:///{folder / 'store.sqlite3'}")
    per_source: dict[str, list[tuple[Item, datetime]]] = {s: [] for s in sources}
    for n in range(stories):
        source = rng.choice(sources)
        seen = slot - timedelta(seconds=rng.uniform(60, WEEKS * 7 * 86400))
        item = Item(
            source_id=source,
            key=f"k{n}",
            url=f"https://{source}.example/news/{n}",
            title=text(rng, 8),
            summary_html="",
            summary_text=text(rng, 60),
            content_html="<p>" + text(rng, 300) + "</p>",
            author=None,
            published_at=seen - timedelta(hours=rng.uniform(0, 48)),
            date_estimated=False,
            updated_at=None,
            categories=(),
            tags=frozenset(rng.sample(TAGS, rng.choice([0, 1, 1, 2, 3]))),
            image=None,
            fingerprint=f"1:{n}",
            districts=frozenset(rng.sample(DISTRICTS, rng.choice([0, 1, 1, 2]))),
        )
        per_source[source].append((item, seen))
    for source, entries in per_source.items():
        entries.sort(key=lambda e: e[1])
        store.save_source_result(
            SourceState(source_id=source),
            [(item, ItemDecision.NEW) for item, _ in entries],
            entries[0][1],
        )
    # first_seen_at per item: collection stores the cycle time; spread them over the week.
    with sqlite3.connect(folder / "store.sqlite3") as db:
        for entries in per_source.values():
            db.executemany(
                "UPDATE items SET first_seen_at = ?, last_changed_at = ?, story_id = id "
                "WHERE source_id = ? AND key = ?",
                [(to_db(seen), to_db(seen), item.source_id, item.key) for item, seen in entries],
            )
        db.execute("INSERT INTO stories (id, created_at) SELECT id, first_seen_at FROM items")
    db.close()
    store.close()
    return config


#: Runs a command and prints its peak RSS: a fresh parent, so ru_maxrss is this child's alone.
MEASURE = (
    "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
    "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
    "print(u.ru_utime + u.ru_stime, u.ru_maxrss, file=sys.stderr); "
    "sys.exit(r.returncode)"
)


def child(command: list[str]) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (MB) and CPU seconds (user + sys) of one child process."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, *command], capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{command[:4]} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    cpu, peak_kb = result.stderr.strip().splitlines()[-1].split()
    return seconds, int(peak_kb) / 1024, float(cpu)


BASELINE = r"""
import smtplib, socket, sys
port, count, size = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
head = (
    "From: digest@news.example\r\nTo: p@partner.example\r\nSubject: Revier-News KW 48/2026\r\n"
    "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\n"
).encode()
message = head + (b"PHA+" + b"y" * 72 + b"\r\n") * (size // 78)  # 76-character base64 lines
with smtplib.SMTP("127.0.0.1", port) as smtp:
    smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(count):
        smtp.sendmail("digest@news.example", [f"p{i}@partner.example"], message)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--partners", type=int, default=1000)
    parser.add_argument("--stories", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", metavar="REV", help="also measure this commit's sender")
    parser.add_argument(
        "--commit", metavar="REV", help="measure this commit instead of the working tree"
    )
    parser.add_argument("--sink", choices=("fast", "aiosmtpd"), default="fast")
    args = parser.parse_args()
    tz = ZoneInfo("Europe/Berlin")
    slot = cron.parse("0 7 * * mon").last_at_or_before(datetime.now(UTC), tz)
    port = free_port()
    from collect import commit_venv  # bench/ is on sys.path when run as a script

    before = str(commit_venv(args.before) / "bin" / "revier-feed") if args.before else None
    exe = str(Path(sys.executable).parent / "revier-feed")
    if args.commit:
        exe = str(commit_venv(args.commit) / "bin" / "revier-feed")
    if args.sink == "fast":
        command = [sys.executable, str(Path(__file__).parent / "smtp_sink.py"), str(port)]
    else:
        command = [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}"]
        command += ["-c", "aiosmtpd.handlers.Sink"]
    sink = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    folder = Path(tempfile.mkdtemp(prefix="revier-digest-bench-"))
    try:
        time.sleep(1.0)  # the sink's start-up; nothing is timed yet
        started = time.perf_counter()
        config = build(folder, args.partners, args.stories, port, slot)
        print(f"store built in {time.perf_counter() - started:.1f}s: {folder}", file=sys.stderr)
        store = folder / "store.sqlite3"
        ours, old, base = [], [], []
        sizes = _message_sizes(exe, config, folder)
        size = int(statistics.mean(sizes))
        for _ in range(args.runs):
            _clear(store)
            ours.append(child([exe, "-q", "--config", str(config), "digest", "send"]))
            sent = _sent(store)
            if before:
                _clear(store)
                old.append(child([before, "-q", "--config", str(config), "digest", "send"]))
            base.append(
                child([sys.executable, "-c", BASELINE, str(port), str(len(sizes)), str(size)])
            )
    finally:
        sink.terminate()
        sink.wait()
    print()
    print(
        f"{args.partners} partners, {args.stories} stories, {sent} digests sent of "
        f"{int(statistics.mean(sizes)) // 1000} kB on average, {args.sink} sink "
        f"(median of {args.runs} whole-process runs; load average "
        f"{os.getloadavg()[0]:.1f})"
    )
    print()
    print("| what | wall s | CPU s | peak MB |")
    print("|---|---:|---:|---:|")
    what = f"commit {args.commit}" if args.commit else "working tree"
    rows = [(f"revier-feed digest send (select, render, SMTP, send log), {what}", ours)]
    if before:
        rows.append((f"the same, commit {args.before}", old))
    rows.append(("baseline: smtplib sending ready-made messages of the same size", base))
    for name, runs in rows:
        wall = statistics.median(r[0] for r in runs)
        peak = max(r[1] for r in runs)
        cpu = statistics.median(r[2] for r in runs)
        print(f"| {name} | {wall:.1f} | {cpu:.1f} | {peak:.0f} |")
    shutil.rmtree(folder, ignore_errors=True)


def _clear(store: Path) -> None:
    import sqlite3

    with sqlite3.connect(store) as db:
        db.execute("DELETE FROM digest_log")
        db.execute("DELETE FROM digest_stories")


def _sent(store: Path) -> int:
    import sqlite3

    with sqlite3.connect(store) as db:
        return int(db.execute("SELECT count(*) FROM digest_log WHERE state='sent'").fetchone()[0])


def _message_sizes(exe: str, config: Path, folder: Path) -> list[int]:
    """Sizes of the digests (a dry run into a folder), for the baseline."""
    outbox = folder / "outbox"
    subprocess.run(
        [
            exe,
            "-q",
            "--config",
            str(config),
            "digest",
            "send",
            "--dry-run",
            "--outbox",
            str(outbox),
        ],
        capture_output=True,
        check=True,
    )
    return [p.stat().st_size for p in outbox.glob("*.eml")]


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
