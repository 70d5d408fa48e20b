"""Small helpers without business logic: atomic file writes, a process lock, a pause of the
cyclic garbage collector."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import gc
import ipaddress
import multiprocessing
import multiprocessing.util
import os
import re
import select
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import timedelta
from multiprocessing.context import ForkServerContext
from pathlib import Path
from urllib.parse import quote, urljoin, urlsplit

#: Environment variables whose values are secrets (SMTP password, API tokens ...).
#: "PW" and "PWD" only where they end a name or a part of it (SMTP_PW, MAILPW, DB_PWD,
#: DB_PW_FILE), not the shell's PWD: every path under the current folder would be masked.
_SECRET_NAME = re.compile(
    r"PASS|SECRET|TOKEN|KEY|CREDENTIAL|AUTH|PW(?:$|_)|_PWD(?:$|_)", re.IGNORECASE
)


def is_secret_name(name: str) -> bool:
    """Whether the environment variable ``name`` holds a secret by its name
    (``REVIER_FEED_SMTP_PASSWORD``, ``KAMMER_TOKEN``): its value is masked in the logs."""
    return _SECRET_NAME.search(name) is not None


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` atomically, unless the file already holds exactly ``data``.

    Readers see either the old or the new file, never a half-written one (temporary file in
    the same folder, fsync, then ``os.replace``). An unchanged file keeps its mtime, so HTTP
    caches and ETags built from it stay valid.

    Returns:
        True if the file was written.
    """
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return True


class AlreadyLocked(Exception):
    """Another process holds the lock; ``holder`` is what it wrote into the lock file."""

    def __init__(self, path: Path, holder: str) -> None:
        super().__init__(f"{path} is locked by {holder or 'another process'}")
        self.path = path
        self.holder = holder


#: The size the lock file is written at: the holder's line and its note are written over
#: the same bytes, so that a note needs no new room on a disk that has none left (a full disk
#: is one of the failures a note reports).
LOCK_RECORD_SIZE = 1024


@dataclass(frozen=True, slots=True)
class LockHolder:
    """Who holds a :class:`ProcessLock`, and what they last noted about their state."""

    who: str  #: the holder's description (pid, host, command, since when)
    note: str = ""  #: one line, "" while all is well


class ProcessLock:
    """An exclusive lock on a file, held while the process lives.

    It uses ``flock``, so the kernel releases it when the process ends in any way, kill -9
    included: a crashed worker never leaves a stale lock behind. The holder writes a line
    about itself into the file so a refused second process can name it, and may add a note
    on its state (:meth:`note`) for readers that cannot ask it (``/healthz``).
    """

    def __init__(self, path: Path, description: str) -> None:
        self.path = path
        self.description = description
        self._fd: int | None = None
        #: The holder's note (:meth:`note`), written again with the file if it is remade.
        self._note = ""

    def acquire(self) -> None:
        """Take the lock or raise :class:`AlreadyLocked` at once (never waits)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise AlreadyLocked(self.path, holder.who) from None
        except BaseException:
            os.close(fd)
            raise
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, self._record(self._note), 0)
        except BaseException:
            # A full disk: held on, the lock would refuse this very process ever after.
            os.close(fd)
            raise
        self._fd = fd

    def keep(self) -> bool:
        """Hold the lock at :attr:`path` still: if its file was deleted or replaced (a
        clean-up of the folder), the lock held is on a file nobody else can see, and a
        second process would take one at the path. Lock the file there now (made if need
        be); True if that had to be done.

        Raises:
            AlreadyLocked: another process has locked the file at the path meanwhile.
            OSError: the file cannot be made again.
        """
        if self._fd is None:
            return False
        held = os.fstat(self._fd)
        try:
            here = os.stat(self.path)
        except FileNotFoundError:
            pass
        else:
            if (here.st_dev, here.st_ino) == (held.st_dev, held.st_ino):
                return False
        gone, self._fd = self._fd, None
        try:
            self.acquire()
        except BaseException:
            self._fd = gone  # released as ever when the process lets go of it
            raise
        os.close(gone)
        return True

    def note(self, text: str) -> bool:
        """Write ``text`` beside the holder's description (over the same bytes; "" clears
        it). False if the lock is not held or the file could not be written."""
        if self._fd is None:
            return False
        self._note = text
        try:
            os.pwrite(self._fd, self._record(text), 0)
        except OSError:
            return False
        return True

    def _record(self, note: str) -> bytes:
        who = self.description.replace("\n", " ").encode()
        line = note.replace("\n", " ").encode()
        room = LOCK_RECORD_SIZE - len(who) - 3  # two line ends and the last one
        if len(line) > room:
            line = line[: max(room, 0)].decode("utf-8", "ignore").encode()
        text = who + b"\n" + line + b"\n"
        return text.ljust(LOCK_RECORD_SIZE - 1) + b"\n"

    def holder(self) -> LockHolder | None:
        """Who holds the lock now (what they wrote), or None if nobody does."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(fd)
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            # Emptied only to tidy up: what a file nobody locks says is never read. A disk
            # gone read-only must not keep the lock, which would refuse this very process.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> ProcessLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_holder(fd: int) -> LockHolder:
    lines = os.pread(fd, LOCK_RECORD_SIZE, 0).decode("utf-8", "replace").split("\n")
    note = lines[1].strip() if len(lines) > 1 else ""
    return LockHolder(lines[0].strip() or "another process", note)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for a batch job that builds a large structure.

    Every few hundred thousand allocations the collector traverses every tracked object
    that survived earlier collections: while a structure of millions of objects grows (the
    story index of a first cycle), those passes cost as much as the job itself. Memory is
    still freed by reference counting; only reference cycles wait for the collector to run
    again afterwards. The previous state is restored.
    """
    # The young generations first: what the batch leaves is moved to the oldest one at the
    # end, and reference cycles that died before it (a cycle's fetcher and connections,
    # parsed pages) would go with it, out of the young collections' reach: a probe's worker
    # held them for half an hour without a full collection (session 34).
    gc.collect(1)
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # What the batch built moves to the oldest generation (freeze, then unfreeze: no
        # traversal), so the first young collection afterwards does not walk all of it.
        gc.freeze()
        gc.unfreeze()
        if enabled:
            gc.enable()


#: glibc's mallopt parameter for the number of malloc arenas (malloc.h).
_M_ARENA_MAX = -8


def share_malloc_arena() -> bool:
    """Make every thread of this process allocate from glibc's one main arena; call it
    before any thread starts. Returns whether it applied (glibc only).

    By default glibc gives threads arenas of their own, and memory freed in one is reused
    only by the threads of that arena. A collection cycle parses and writes on threads and
    places stories on the main thread: the items the threads freed (1-3 KB teasers are
    beyond Python's own small-object allocator) stayed with them while the main thread
    grew its heap, about 70 MB more peak memory in the collection benchmark's cold cycle.
    The threads mostly allocate holding the GIL, so sharing one arena costs no contention.
    """
    if not sys.platform.startswith("linux"):
        return False
    import ctypes  # only here: a few milliseconds of start-up

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # no C library, or one without mallopt
        return False
    return bool(mallopt(_M_ARENA_MAX, 1))


def release_free_memory() -> None:
    """Hand the memory glibc's malloc keeps free inside its heap back to the system
    (``malloc_trim``); nothing elsewhere.

    After a large cycle (a first one of 15,000 items) the worker's freed teasers and rows
    stayed in its heap between live objects, where glibc returns nothing by itself: 159 MB
    resident for the rest of its life instead of 95 MB. Trimming costs microseconds when
    there is nothing to return.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # no C library, or not glibc (musl has none)
        return None


#: What the worker processes run (normalizing, tagging, story features, the candidate
#: finder): imported once, in the fork server, which forks every worker with them loaded.
_WORKER_MODULES = ["revier_feed.compute", "revier_feed.normalize"]


def _end_with_the_program(_token: object) -> None:
    """In a worker process (run after its fork): end it when the program that started it
    ends. A pool's workers wait on a queue whose writing end they hold themselves, so a
    `run --once` killed with SIGKILL or SIGTERM (the OOM killer, `kill PID`) left them,
    the fork server and the resource tracker running for good, holding its output pipe
    open (a cron mail or `| logger` never ended)."""
    parent = multiprocessing.parent_process()
    if parent is None or parent.pid is None or not hasattr(os, "pidfd_open"):
        return
    try:
        program = os.pidfd_open(parent.pid)
    except ProcessLookupError:
        os._exit(1)  # it ended before this worker came up
    except OSError:
        return  # no pidfd (a kernel before 5.3): as before

    def watch() -> None:
        select.select([program], [], [])  # readable once the process has ended
        os._exit(1)

    threading.Thread(target=watch, name="revier-feed program watch", daemon=True).start()


class _AfterFork:
    """What :func:`multiprocessing.util.register_after_fork` keeps (weakly) for
    :func:`_end_with_the_program`: the fork server imports this module, and every worker
    it forks runs the function."""


_AFTER_FORK = _AfterFork()
multiprocessing.util.register_after_fork(_AFTER_FORK, _end_with_the_program)


def forkserver() -> ForkServerContext:
    """Where worker processes come from: a fork server, not fork (the caller runs threads,
    and forking a threaded process can copy a held lock into the child), that imports the
    workers' modules once instead of each worker importing them (0.15 s of CPU each)."""
    context = multiprocessing.get_context("forkserver")
    # Takes effect when the server starts (the first pool or process of this program).
    context.set_forkserver_preload(_WORKER_MODULES)
    return context


def start_every_worker(pool: Executor, workers: int) -> None:
    """Start all of a new process pool's ``workers`` now, not one per task as they are
    needed.

    CPython 3.11 starts forkserver workers on demand, one per submitted task. When a worker
    dies (killed from outside, out of memory) while the pool starts another, the new one
    can miss the broken pool's clean-up, and leaving the pool then waits for it forever.
    Started up front, a worker's death only breaks the pool, which the callers handle.
    """
    for _ in range(workers):
        pool.submit(int)  # a task that does nothing, so that a worker is started for it


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity on Linux: a container's or
    ``taskset``'s cpuset, not the machine's count), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


#: The characters XML 1.0 forbids that a Python string read from UTF-8 can hold, as the
#: body of a regular expression's character class. Surrogates (only JSON can escape
#: them) are not in it; they are one more range where a check needs them.
XML_FORBIDDEN = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff"

# Embeddings, overrides and isolates: in a headline, "\u202etxt.exe" reads as "exe.txt";
# a headline shown in a list can also turn the order of what follows it. C1 controls too
# (XML allows them): "\x9b" starts a terminal's control sequence where a title is shown.
_BIDI_CONTROL = re.compile("[\x80-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def has_bidi_python(text: str) -> bool:
    """Whether ``text`` has a character :func:`without_bidi` removes (the reference of the
    C extension's ``has_bidi``, which scans a teaser ten times faster)."""
    return _BIDI_CONTROL.search(text) is not None


try:
    from ._markup import has_bidi
except ImportError:  # not built: setup.py builds it where a compiler is found
    has_bidi = has_bidi_python


def without_bidi(text: str) -> str:
    """``text`` without bidi controls (and C1 controls), for what is shown as a title or
    a teaser."""
    if text.isascii() or not has_bidi(text):
        return text
    return _BIDI_CONTROL.sub("", text)


#: Characters a terminal or a log reader acts on instead of showing them: C0 and C1
#: controls but tab and line feed (ESC starts colours, links, screen clears; CR overwrites
#: a line), invisible format characters (bidi overrides, zero-width), line separators.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u2028-\u202e"
    "\u2060-\u206f\ufeff\ufff9-\ufffb]"
)


def visible_json(text: str) -> str:
    """JSON text with the characters :func:`visible` escapes written as ``\\uXXXX``
    escapes: the same JSON to a program, and nothing a site wrote acts on a terminal."""
    return _INVISIBLE.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


def visible(text: str) -> str:
    """``text`` with every control and invisible format character written as an escape
    (``\\x1b``, ``\\u202e``): for text a website wrote that ends up in a terminal or a
    log (an HTTP reason phrase, a header quoted in an error)."""
    if text.isascii() and text.isprintable():
        return text
    return _INVISIBLE.sub(lambda m: repr(m[0])[1:-1], text)


#: Text that an HTML renderer would take for a tag or a comment ("<b", "</", "<!--").
TAG_LIKE = re.compile(r"<[A-Za-z/!?]")


def site_of(url: str) -> str | None:
    """The site ``url`` is on, as followed links are compared: its host (lower-case, in
    IDNA, IPv6 addresses compressed in brackets) with its port unless that is its scheme's
    usual one; None for no URL with a host. http and https on their usual ports are one
    site (a listing on http links its articles on https); another port of the same host is
    not (an admin interface, another service)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    host = ascii_host(parts.hostname or "")
    if not host:
        return None
    if port is None or _USUAL_PORTS.get(parts.scheme.lower()) == port:
        return host
    return f"{host}:{port}"


_USUAL_PORTS = {"http": 80, "https": 443}


def ascii_host(host: str) -> str | None:
    """A host name as it goes on the wire: lower case, without a trailing dot ("www.example.org."
    is the same host), in IDNA 2008 as the fetcher sends it (httpx) and as redirects and pages
    write it ("www.zörbig.de" is "www.xn--zrbig-jua.de"; IDNA 2003 made "ß" an "ss", another
    host), an IPv6 address compressed in brackets; None where it has no such form."""
    host = host.lower().rstrip(".")
    if not host.isascii():
        import idna  # httpx's dependency

        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError):
            return None
    if ":" in host:  # an IPv6 address: "::1:8080" must not read as "::1" on port 8080
        try:
            host = f"[{ipaddress.ip_address(host.partition('%')[0]).compressed}]"
        except ValueError:
            return None
    return host


def one_spelling(text: str) -> str:
    """A URL's path or query as a request sends it, in one spelling for comparing addresses
    (RFC 3986, 6.2.2): characters outside ASCII as their UTF-8 escapes ("über" and
    "%C3%BCber" are one path), escapes in upper case, and escaped letters, digits and
    "-._~" as themselves. Reserved characters keep their form: "%2F" is no "/"."""
    if "%" in text:
        text = _ESCAPE.sub(_unescape_unreserved, text)
    if text.isascii() and " " not in text:
        return text
    return quote(text, safe=_AS_SENT, errors="surrogatepass")


_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Everything printable in ASCII but the blank stays as written; "%" keeps escapes escapes.
_AS_SENT = "".join(chr(c) for c in range(0x21, 0x7F))


def _unescape_unreserved(match: re.Match[str]) -> str:
    char = chr(int(match[1], 16))
    return char if char in _UNRESERVED else f"%{match[1].upper()}"


def join_url(base_url: str, value: str) -> str:
    """``value`` made absolute against ``base_url``, as browsers do (the WHATWG URL
    Standard) where :func:`urljoin` does otherwise: blanks and controls at the ends and
    tabs and line breaks inside are no part of a link, and in a web link's path a "\\" is
    a "/" and any run of slashes after the scheme ends there (``..\\news\\a.html`` from a
    site made on Windows, ``///www.example.de/a``).

    Most links in feeds are absolute already; urljoin() then takes the URL apart and puts it
    together again, which gives back the same text unless the URL has an empty query or
    fragment, a ``;`` in its path, brackets or non-ASCII in its host, blanks or controls.
    """
    if _PLAIN_ABSOLUTE.match(value):
        return value
    value = _TAB_OR_NEWLINE.sub("", value.strip(URL_TRIM))
    if not value:
        return base_url.partition("#")[0]  # the document itself, as browsers read ""
    scheme = _URL_SCHEME.match(value)
    web = scheme[1].lower() in _WEB if scheme else is_web_url(base_url)
    if web and ("\\" in value or "///" in value):
        cut = len(value.split("?")[0].split("#")[0])  # the query and fragment keep theirs
        value = _SLASHES.sub(r"\1//", value[:cut].replace("\\", "/"), count=1) + value[cut:]
    return urljoin(base_url, value)


def is_web_url(url: str) -> bool:
    """Whether ``url`` is an http(s) URL (by its scheme, in any case)."""
    return url[:8].lower().startswith(("http://", "https://"))


# http(s), an ASCII host, then an optional path without ";" or "\\", a non-empty query and
# a non-empty fragment; no blanks or control characters anywhere.
_PLAIN_ABSOLUTE = re.compile(
    r"https?://[^\x00-\x20\x7f-\U0010ffff/?#\[\]\\;]+"
    r"(?:/[^\x00-\x20?#;\\]*)?(?:\?[^\x00-\x20#]+)?(?:#[^\x00-\x20]+)?\Z"
)
#: What browsers strip from a link's ends (C0 controls and the blank), and remove inside.
URL_TRIM = "".join(map(chr, range(0x21)))
_TAB_OR_NEWLINE = re.compile("[\t\n\r]")
_URL_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_WEB = frozenset({"http", "https"})
#: Slashes after a web link's scheme (or at its start): two begin its host, more are read
#: as two.
_SLASHES = re.compile(r"\A((?:[A-Za-z][A-Za-z0-9+.-]*:)?)/{3,}")


def span(value: timedelta, *, to_minutes: bool = False) -> str:
    """A duration as an admin writes one in the YAML: 1h30m, 1d6h, 45s; ``to_minutes``
    rounds it to whole minutes (an adaptive interval in a table)."""
    seconds = round(value.total_seconds() / 60) * 60 if to_minutes else int(value.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or ("0m" if to_minutes else "0s")


#: The largest site icon (``site.icon``) published; feed readers show 16 to 512 pixels.
MAX_ICON_BYTES = 1_000_000


def icon_kind(data: bytes) -> str | None:
    """The file name extension of a picture that feed readers and browsers take as an icon,
    read from its first bytes: ``png``, ``gif``, ``jpg``, ``ico`` or ``webp``; None for
    anything else (an SVG may hold scripts, and RSS allows none)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith(b"\x00\x00\x01\x00") and len(data) > 6:
        return "ico"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def as_uri(url: str | None) -> str | None:
    """``url`` as a URI (RFC 3987 3.1): its host in IDNA, non-ASCII characters, square
    brackets outside the host, what else a URI may not hold ("|", "\\", "{") and a "%"
    that starts no escape percent-encoded (UTF-8); None for one without a usable host or
    port. RSS and Atom readers (and the W3C validator) take no IRI: "Bericht
    Übersicht.pdf" or TYPO3's "?tx_news_pi1[news]=12" failed the feed."""
    # An IPv6 host is the only "[" right after "://".
    if url is None or (
        url.isascii() and "[" not in url.partition("://")[2][1:] and not _NOT_IN_URI.search(url)
    ):
        return url
    from urllib.parse import quote, urlsplit, urlunsplit

    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:  # not a port: no link
        return None
    host = ascii_host(parts.hostname or "")
    if host is None:
        return None
    netloc = host + (f":{port}" if port else "")
    if "@" in parts.netloc:
        netloc = quote(parts.netloc.rpartition("@")[0], safe=_URI_SAFE) + "@" + netloc
    path, query, fragment = (_LONE_PERCENT.sub("%25", quote(p, safe=_URI_SAFE)) for p in parts[2:])
    return urlunsplit((parts.scheme, netloc, path, query, fragment))


#: What a URI may not hold that browsers leave in a link (WHATWG), and a "%" that starts
#: no escape ("100%-Förderung"): Apache answers such a request with 400.
_NOT_IN_URI = re.compile(r'[\\|{}^`"<> ]|%(?![0-9A-Fa-f]{2})')
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


#: What a URI holds as it is outside its host (RFC 3986 2.2, 2.3, and the "%" of escapes
#: already made); "[" and "]" only delimit an IPv6 host.
_URI_SAFE = "!#$%&'()*+,-./:;=?@~_"
