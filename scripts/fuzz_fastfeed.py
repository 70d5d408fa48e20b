"""Differential fuzz: the fast feed reader beside feedparser on mutated feeds.

Usage: .venv/bin/python scripts/fuzz_fastfeed.py [SEED] [DOCUMENTS]

Mutates the well-formed feeds of tests/data/feeds/fast-*.xml and of the sample region
(texts, attributes, elements added, removed, duplicated or renamed, dates of every form
feeds write), reads each mutant with revier-feed's feed reader and with feedparser alone,
and prints every mutant the fast reader read (did not decline) where the two differ, with
the fields that differ. Exits 1 if any did. Session 39 ran 250,000 without a difference;
run it after teaching the fast reader a new shape.
"""

from __future__ import annotations

import copy
import random
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from lxml import etree

from revier_feed.models import FetchResult
from revier_feed.parse import fastfeed
from revier_feed.parse.feed import _parse_with_feedparser, parse_feed

ROOT = Path(__file__).resolve().parent.parent
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2021, 8, 2, 8, 0, tzinfo=UTC)
URL = "https://www.example-kreis.de/presse/feed.xml"
ATOM = "{http://www.w3.org/2005/Atom}"
XML = "{http://www.w3.org/XML/1998/namespace}"
TEXTS = [
    "", " ", "Grüße &amp; Co", "<b>fett</b>", "&lt;p&gt;Absatz&lt;/p&gt;", "/relativ/pfad.html",
    "https://x.example/ä?a=1&amp;b=2", "Mon, 10 Jun 2021 14:30:00 +0200", "2021-06-10T14:30:00Z",
    "10. Juni 2021", "Ã¤rger", "\u00a0x\u00a0", "  multi\n line  ", "&#x80;&#150;", "urn:uuid:1",
    "x" * 300, "javascript:alert(1)", "#frag", "//proto.rel/x",
]  # fmt: skip
DATES = [
    "Thu, 10 Jun 2021 14:30:00 GMT", "2021-06-10", "2021-06-10T14:30:00.5+02:00",
    "Thu,10 Jun 2021 14:30:00 +0200", "Thu, 10 June 2021 14:30:00 +0200",
    "Thu, 10 Jun 2021 24:00:00 +0200", "Thu, 10 Jun 2021 14:30:00 CEST", "2021-02-29T10:00:00Z",
    "Sat, 01 Jan 0001 00:00:00 +0000", "2021-06-10T14:30:00", "2021-06-10t14:30:00z",
    "thu, 10 jun 2021 14:30:00 +0200", "Thu, 10 Jun 2021 14:30:00 -0000",
]  # fmt: skip
ATTRIBUTES = [
    ("type", "html"), ("type", "text"), ("type", "xhtml"), ("type", ""), ("rel", "alternate"),
    ("rel", "enclosure"), ("href", "/x.html"), ("isPermaLink", "false"), ("url", "/f.pdf"),
    (XML + "base", "https://other.example/dir/"), ("length", "123"), ("medium", "image"),
    ("Type", ""), ("TYPE", "html"), ("label", "x"), ("lastmod", "2021"), ("src", "/a"),
    ("{urn:x}type", "text"),
]  # fmt: skip
TAGS = [
    "title", "link", "description", "guid", "pubDate", "author", "category", "enclosure",
    "{http://purl.org/dc/elements/1.1/}creator", "{http://purl.org/dc/elements/1.1/}title",
    "{http://purl.org/rss/1.0/modules/content/}encoded", "{http://search.yahoo.com/mrss/}content",
    ATOM + "link", ATOM + "title", ATOM + "summary", ATOM + "content", ATOM + "id", "comments",
]  # fmt: skip
DATE_TAGS = {
    "pubDate",
    ATOM + "updated",
    ATOM + "published",
    "{http://purl.org/dc/elements/1.1/}date",
}


def seeds() -> list[bytes]:
    found = sorted((ROOT / "tests" / "data" / "feeds").glob("fast-*.xml"))
    demo = ROOT / "src" / "revier_feed" / "demo" / "sites"
    found += sorted(p for p in demo.rglob("*") if p.suffix in (".xml", ".atom"))
    return [p.read_bytes().replace(b"{{BASE}}", b"http://127.0.0.1:8000") for p in found]


def mutate(body: bytes, rnd: random.Random) -> bytes:
    root = etree.fromstring(body)
    elements = [e for e in root.iter() if isinstance(e.tag, str)]
    dates = [e for e in elements if e.tag in DATE_TAGS]
    if dates and rnd.random() < 0.3:
        rnd.choice(dates).text = rnd.choice(DATES)
    for _ in range(rnd.randint(0, 4)):
        element = rnd.choice(elements)
        operation = rnd.randrange(8)
        if operation == 0:
            element.text = rnd.choice(TEXTS)
        elif operation == 1:
            name, value = rnd.choice(ATTRIBUTES)
            element.set(name, value)
        elif operation == 2:
            child = etree.SubElement(element, rnd.choice(TAGS))
            child.text = rnd.choice(TEXTS)
        elif operation == 3 and element.getparent() is not None:
            element.getparent().remove(element)
            elements = [e for e in root.iter() if isinstance(e.tag, str)]
        elif operation == 4 and element.getparent() is not None:
            element.addnext(copy.deepcopy(element))
        elif operation == 5 and element.attrib:
            del element.attrib[rnd.choice(list(element.attrib))]
        elif operation == 6:
            element.append(etree.Comment(" kommentar "))
        elif operation == 7 and not element.tag.startswith("{"):
            element.tag = rnd.choice([element.tag.upper(), ATOM + element.tag])
    written: bytes = etree.tostring(root, xml_declaration=rnd.random() < 0.7, encoding="utf-8")
    return written


def differences(body: bytes, content_type: str | None) -> list[str] | None:
    """The fields in which both readers differ; None if the fast reader declined."""
    headers = {"content-type": content_type} if content_type else {}
    located = {**headers, "content-location": URL}
    if fastfeed.read_entries(body, located) is None:
        return None
    document = FetchResult(url=URL, status_code=200, headers=headers, content=body)
    fast = parse_feed("fuzz", document, NOW, BERLIN)
    slow = _parse_with_feedparser("fuzz", document, located, NOW, BERLIN)
    if fast == slow:
        return []
    if len(fast.items) != len(slow.items):
        return [f"items: {len(fast.items)} against {len(slow.items)}"]
    found = [
        f"{name}: {getattr(a, name)!r:.120} against {getattr(b, name)!r:.120}"
        for a, b in zip(fast.items, slow.items, strict=True)
        for name in a.__dataclass_fields__
        if getattr(a, name) != getattr(b, name)
    ]
    return found or ["the document's fields"]


def main() -> int:
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    rnd = random.Random(seed)
    originals = seeds()
    read = differing = 0
    for _ in range(count):
        body = mutate(rnd.choice(originals), rnd)
        found = differences(
            body, rnd.choice([None, "application/rss+xml", "text/xml; charset=utf-8"])
        )
        if found is None:
            continue
        read += 1
        if found:
            differing += 1
            print(f"--- {'; '.join(found)}\n{body.decode()[:2000]}\n")
    print(f"seed {seed}: {count} mutants, {read} read fast, {differing} differing")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
