"""The output folder as HTTP resources: safe path lookup, content types, validators, gzip.

A file is read, hashed and compressed once per version (its inode, size and mtime) and then
answered from memory; publishing replaces files atomically, so a new version is a new inode.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import threading
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path

#: Served suffixes and their types; everything else (the store, YAML, lock and temporary
#: files, which may share the folder) is "not found". Longest suffix first.
CONTENT_TYPES = (
    (".rss.xml", "application/rss+xml; charset=utf-8"),
    (".atom.xml", "application/atom+xml; charset=utf-8"),
    (".json", "application/feed+json; charset=utf-8"),  # every .json we publish is a feed
    (".opml", "text/x-opml; charset=utf-8"),
    (".html", "text/html; charset=utf-8"),
    (".xml", "application/xml; charset=utf-8"),
    (".css", "text/css; charset=utf-8"),
    (".txt", "text/plain; charset=utf-8"),
    (".ico", "image/x-icon"),
    (".png", "image/png"),
    (".gif", "image/gif"),
    (".jpg", "image/jpeg"),
    (".webp", "image/webp"),
    (".svg", "image/svg+xml"),
)
#: Types worth compressing (images above are compressed already).
_COMPRESSIBLE = ("text/", "application/")
#: Smaller bodies are not worth a gzip round (headers alone are ~200 bytes).
_MIN_GZIP = 512
#: Larger files are served but not kept in memory.
_MAX_CACHED = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Resource:
    """One version of a served file."""

    content_type: str
    body: bytes
    gzipped: bytes | None  #: None: not worth compressing
    etag: str  #: strong, of the identity body: '"<hash>"'
    last_modified: str  #: IMF-fixdate
    mtime: float

    @property
    def gzip_etag(self) -> str:
        """The gzip body is another representation, so it has its own strong ETag."""
        return self.etag[:-1] + '-gz"'


def content_type(name: str) -> str | None:
    """The Content-Type for a file name, or None if such files are not served."""
    lower = name.lower()
    for suffix, value in CONTENT_TYPES:
        if lower.endswith(suffix):
            return value
    return None


class OutputFolder:
    """Looks up request paths in the output folder and caches what it read."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._cache: dict[Path, tuple[tuple[int, int, int], Resource]] = {}
        self._lock = threading.Lock()

    def locate(self, path: str) -> Path | None:
        """The file a (percent-decoded) request path names, or None.

        Refused: anything outside the folder (``..``, absolute paths, symlinks pointing out),
        hidden names (lock and temporary files), unknown types, and directories without an
        ``index.html`` (there are no directory listings).
        """
        if "\x00" in path or "\\" in path or not path.startswith("/"):
            return None
        parts = [p for p in path.split("/") if p]
        if any(p in (".", "..") or p.startswith(".") for p in parts):
            return None
        candidate = self.root.joinpath(*parts)
        if path.endswith("/") or not parts:
            candidate = candidate / "index.html"
        try:
            resolved = candidate.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        if not resolved.is_relative_to(self.root) or not resolved.is_file():
            return None
        # Hidden where the link leads, too: a link to the publish state or a lock file.
        if any(p.startswith(".") for p in resolved.relative_to(self.root).parts):
            return None
        if content_type(resolved.name) is None:
            return None
        return resolved

    def load(self, path: Path) -> Resource | None:
        """The current version of a located file, from memory when it has not changed."""
        try:
            stat = os.stat(path)
        except OSError:
            return None
        version = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        cached = self._cache.get(path)
        if cached is not None and cached[0] == version:
            return cached[1]
        try:
            body = path.read_bytes()
        except OSError:
            return None
        kind = content_type(path.name) or "application/octet-stream"
        compress = len(body) >= _MIN_GZIP and kind.startswith(_COMPRESSIBLE)
        resource = Resource(
            content_type=kind,
            body=body,
            # mtime=0: the gzip bytes depend only on the content, so the ETag holds.
            gzipped=gzip.compress(body, compresslevel=6, mtime=0) if compress else None,
            etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"',
            last_modified=formatdate(stat.st_mtime, usegmt=True),
            mtime=stat.st_mtime,
        )
        if len(body) <= _MAX_CACHED:
            with self._lock:
                self._cache[path] = (version, resource)
        return resource


def not_modified(
    resource: Resource,
    if_none_match: str | None,
    if_modified_since: str | None,
    gzipped: bool = False,
) -> bool:
    """Whether a conditional GET may be answered with 304 (RFC 9110, 13.1.2 and 13.1.3).

    If-None-Match wins when present; the ETag of the representation being sent matches
    (``gzipped``: the gzip body's), and so does ``*``. Only that one: a cache that holds
    both sends both tags, and a 304 naming a body it did not store is of no use to it (RFC
    9111, 4.3.4).
    """
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or (resource.gzip_etag if gzipped else resource.etag) in tags
    if if_modified_since is not None:
        try:
            since = parsedate_to_datetime(if_modified_since).timestamp()
        except (TypeError, ValueError, IndexError):
            return False
        return int(resource.mtime) <= since
    return False


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether ``Accept-Encoding`` allows gzip: ``gzip`` without ``q=0``, else ``*`` without
    it (which stands for the codings not named, RFC 9110 12.5.3)."""
    if not accept_encoding:
        return False
    weights: dict[str, bool] = {}
    for part in accept_encoding.lower().split(","):
        coding, _, params = part.strip().partition(";")
        coding = "gzip" if coding.strip() == "x-gzip" else coding.strip()
        if coding in ("gzip", "*") and coding not in weights:
            q = params.strip().removeprefix("q=")
            try:
                weights[coding] = not params or float(q) > 0
            except ValueError:
                weights[coding] = False
    return weights.get("gzip", weights.get("*", False))
