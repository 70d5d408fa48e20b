"""robots.txt as RFC 9309 reads it: groups by product token, the longest matching rule,
``*`` and ``$`` in paths, and Crawl-delay (not in the RFC, widely used). Where a file is
damaged, it is read as Google's reference parser reads it (a record without its colon, a
broken byte order mark): the site's meaning is plain, and keeping to it is polite. Google's
reference tests agree with it but for its own extensions (session 39, docs/probes.md).

``urllib.robotparser`` is not that: it takes the first matching rule instead of the longest,
has no wildcards, matches user agents by substring ("User-agent: revier" blocked
revier-feed), reads only the first of several groups for one agent and no decimal
Crawl-delay, and a byte-order mark hid the whole file. Disallowed URLs were fetched and
allowed ones refused.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

#: Only this much of a robots.txt is read; RFC 9309 asks crawlers to read at least 500 KiB.
MAX_ROBOTS_BYTES = 512 * 1024

#: A product token in a User-agent line: letters, "_" and "-" (RFC 9309 2.2.1); what
#: follows it ("/1.0", a comment) does not count.
_PRODUCT_TOKEN = re.compile(r"[A-Za-z_-]+")
#: Percent escapes of characters that need none (RFC 3986 2.3): "%7E" is "~".
_UNRESERVED_ESCAPE = re.compile(r"%(2[DdEe]|3[0-9]|[46][1-9A-Fa-f]|[57][0-9Aa]|5[Ff]|7[Ee])")
_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")
#: Line ends of robots.txt (RFC 9309 2.2): not the others ``str.splitlines`` knows (U+2028).
_LINE_END = re.compile(r"\r\n|\r|\n")
#: What stays as it is in a normalized path: ASCII that is printable and not a space.
_KEEP = "".join(chr(c) for c in range(0x21, 0x7F))


@dataclass(frozen=True, slots=True)
class _Rule:
    allow: bool
    parts: tuple[str, ...]  #: the pattern split at "*"
    anchored: bool  #: the pattern ended in "$"
    length: int  #: the pattern's length: the longest match wins

    def matches(self, path: str) -> bool:
        first, *rest = self.parts
        if not path.startswith(first):
            return False
        position = len(first)
        if not rest:
            return not self.anchored or position == len(path)
        *middle, last = rest
        for part in middle:
            found = path.find(part, position)
            if found < 0:
                return False
            position = found + len(part)
        if self.anchored:
            return len(path) - len(last) >= position and path.endswith(last)
        return path.find(last, position) >= 0


class RobotsRules:
    """The rules of one robots.txt for one crawler.

    Args:
        body: the file's text (cut to :data:`MAX_ROBOTS_BYTES` by whoever read it).
        agent: the crawler's product token, matched without regard to case.
    """

    def __init__(self, body: str, agent: str) -> None:
        ours: list[tuple[str, str]] = []
        anyone: list[tuple[str, str]] = []
        named_us = False  # a group for us, even one without rules, replaces "*"
        for_us = for_anyone = in_group = in_rules = False
        agent = agent.lower()
        for key, value in _records(body):
            if key == "user-agent":
                if in_rules:  # a User-agent line after rules starts the next group
                    for_us = for_anyone = in_rules = False
                in_group = True
                token = _PRODUCT_TOKEN.match(value)
                if value == "*":
                    for_anyone = True
                elif token is not None and token.group().lower() == agent:
                    for_us = named_us = True
                continue
            if key not in ("allow", "disallow", "crawl-delay") or not in_group:
                continue  # Sitemap, unknown records and rules before any group
            in_rules = True
            if for_us:
                ours.append((key, value))
            if for_anyone:
                anyone.append((key, value))
        # Several groups for one agent are one group (RFC 9309 2.2.1).
        records = ours if named_us else anyone
        self._rules = [rule for key, value in records if (rule := _rule(key, value))]
        delays = [d for key, value in records if key == "crawl-delay" and (d := _delay(value))]
        #: Seconds between requests the site asks for, if it does.
        self.crawl_delay: float | None = delays[0] if delays else None

    def allows(self, url: str) -> bool:
        """Whether the rules allow ``url`` (the most specific rule decides; on a tie,
        allowing wins; no rule: allowed; /robots.txt itself always)."""
        parts = urlsplit(url)
        path = _normalized(parts.path or "/")
        if parts.query:
            path += "?" + _normalized(parts.query)
        # In a path, "*" and "$" are characters: a rule names them as %2A and %24.
        path = path.replace("*", "%2A").replace("$", "%24")
        if path == "/robots.txt":
            return True
        best: _Rule | None = None
        for rule in self._rules:
            if (
                best is None
                or rule.length > best.length
                or (rule.length == best.length and rule.allow and not best.allow)
            ) and rule.matches(path):
                best = rule
        return best is None or best.allow


#: The records whose line is read without its colon ("Disallow /intern"), as Google's
#: reference parser reads them: what the site means is plain, and reading it is polite.
_KEYS = frozenset({"user-agent", "allow", "disallow", "crawl-delay"})


def _records(body: str) -> list[tuple[str, str]]:
    """(lower-case key, value) of each record line, comments and blanks gone.

    A byte order mark is no part of the first key; nor is what is left of a damaged one
    (its first one or two bytes, decoded as U+FFFD): the first group was lost, and with it
    what it disallowed.
    """
    records = []
    for line in _LINE_END.split(body.lstrip("\ufeff\ufffd")):
        text = line.partition("#")[0]
        key, colon, value = text.partition(":")
        if not colon:
            # A key and one value, as Google reads them; more words are prose.
            words = text.split()
            if len(words) != 2 or words[0].lower() not in _KEYS:
                continue
            key, value = words
        records.append((key.strip().lower(), value.strip()))
    return records


def _rule(key: str, value: str) -> _Rule | None:
    if key == "crawl-delay" or not value:  # "Disallow:" with nothing is no rule
        return None
    pattern = _normalized(value)
    length = len(pattern)  # as written: the longest rule wins
    anchored = pattern.endswith("$")
    if anchored:
        pattern = pattern[:-1]
    # Only a last "$" anchors (as Google's matcher reads it); one before is the character,
    # which a path holds as %24.
    pattern = re.sub(r"\*+", "*", pattern.replace("$", "%24"))
    return _Rule(key == "allow", tuple(pattern.split("*")), anchored, length)


def _delay(value: str) -> float | None:
    """A Crawl-delay in seconds: a plain decimal number above zero, else none."""
    if not re.fullmatch(r"[0-9]{1,9}(?:\.[0-9]{1,9})?", value):
        return None
    delay = float(value)
    return delay if delay > 0 and math.isfinite(delay) else None


def _normalized(text: str) -> str:
    """A path (or pattern) in one spelling: escapes of characters that need none decoded
    ("%7E" is "~"), other escapes in upper case, non-ASCII and blanks percent-encoded as
    UTF-8; "*" and "$" stay."""
    text = _UNRESERVED_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    text = _ESCAPE.sub(lambda m: m.group().upper(), text)
    return quote(text, safe=_KEEP, errors="replace")  # a lone surrogate is no character
