#!/usr/bin/env python3
"""Collection benchmark: one full cycle of revier-feed next to its peers, on one corpus.

Measures, in the same run and against the same local server:

* ``revier-feed run --once`` cold (empty store) and warm (everything answers 304),
* newsboat (``reload-threads 16``, ``newsboat -x reload``) cold and warm,
* the ``reader`` library (``update_feeds(workers=16, scheduled=False)``) cold and warm,
* a baseline of 16 threads calling ``feedparser.parse(url)``, one pass,

each as a child process, and prints one markdown table of medians (wall, CPU, peak RSS,
items stored). Usage and flags: ``bench/README.md`` or ``python bench/collect.py --help``.

The corpus (German regional news, 60 % RSS 2.0 / 40 % Atom) is generated from a seed and
served by a separate asyncio process on 127.0.0.2 … 127.0.0.51 with ETag, Last-Modified,
304 answers and an added latency per request. Server capacity (``--check-server``, 2-core
AMD EPYC VM, 500 x 30 corpus, an asyncio client in the bench process on the same cores):
at 0 ms latency 3,900-5,100 full 80 KB responses/s and 11,000-19,000 304s/s with 16-256
keep-alive connections; at 50 ms latency 16 connections get 305 req/s (the latency bound is
320) and 256 connections 3,500 req/s. The measured tools open 16 connections and need at
most ~0.6 s of server CPU per run (printed below the table), so the server is never the
bottleneck.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email.utils
import hashlib
import html
import itertools
import json
import os
import platform
import random
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT = BENCH_DIR.parent
GIT = ["git", "--no-optional-locks", "-C", str(PROJECT)]  # read-only use: no index refresh
PROJECT_VENV = PROJECT / ".venv"
PEER_VENV = Path("/tmp/bench-venv-reader")
SPY_VENV = Path("/tmp/bench-venv-tools")  # py-spy for --profile
CORPUS_VERSION = 2  # bump when the generator changes, so cached corpora are rebuilt
PEER_WORKERS = 16  # newsboat reload-threads, reader workers, baseline threads
CEST = timezone(timedelta(hours=2))
BASE_DATE = datetime(2025, 6, 30, 10, 0, tzinfo=UTC)

# --- corpus ---------------------------------------------------------------------------

# fmt: off
PLACES = ["Leipzig", "Halle (Saale)", "Merseburg", "Borna", "Zeitz", "Altenburg",
          "Weißenfels", "Bitterfeld-Wolfen", "Delitzsch", "Grimma", "Naumburg", "Köthen",
          "Markkleeberg", "Schkeuditz", "Torgau", "Eilenburg", "Hohenmölsen", "Lützen",
          "Dessau-Roßlau", "Wurzen", "Böhlen", "Groitzsch", "Leuna", "Schkopau"]
DISTRICTS = ["Landkreis Leipzig", "Burgenlandkreis", "Saalekreis", "Landkreis Nordsachsen",
             "Altenburger Land", "Landkreis Anhalt-Bitterfeld", "Landkreis Mansfeld-Südharz"]
ACTORS = ["Der Landkreis", "Die Stadtverwaltung", "Die Wirtschaftsförderung",
          "Die Industrie- und Handelskammer", "Der Zweckverband", "Die Hochschule Merseburg",
          "Das Fraunhofer-Institut", "Die Metropolregion", "Der Oberbürgermeister",
          "Die Landrätin", "Das Wirtschaftsministerium", "Das Bundesinstitut BBSR",
          "Die Handwerkskammer", "Der Kreistag", "Die Sächsische Agentur für Strukturentwicklung"]
VERBS = [("stellt", "vor"), ("fördert", ""), ("startet", ""), ("präsentiert", ""),
         ("unterstützt", ""), ("plant", ""), ("eröffnet", ""), ("bewertet", ""),
         ("kündigt", "an"), ("schreibt", "aus"), ("treibt", "voran"), ("prüft", "")]
OBJECTS = ["ein neues Wasserstoff-Netzwerk", "die Studie zum Strukturwandel",
           "die Förderung kleiner und mittlerer Unternehmen", "den Ausbau der Radwege",
           "ein Forschungszentrum für Bioökonomie", "die Umschulung von Beschäftigten",
           "das Gründerzentrum am Bahnhof", "die Renaturierung des Tagebaus",
           "die Ansiedlung eines Batteriewerks", "ein Programm zur Fachkräftesicherung",
           "den Glasfaserausbau in ländlichen Gemeinden", "den Innovationspreis",
           "ein Modellprojekt für Mobilität auf dem Land", "die Sanierung der Grundschule",
           "eine Wärmepumpen-Offensive für Kommunen", "den Breitbandausbau",
           "die Ausstellung zur Industriekultur", "ein Förderprogramm für Start-ups"]
COMPLEMENTS = ["im Rahmen des Strukturstärkungsgesetzes",
               "mit Mitteln aus dem Just Transition Fund", "gemeinsam mit regionalen Partnern",
               "bis Ende des Jahres",
               "trotz gestiegener Baukosten", "nach einer zweijährigen Planungsphase",
               "über die Grenzen des Landkreises hinaus", "im Mitteldeutschen Revier",
               "zusammen mit der Universität Leipzig", "für die Zeit nach der Braunkohle",
               "mit Unterstützung des Bundes", "auf einer Fläche von zwölf Hektar"]
TOPICS = ["Strukturwandel", "Wasserstoff", "Förderung", "Studie", "Fachkräfte", "Mobilität",
          "Breitband", "Bioökonomie", "Tourismus", "Innovationspreis", "Energiewende"]
HEADLINE_ENDS = ["vorgestellt", "bewilligt", "gestartet", "eröffnet", "ausgezeichnet",
                 "beschlossen", "verlängert", "übergeben", "geplant", "gefördert"]
NAMES = ["Henry Graichen", "Götz Ulrich", "Kai Emanuel", "Uwe Schulze", "Jörg Müller",
         "Sabine Köhler", "Andreas Bühring", "Katja Böhme", "Jürgen Weiß", "Martina Gößel"]
#: Share of sentences written freely (the others follow the templates below, as set phrases).
FREE_SENTENCES = 0.7
#: Share of stories that partners republish (1-2 other feeds each, edited).
REPUBLISHED = 0.25

# fmt: off
#: Syllables of the invented words: project, company and family names and the rarer nouns
#: of a story, so that unrelated stories differ in their words the way real news does.
SYLLABLES = [a + b for a in ("b", "d", "f", "g", "k", "l", "m", "n", "r", "s", "t", "w", "z",
                             "st", "br", "kr", "schw", "pf")
             for b in ("a", "e", "i", "o", "u", "ä", "ö", "ü", "ei", "au")]
ENDINGS = ["bach", "dorf", "werk", "hain", "feld", "tal", "stein", "berg", "heim", "ung",
           "ling", "hof", "au", "itz", "ow", "en"]
KINDS = ["Projekt", "Netzwerk", "Zentrum", "Allianz", "Initiative", "Campus", "Labor",
         "Verbund", "Cluster", "Werkstatt"]
FUNCTION_WORDS = ["der", "die", "das", "und", "mit", "für", "in", "im", "auf", "von", "zum",
                  "bei", "nach", "über", "durch", "sowie", "auch", "noch", "den", "dem",
                  "einer", "eines", "ihre", "seine", "nicht", "bereits", "künftig", "dabei"]
GERMAN_VERBS = ["entwickelt", "erprobt", "verbindet", "stärkt", "erweitert", "baut",
                "sichert", "begleitet", "fördert", "plant", "öffnet", "zeigt", "schafft",
                "beginnt", "übernimmt", "prüft", "führt", "gewinnt", "stellt", "erhält",
                "bündelt", "ergänzt", "vernetzt", "bewertet", "unterstützt", "ermöglicht",
                "verändert", "überzeugt", "würdigt", "startet"]
FIRST = ["Anna", "Bernd", "Claudia", "Dirk", "Elke", "Frank", "Gisela", "Holger", "Ines",
         "Jens", "Karin", "Lars", "Monika", "Nils", "Petra", "Ralf", "Silke", "Thomas", "Ute",
         "Volker", "Wiebke", "Jörg", "Björn", "Käthe", "Sören", "Grit", "Maik", "Heike"]
# fmt: on


@dataclass(frozen=True)
class Corpus:
    """A generated corpus on disk: ``feed-NNNN.xml`` files plus ``manifest.json``."""

    dir: Path
    feeds: int
    items: int
    seed: int
    atom: int  # how many of the feeds are Atom
    size: int  # bytes
    #: the story number of every item, by the item's file name ("meldung-NNNN-NNN")
    stories: dict[str, int] = field(default_factory=dict, compare=False, repr=False)


@dataclass
class _Story:
    """The facts of one piece of news, from which its original and republications are told."""

    number: int
    headline: str
    paragraphs: list[str]  # HTML, escaped
    published: datetime
    place: str


@dataclass
class _Facts:
    project: str
    company: str
    people: list[str]
    place: str
    topic: str
    nouns: list[str]  # rarer words of the story


@dataclass
class _Entry:
    story: _Story
    title: str
    paragraphs: list[str]
    published: datetime


class _Writer:
    """German regional news with the spread of words real news has: a shared vocabulary of
    the region (places, institutions, programme names, set phrases) around the facts of each
    story (an invented project, company and people, rarer nouns drawn Zipf-like)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        words: set[str] = set()
        while len(words) < 20_000:
            stem = "".join(rng.choices(SYLLABLES, k=rng.randint(1, 2)))
            words.add((stem + rng.choice(ENDINGS)).capitalize())
        self.words = rng.sample(sorted(words), len(words))
        # Zipf-like: the k-th word is drawn with weight 1/(k + 50), so that no single word is
        # in more than ~0.3 % of the draws, and most words are rare.
        self.cum = list(itertools.accumulate(1 / (k + 50) for k in range(len(self.words))))

    def word(self) -> str:
        return self.rng.choices(self.words, cum_weights=self.cum)[0]

    def story(self, number: int, published: datetime) -> _Story:
        rng = self.rng
        project = f"{self.word()}-{rng.choice(KINDS)}"
        company = f"{self.word()} {rng.choice(['GmbH', 'AG', 'Werke', 'Solar', 'Logistik'])}"
        people = [f"{rng.choice(FIRST)} {self.word()}" for _ in range(2)]
        place = rng.choice(PLACES)
        topic = rng.choice(TOPICS)
        facts = _Facts(project, company, people, place, topic, [self.word() for _ in range(8)])
        if rng.random() < 0.5:
            headline = f"{place}: {project} {rng.choice(HEADLINE_ENDS)}"
        else:
            verb, particle = rng.choice(VERBS)
            headline = f"{topic}: {rng.choice(ACTORS)} {verb} {project}" + (
                f" {particle}" if particle else ""
            )
        target = rng.randint(1000, 3000)
        paragraphs = [f"<strong>{html.escape(self._sentence(facts))}</strong> "]
        size = len(paragraphs[0])
        while size < target - 250:
            para = " ".join(html.escape(self._sentence(facts)) for _ in range(rng.randint(2, 4)))
            paragraphs.append(para)
            size += len(para.encode()) + 7
        return _Story(number, headline, paragraphs, published, place)

    def _sentence(self, f: _Facts) -> str:
        rng = self.rng
        if rng.random() < FREE_SENTENCES:
            return self._free_sentence(f)
        n1, n2, n3 = rng.sample(f.nouns, 3)
        kind = rng.randrange(10)
        if kind == 0:
            verb, particle = rng.choice(VERBS)
            words = [rng.choice(ACTORS), verb, f"das Vorhaben „{f.project}“",
                     rng.choice(COMPLEMENTS), particle]  # fmt: skip
            return " ".join(w for w in words if w) + "."
        if kind == 1:
            return (
                f"„Für {f.place} ist {n1} ein wichtiger Schritt“, sagt {f.people[0]} "
                f"vom {f.project}."
            )
        if kind == 2:
            return (
                f"Insgesamt fließen {rng.randint(2, 180)},{rng.randint(0, 9)} Millionen Euro "
                f"in {n1} und {n2}, {rng.randint(5, 60)} Prozent davon aus Bundesmitteln."
            )
        if kind == 3:
            return (
                f"Nach einer Studie könnten bei der {f.company} rund "
                f"{rng.randint(100, 4000)} Arbeitsplätze {rng.choice(COMPLEMENTS)} entstehen."
            )
        if kind == 4:
            when = rng.choice(["im Frühjahr", "im Herbst", "Anfang 2026", "noch in diesem Jahr"])
            return f"Die Arbeiten am {n1} in {f.place} sollen {when} beginnen."
        if kind == 5:
            return (
                f"Bewerbungen für {n1} sind bis zum {rng.randint(1, 28)}. "
                f"{rng.choice(['März', 'Mai', 'Juli', 'September', 'November'])} möglich; "
                f"die Jury um {f.people[1]} tagt in {f.place}."
            )
        if kind == 6:
            return f"Die {f.company} bringt {n1}, {n2} und die Erfahrung mit {n3} ein."
        if kind == 7:
            return f"{f.people[1]} nennt {n1} und {n2} die nächsten Schritte für {f.topic}."
        if kind == 8:
            return (
                f"Schon heute arbeiten im {f.project} {rng.randint(3, 90)} Fachleute an "
                f"{n1} und {n2} – {rng.choice(COMPLEMENTS)}."
            )
        return f"Wer mehr über {n1} wissen will, findet beim {f.project} auch {n2}."

    def _free_sentence(self, f: _Facts) -> str:
        """A sentence of its own: the story's nouns and rarer words among function words and
        verbs, so its word triples are as varied as in written news."""
        rng = self.rng
        words = []
        for _ in range(rng.randint(8, 16)):
            pick = rng.random()
            if pick < 0.35:
                words.append(rng.choice(FUNCTION_WORDS))
            elif pick < 0.5:
                words.append(rng.choice(GERMAN_VERBS))
            elif pick < 0.7:
                words.append(rng.choice(f.nouns))
            else:
                words.append(self.word())
        words[0] = words[0].capitalize()
        return " ".join(words) + "."

    def republished(self, story: _Story, rng: random.Random) -> _Entry:
        """The story as a partner republishes it: an edited title, an excerpt of the text
        with a sentence of its own, a few hours to two days later."""
        words = story.headline.split()
        if rng.random() < 0.5:
            words = [w for w in words if not w.endswith(":")]
            title = f"{story.place}: " + " ".join(words)
        else:
            title = " ".join(words) + rng.choice([" (Update)", " – Region profitiert", ""])
        keep = max(1, round(len(story.paragraphs) * rng.uniform(0.4, 0.9)))
        local = html.escape(
            f"Auch {rng.choice(ACTORS).split()[-1]} aus {rng.choice(PLACES)} begrüßt das "
            f"Vorhaben, heißt es aus {rng.choice(DISTRICTS)}."
        )
        published = min(BASE_DATE, story.published + timedelta(hours=rng.randint(1, 48)))
        return _Entry(story, title, [*story.paragraphs[:keep], local], published)


def _teaser(rng: random.Random, site: str, paragraphs: list[str]) -> str:
    """1-3 KB of HTML: the story's paragraphs, a link (sometimes with tracking), an image."""
    topic = rng.choice(TOPICS)
    img = (
        f'<p><img src="https://{site}/bilder/2025/foto-{rng.randrange(10**5)}.jpg" '
        f'alt="{html.escape(rng.choice(PLACES))}" width="640" height="360"></p>'
    )
    tracking = "?utm_source=rss&amp;utm_medium=feed" if rng.random() < 0.3 else ""
    link = f'<a href="https://{site}/themen/{topic.lower()}{tracking}">mehr zum Thema {topic}</a>'
    parts = [img, *(f"<p>{p}</p>" for p in paragraphs)]
    parts.append(f"<p>Weitere Informationen: {link}.</p>")
    return "\n".join(parts)


def _feed_xml(index: int, entries: list[_Entry], atom: bool, rng: random.Random) -> str:
    district = DISTRICTS[index % len(DISTRICTS)]
    site = f"www.revier-{index:04d}.example"
    title = f"Pressemitteilungen {index:04d} – {district}"
    rendered = []
    for n, entry in enumerate(sorted(entries, key=lambda e: e.published, reverse=True)):
        headline, when = entry.title, entry.published
        link = f"https://{site}/presse/2025/meldung-{index:04d}-{n:03d}.html"
        body = html.escape(_teaser(rng, site, entry.paragraphs))
        if atom:
            uid = uuid.UUID(int=rng.getrandbits(128), version=4)
            rendered.append(
                f"<entry><id>urn:uuid:{uid}</id><title>{html.escape(headline)}</title>"
                f'<link rel="alternate" href="{link}"/><published>{when.isoformat()}</published>'
                f"<updated>{when.isoformat()}</updated><author><name>{rng.choice(NAMES)}</name>"
                f'</author><summary type="html">{body}</summary></entry>'
            )
        else:
            rendered.append(
                f"<item><title>{html.escape(headline)}</title><link>{link}</link>"
                f'<guid isPermaLink="false">revier-{index:04d}-{n:03d}</guid>'
                f"<pubDate>{email.utils.format_datetime(when.astimezone(CEST))}</pubDate>"
                f"<category>{rng.choice(TOPICS)}</category><description>{body}</description></item>"
            )
    newest = BASE_DATE.isoformat()
    if atom:
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="de">'
            f"<id>https://{site}/presse</id><title>{html.escape(title)}</title>"
            f'<updated>{newest}</updated><link rel="alternate" href="https://{site}/presse"/>\n'
            + "\n".join(rendered)
            + "\n</feed>\n"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{html.escape(title)}</title><link>https://{site}/presse</link>"
        f"<description>Nachrichten aus dem {district}</description><language>de</language>\n"
        + "\n".join(rendered)
        + "\n</channel></rss>\n"
    )


def _assign(feeds: int, items: int, rng: random.Random) -> list[list[_Entry]]:
    """Every feed's entries: stories told once, and REPUBLISHED of them also by 1-2 other
    feeds (partners republishing a release), each feed with ``items`` entries."""
    writer = _Writer(rng)
    # A queue of free slots, one per entry to fill, in random order.
    slots = [f for f in range(feeds) for _ in range(items)]
    rng.shuffle(slots)
    entries: list[list[_Entry]] = [[] for _ in range(feeds)]
    number = 0
    while slots:
        feed = slots.pop()
        number += 1
        published = BASE_DATE - timedelta(minutes=rng.randrange(20 * 24 * 60))
        story = writer.story(number, published)
        entries[feed].append(_Entry(story, story.headline, story.paragraphs, published))
        if rng.random() < REPUBLISHED:
            for _ in range(rng.choice((1, 1, 2))):
                # The last free slot of a feed that has not told this story yet.
                free = next(
                    (
                        n
                        for n in range(len(slots) - 1, -1, -1)
                        if all(e.story is not story for e in entries[slots[n]])
                    ),
                    None,
                )
                if free is None:
                    break
                entries[slots.pop(free)].append(writer.republished(story, rng))
    return entries


def build_corpus(root: Path, feeds: int, items: int, seed: int) -> Corpus:
    """Generate the corpus under ``root`` (reused when already generated with these params)."""
    target = root / f"v{CORPUS_VERSION}-s{seed}-f{feeds}-i{items}"
    manifest = target / "manifest.json"
    if not manifest.exists():
        _log(f"generating corpus: {feeds} feeds x {items} items, seed {seed} -> {target}")
        rng = random.Random(seed)
        atom_ids = set(rng.sample(range(feeds), round(feeds * 0.4)))
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        stories: dict[str, int] = {}
        for i, its in enumerate(_assign(feeds, items, rng)):
            xml = _feed_xml(i, its, i in atom_ids, random.Random(f"{seed}-{i}"))
            (target / f"feed-{i:04d}.xml").write_text(xml, encoding="utf-8")
            ordered = sorted(its, key=lambda e: e.published, reverse=True)
            stories.update(
                {f"meldung-{i:04d}-{n:03d}": e.story.number for n, e in enumerate(ordered)}
            )
        manifest.write_text(json.dumps({"atom": len(atom_ids), "stories": stories}))
    size = sum(p.stat().st_size for p in target.glob("feed-*.xml"))
    meta = json.loads(manifest.read_text())
    return Corpus(target, feeds, items, seed, meta["atom"], size, meta["stories"])


# --- server (runs in its own process: `collect.py --serve DIR`) -------------------------


def serve(corpus_dir: Path, hosts: list[str], latency: float) -> None:
    """Serve ``corpus_dir`` on every host; print ``READY <port>``, run until killed."""
    last_modified = email.utils.format_datetime(BASE_DATE, usegmt=True)
    files: dict[str, tuple[bytes, str, str]] = {}
    for path in sorted(corpus_dir.glob("feed-*.xml")):
        body = path.read_bytes()
        kind = "atom" if b"<feed xmlns" in body[:200] else "rss"
        etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
        files["/" + path.name] = (body, etag, f"application/{kind}+xml; charset=utf-8")
    robots = b"User-agent: *\nAllow: /\n"
    stats = {"200": 0, "304": 0, "404": 0, "robots": 0}

    async def respond(method: str, path: str, headers: dict[str, str]) -> tuple[bytes, bytes]:
        if path == "/_stats":  # the bench's own probe: no latency, not counted
            body = json.dumps({**stats, "cpu": time.process_time()}).encode()
            return _head(200, "application/json", body), body
        await asyncio.sleep(latency)
        if path == "/robots.txt":
            stats["robots"] += 1
            return _head(200, "text/plain", robots), robots
        if path not in files:
            stats["404"] += 1
            return _head(404, "text/plain", b"not found\n"), b"not found\n"
        body, etag, ctype = files[path]
        extra = f"ETag: {etag}\r\nLast-Modified: {last_modified}\r\n"
        if _not_modified(headers, etag, BASE_DATE):
            stats["304"] += 1
            return _head(304, None, b"", extra), b""
        stats["200"] += 1
        return _head(200, ctype, body, extra), body if method != "HEAD" else b""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                raw = await reader.readuntil(b"\r\n\r\n")
                lines = raw.decode("latin-1").split("\r\n")
                method, target, version = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                head, body = await respond(method, target.split("?")[0], headers)
                writer.write(head + body)
                await writer.drain()
                conn = headers.get("connection", "").lower()
                if conn == "close" or (version == "HTTP/1.0" and conn != "keep-alive"):
                    break
        except (
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ConnectionError,
            ValueError,
        ):
            pass
        finally:
            writer.close()

    async def main() -> None:
        for _attempt in range(10):
            servers: list[asyncio.Server] = []
            try:
                first = await asyncio.start_server(handle, hosts[0], 0, backlog=1024)
                port = first.sockets[0].getsockname()[1]
                servers.append(first)
                for host in hosts[1:]:
                    servers.append(await asyncio.start_server(handle, host, port, backlog=1024))
            except OSError:
                for server in servers:
                    server.close()
                continue
            print(f"READY {port}", flush=True)
            await asyncio.Event().wait()
        raise SystemExit("could not bind one port on every host")

    asyncio.run(main())


def _head(status: int, ctype: str | None, body: bytes, extra: str = "") -> bytes:
    reason = {200: "OK", 304: "Not Modified", 404: "Not Found"}[status]
    head = f"HTTP/1.1 {status} {reason}\r\n{extra}"
    if ctype:
        head += f"Content-Type: {ctype}\r\n"
    if status != 304:
        head += f"Content-Length: {len(body)}\r\n"
    return (head + "\r\n").encode()


def _not_modified(headers: dict[str, str], etag: str, modified: datetime) -> bool:
    """RFC 9110: If-None-Match wins over If-Modified-Since; ETags compare weakly."""
    if "if-none-match" in headers:
        tags = [t.strip().removeprefix("W/") for t in headers["if-none-match"].split(",")]
        return "*" in tags or etag in tags
    if "if-modified-since" in headers:
        try:
            return email.utils.parsedate_to_datetime(headers["if-modified-since"]) >= modified
        except (TypeError, ValueError):
            return False
    return False


class Server:
    """The corpus server as a child process (its CPU is not counted in the tools')."""

    def __init__(self, corpus: Corpus, hosts: list[str], latency: float) -> None:
        self.hosts = hosts
        self.proc = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--serve",
                str(corpus.dir),
                "--hosts",
                str(len(hosts)),
                "--latency",
                str(latency * 1000),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line.startswith("READY "):
            raise SystemExit("the corpus server did not start")
        self.port = int(line.split()[1])

    def url(self, index: int) -> str:
        return f"http://{self.hosts[index % len(self.hosts)]}:{self.port}/feed-{index:04d}.xml"

    def stats(self) -> dict[str, float]:
        with urllib.request.urlopen(f"http://{self.hosts[0]}:{self.port}/_stats") as r:
            return json.load(r)  # type: ignore[no-any-return]

    def close(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait()


def check_server(server: Server, feeds: int, requests: int = 2000) -> None:
    """Measure the server alone: many keep-alive connections, full bodies and 304s."""
    paths = [f"/feed-{i % feeds:04d}.xml" for i in range(requests)]
    since = email.utils.format_datetime(BASE_DATE, usegmt=True)

    async def client(conc: int, conditional: bool) -> None:
        queue = list(paths)
        before = server.stats()
        start = time.perf_counter()

        async def worker(n: int) -> None:
            reader, writer = await asyncio.open_connection(
                server.hosts[n % len(server.hosts)], server.port
            )
            while queue:
                extra = f"If-Modified-Since: {since}\r\n" if conditional else ""
                writer.write(f"GET {queue.pop()} HTTP/1.1\r\nHost: x\r\n{extra}\r\n".encode())
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                await reader.readexactly(length)
            writer.close()

        await asyncio.gather(*(worker(n) for n in range(conc)))
        wall = time.perf_counter() - start
        cpu = server.stats()["cpu"] - before["cpu"]
        print(
            f"{conc:4d} connections, {'304s ' if conditional else 'full '}: {requests} requests "
            f"in {wall:.2f} s = {requests / wall:,.0f} req/s; server CPU {cpu:.2f} s"
        )

    for conc in (16, 64, 256):
        for conditional in (False, True):
            asyncio.run(client(conc, conditional))


# --- running the tools ------------------------------------------------------------------


@dataclass
class Run:
    """One measured child process."""

    wall: float
    cpu: float
    rss_mb: float
    items: int
    code: int
    http: dict[str, float] = field(default_factory=dict)
    quality: str = ""  # story pairs against the corpus's truth, where the tool makes stories


def run_child(
    cmd: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 1800
) -> tuple[float, float, float, int, str]:
    """Run ``cmd``; return wall s, user+sys CPU s, peak MB, exit code and its stdout.

    CPU and memory are those of the whole process tree the child starts (revier-feed's
    worker processes, multiprocessing's fork server): CPU from ``os.wait4`` of the child and
    of every descendant that outlived its parent (this process is their subreaper, see
    :func:`become_subreaper`), so no process is counted twice or missed; peak memory is the
    largest sum of the tree's proportional set sizes (PSS: a page shared by n processes
    counts 1/n in each), sampled every 100 ms, or the child's own peak RSS if that is
    larger. The server process and earlier runs never leak into a measurement.
    """
    out, err = cwd / "stdout.txt", cwd / "stderr.txt"
    with out.open("w") as fo, err.open("w") as fe:
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL
        )
        tree = _Tree(proc.pid)
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:  # Ctrl-C / SIGTERM of the bench: leave no child behind
            proc.kill()
            proc.wait()
            tree.finish(grace=1)
            raise
        finally:
            killer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        orphans_cpu = tree.finish()
    if proc.returncode != 0:
        _log(
            f"  exit {proc.returncode}: {' '.join(cmd[:4])} …; stderr tail:\n"
            + "\n".join(err.read_text(errors="replace").splitlines()[-8:])
        )
    return (
        wall,
        usage.ru_utime + usage.ru_stime + orphans_cpu,
        max(usage.ru_maxrss / 1024, tree.peak_mb),
        proc.returncode,
        out.read_text(errors="replace"),
    )


def become_subreaper() -> bool:
    """Make this process the one that orphaned descendants of its children are handed to
    (Linux ``PR_SET_CHILD_SUBREAPER``), so that :func:`run_child` can wait for them and count
    their CPU time; without it they went to init, and a tool's worker processes were missing
    from its CPU column. Returns whether it worked."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(36, 1, 0, 0, 0) == 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def _proc_stat(pid: int) -> tuple[int, int] | None:
    """Parent pid and start time (a pid is reused, the start time tells the processes
    apart) of a process not yet waited for, or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    return int(fields[1]), int(fields[19])


def _pss_kb(pid: int) -> int:
    """A process's proportional set size in kB (0 if it is gone or does not say)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class _Tree:
    """The process tree under one child, watched on a thread: its peak memory, and at the
    end the CPU of its descendants that are left to this process to wait for.

    A process belongs to the tree if its parent does, the same process as when it joined
    (pid and start time: a pid is reused), or if it is a child of this process that started
    after the measured child did: one handed over when its parent ended, since the bench
    starts no process of its own while a tool runs (the corpus server started before).
    """

    INTERVAL = 0.1

    def __init__(self, root: int) -> None:
        self.root = root
        self.me = os.getpid()
        self.members: dict[int, int] = {}  # pid: start time
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.INTERVAL)

    def _sample(self) -> None:
        stats = {}
        for name in os.listdir("/proc"):
            if name.isdigit() and (found := _proc_stat(int(name))) is not None:
                stats[int(name)] = found
        if not self.members:
            if self.root not in stats:
                return  # ended before the first look: only its own wait4 counts
            self.members[self.root] = stats[self.root][1]
        root_start = self.members[self.root]
        for pid, started in list(self.members.items()):
            if pid in stats and stats[pid][1] != started:
                del self.members[pid]  # gone, and its pid taken by another process
        grew = True
        while grew:  # children of children
            grew = False
            for pid, (parent, started) in stats.items():
                if pid in self.members:
                    continue
                joined = self.members.get(parent)
                handed_over = parent == self.me and started >= root_start
                if handed_over or (joined is not None and stats.get(parent, (0, -1))[1] == joined):
                    self.members[pid] = started
                    grew = True
        pss = sum(_pss_kb(pid) for pid in self.members if pid in stats)
        self.peak_mb = max(self.peak_mb, pss / 1024)

    def finish(self, grace: float = 10.0) -> float:
        """Stop watching; wait for the descendants that were handed to this process (their
        parent ended first) and return their CPU seconds, their own reaped children's
        included. One still running after ``grace`` seconds is killed, and said so."""
        self._stop.set()
        self._thread.join()
        self._sample()  # orphans the last look missed
        cpu = 0.0
        deadline = time.monotonic() + grace
        pending = {pid for pid in self.members if pid != self.root}
        while pending:
            for pid in sorted(pending):
                found = _proc_stat(pid)
                if found is None or found[1] != self.members[pid]:
                    pending.discard(pid)  # gone: its parent in the tree waited for it
                elif found[0] == self.me and (waited := os.wait4(pid, os.WNOHANG))[0]:
                    cpu += waited[2].ru_utime + waited[2].ru_stime
                    pending.discard(pid)
            if pending and time.monotonic() > deadline:
                _log(f"  processes {sorted(pending)} ran {grace:.0f} s after the run: killed")
                for pid in pending:
                    found = _proc_stat(pid)
                    if found is not None and found[1] == self.members[pid]:
                        with contextlib.suppress(OSError):
                            os.kill(pid, signal.SIGKILL)
                deadline = time.monotonic() + grace
            time.sleep(0.01 if pending else 0)
        return cpu


def _count(db: Path, table: str) -> int:
    if not db.exists():
        return 0
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


@dataclass
class Tool:
    """How to prepare, run and count one tool. ``phases`` are run in order on one store."""

    name: str
    phases: list[str]
    prepare: Callable[[Path, list[str]], None]
    command: Callable[[Path], list[str]]
    items: Callable[[Path, str], int]
    #: the story of every stored item, by the item's name in the corpus manifest
    stories: Callable[[Path], dict[str, int]] | None = None


# The same command line as the console script, with story placement switched off: shows the
# collection path (fetch, parse, normalize, tag, store) apart from the story engine. Since
# 49a2509 a cycle computes the story features while collecting (ingest._prepare_features):
# that is switched off too. (Commits before the console script became cli.run call cli.main
# the way it did.)
NO_STORIES = (
    "import sys, asyncio, revier_feed.ingest as i; i.place_in_stories = lambda *a: None; "
    "i._prepare_features = lambda *a: asyncio.sleep(0); "
    "import revier_feed.cli as c; sys.argv[0] = 'revier-feed'; "
    "getattr(c, 'run', lambda: sys.exit(c.main()))()"
)


def revier_feed_tool(
    venv: Path,
    concurrency: int,
    per_host: int,
    stories: bool = True,
    processes: str | None = None,
    label: str = "",
) -> Tool:
    exe = [str(venv / "bin" / "revier-feed")]
    if not stories:
        exe = [str(venv / "bin" / "python"), "-c", NO_STORIES]

    def prepare(work: Path, urls: list[str]) -> None:
        cfg = work / "config"
        cfg.mkdir()
        (cfg / "settings.yaml").write_text(
            "site:\n  title: Revier-Bench\n"
            f"storage:\n  path: {work / 'store.sqlite3'}\n"
            f"output:\n  dir: {work / 'output'}\n"
            f"fetch:\n  max_concurrency: {concurrency}\n  max_per_host: {per_host}\n"
            + (f"worker:\n  processes: {processes}\n" if processes is not None else ""),
            encoding="utf-8",
        )
        sources = "".join(
            f"  - id: feed-{i:04d}\n    name: Quelle {i:04d}\n    url: {url}\n"
            for i, url in enumerate(urls)
        )
        (cfg / "sources.yaml").write_text("sources:\n" + sources, encoding="utf-8")
        # The shipped topic rules: a deployment tags by topic as well as by district (the
        # districts' gazetteer is built in). The working tree's, for every commit compared.
        shutil.copy(PROJECT / "config" / "tags.yaml", cfg / "tags.yaml")

    return Tool(
        ("revier-feed" if stories else "revier-feed, stories off") + label,
        ["cold", "warm"],
        prepare,
        lambda w: [*exe, "--config", str(w / "config"), "-q", "run", "--once"],
        lambda w, _out: _count(w / "store.sqlite3", "items"),
        _stories if stories else None,
    )


_ITEM_NAME = re.compile(r"meldung-\d{4}-\d{3}")


def _stories(work: Path) -> dict[str, int]:
    db = work / "store.sqlite3"
    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("SELECT url, story_id FROM items WHERE story_id IS NOT NULL")
        return {m[0]: story for url, story in rows if (m := _ITEM_NAME.search(url))}


def story_quality(found: dict[str, int], truth: dict[str, int]) -> str:
    """Precision and recall of "these two items are one story", over all pairs of items."""

    def pairs(assignment: dict[str, int]) -> set[tuple[str, str]]:
        groups: dict[int, list[str]] = {}
        for name, story in assignment.items():
            groups.setdefault(story, []).append(name)
        return {p for g in groups.values() for p in itertools.combinations(sorted(g), 2)}

    got, want = pairs(found), pairs({k: v for k, v in truth.items() if k in found})
    right = len(got & want)
    precision = right / len(got) if got else 1.0
    recall = right / len(want) if want else 1.0
    return (
        f"{len(set(found.values())):,} stories from {len(found):,} items; pairs: "
        f"precision {precision:.3f}, recall {recall:.3f} ({len(got):,} found, "
        f"{len(want):,} true)"
    )


def newsboat_tool() -> Tool:
    def prepare(work: Path, urls: list[str]) -> None:
        (work / "urls").write_text("\n".join(urls) + "\n")
        (work / "config").write_text(f"reload-threads {PEER_WORKERS}\n")

    # newsboat 2.21 saves no ETag/Last-Modified on the first poll into a new cache, so its
    # second poll downloads everything again; the third is the first to get 304s.
    return Tool(
        "newsboat",
        ["cold", "warm", "warm (3rd run)"],
        prepare,
        lambda w: [
            "newsboat",
            "-x",
            "reload",
            "-u",
            str(w / "urls"),
            "-c",
            str(w / "cache.db"),
            "-C",
            str(w / "config"),
        ],
        lambda w, _out: _count(w / "cache.db", "rss_item"),
    )


# reader >= 3.13 updates only feeds that are due unless scheduled=False; `run --once` fetches
# every source, so the peers are asked to do the same.
READER_ADD = (
    "import sys; from reader import make_reader; r = make_reader(sys.argv[1]); "
    "[r.add_feed(u, exist_ok=True) for u in open(sys.argv[2]).read().split()]; "
    "r.close()"
)
READER_UPDATE = (
    "import sys; from reader import make_reader; r = make_reader(sys.argv[1]); "
    "r.update_feeds(workers=int(sys.argv[2]), scheduled=False); "
    "print('errors', sum(1 for f in r.get_feeds() if f.last_exception)); r.close()"
)
BASELINE = (
    "import sys, feedparser; from concurrent.futures import ThreadPoolExecutor as P\n"
    "with P(int(sys.argv[2])) as pool:\n"
    "    docs = list(pool.map(feedparser.parse, open(sys.argv[1]).read().split()))\n"
    "print(sum(len(d.entries) for d in docs))"
)


def reader_tool() -> Tool:
    python = str(PEER_VENV / "bin" / "python")

    def prepare(work: Path, urls: list[str]) -> None:
        # Subscribing is set-up, not collection: done untimed, like writing the others' configs.
        (work / "urls").write_text("\n".join(urls) + "\n")
        subprocess.run(
            [python, "-c", READER_ADD, str(work / "reader.sqlite"), str(work / "urls")], check=True
        )

    return Tool(
        "reader",
        ["cold", "warm"],
        prepare,
        lambda w: [python, "-c", READER_UPDATE, str(w / "reader.sqlite"), str(PEER_WORKERS)],
        lambda w, _out: _count(w / "reader.sqlite", "entries"),
    )


def baseline_tool() -> Tool:
    def prepare(work: Path, urls: list[str]) -> None:
        (work / "urls").write_text("\n".join(urls) + "\n")

    def items(_work: Path, out: str) -> int:
        return int(out.split()[-1]) if out.strip() else 0

    return Tool(
        f"feedparser × {PEER_WORKERS} threads",
        ["one pass"],
        prepare,
        lambda w: [
            str(PEER_VENV / "bin" / "python"),
            "-c",
            BASELINE,
            str(w / "urls"),
            str(PEER_WORKERS),
        ],
        items,
    )


def measure(
    tools: list[Tool], server: Server, urls: list[str], runs: int, scratch: Path, corpus: Corpus
) -> dict[tuple[str, str], list[Run]]:
    """Round-robin over the tools ``runs`` times; every round starts from empty stores."""
    results: dict[tuple[str, str], list[Run]] = {}
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    for round_ in range(1, runs + 1):
        for tool in tools:
            work = scratch / f"{tool.name.split()[0]}-{round_}"
            work.mkdir(parents=True)
            tool.prepare(work, urls)
            tool_env = {**env, "HOME": str(work), "TERM": "dumb"}
            for phase in tool.phases:
                before = server.stats()
                wall, cpu, rss, code, out = run_child(tool.command(work), work, tool_env)
                after = server.stats()
                http = {k: after[k] - before[k] for k in after}
                run = Run(wall, cpu, rss, tool.items(work, out), code, http)
                if tool.stories is not None and code == 0 and phase == tool.phases[0]:
                    run.quality = story_quality(tool.stories(work), corpus.stories)
                results.setdefault((tool.name, phase), []).append(run)
                _log(
                    f"round {round_}/{runs} {tool.name:24} {phase:8} wall {wall:6.2f} s  "
                    f"cpu {cpu:6.2f} s  rss {rss:5.0f} MB  items {run.items:6d}  exit {code}  "
                    f"http 200/304: {http['200']:.0f}/{http['304']:.0f}"
                )
                if run.quality:
                    _log(f"  stories: {run.quality}")
            shutil.rmtree(work, ignore_errors=True)
    return results


# --- report -----------------------------------------------------------------------------


def report(results: dict[tuple[str, str], list[Run]], header: list[str]) -> str:
    """The markdown table of medians, plus the server's view of each measurement."""
    med = {
        key: (
            statistics.median(r.wall for r in runs),
            statistics.median(r.cpu for r in runs),
            statistics.median(r.rss_mb for r in runs),
            int(statistics.median(r.items for r in runs)),
        )
        for key, runs in results.items()
    }
    # Ratios are to revier-feed's run of the same kind (the variant without stories when
    # the full pipeline was skipped).
    base_tool = (
        "revier-feed" if any(t == "revier-feed" for t, _ in med) else "revier-feed, stories off"
    )
    ref = {phase: med[(base_tool, phase)][0] for tool, phase in med if tool == base_tool}
    lines = [
        *header,
        "",
        f"| tool | run | wall s | CPU s | peak MB | items | wall vs {base_tool} |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    notes = []
    for (tool, phase), (wall, cpu, rss, items) in med.items():
        base = ref.get(phase.split()[0], ref.get("cold"))  # "one pass" is compared to cold
        ratio = f"{wall / base:.2f}×" if base else "–"
        lines.append(
            f"| {tool} | {phase} | {wall:.2f} | {cpu:.2f} | {rss:.0f} | {items:,} | {ratio} |"
        )
        runs = results[(tool, phase)]
        failed = [r.code for r in runs if r.code != 0]
        if failed:
            notes.append(
                f"- {tool} {phase}: exit codes {failed} in {len(failed)} of "
                f"{len(runs)} runs (stderr is shown while running)"
            )
        http = runs[-1].http
        notes.append(
            f"- server saw for {tool} {phase} (last run): {http['200']:.0f}×200, "
            f"{http['304']:.0f}×304, {http['404']:.0f}×404, "
            f"{http['robots']:.0f}× robots.txt; server CPU {http['cpu']:.2f} s"
        )
        if runs[-1].quality:
            notes.append(f"- stories after {tool} {phase} (last run): {runs[-1].quality}")
    return "\n".join([*lines, "", *notes])


def machine_line(args: argparse.Namespace, venv: Path, corpus: Corpus) -> list[str]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    if args.commit:
        commit = _output([*GIT, "rev-parse", "--short", args.commit]) + ", exported"
    else:
        commit = _output([*GIT, "rev-parse", "--short", "HEAD"])
        if diff := _output([*GIT, "diff", "HEAD", "--", "src"]):
            digest = hashlib.sha1(diff.encode()).hexdigest()[:8]
            commit += f" + uncommitted changes in src/, diff {digest}"
    versions = {
        "revier-feed": _output([str(venv / "bin" / "revier-feed"), "--version"])
        + f" (git {commit})",
        "newsboat": " ".join(_output(["newsboat", "-v"]).split()[:2]) or "no newsboat",
        "peers": _output(
            [
                str(PEER_VENV / "bin" / "python"),
                "-c",
                "import reader as r, feedparser as f; "
                "print(f'reader {r.__version__}, feedparser {f.__version__}')",
            ]
        ),
    }
    return [
        f"Machine: {os.cpu_count()} cores, {model}, Python {platform.python_version()}, "
        f"{_os_name()}; tools: " + "; ".join(versions.values()),
        f"Corpus: {corpus.feeds} feeds × {corpus.items} items ({corpus.feeds - corpus.atom} "
        f"RSS 2.0 / {corpus.atom} Atom, {corpus.size / 1e6:.1f} MB), seed {corpus.seed}, "
        f"{args.hosts} hosts, {args.latency:g} ms latency per request; revier-feed "
        f"max_concurrency {args.concurrency}, max_per_host {args.per_host}, worker.processes "
        f"{args.processes or 'default (auto)'}; peers "
        f"{PEER_WORKERS} workers; median of {args.runs} runs (whole processes, incl. start-up)",
    ]


# --- setup and CLI ----------------------------------------------------------------------


def _os_name() -> str:
    try:
        release = platform.freedesktop_os_release()
        return f"{release.get('PRETTY_NAME', 'Linux')}, kernel {platform.release()}"
    except OSError:
        return platform.platform()


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _output(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "–"


def _sh(cmd: list[str]) -> None:
    _log("setup: $ " + " ".join(cmd))
    subprocess.run(cmd, check=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def setup(need_newsboat: bool, need_peers: bool) -> None:
    """Install what is missing: newsboat via apt, reader + feedparser into their own venv."""
    if need_newsboat and not shutil.which("newsboat"):
        if os.geteuid() != 0:
            raise SystemExit(
                "newsboat is missing: apt-get install newsboat as root, or --skip newsboat"
            )
        _sh(["apt-get", "update", "-qq"])
        _sh(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "newsboat"])
    python = PEER_VENV / "bin" / "python"
    # reader 3.26 vendors an older feedparser that imports `sgmllib`, which new feedparser
    # releases no longer pull in (they use feedparser_sgmllib): install sgmllib3k explicitly.
    probe = [str(python), "-c", "import reader, feedparser, sgmllib"]
    missing = not python.exists() or subprocess.run(probe, capture_output=True).returncode != 0
    if need_peers and missing:
        _sh([sys.executable, "-m", "venv", str(PEER_VENV)])
        _sh([str(PEER_VENV / "bin" / "pip"), "install", "-q", "reader", "feedparser", "sgmllib3k"])


def commit_venv(rev: str) -> Path:
    """A venv with revier-feed installed from commit ``rev`` (``git archive``, read-only).

    Other people edit the working tree while benchmarks run; a commit gives a fixed target.
    """
    sha = _output([*GIT, "rev-parse", "--short", rev])
    if not sha:
        raise SystemExit(f"no such commit: {rev}")
    src, venv = Path(f"/tmp/revier-bench-src-{sha}"), Path(f"/tmp/revier-bench-venv-{sha}")
    if not (venv / "bin" / "revier-feed").exists():
        shutil.rmtree(src, ignore_errors=True)
        src.mkdir()
        _log(f"setup: $ git archive {sha} | tar -x -C {src}")
        archive = subprocess.run([*GIT, "archive", sha], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(src)], input=archive.stdout, check=True)
        _sh([sys.executable, "-m", "venv", str(venv)])
        _sh([str(venv / "bin" / "pip"), "install", "-q", str(src)])
    return venv


def project_fetch_defaults(venv: Path) -> tuple[int, int]:
    """revier-feed's own defaults for fetch.max_concurrency / max_per_host."""
    code = (
        "from revier_feed.config import FetchSettingsModel as F; f = F(); "
        "print(f.max_concurrency, f.max_per_host)"
    )
    out = _output([str(venv / "bin" / "python"), "-c", code]).split()
    if len(out) == 2 and all(v.isdigit() for v in out):
        return int(out[0]), int(out[1])
    _log("could not read revier-feed's fetch defaults; using the documented 16 / 2")
    return 16, 2


def profile(tool: Tool, urls: list[str], scratch: Path, top: int = 30) -> None:
    """One extra revier-feed cold run and the warm run after it under py-spy (every thread,
    100 Hz; cProfile would miss the worker threads); print the functions with the largest
    share of samples."""
    spy = SPY_VENV / "bin" / "py-spy"
    if not spy.exists():
        _sh([sys.executable, "-m", "venv", str(SPY_VENV)])
        _sh([str(SPY_VENV / "bin" / "pip"), "install", "-q", "py-spy"])
    work = scratch / "profile"
    work.mkdir()
    tool.prepare(work, urls)
    for phase in tool.phases:
        raw = work / f"{phase}.txt"
        command = [str(spy), "record", "-r", "100", "-f", "raw", "-o", str(raw), "--"]
        run_child([*command, *tool.command(work)], work)
        total, inclusive, own = 0, Counter[str](), Counter[str]()
        for line in raw.read_text().splitlines():
            stack, _, samples = line.rpartition(" ")
            # "func (path/file.py:123)" -> "func (path/file.py)": one entry per function
            frames = [f.rsplit(":", 1)[0] + ")" if ":" in f else f for f in stack.split(";")]
            total += int(samples)
            own[frames[-1]] += int(samples)
            for frame in set(frames):
                inclusive[frame] += int(samples)
        # Inclusive shares of revier-feed's own functions (the plumbing above them is ~100 %).
        inclusive = Counter({f: n for f, n in inclusive.items() if "(revier_feed/" in f})
        for title, counter in (("inclusive", inclusive), ("own", own)):
            _log(
                f"--- {tool.name} {phase} run, py-spy, {total} samples, "
                f"top {top} by {title} share ---"
            )
            for frame, n in counter.most_common(top):
                _log(f"{100 * n / total:5.1f} %  {frame}")


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--feeds", type=int, default=500, help="feeds in the corpus")
    p.add_argument("--items", type=int, default=30, help="items per feed")
    p.add_argument("--seed", type=int, default=1, help="corpus seed")
    p.add_argument("--runs", type=int, default=3, help="runs per tool; the table shows medians")
    p.add_argument("--latency", type=float, default=50, help="ms added to every request")
    p.add_argument(
        "--hosts",
        type=int,
        default=50,
        choices=range(1, 51),
        metavar="1..50",
        help="loopback addresses 127.0.0.2 … the feeds are spread over",
    )
    p.add_argument(
        "--concurrency",
        type=int,
        help="revier-feed fetch.max_concurrency (default: the project's default)",
    )
    p.add_argument(
        "--per-host",
        type=int,
        help="revier-feed fetch.max_per_host (default: the project's default)",
    )
    p.add_argument(
        "--compare",
        metavar="REV",
        help="also run this commit of revier-feed (exported into its own venv like --commit), "
        "with the same settings, as a baseline in the same run",
    )
    p.add_argument(
        "--processes",
        help="revier-feed worker.processes: a number or auto (default: not set, so each "
        "revier-feed commit runs with its own default)",
    )
    p.add_argument(
        "--commit",
        metavar="REV",
        help="benchmark this commit (exported with git "
        "archive into its own venv) instead of the working tree in .venv",
    )
    p.add_argument(
        "--skip",
        default="",
        help="comma-separated: full,nostories (revier-feed with/without story placement), "
        "newsboat,reader,baseline",
    )
    p.add_argument("--setup", action="store_true", help="only install missing tools, then exit")
    p.add_argument(
        "--profile",
        nargs="?",
        const="full",
        choices=["full", "nostories"],
        help="also profile one revier-feed cold run with py-spy (stderr); "
        "`--profile nostories` profiles the run with story placement switched off",
    )
    p.add_argument(
        "--check-server", action="store_true", help="measure the corpus server alone, then exit"
    )
    p.add_argument(
        "--corpus-dir",
        type=Path,
        default=BENCH_DIR / ".corpus",
        help="where generated corpora are cached",
    )
    p.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    # SIGTERM unwinds like Ctrl-C: the server and a running child are stopped, temp dirs removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    hosts = [f"127.0.0.{2 + i}" for i in range(args.hosts)]
    if args.serve:
        serve(args.serve, hosts, args.latency / 1000)
        return
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    setup("newsboat" not in skip, not {"reader", "baseline"} <= skip)
    venv = commit_venv(args.commit) if args.commit else PROJECT_VENV
    if not (venv / "bin" / "revier-feed").exists():
        raise SystemExit(f"{venv} has no revier-feed: run scripts/setup first")
    if args.setup:
        return
    if venv == PROJECT_VENV:
        # The working tree is installed editable: its bytecode is written on first import,
        # unless PYTHONDONTWRITEBYTECODE is set (as on CI machines), when every run compiled
        # all of revier-feed again (about 1.3 s of CPU a cold run). An installed commit
        # (--commit, --compare) has its bytecode from pip; so has a deployment.
        _sh([str(venv / "bin" / "python"), "-m", "compileall", "-q", str(PROJECT / "src")])
    defaults = project_fetch_defaults(venv)
    args.concurrency = args.concurrency or defaults[0]
    args.per_host = args.per_host or defaults[1]
    corpus = build_corpus(args.corpus_dir, args.feeds, args.items, args.seed)
    server = Server(corpus, hosts[: min(args.hosts, args.feeds)], args.latency / 1000)
    try:
        if args.check_server:
            check_server(server, corpus.feeds)
            return
        urls = [server.url(i) for i in range(corpus.feeds)]
        tools = (
            []
            if "full" in skip
            else [
                revier_feed_tool(venv, args.concurrency, args.per_host, processes=args.processes)
            ]
        )
        if "nostories" not in skip:
            tools.append(
                revier_feed_tool(
                    venv, args.concurrency, args.per_host, stories=False, processes=args.processes
                )
            )
        if args.compare:
            # The same settings for both versions: the comparison is of the code.
            old = commit_venv(args.compare)
            label = f" @ {_output([*GIT, 'rev-parse', '--short', args.compare])}"
            for stories in (True, False):
                if ("full", "nostories")[not stories] not in skip:
                    tools.append(
                        revier_feed_tool(
                            old, args.concurrency, args.per_host, stories, args.processes, label
                        )
                    )
        tools += [] if "newsboat" in skip else [newsboat_tool()]
        tools += [] if "reader" in skip else [reader_tool()]
        tools += [] if "baseline" in skip else [baseline_tool()]
        with tempfile.TemporaryDirectory(prefix="revier-bench-") as tmp:
            scratch = Path(tmp)
            check = scratch / "check"
            check.mkdir()
            revier_feed_tool(
                venv, args.concurrency, args.per_host, processes=args.processes
            ).prepare(check, urls)
            if subprocess.run(
                [str(venv / "bin" / "revier-feed"), "--config", str(check / "config"), "check"],
                capture_output=True,
            ).returncode:
                raise SystemExit("revier-feed check rejected the generated configuration")
            header = machine_line(args, venv, corpus)
            # From here on, not before: orphans of the set-up commands (git, pip) would be
            # left to the bench too.
            if not become_subreaper():
                _log("warning: not a subreaper; CPU of processes that outlive a tool is missed")
            results = measure(tools, server, urls, args.runs, scratch, corpus)
            if machine_line(args, venv, corpus) != header:
                header.append(
                    "**Warning: revier-feed's source changed during the measurement; "
                    "use --commit for numbers that belong to one state.**"
                )
            if args.profile:
                stories = args.profile == "full"
                profile(
                    revier_feed_tool(
                        venv, args.concurrency, args.per_host, stories, args.processes
                    ),
                    urls,
                    scratch,
                )
        print(report(results, header))
    finally:
        server.close()


if __name__ == "__main__":
    main()
